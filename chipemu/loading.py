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

from .errors import ChipemuError
from .network import Network


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
    spec = importlib.util.spec_from_file_location(f"chipemu_program_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ChipemuError:
        raise
    except Exception as exc:  # a user's program failed to import: report, do not crash
        raise ChipemuError(f"program {path}: failed to import ({type(exc).__name__}: {exc})") from None
    if not callable(getattr(module, "build", None)):
        raise ChipemuError(f"program {path}: defines no build(**params) function")
    module.__chipemu_path__ = str(path)
    return module


def build_program(module: ModuleType, params: dict) -> Network:
    """Call ``module.build(**params)``, checking the parameter names first."""
    sig = inspect.signature(module.build)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in sig.parameters and not accepts_any]
    if unknown:
        allowed = ", ".join(sig.parameters) or "none"
        raise ChipemuError(f"program {module.__chipemu_path__}: unknown parameter '{unknown[0]}' (allowed: {allowed})")
    try:
        net = module.build(**params)
    except ChipemuError:
        raise
    except Exception as exc:  # a parameter value the program cannot build with: bad input
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
        raise ChipemuError(f"program {module.__chipemu_path__}: build({shown}) failed: "
                           f"{type(exc).__name__}: {exc}") from None
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
