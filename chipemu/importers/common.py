"""What every importer needs: input spike arrays -> input events, and their files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ChipemuError


def spike_events(owner: str, spikes, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(idx, t)`` events of a 0/1 array of shape (steps, n): a 1 at ``[t, j]`` is a spike
    of source j at step t.  ``owner`` names the input in errors."""
    arr = np.asarray(spikes)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ChipemuError(f"{owner}: shape {arr.shape}, expected (steps, {n})")
    if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
        raise ChipemuError(f"{owner}: values must be 0 or 1")
    t, idx = np.nonzero(arr)
    return idx.astype(np.int64), t.astype(np.int64)


def load_array(path, what: str) -> np.ndarray | dict[str, np.ndarray]:
    """A ``.npy`` array, or the arrays of a ``.npz`` keyed by member name (one-line errors)."""
    from ..flatfile import read_npz
    path = Path(path)
    if path.suffix == ".npz":
        return read_npz(path, what)
    if not path.is_file():
        raise ChipemuError(f"{what} {path}: no such file")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 -- truncated, not .npy, pickled objects: bad input
        raise ChipemuError(f"{what} {path}: not a readable .npy file ({type(exc).__name__}: {exc})") from None
    if not isinstance(arr, np.ndarray):
        raise ChipemuError(f"{what} {path}: not a single .npy array")
    return arr
