"""Reading and writing files: atomic writes with the user's permissions, one-line read errors.

* :func:`atomic_write` -- write to a temporary file next to the target and move it into
  place only when the write succeeded (no half-written file); the result has the
  permissions a plain ``open(path, "w")`` would give: an existing file keeps its mode, a
  new one gets ``0o666 & ~umask`` (a temporary file alone would be private, 0600).
* :func:`read_json`, :func:`read_npz` -- a whole JSON document or ``.npz`` archive; anything
  that stops it from being read is a :class:`~chipemu.errors.FileFormatError` with one
  line naming the file.
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
