"""The ``chipemu`` command line: parse, call, print.

Every user error (:class:`~chipemu.errors.ChipemuError`) becomes one line
``error: <message>`` on stderr and exit status 2; a failed program check exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .cli_help import Parser, mapper_name
from .errors import ChipemuError


def _int_arg(lo: int | None, hi: int):
    """argparse type: an integer ``<= hi`` (and ``>= lo`` unless None: the command checks
    it), range-checked as a Python int before any use; a value out of range says *too
    large* (never a wrapped number)."""
    from .bounded import show

    def parse(text: str) -> int:
        t = text.strip().replace("_", "")
        if not t.lstrip("+-").isdigit() or len(t) > 4000:
            raise argparse.ArgumentTypeError(f"invalid integer {show(text)}")
        value = int(t)
        if value > hi:
            raise argparse.ArgumentTypeError(f"{show(value)} is too large (at most {hi:,})")
        if lo is not None and value < lo:
            raise argparse.ArgumentTypeError(f"{show(value)} must be >= {lo}")
        return value
    return parse


_nonneg_int = _int_arg(0, 2**63 - 1)
#: integer flags whose lower bound the command (or the library) checks with its own message
_max_per_core_arg = _int_arg(None, 2**31 - 1)
_workers_arg = _int_arg(None, 4096)
_limit_arg = _int_arg(None, 2**63 - 1)
#: --steps: any integer; its range is checked before anything runs (_check_out)
_steps_arg = _int_arg(None, 10**4000)


def _check_out(args, names=()) -> None:
    """Before any work: ``--steps`` in range and ``--out`` usable as the output folder
    (:func:`chipemu.bounded.check_output_dir`; nothing is created)."""
    from .bounded import check_output_dir, check_steps
    if getattr(args, "steps", None) is not None:
        check_steps(args.steps, "--steps")
    check_output_dir(args.out, "--out", names)


class Progress:
    """A one-line progress indicator on stderr, shown only for runs longer than ~2 s."""

    def __init__(self, label: str, delay_s: float = 2.0, stream=None):
        self.label, self.delay_s = label, delay_s
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.t0 < self.delay_s or (now - self.last < 0.5 and done < total):
            return
        self.last, self.shown = now, True
        el = now - self.t0
        eta = el / done * (total - done) if done else 0.0
        self.stream.write(f"\r{self.label}: {done}/{total} steps, {el:.1f} s elapsed, ~{eta:.1f} s left ")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _add_mapping_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--chip", default="loihi1", metavar="NAME_OR_TOML",
                   help="chip or system preset name, or a chip or system TOML file (default: loihi1; see 'chipemu chips')")
    p.add_argument("--mapper", default=None, metavar="NAME",
                   help="mapping strategy; see 'mappers' below")  # help completed by Parser.format_help
    p.add_argument("--seed", type=_nonneg_int, default=0, help="seed of every random choice of the mapper (default: 0)")
    p.add_argument("--max-per-core", type=_max_per_core_arg, default=None, metavar="N",
                   help="at most N compartments per core (default: the chip's limit)")
    p.add_argument("--pin", action="append", metavar="POP=CORE[,CORE...]",
                   help="pin a population to physical cores (router * cores_per_router + port; repeatable)")
    p.add_argument("--routing", choices=("unicast", "multicast"), default="unicast",
                   help="spike routing mode for hop counts (default: unicast, as on Loihi)")


def _map_options(args) -> dict:
    return dict(max_per_core=args.max_per_core, pin=_parse_pins(args.pin), routing=args.routing)


def _add_network_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NETWORK", help="flat network file (.npz) or program (programs/NAME.py or NAME)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="build parameter for a program (repeatable)")


def _positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    import math
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


def _add_import_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("imported networks (.nir from snnTorch/Sinabs/Norse, .net from lava-dl; docs/import.md)")
    g.add_argument("--dt", type=_positive_float, default=None, metavar="SECONDS",
                   help="NIR: seconds per step (required; snnTorch exports assume 1e-4, Sinabs/Spyx 1)")
    g.add_argument("--input", default=None, metavar="SPIKES.npy",
                   help="0/1 input spikes (steps, n_inputs); .npz keyed by Input name for several NIR inputs")
    g.add_argument("--input-bias", default=None, metavar="BIAS.npy",
                   help="netx: the input layer's bias mantissas (Lava's (x, y, c) layout or flat C order)")
    g.add_argument("--weight-scale", type=_positive_float, default=None, metavar="S",
                   help="NIR: float -> integer weight factor (default: the largest that fits)")
    g.add_argument("--reset-interval", type=_positive_int, default=None, metavar="N",
                   help="netx: reset every block's u and v every N steps, as netx's reset_interval")


def _import_options(args):
    from .loading import ImportOptions
    return ImportOptions(dt=args.dt, input=args.input, input_bias=args.input_bias, weight_scale=args.weight_scale,
                         reset_interval=args.reset_interval)


def _add_probe_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--probe", action="append", metavar="POP",
                   help="record u and v of population POP every step into DIR/probes.npz (repeatable)")


#: longest --param value (characters) and most --param flags
MAX_PARAM_CHARS = 100_000
MAX_PARAMS = 256


def _parse_params(items: list[str] | None) -> dict:
    """``["n=10", "rate=0.5", "name=x"]`` -> ``{"n": 10, "rate": 0.5, "name": "x"}``.

    A value is a Python literal (number, string, list, ...) or else the text itself.  A
    value longer than :data:`MAX_PARAM_CHARS`, nested deeper than
    :data:`chipemu.bounded.MAX_DEPTH` or given twice is refused; the program checks the rest.
    """
    import ast

    from .bounded import MAX_DEPTH, nesting_depth

    items = list(items or [])
    if len(items) > MAX_PARAMS:
        raise ChipemuError(f"--param given {len(items)} times (at most {MAX_PARAMS})")
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.isidentifier():
            raise ChipemuError(f"--param {item[:60]!r}: expected NAME=VALUE with NAME a Python identifier")
        if len(raw) > MAX_PARAM_CHARS:
            raise ChipemuError(f"--param {key}: value of {len(raw):,} characters is too long "
                               f"(at most {MAX_PARAM_CHARS:,})")
        if key in params:
            raise ChipemuError(f"--param {key}: given twice")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError):  # not a literal (or an int too long to convert): text
            value = raw
        except (RecursionError, MemoryError):
            raise ChipemuError(f"--param {key}: value nested too deeply") from None
        if nesting_depth(value) > MAX_DEPTH:
            raise ChipemuError(f"--param {key}: value nested deeper than {MAX_DEPTH} levels")
        params[key] = value
    return params


def _load_network(args, flat_ok: bool = False):
    """The NETWORK argument as a :class:`chipemu.loading.LoadedNetwork` (network, program
    module or None, the report's ``import`` section for an imported file); ``flat_ok``: see
    :func:`chipemu.loading.load_network_arg`."""
    from .loading import is_network_file, load_network_source

    params = _parse_params(args.param)
    if params and is_network_file(args.network):
        raise ChipemuError(f"--param applies to programs, not to the network file {args.network}")
    return load_network_source(args.network, params, _import_options(args), getattr(args, "steps", None),
                               flat_ok=flat_ok)


def cmd_simulate(args) -> int:
    from .flatload import FlatFile
    from .reference import run

    _check_out(args, ("spikes.npz", "probes.npz"))
    # a flat file goes to the runner as validated arrays (no Network) unless probes name populations
    net = _load_network(args, flat_ok=not args.probe).network
    progress = Progress("simulate")
    try:
        result = run(net.flat if isinstance(net, FlatFile) else net, args.steps, progress=progress,
                     probes=args.probe)
    finally:
        progress.close()
    from .rundir import PROBES, write_spikes_dir

    out = Path(args.out)
    write_spikes_dir(result, out)
    rate = len(result.spikes) / max(result.steps * max(net.n_compartments, 1), 1)
    print(f"{net.name}: {net.n_compartments} compartments, {net.n_synapses} synapses, {result.steps} steps")
    print(f"spikes: {len(result.spikes)} ({100 * rate:.2f} % of compartments per step); "
          f"synaptic events: {result.synaptic_events}; wall time: {result.wall_s:.3f} s")
    print(f"wrote {out / 'spikes.npz'}" + (f" and {out / PROBES}" if result.probes else ""))
    return 0


def cmd_run(args) -> int:
    from .pipeline import run_network
    from .report import format_summary
    from .report.captions import FIGURES
    from .rundir import HTML, LEARNED_NETWORK, PROBES, REPORT, SPIKES, write_run_dir
    from .sidecar import Sidecar

    _check_out(args, (REPORT, SPIKES, HTML, LEARNED_NETWORK, PROBES, *(f"{k}.png" for k in FIGURES)))
    _parse_pins(args.pin)  # checked before the network is built
    loaded = _load_network(args)
    net, program = loaded.network, loaded.program
    # the reference run, matplotlib and the figures in a helper process beside the emulation
    sidecar = Sidecar.start(net, args.steps) if args.helper_process else None
    try:
        progress = Progress("run")
        try:
            run = run_network(net, args.chip, mapper_name(args), steps=args.steps, seed=args.seed, noc=args.noc,
                              progress=progress, network_source=str(args.network), probes=args.probe,
                              check=getattr(program, "check", None) if program is not None else None,
                              imported=loaded.imported, reference=sidecar.reference if sidecar else None,
                              **_map_options(args))
        finally:
            progress.close()
        out = Path(args.out)
        write_run_dir(run, out, draw=sidecar.draw if sidecar else None)
    finally:
        if sidecar is not None:
            sidecar.close()
    print(format_summary(run.report))
    print(f"wrote {out / 'report.json'}, {out / 'spikes.npz'}, {out / 'report.html'} and its figures"
          + (f", {out / LEARNED_NETWORK} (learned weights)" if run.weights else "")
          + (f", {out / PROBES} (probes)" if run.probes else ""))
    return 1 if run.report.get("check", {}).get("passed") is False else 0


def _parse_pins(items: list[str] | None) -> dict[str, list[int]] | None:
    """``["exc=0,1", "inh=2"]`` -> ``{"exc": [0, 1], "inh": [2]}``."""
    if not items:
        return None
    pins: dict[str, list[int]] = {}
    for item in items:
        name, sep, cores = item.partition("=")
        try:
            ids = [int(c) for c in cores.split(",")] if sep and name and len(cores) < 10**6 else None
        except ValueError:
            ids = None
        if not ids:
            raise ChipemuError(f"--pin {item[:60]!r}: expected POPULATION=CORE[,CORE...] with integer core ids")
        from .bounded import check_int
        for c in ids:
            check_int(c, f"--pin {name}: core id", 0, 2**31 - 1)
        if name in pins:
            raise ChipemuError(f"--pin {item!r}: population '{name}' is pinned twice; list all its cores in one --pin")
        pins[name] = ids
    return pins


def cmd_map(args) -> int:
    from mapper import format_quality, map_network

    _check_out(args, ("mapping.json",))
    _parse_pins(args.pin)  # checked before the network is built
    net = _load_network(args).network
    t0 = time.perf_counter()
    mapping = map_network(net, args.chip, mapper=mapper_name(args), seed=args.seed, **_map_options(args))
    wall = time.perf_counter() - t0
    quality = mapping.quality(net)
    out = Path(args.out)
    mapping.save(out / "mapping.json")
    chip = mapping.chip
    print(f"{net.name}: {net.n_compartments} compartments, {net.n_inputs} inputs, {net.n_synapses} synapses "
          f"-> chip {chip.name} ({chip.mesh.columns}x{chip.mesh.rows} mesh x {chip.mesh.cores_per_router} cores"
          f"{f' x {chip.n_chips} chips' if chip.n_chips > 1 else ''}); "
          f"mapper {mapping.strategy}, seed {mapping.seed}, {wall:.2f} s")
    print(mapping.utilisation_table())
    print(format_quality(quality))
    print(f"wrote {out / 'mapping.json'}")
    return 0


def cmd_chips(args) -> int:
    from .chips import format_chip_table, format_system_table, list_presets, list_systems, load_chip, load_hardware

    print(format_chip_table([load_chip(name) for name in list_presets()]))
    print()
    print(format_system_table([load_hardware(name) for name in list_systems()]))
    return 0


def cmd_report(args) -> int:
    """Redraw DIR/report.html and its PNG figures from DIR/report.json and DIR/spikes.npz."""
    from .explore import is_explore_dir, redraw_explore  # an explore --out DIR: redraw explore.html
    from .interrupt import import_deferred

    import_deferred("chipemu.report.figures")  # matplotlib loads with signals held back
    if is_explore_dir(args.dir):
        return print(f"wrote {redraw_explore(args.dir)} from {Path(args.dir) / 'results.csv'}") or 0
    from .report.figures import FIGURES
    from .rundir import redraw_run_dir

    path = redraw_run_dir(args.dir)
    print(f"wrote {path} and {len(FIGURES)} figures ({', '.join(f'{k}.png' for k in FIGURES)})")
    return 0


def cmd_explore(args) -> int:
    """Run a sweep (chips x mappers x workloads) and write results.csv and explore.html."""
    from .explore import load_sweep, run_sweep
    from .explore.report import format_front
    from .interrupt import import_deferred

    import_deferred("chipemu.report.figures")  # matplotlib loads with signals held back
    for flag, value, lo in (("--workers", args.workers, 1), ("--limit", args.limit, 0)):
        if value is not None and value < lo:
            raise ChipemuError(f"{flag} {value!r} is not allowed (allowed: int >= {lo})")
    from .bounded import check_output_dir
    from .explore.results import RESULTS
    check_output_dir(args.out, "--out", (RESULTS, "explore.html"))
    if args.scheduler is not None:
        import importlib.util
        if importlib.util.find_spec("dask") is None:
            raise ChipemuError("--scheduler needs Dask: pip install 'chipemu[dask]' (or pip install 'dask[distributed]')")
    sweep = load_sweep(args.sweep)
    res = run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler, noc=args.noc,
                    limit=args.limit)
    st = res.status
    print(f"sweep {sweep.name}: {res.total} points; {res.ran} run now ({res.executor}), {res.skipped} already done")
    print(f"results: {st.get('ok', 0)} ok, {st.get('fit_failure', 0)} did not fit, {st.get('error', 0)} failed "
          f"with an error" + (f"; {res.remaining} not run yet (rerun the same command to resume)" if res.remaining else ""))
    front = format_front(res.out)
    if front:
        print(front)
    print(f"wrote {res.out / 'results.csv'}" + (f", {res.html}" if res.html else ""))
    return 1 if st.get("error") else 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = Parser(prog="chipemu", description="Map, emulate and cost spiking neural networks on a "
                                                  "Loihi-style neuromorphic chip.")
    parser.add_argument("--version", action="version", version=f"chipemu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("simulate", help="run a network on the host reference runner (no chip)")
    _add_network_args(p)
    p.add_argument("--steps", type=_steps_arg, default=None, help="timesteps (default: the network's own)")
    p.add_argument("--out", default="out", help="output directory (default: out)")
    _add_probe_arg(p)
    _add_import_args(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="map a network onto a chip, emulate it and write a report",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Map the network onto the chip, emulate it (cores + SimPy mesh NoC), "
                                   "and write DIR/report.json, DIR/spikes.npz and DIR/report.html.")
    p.lists_mappers = True
    _add_network_args(p)
    _add_mapping_args(p)
    p.add_argument("--steps", type=_steps_arg, default=None, help="timesteps (default: the network's own)")
    p.add_argument("--noc", default="simpy", choices=["simpy", "analytic"],
                   help="NoC model: simpy (reference, default) or analytic (fast, for sweeps)")
    p.add_argument("--out", default="out", help="output directory (default: out)")
    _add_probe_arg(p)
    _add_import_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("map", help="map a network onto a chip: write DIR/mapping.json, print per-core use",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Partition the network's compartments onto cores, place the cores on the "
                                   "chip's mesh and route spikes; print per-core utilisation and traffic figures.")
    p.lists_mappers = True
    _add_network_args(p)
    _add_mapping_args(p)
    p.add_argument("--out", default="out", help="output directory (default: out)")
    _add_import_args(p)
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("chips", help="list the chip presets with their key figures")
    p.set_defaults(func=cmd_chips)

    p = sub.add_parser("report", help="redraw DIR/report.html and its figures from DIR/report.json + spikes.npz")
    p.add_argument("dir", metavar="DIR", help="output directory of 'chipemu run' (holds report.json, spikes.npz)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("explore", help="sweep chips, mappers and workloads; Pareto report of energy vs latency")
    p.add_argument("sweep", metavar="SWEEP.toml", help="sweep description (see docs/explore.md)")
    p.add_argument("--out", default="explore", help="output directory; rerun to resume (default: explore)")
    p.add_argument("--workers", type=_workers_arg, default=None,
                   help="local worker processes (default: CPU count, at most 8; 1 = in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask distributed cluster at ADDRESS (needs pip install 'chipemu[dask]')")
    p.add_argument("--noc", default=None, choices=["simpy", "analytic"],
                   help="NoC model, overriding the sweep's (default: the sweep's, else analytic)")
    p.add_argument("--limit", type=_limit_arg, default=None, metavar="N", help="run at most N pending points now")
    p.set_defaults(func=cmd_explore)
    return parser


def _error(msg: str) -> int:
    print("error: " + " ".join(str(msg).split()), file=sys.stderr)  # always one line
    return 2


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush
    does not fail again (and print a traceback) on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file behind sys.stdout
        pass


def console_main(argv: list[str] | None = None) -> int:
    """The ``chipemu`` program (and ``python -m chipemu``): :func:`main` after tuning the
    allocator (:mod:`chipemu.allocator`), which in-process :func:`main` calls leave alone."""
    from .allocator import keep_freed_memory

    keep_freed_memory()
    return main(argv, helper_process=True)


def main(argv: list[str] | None = None, *, helper_process: bool = False) -> int:
    """Run the command line.  SIGINT and SIGTERM stop it with exit 130 / 143 and nothing
    half-written (:mod:`chipemu.interrupt`), also when a library swallowed the signal;
    no process-wide side effect (see :func:`console_main`).  ``helper_process``: ``run``
    may fork a helper process for the reference run and the figures (:mod:`chipemu.sidecar`;
    the ``chipemu`` program does, :func:`main` called in process does not by default)."""
    from . import interrupt

    with interrupt.handle_signals():
        try:
            rc = _main(argv, helper_process)
        except interrupt.Interrupted as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except SystemExit:  # argparse (usage errors, --help); a program's sys.exit() never gets here
            if interrupt.exit_code() is not None:
                print("error: interrupted", file=sys.stderr)
                return interrupt.exit_code()
            raise
        code = interrupt.exit_code()
        if code is not None:  # the signal was swallowed on its way up: still stop with its status
            print("error: interrupted", file=sys.stderr)
            return code
        return rc


def _main(argv: list[str] | None = None, helper_process: bool = False) -> int:
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    args.helper_process = helper_process
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rc = args.func(args)
        for w in caught:  # after a success only: an error's stderr is its one line
            print(f"warning: {' '.join(str(w.message).split())}", file=sys.stderr)
        return rc
    except ChipemuError as exc:
        return _error(str(exc))
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early (an OSError: first)
        _silence_stdout()
        return 0
    except OSError as exc:  # an output (or input) path the system refuses
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _error(f"{where}{exc.strerror or exc}")
    except MemoryError:
        return _error("not enough memory for this run: the network, its inputs or --steps are too large "
                      "for this machine")
    except RecursionError:
        return _error("input nested too deeply (recursion limit reached)")


if __name__ == "__main__":
    sys.exit(console_main())
