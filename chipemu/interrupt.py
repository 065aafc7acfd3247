"""SIGINT and SIGTERM: stop promptly, leave nothing half-written, exit 130 / 143.

:func:`handle_signals` (used by the command line) makes both signals raise
:class:`Interrupted`, a :class:`KeyboardInterrupt`, so ``try/finally`` blocks remove their
temporary files on SIGTERM exactly as on Ctrl-C, and no ``except Exception`` can swallow
it.  The signal is also remembered: code that is about to make output visible calls
:func:`check` first, so an interrupt that a library swallowed (raised inside a callback,
say) still stops the run before anything is moved into place, and the command line exits
``128 + signal number`` however the exception travelled.  :func:`deferred` holds the
signal back while a cleanup runs, so a second Ctrl-C cannot leave a temporary folder
behind.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_received: int | None = None
_defer_depth = 0


class Interrupted(KeyboardInterrupt):
    """Raised on SIGINT or SIGTERM; ``exit_code`` is ``128 + signum`` (130 or 143)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum)

    def __str__(self) -> str:
        return f"interrupted ({signal.Signals(self.signum).name})"


def _handler(signum, frame) -> None:
    global _received
    _received = signum
    if _defer_depth == 0:
        raise Interrupted(signum)


def received() -> int | None:
    """The signal number received since :func:`handle_signals` began, or None."""
    return _received


def exit_code() -> int | None:
    """``128 + signum`` if a signal was received, else None."""
    return None if _received is None else 128 + int(_received)


def check() -> None:
    """Raise :class:`Interrupted` if a signal was received (also if it was swallowed)."""
    if _received is not None:
        raise Interrupted(_received)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT/SIGTERM back inside the block (a cleanup); raise after it if one came."""
    global _defer_depth
    _defer_depth += 1
    try:
        yield
    finally:
        _defer_depth -= 1
    if _defer_depth == 0:
        check()


def import_deferred(name: str):
    """Import module ``name`` with SIGINT/SIGTERM held back (:func:`deferred`): a signal
    while a C extension initialises (matplotlib's pybind11 modules) aborts the interpreter
    at exit instead of stopping it cleanly.  The signal takes effect right after."""
    import importlib

    with deferred():
        return importlib.import_module(name)


@contextlib.contextmanager
def handle_signals():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only)."""
    global _received, _defer_depth
    _received, _defer_depth = None, 0
    if threading.current_thread() is not threading.main_thread():
        try:  # signals reach the main thread only: nothing to install here
            yield
        finally:
            _received = None
        return
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, _handler)
        except (ValueError, OSError):  # pragma: no cover - not allowed here
            pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        _received = None
