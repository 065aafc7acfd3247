"""Resolve a NETWORK argument: a flat ``.npz`` file, a NIR graph (``.nir``, imported with
:mod:`chipemu.importers.nir`) or a program (``programs/*.py``).

A program is a Python file with ``build(**params) -> Network`` and optionally
``check(result) -> (passed, detail)`` (docs/cli.md, docs/programs.md).  A bare name such as
``synfire`` resolves to the bundled ``programs/synfire.py``.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

from . import bounded
from .errors import ChipemuError
from .network import Network


def _describe_exit(exc: BaseException) -> str:
    """What a program did: ``'called sys.exit(3) ...'`` or ``'failed: ValueError: bad n'``."""
    if isinstance(exc, SystemExit):
        code = f"{exc.code!r}"[:60] if exc.code is not None else ""
        return f"called sys.exit({code}) (a program must return or raise, not exit)"
    try:
        text = " ".join(str(exc).split())
    except Exception:  # an exception whose __str__ fails
        text = ""
    if len(text) > 300:
        text = text[:297] + "..."
    return f"failed: {type(exc).__name__}" + (f": {text}" if text else "")


def call_program(module: ModuleType | str, function: str, call, *args, **kwargs):
    """Run user code ``call(*args, **kwargs)`` (a program's ``function``) and turn anything
    it does -- raise, ``sys.exit()``, a ``ChipemuError`` -- into one :class:`ChipemuError`
    naming the program and the function.  Ctrl-C / SIGTERM (``KeyboardInterrupt``) pass."""
    where = getattr(module, "__chipemu_path__", module) if not isinstance(module, str) else module
    try:
        return call(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except ChipemuError as exc:
        raise type(exc)(f"program {where}: {function} failed: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise ChipemuError(f"program {where}: {function} failed: RecursionError (recursion too deep)") from None
    except MemoryError:
        raise ChipemuError(f"program {where}: {function} ran out of memory") from None
    except BaseException as exc:  # SystemExit, GeneratorExit, any Exception: the program's fault
        raise ChipemuError(f"program {where}: {function} {_describe_exit(exc)}") from None


def run_check(check, result) -> tuple[bool, str]:
    """A program's ``check(result)`` as ``(passed, detail)``, validated: anything else it
    returns or does (raise, exit, a wrong type) is a :class:`ChipemuError` naming the
    program (its ``__chipemu_path__``, set by :func:`load_program`) and ``check()``."""
    where = getattr(check, "__globals__", {}).get("__chipemu_path__") or getattr(check, "__module__", "?")
    out = call_program(str(where), "check()", check, result)
    if not isinstance(out, tuple) or len(out) != 2:
        shown = type(out).__name__ + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise ChipemuError(f"program {where}: check() must return (passed, detail), got {shown}")
    passed, detail = out
    import numpy as np
    if not isinstance(passed, (bool, int, np.bool_, np.integer)):
        raise ChipemuError(f"program {where}: check() must return (passed, detail) with passed a bool, "
                           f"got {type(passed).__name__}")
    text = call_program(str(where), "check() detail", str, detail) if not isinstance(detail, str) else detail
    return bool(passed), text



def bundled_programs() -> dict[str, Path]:
    """Names and paths of the programs shipped in the ``programs`` package."""
    # found, not imported: the programs are user code built on this library (a later layer)
    spec = importlib.util.find_spec("programs")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations)))
    return {p.stem: p for p in sorted(root.glob("*.py")) if not p.stem.startswith("_")}


def load_program(ref: str | Path) -> ModuleType:
    """Import a program from a path (``programs/x.py``) or a bundled program's name."""
    path = Path(ref)
    if path.suffix != ".py":
        found = bundled_programs().get(str(ref))
        if found is None:
            raise ChipemuError(f"unknown program {str(ref)!r} (bundled: {', '.join(bundled_programs())}); "
                               "give a .npz network file or a path to a .py program")
        path = found
    if not path.is_file():
        raise ChipemuError(f"program {path}: no such file")
    bounded.open_regular(path, "program", bounded.MAX_TEXT_BYTES, ChipemuError).close()
    try:
        spec = importlib.util.spec_from_file_location(f"chipemu_program_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
    except Exception as exc:
        raise ChipemuError(f"program {path}: cannot be loaded ({_describe_exit(exc)})") from None
    call_program(str(path), "import", spec.loader.exec_module, module)  # the module's top level is user code
    if not callable(getattr(module, "build", None)):
        raise ChipemuError(f"program {path}: defines no build(**params) function")
    module.__chipemu_path__ = str(path)
    return module


def build_program(module: ModuleType, params: dict) -> Network:
    """Call ``module.build(**params)``, checking the parameter names first."""
    try:
        sig = inspect.signature(module.build)
    except (TypeError, ValueError) as exc:
        raise ChipemuError(f"program {module.__chipemu_path__}: build has no readable signature ({exc})") from None
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in sig.parameters and not accepts_any]
    if unknown:
        allowed = ", ".join(sig.parameters) or "none"
        raise ChipemuError(f"program {module.__chipemu_path__}: unknown parameter '{unknown[0]}' (allowed: {allowed})")
    from .bounded import show
    shown = ", ".join(f"{k}={show(v)}" for k, v in params.items()) or "defaults"
    net = call_program(module, f"build({shown})", module.build, **params)
    if not isinstance(net, Network):
        raise ChipemuError(f"program {module.__chipemu_path__}: build() returned {type(net).__name__}, not a Network")
    return net


def is_network_file(ref) -> bool:
    """Whether ``ref`` names a network file (flat ``.npz`` or NIR ``.nir``), not a program."""
    return str(ref).endswith((".npz", ".nir"))


def load_network_arg(ref: str, params: dict | None = None, *, flat_ok: bool = False):
    """The network named by a CLI argument, and its program module (None for a file).

    ``flat_ok``: a flat file may come back as a :class:`~chipemu.flatload.FlatFile` (its
    validated arrays, ``.flat``, without a ``Network``) when nothing in it needs one --
    what the reference runner consumes, several times faster to load.
    """
    params = params or {}
    if is_network_file(ref):
        if params:
            raise ChipemuError(f"build parameters apply to programs, not to the network file {ref}")
        if str(ref).endswith(".nir"):  # a NIR graph from another tool (docs/import.md)
            from .importers.nir import load_nir
            return load_nir(ref), None
        if flat_ok:
            from .flatfile import read_npz
            from .flatload import read_flat

            flat = read_flat(ref, read_npz(ref, "network file"))
            if flat is not None:
                return flat, None
        return Network.load(ref), None
    module = load_program(ref)
    return build_program(module, params), module
