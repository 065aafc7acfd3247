"""Reading and writing files: atomic writes with the user's permissions, one-line read errors.

* :func:`atomic_write` -- write to a temporary file next to the target and move it into
  place only when the write succeeded (no half-written file); the result has the
  permissions a plain ``open(path, "w")`` would give: an existing file keeps its mode, a
  new one gets ``0o666 & ~umask`` (a temporary file alone would be private, 0600).
* :func:`read_json`, :func:`read_npz` -- a whole JSON document or ``.npz`` archive; anything
  that stops it from being read is a :class:`~chipemu.errors.FileFormatError` with one
  line naming the file.
* :func:`write_npz` -- an ``.npz`` archive written for fast reading: each member deflated
  at a fast level, or stored as is when deflating would not halve it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import numpy as np

from .errors import FileFormatError


def current_umask() -> int:
    """The process's file mode creation mask (read without changing it where possible)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no way to read it but to set it: put it straight back
    os.umask(mask)
    return mask


def new_file_mode(path) -> int:
    """The mode ``open(path, "w")`` leaves: the existing file's, else ``0o666 & ~umask``."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` and move the result to ``path`` only if it succeeded.

    The file ends with the permissions of a plain write (:func:`new_file_mode`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


#: zlib level of :func:`write_npz`: level 1 deflates several times faster than numpy's 6
#: and the files are a few % larger (random indices: the same size)
NPZ_LEVEL = 1
#: bytes of a member's start that decide whether deflating it pays (see :func:`write_npz`)
NPZ_PROBE_BYTES = 1 << 22


def _deflates(arr: np.ndarray) -> bool:
    """Whether deflating ``arr`` pays: its first :data:`NPZ_PROBE_BYTES` bytes deflate to at
    most half their size at :data:`NPZ_LEVEL`."""
    import zlib

    # ``.flat[:n]`` copies the first n values in C order, whatever the array's layout
    probe = arr.flat[:max(1, NPZ_PROBE_BYTES // max(arr.itemsize, 1))].tobytes()
    return len(probe) > 0 and len(zlib.compress(probe, NPZ_LEVEL)) <= len(probe) // 2


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an ``.npz`` archive at ``path`` (atomically, :func:`atomic_write`).

    Any ``.npz`` reader (``np.load``, :func:`read_npz`) reads it: one ``KEY.npy`` member per
    array, in ``arrays``' order.  A member is deflated at :data:`NPZ_LEVEL` when
    :func:`_deflates` says it pays, else stored: data that barely compresses (e.g. random
    target indices) then costs no inflating when read, which is most of the time of
    reading it.  Members are streamed into the archive: besides the arrays themselves,
    writing holds at most the probe (:data:`NPZ_PROBE_BYTES`) and numpy's write chunks
    (16 MiB of an array at a time, converted to bytes and deflated), whatever the array's
    memory layout (a transposed or strided view is not copied whole).
    The same arrays give the same bytes (no timestamps: every member is dated 1980-01-01).
    """
    import zipfile

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf:
            for key, arr in arrays.items():
                arr = np.asanyarray(arr)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                if _deflates(arr):
                    info.compress_type = zipfile.ZIP_DEFLATED
                    # the member's zlib level: a public field from Python 3.13 on, private before
                    setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", NPZ_LEVEL)
                with zf.open(info, "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)

    atomic_write(path, write)


def read_json(path, what: str):
    """The parsed JSON document of ``path``; ``what`` names the file in errors.

    A missing, unreadable, oversized (not a regular file, larger than the budget), too
    deeply nested or invalid file is a :class:`FileFormatError` with one line
    (:func:`chipemu.bounded.read_json`).
    """
    from .bounded import read_json as bounded_read_json
    return bounded_read_json(path, what, error=FileFormatError)


def read_npz(path, what: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``; ``what`` names the file in errors.

    Anything that stops the file from being read -- missing, a folder, a stream, empty,
    truncated, not a zip archive, duplicate member names, arrays declared larger than the
    memory budget, a corrupt compressed member, a plain ``.npy`` -- is bad input: a
    :class:`FileFormatError` with one line naming the file (:func:`chipemu.bounded.read_npz`).
    """
    from .bounded import read_npz as bounded_read_npz
    return bounded_read_npz(path, what, FileFormatError)


__all__ = ["atomic_write", "read_json", "read_npz", "new_file_mode", "current_umask"]
