"""Process-wide tuning of the C allocator for the command line (glibc only).

The emulator's vectorised passes (the analytic NoC above all) allocate and free arrays of
tens of megabytes many times per run.  glibc hands such blocks back to the operating
system when they are freed (above its dynamic mmap and trim thresholds), so the next
pass faults the same amount of memory in again, page by page: on the 100k-compartment
benchmark (``bench/system.py``) that was 1.4M page faults and 14 s of system time out of
58 s of CPU.  :func:`keep_freed_memory` raises both thresholds, so freed blocks stay in
the heap and are reused: 0.2M faults and 5.5 s of system time on the same run, the peak
resident memory unchanged (measured 2026-12-02 on this project's machine).

Blocks above glibc's largest mmap threshold (32 MiB: a 15M-synapse network's int64
arrays are 120 MB) were still mapped and unmapped on every use, and numpy asks for
transparent huge pages on large blocks, so each such allocation was zeroed afresh by the
kernel, 2 MiB page by page: 13.4 s of system time (18 % of the run's CPU in the kernel's
``clear_page``) on the 100k benchmark, later the same day.  The C allocator is therefore
also told never to map blocks on their own (``M_MMAP_MAX = 0``: every block comes from
the heap, glibc still maps memory if the heap cannot grow) and to keep up to 2 GiB of
free heap: 5.7 s of system time, 8 s less wall time, the peak resident memory 2.80 ->
3.07 GB (blocks freed in one phase are reused, not returned, in the next).

Only the ``chipemu`` program calls it (:func:`chipemu.cli.console_main`, the console
entry point and ``python -m chipemu``; a library, and :func:`chipemu.cli.main` called in
process, does not change its host process's allocator); elsewhere than glibc it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

__all__ = ["keep_freed_memory", "libc"]

#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -3, -4
#: blocks up to this size come from the heap (glibc's largest allowed value on 64-bit)
_MMAP_THRESHOLD_BYTES = 32 << 20
#: free memory at the top of the heap kept for reuse instead of returned (the largest int)
_TRIM_THRESHOLD_BYTES = 2**31 - 1


@functools.lru_cache(maxsize=1)
def libc() -> ctypes.CDLL:
    """The C library, loaded once (Linux; raises ``OSError`` if it cannot be loaded)."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def keep_freed_memory() -> bool:
    """Make glibc take every block from the heap (none mapped on its own) and keep up to
    2 GiB of free heap for reuse.  Returns whether the allocator was tuned (False off
    Linux/glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = libc().mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return (bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
            and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)) and bool(mallopt(_M_MMAP_MAX, 0)))
