"""Resolve a NETWORK argument: a flat ``.npz`` file, a NIR graph (``.nir``, imported with
:mod:`chipemu.importers.nir`), a lava-dl netx file (``.net``, :mod:`chipemu.importers.netx`)
or a program (``programs/*.py``).

Imported files take :class:`ImportOptions` (the CLI's ``--dt``, ``--input``,
``--input-bias``, ``--weight-scale``, ``--reset-interval``); :func:`load_network_source`
returns the report's ``import`` section with the network.

A program is a Python file with ``build(**params) -> Network`` and optionally
``check(result) -> (passed, detail)`` (docs/cli.md, docs/programs.md).  A bare name such as
``synfire`` resolves to the bundled ``programs/synfire.py``.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import bounded
from .errors import ChipemuError
from .network import Network

#: file suffixes imported from other tools' formats
IMPORT_SUFFIXES = (".nir", ".net")

#: what the common NIR exporters assume for dt (a NIR graph has no time step)
NIR_DT_HINT = ("snnTorch's export_to_nir assumes 1e-4 s, sinabs and Spyx one step (dt = 1), Norse its "
               "dt argument (1e-3 s by default)")

#: the largest quantisation errors an import accepts without a warning (relative, project
#: assumption: 5 % of a weight or threshold changes spike times visibly within tens of steps)
LARGE_ERROR = {"weight_error_max": 0.05, "threshold_error_max": 0.05, "decay_error_max": 0.05,
               "bias_error_max": 0.05}


@dataclass(frozen=True)
class ImportOptions:
    """Options for files imported from other tools.

    ``dt``: seconds per step (NIR, required); ``input``: path of a 0/1 spike array
    (``.npy`` (steps, n_inputs), or ``.npz`` keyed by input name); ``input_bias``: path of
    the netx input layer's bias (``.npy``); ``weight_scale``: NIR float -> integer weight
    factor (default: automatic); ``reset_interval``: netx's periodic reset.
    """

    dt: float | None = None
    input: str | None = None
    input_bias: str | None = None
    weight_scale: float | None = None
    reset_interval: int | None = None

    def given(self) -> list[str]:
        flags = {"dt": "--dt", "input": "--input", "input_bias": "--input-bias", "weight_scale": "--weight-scale",
                 "reset_interval": "--reset-interval"}
        return [flag for key, flag in flags.items() if getattr(self, key) is not None]


@dataclass
class LoadedNetwork:
    """A resolved NETWORK argument: the network, its program module (None for a file) and,
    for an imported file, the report's ``import`` section (a dict)."""

    network: Network
    program: ModuleType | None = None
    imported: dict | None = None


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
    """Whether ``ref`` names a network file (flat ``.npz``, NIR ``.nir``, netx ``.net``), not a program."""
    return str(ref).endswith((".npz",) + IMPORT_SUFFIXES)


def load_network_arg(ref: str, params: dict | None = None, *, flat_ok: bool = False,
                     options: ImportOptions | None = None):
    """The network named by a CLI argument, and its program module (None for a file).

    ``flat_ok``: a flat file may come back as a :class:`~chipemu.flatload.FlatFile` (its
    validated arrays, ``.flat``, without a ``Network``) when nothing in it needs one --
    what the reference runner consumes, several times faster to load.  ``options``: for
    imported files (:func:`load_network_source`).
    """
    loaded = load_network_source(ref, params, options, flat_ok=flat_ok)
    return loaded.network, loaded.program


def load_network_source(ref: str, params: dict | None = None, options: ImportOptions | None = None,
                        steps: int | None = None, *, flat_ok: bool = False) -> LoadedNetwork:
    """Resolve a NETWORK argument (see the module docstring); ``steps`` is the run length
    an imported network gets when its input does not set one."""
    params = params or {}
    options = options or ImportOptions()
    text = str(ref)
    if is_network_file(ref):
        if params:
            raise ChipemuError(f"build parameters apply to programs, not to the network file {ref}")
        if text.endswith(".nir"):  # a NIR graph from another tool (docs/import.md)
            return _load_nir(ref, options, steps)
        if text.endswith(".net"):  # a lava-dl netx file (docs/import.md)
            return _load_netx(ref, options, steps)
    if options.given():
        raise ChipemuError(f"{options.given()[0]} applies to imported files (.nir, .net), not to {ref}")
    if is_network_file(ref):
        if flat_ok:
            from .flatfile import read_npz
            from .flatload import read_flat

            flat = read_flat(ref, read_npz(ref, "network file"))
            if flat is not None:
                return LoadedNetwork(flat)
        return LoadedNetwork(Network.load(ref))
    module = load_program(ref)
    return LoadedNetwork(build_program(module, params), module)


def _refuse(ref: str, options: ImportOptions, allowed: tuple[str, ...]) -> None:
    extra = [f for f in options.given() if f not in allowed]
    if extra:
        raise ChipemuError(f"{extra[0]} does not apply to {ref} (it takes {', '.join(allowed)})")


def _load_nir(ref: str, options: ImportOptions, steps: int | None) -> LoadedNetwork:
    import warnings

    from .importers.common import load_array
    from .importers.nir import from_nir

    _refuse(ref, options, ("--dt", "--input", "--weight-scale"))
    if options.dt is None:
        raise ChipemuError(f"NIR graph {ref}: a NIR graph carries no time step; give --dt SECONDS ({NIR_DT_HINT})")
    spikes = load_array(options.input, "input spike file") if options.input is not None else None
    if steps is None and spikes is not None:
        steps = max((len(a) for a in spikes.values()), default=0) if isinstance(spikes, dict) else len(spikes)
    kw = {"steps": steps} if steps is not None else {}
    net, report = from_nir(ref, dt=options.dt, weight_scale=options.weight_scale, input_spikes=spikes, **kw)
    warns = []
    if not any(g.spike_idx.size for g in net.inputs):
        warns.append("no input spike events: the network is driven by its biases only (give --input SPIKES.npy)")
    for key, limit in LARGE_ERROR.items():
        value = getattr(report, key)
        if value > limit:
            warns.append(f"large quantisation error: {key.replace('_', ' ')} {value:.1%} (> {limit:.0%}); "
                         "check the spikes against the source framework")
    for w in warns:
        warnings.warn(f"NIR graph {ref}: {w}", stacklevel=2)
    imported = {"format": "nir", "source": str(ref), "summary": report.summary(), "details": report.to_dict(),
                "warnings": warns}
    return LoadedNetwork(net, None, imported)


def _load_netx(ref: str, options: ImportOptions, steps: int | None) -> LoadedNetwork:
    import warnings

    from .importers.common import load_array
    from .importers.netx import from_netx

    _refuse(ref, options, ("--input", "--input-bias", "--reset-interval"))
    spikes = load_array(options.input, "input spike file") if options.input is not None else None
    bias = load_array(options.input_bias, "input bias file") if options.input_bias is not None else None
    for what, arr in (("--input", spikes), ("--input-bias", bias)):
        if isinstance(arr, dict):
            raise ChipemuError(f"{what} for a netx file must be one .npy array, not a .npz archive")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net, info = from_netx(ref, input_spikes=spikes, input_bias=bias, reset_interval=options.reset_interval,
                              steps=steps)
    warns = [" ".join(str(w.message).split()) for w in caught]
    for w in warns:
        warnings.warn(w, stacklevel=2)
    imported = {"format": "lava-dl netx", "source": str(ref), "summary": info.summary(), "details": info.to_dict(),
                "warnings": warns}
    return LoadedNetwork(net, None, imported)
