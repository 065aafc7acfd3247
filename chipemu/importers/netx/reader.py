"""Reading a lava-dl netx file: every ``layer/{i}`` group as plain arrays (no conversion)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ChipemuError


class NetxImportError(ChipemuError):
    """A netx file chipemu cannot convert (unsupported layer or neuron, value out of range)."""


@dataclass
class NetxLayer:
    """One ``layer/{i}`` group as stored: its type, shape and every dataset (numpy arrays).

    ``neuron`` holds the ``neuron`` group's datasets (``type`` decoded to str).
    """

    index: int
    type: str
    shape: tuple[int, ...]
    data: dict = field(default_factory=dict)
    neuron: dict | None = None

    @property
    def name(self) -> str:
        return f"layer{self.index}"

    @property
    def where(self) -> str:
        return f"layer {self.index} ({self.type})"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def get(self, key, default=None):
        return self.data.get(key, default)


def _decode(value) -> str:
    arr = np.asarray(value)
    if arr.ndim > 0:
        arr = arr.reshape(-1)[0] if arr.size else ""
    v = arr.item() if isinstance(arr, np.ndarray) else arr
    return v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise NetxImportError("reading lava-dl .net files needs the optional package 'h5py': "
                              "pip install 'chipemu[netx]'") from None
    return h5py


def read_netx(path) -> list[NetxLayer]:
    """Every ``layer/{i}`` group of a netx file, in index order (no conversion yet)."""
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise NetxImportError(f"netx file {path}: no such file")
    from ...bounded import check_hdf5
    check_hdf5(path, "netx file", NetxImportError)  # declared sizes checked before anything is loaded
    try:
        fh = h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 -- not HDF5, truncated, ...: bad input
        raise NetxImportError(f"netx file {path}: not a readable HDF5 file ({type(exc).__name__}: {exc})") from None
    with fh:
        if "layer" not in fh or not isinstance(fh["layer"], h5py.Group):
            raise NetxImportError(f"netx file {path}: has no 'layer' group (not a lava-dl netx network)")
        group = fh["layer"]
        keys = list(group.keys())
        bad = [k for k in keys if not k.isdigit()]
        if bad:
            raise NetxImportError(f"netx file {path}: layer group '{bad[0]}' is not a layer index")
        idx = sorted(int(k) for k in keys)
        if idx != list(range(len(idx))):
            raise NetxImportError(f"netx file {path}: layer indices {idx} are not 0..{len(idx) - 1}")
        if not idx:
            raise NetxImportError(f"netx file {path}: has no layers")
        return [_read_layer(path, i, group[str(i)], h5py) for i in idx]


def _read_layer(path, i: int, g, h5py) -> NetxLayer:
    if "type" not in g:
        raise NetxImportError(f"netx file {path}: layer {i} has no 'type'")
    kind = _decode(g["type"][()])
    data = {k: g[k][()] for k in g if isinstance(g[k], h5py.Dataset) and k != "type"}
    if "weight" in g and isinstance(g["weight"], h5py.Group):  # complex weights: weight/real, weight/imag
        data["weight"] = None
        data["weight_complex"] = True
    neuron_group = None
    if "neuron" in g and isinstance(g["neuron"], h5py.Group):
        neuron_group = {k: g["neuron"][k][()] for k in g["neuron"] if isinstance(g["neuron"][k], h5py.Dataset)}
        if "type" in neuron_group:
            neuron_group["type"] = _decode(neuron_group["type"])
    shape = data.get("shape")
    shape = tuple(int(s) for s in np.asarray(shape).reshape(-1)) if shape is not None else ()
    if shape and any(s < 1 for s in shape):
        raise NetxImportError(f"netx file {path}: layer {i} ({kind}) has shape {shape}")
    return NetxLayer(i, kind, shape, data, neuron_group)


