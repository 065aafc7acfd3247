"""Bounded input: every file, number and size a user gives passes through here first.

A user can hand chipemu anything: a symlink to an endless stream, a 37 KB archive that
declares gigabytes, a JSON document nested ten thousand levels deep, an unsigned weight
that wraps to a negative number when cast, a step count of ``2**62``.  The functions here
refuse such input *before* anything is allocated or computed, with one line saying what
is wrong (a :class:`~chipemu.errors.ChipemuError` subclass chosen by the caller):

* :func:`read_bytes` / :func:`read_text` -- a regular file (not a folder, FIFO, device or
  a symlink to one), at most ``max_bytes`` long, opened without blocking.
* :func:`parse_json` / :func:`read_json` -- depth-bounded JSON with finite numbers and
  integers of at most 64 bits; :func:`parse_toml` -- depth-bounded TOML.
* :func:`check_int` -- an integer range-checked before any cast; :func:`array_out_of_range`
  -- the first out-of-range entry of an integer array, exact for every dtype (uint64
  included).
* :func:`memory_budget` / :func:`check_memory` -- a size or count refused when the bytes it
  needs exceed what this machine can hold (half of the smallest of physical memory, the
  cgroup limit and the address-space limit; ``CHIPEMU_MEMORY_BUDGET`` overrides it).
* :func:`read_npz` / :func:`read_npy` -- numpy archives: member count capped, duplicate
  member names refused, each member's declared shape x dtype checked against the budget
  before it is read; :func:`check_hdf5` -- the same for the datasets of an HDF5 file.
* :func:`check_steps` -- a run length within :data:`MAX_STEPS` and the memory budget.
"""

from __future__ import annotations

import functools
import math
import os
import stat
from pathlib import Path

import numpy as np

from .errors import ChipemuError, FileFormatError

#: longest run in timesteps: spike times are stored as int32 in the flat and spike files
MAX_STEPS = 2**31 - 1
#: deepest nesting of a JSON or TOML document (report.json needs 4; rules 3)
MAX_DEPTH = 64
#: largest text description (chip, host or sweep TOML; a learning rule), bytes
MAX_TEXT_BYTES = 16 * 2**20
#: most members of a .npz archive (the flat file has ~40 keys)
MAX_NPZ_MEMBERS = 4096
#: largest integer in a JSON document: int64
_JSON_INT_MAX = 2**63 - 1


# ------------------------------------------------------------------------ messages
def show(value, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters; a huge integer shows its digit count."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        if len(text) > limit:
            return f"{text[:12]}... ({len(text.lstrip('-'))} digits)"
        return text
    try:
        text = repr(value)
    except RecursionError:
        return f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


# ------------------------------------------------------------------------ memory budget
def _parse_size(text: str) -> int | None:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(text[-1:], 1)
    digits = text[:-1] if scale > 1 else text
    try:
        value = float(digits)
    except ValueError:
        return None
    return int(value * scale) if math.isfinite(value) and value > 0 else None


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, "rb") as fh:
                text = fh.read(64).decode("ascii", "replace").strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def memory_budget() -> int:
    """Bytes one input may make chipemu allocate: ``CHIPEMU_MEMORY_BUDGET`` (e.g. ``2G``)
    if set, else half of the smallest of physical memory, the cgroup memory limit and the
    process's address-space / data-segment limits (at least 64 MiB)."""
    return _memory_budget(os.environ.get("CHIPEMU_MEMORY_BUDGET", ""))


@functools.lru_cache(maxsize=8)
def _memory_budget(env: str) -> int:
    if env and _parse_size(env):
        return _parse_size(env)
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        pass
    cg = _cgroup_limit()
    if cg:
        limits.append(cg)
    try:
        import resource
        for which in ("RLIMIT_AS", "RLIMIT_DATA"):
            soft = resource.getrlimit(getattr(resource, which))[0]
            if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
                limits.append(soft)
    except (ImportError, AttributeError, ValueError, OSError):  # pragma: no cover
        pass
    return max(64 * 2**20, min(limits) // 2) if limits else 8 * 2**30


def check_memory(nbytes: int, what: str, error=ChipemuError) -> None:
    """Refuse ``what`` if it needs more than :func:`memory_budget` bytes."""
    budget = memory_budget()
    if nbytes > budget:
        raise error(f"{what} needs {format_bytes(nbytes)} of memory, more than this machine allows "
                    f"({format_bytes(budget)}; set CHIPEMU_MEMORY_BUDGET to change the limit)")


def check_steps(steps, what: str = "steps", bytes_per_step: int = 8, error=ChipemuError) -> int:
    """A run length: an integer 0..:data:`MAX_STEPS` whose per-step arrays fit the budget."""
    steps = check_int(steps, what, 0, MAX_STEPS, error)
    check_memory(steps * int(bytes_per_step), f"a run of {steps:,} steps", error)
    return steps


# ------------------------------------------------------------------------ integers
def check_int(value, what: str, lo: int | None = None, hi: int | None = None, error=ChipemuError) -> int:
    """``value`` as a Python int if it is an integer in ``lo..hi``; checked before any cast.

    A bool, a float or a string is refused; a value beyond a bound says *too large* or
    *too small* and shows the value as given (never a wrapped number).
    """
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        value = int(value)  # 10.0 is the integer 10 (exact for any float)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise error(f"{what} = {show(value)} is not an integer")
    v = int(value)
    if hi is not None and v > hi:
        raise error(f"{what} = {show(v)} is too large (at most {hi:,})")
    if lo is not None and v < lo:
        raise error(f"{what} = {show(v)} is too small (at least {lo:,})")
    return v


def array_out_of_range(arr: np.ndarray, lo: int | None, hi: int | None) -> tuple[int, int] | None:
    """``(flat index, value)`` of the first entry of integer ``arr`` outside ``lo..hi``, or
    None.  Compared in the array's own dtype, so a uint64 of ``2**64 - 2`` is too large,
    not ``-2``."""
    if arr.size == 0:
        return None
    flat = arr.reshape(-1)
    mn, mx = int(flat.min()), int(flat.max())
    if (lo is None or mn >= lo) and (hi is None or mx <= hi):
        return None
    bad = np.zeros(flat.shape, dtype=bool)
    if lo is not None:
        bad |= flat < lo
    if hi is not None:
        bad |= flat > hi
    i = int(np.flatnonzero(bad)[0])
    return i, int(flat[i])


def check_finite(obj, what: str, error=ChipemuError, hint: str = "") -> None:
    """Refuse a computed result (a dict/list tree) holding an infinite or NaN number: an
    overflow from extreme constants (``1e308 J`` per event) must not pass silently or reach
    a figure.  The message names the first bad key path."""
    stack = [("", obj)]
    while stack:
        path, o = stack.pop()
        if isinstance(o, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in reversed(list(o.items())))
        elif isinstance(o, (list, tuple)):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(o))))
        elif isinstance(o, np.ndarray) and o.dtype.kind == "f":
            if not np.isfinite(o).all():
                raise error(f"{what}: '{path}' overflows (not finite){hint}")
        elif isinstance(o, (float, np.floating)) and not math.isfinite(o):
            raise error(f"{what}: '{path}' = {o} overflows (not finite){hint}")


# ------------------------------------------------------------------------ files
def open_regular(path, what: str, max_bytes: int, error=FileFormatError):
    """Open ``path`` for binary reading if it is a regular file of at most ``max_bytes``.

    Folders, FIFOs, sockets and devices (also behind a symlink) are refused without
    blocking on them.  Returns an open binary file object.
    """
    p = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise error(f"{what} {p}: no such file (cannot read it)") from None
    except OSError as exc:
        raise error(f"{what} {p}: cannot read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise error(f"{what} {p}: is a directory, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} {p}: is not a regular file (a device, FIFO or socket); give a file")
        if st.st_size > max_bytes:
            raise error(f"{what} {p}: is {format_bytes(st.st_size)}, more than the "
                        f"{format_bytes(max_bytes)} allowed")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path, what: str, max_bytes: int = MAX_TEXT_BYTES, error=FileFormatError) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_regular`), at most ``max_bytes``."""
    with open_regular(path, what, max_bytes, error) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{what} {os.fspath(path)}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew while we read it
        raise error(f"{what} {os.fspath(path)}: more than the {format_bytes(max_bytes)} allowed")
    return data


def decode_utf8(data: bytes, where: str, error=FileFormatError) -> str:
    """``data`` as UTF-8 text; ``where`` (e.g. ``"chip file x.toml"``) names it in errors."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_text(path, what: str, max_bytes: int = MAX_TEXT_BYTES, error=FileFormatError) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``max_bytes``."""
    return decode_utf8(read_bytes(path, what, max_bytes, error), f"{what} {os.fspath(path)}", error)


# ------------------------------------------------------------------------ JSON / TOML
def nesting_depth(obj) -> int:
    """Deepest nesting of dicts and lists in ``obj`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict):
            o = o.values()
        elif not isinstance(o, (list, tuple)):
            continue
        deepest = max(deepest, d)
        if d <= MAX_DEPTH + 1:
            stack.extend((x, d + 1) for x in o if isinstance(x, (dict, list, tuple)))
    return deepest


class _BadNumber(ValueError):
    pass


def _json_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _BadNumber(f"number {show(text)} is too large for a 64-bit float")
    return v


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(int(text)) > _JSON_INT_MAX:
        raise _BadNumber(f"integer {show(text)} is too large (at most {_JSON_INT_MAX:,})")
    return int(text)


def _json_constant(text: str):
    raise _BadNumber(f"{text} is not a finite number")


def parse_json(text: str, where: str, error=FileFormatError, max_depth: int = MAX_DEPTH):
    """Parse JSON ``text``: finite numbers, integers of at most 64 bits, at most
    ``max_depth`` levels of nesting.  ``where`` names the document in errors."""
    import json

    try:
        obj = json.loads(text, parse_float=_json_float, parse_int=_json_int, parse_constant=_json_constant)
    except RecursionError:
        raise error(f"{where}: nested deeper than {max_depth} levels") from None
    except _BadNumber as exc:
        raise error(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except ValueError as exc:
        raise error(f"{where}: not valid JSON ({' '.join(str(exc).split())})") from None
    if nesting_depth(obj) > max_depth:
        raise error(f"{where}: nested deeper than {max_depth} levels")
    return obj


def read_json(path, what: str, max_bytes: int | None = None, error=FileFormatError):
    """The parsed JSON document in the regular file ``path`` (:func:`parse_json`); at most
    ``max_bytes`` (default: a tenth of the memory budget, as parsing needs several times
    the text)."""
    limit = max_bytes if max_bytes is not None else max(MAX_TEXT_BYTES, memory_budget() // 10)
    return parse_json(read_text(path, what, limit, error), f"{what} {os.fspath(path)}", error)


def parse_toml(text: str, where: str, error=FileFormatError, max_depth: int = MAX_DEPTH) -> dict:
    """Parse TOML ``text`` with at most ``max_depth`` levels of nesting."""
    import tomllib

    try:
        d = tomllib.loads(text)
    except RecursionError:
        raise error(f"{where}: nested deeper than {max_depth} levels") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: malformed TOML: {' '.join(str(exc).split())}") from None
    if nesting_depth(d) > max_depth:
        raise error(f"{where}: nested deeper than {max_depth} levels")
    return d


# ------------------------------------------------------------------------ numpy files
def _npy_header(fh, where: str, error) -> tuple[tuple, np.dtype]:
    """Shape and dtype from the header of the ``.npy`` stream ``fh`` (positioned at its start)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as exc:  # ValueError, EOFError, zip errors: an unreadable member
        raise error(f"{where}: not a readable .npy array ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    if dtype.hasobject:
        raise error(f"{where}: holds Python objects (dtype {dtype}); only plain arrays are read")
    return shape, dtype


def _array_bytes(shape, dtype) -> int:
    return math.prod(int(s) for s in shape) * max(int(dtype.itemsize), 1)


def _read_member(fh, where: str, error) -> np.ndarray:
    try:
        return np.lib.format.read_array(fh, allow_pickle=False)
    except Exception as exc:  # zlib.error, BadZipFile, ValueError on a damaged member
        raise error(f"{where}: corrupt .npz member ({type(exc).__name__}: {' '.join(str(exc).split())})") from None


def read_npz(path, what: str, error=FileFormatError) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` archive ``path``; ``what`` names the file in errors.

    Refused before any array is read: not a regular file, larger than the memory budget,
    not a zip archive, more than :data:`MAX_NPZ_MEMBERS` members, two members of the same
    name (``a`` and ``a.npy`` count as the same), an object array, or arrays whose declared
    shapes add up to more than the memory budget.  A damaged member is refused when read.
    """
    import zipfile

    p = os.fspath(path)
    budget = memory_budget()
    fh = open_regular(path, what, budget, error)
    with fh:
        magic = fh.read(6)
        fh.seek(0)
        if magic.startswith(b"\x93NUMPY"):
            raise error(f"{what} {p}: not a .npz archive (it holds a single .npy array)")
        try:
            zf = zipfile.ZipFile(fh)
        except Exception as exc:  # BadZipFile, EOFError, OSError, ValueError
            raise error(f"{what} {p}: not a readable .npz file ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())})") from None
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise error(f"{what} {p}: has {len(infos):,} members (at most {MAX_NPZ_MEMBERS:,})")
            keys, total = [], 0
            for info in infos:
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in keys:
                    raise error(f"{what} {p}: holds two members named '{key}'; an archive with duplicate "
                                f"names is ambiguous")
                keys.append(key)
                where = f"{what} {p}: member '{key}'"
                try:
                    with zf.open(info) as member:
                        shape, dtype = _npy_header(member, where, error)
                except error:
                    raise
                except Exception as exc:  # encrypted, unsupported compression, corrupt header
                    raise error(f"{where}: cannot be read ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
                total += _array_bytes(shape, dtype)
                if total > budget:
                    check_memory(total, f"{what} {p} (arrays as declared in the archive)", error)
            out = {}
            for key, info in zip(keys, infos):
                try:
                    with zf.open(info) as member:
                        out[key] = _read_member(member, f"{what} {p}: member '{key}'", error)
                except error:
                    raise
                except Exception as exc:
                    raise error(f"{what} {p}: corrupt .npz member '{key}' ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())})") from None
            return out


def read_npy(path, what: str, error=FileFormatError) -> np.ndarray:
    """The array in the ``.npy`` file ``path``, its declared size checked before reading."""
    p = os.fspath(path)
    with open_regular(path, what, memory_budget(), error) as fh:
        shape, dtype = _npy_header(fh, f"{what} {p}", error)
        check_memory(_array_bytes(shape, dtype), f"{what} {p} (array of shape {shape}, {dtype})", error)
        fh.seek(0)
        try:
            return np.lib.format.read_array(fh, allow_pickle=False)
        except Exception as exc:
            raise error(f"{what} {p}: not a readable .npy array ({type(exc).__name__}: "
                        f"{' '.join(str(exc).split())})") from None


def check_hdf5(path, what: str, error=FileFormatError, max_objects: int = 1_000_000) -> None:
    """Refuse the HDF5 file ``path`` (a NIR graph) before it is loaded if the datasets it
    declares add up to more than the memory budget, or it holds more than ``max_objects``
    groups and datasets.  Compression lets a small file declare gigabytes."""
    p = os.fspath(path)
    budget = memory_budget()
    with open_regular(path, what, budget, error):
        pass  # a regular file of bounded size
    try:
        import h5py
    except ImportError:  # pragma: no cover - the NIR reader needs h5py anyway
        return
    total, count = 0, 0
    try:
        with h5py.File(p, "r") as f:
            stack = [(f, 0)]
            while stack:
                g, depth = stack.pop()
                if depth > MAX_DEPTH:
                    raise error(f"{what} {p}: groups nested deeper than {MAX_DEPTH} levels")
                for name in g:
                    count += 1
                    if count > max_objects:
                        raise error(f"{what} {p}: holds more than {max_objects:,} groups and datasets")
                    try:
                        obj = g.get(name, getlink=False)
                    except Exception:  # a dangling or external link: the reader reports it
                        continue
                    if isinstance(obj, h5py.Group):
                        stack.append((obj, depth + 1))
                    elif isinstance(obj, h5py.Dataset):
                        shape = obj.shape or ()
                        nbytes = _array_bytes(shape, obj.dtype)
                        total += nbytes
                        if total > budget:
                            check_memory(total, f"{what} {p} (dataset '{obj.name}' declares shape "
                                                f"{shape}, {obj.dtype})", error)
    except ChipemuError:
        raise
    except Exception as exc:  # OSError on a file that is not HDF5, and the like
        raise error(f"{what} {p}: not a readable HDF5 file ({type(exc).__name__}: "
                    f"{' '.join(str(exc).split())})") from None


def check_output_dir(out, what: str = "--out", names=(), error=ChipemuError) -> Path:
    """Check, before any work, that ``out`` can become the output folder: it is a folder
    (or can be created: its nearest existing parent is a writable folder), it is writable,
    and none of ``names`` inside it is a folder.  Creates nothing."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise error(f"{what} {out}: exists and is not a directory")
        if not os.access(out, os.W_OK | os.X_OK):
            raise error(f"{what} {out}: directory is not writable")
        for name in names:
            if (out / name).is_dir():
                raise error(f"{what} {out}: output {out / name} is a directory; cannot write there")
        return out
    parent = out.absolute().parent
    while not parent.exists():
        if parent.is_symlink():
            raise error(f"{what} {out}: {parent} is a broken symlink")
        parent = parent.parent
    if not parent.is_dir():
        raise error(f"{what} {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise error(f"{what} {out}: cannot create it ({parent} is not writable)")
    return out
