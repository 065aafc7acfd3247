"""Importers: build a :class:`~chipemu.network.Network` from other tools' formats.

* :mod:`chipemu.importers.nir` -- NIR (Neuromorphic Intermediate Representation) graphs
  and ``.nir`` files (needs the optional package ``nir``: ``pip install 'chipemu[nir]'``).
"""

from .nir import QuantizationReport, from_nir, load_nir

__all__ = ["QuantizationReport", "from_nir", "load_nir"]
