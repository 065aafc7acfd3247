"""Importers: build a :class:`~chipemu.network.Network` from other tools' formats.

* :mod:`chipemu.importers.nir` -- NIR (Neuromorphic Intermediate Representation) graphs
  and ``.nir`` files (needs the optional package ``nir``: ``pip install 'chipemu[nir]'``);
* :mod:`chipemu.importers.netx` -- lava-dl netx ``.net`` files (HDF5; needs ``h5py``:
  ``pip install 'chipemu[netx]'``), with the integer registers netx gives Lava.
"""

from .nir import QuantizationReport, from_nir, load_nir

__all__ = ["QuantizationReport", "from_nir", "load_nir"]
