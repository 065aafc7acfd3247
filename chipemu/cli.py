"""The ``chipemu`` command line: parse, call, print.

Every user error (:class:`~chipemu.errors.ChipemuError`) becomes one line
``error: <message>`` on stderr and exit status 2; a failed program check exits 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import ChipemuError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage errors: one line, exit 2
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


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


def _add_network_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NETWORK", help="flat network file (.npz) or program (programs/NAME.py or NAME)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="build parameter for a program (repeatable)")


def cmd_simulate(args) -> int:
    from .loading import load_network_arg, parse_params
    from .reference import run

    net, _ = load_network_arg(args.network, parse_params(args.param))
    progress = Progress("simulate")
    try:
        result = run(net, args.steps, progress=progress)
    finally:
        progress.close()
    out = Path(args.out)
    result.spikes.save(out / "spikes.npz")
    rate = len(result.spikes) / max(result.steps * max(net.n_compartments, 1), 1)
    print(f"{net.name}: {net.n_compartments} compartments, {net.n_synapses} synapses, {result.steps} steps")
    print(f"spikes: {len(result.spikes)} ({100 * rate:.2f} % of compartments per step); "
          f"synaptic events: {result.synaptic_events}; wall time: {result.wall_s:.3f} s")
    print(f"wrote {out / 'spikes.npz'}")
    return 0


def cmd_run(args) -> int:
    from .loading import load_network_arg, parse_params
    from .pipeline import run_network
    from .report import format_summary

    net, program = load_network_arg(args.network, parse_params(args.param))
    progress = Progress("run")
    try:
        run = run_network(net, args.chip, args.mapper, steps=args.steps, seed=args.seed, noc=args.noc,
                          progress=progress, network_source=str(args.network))
    finally:
        progress.close()
    failed = False
    if program is not None and callable(getattr(program, "check", None)):
        passed, detail = program.check(run)
        run.report["check"] = {"passed": bool(passed), "detail": str(detail)}
        failed = not passed
    out = Path(args.out)
    write_outputs(run, out)
    print(format_summary(run.report))
    print(f"wrote {out / 'report.json'}, {out / 'spikes.npz'}" + (f", {out / 'report.html'}" if (out / "report.html").exists() else ""))
    return 1 if failed else 0


def write_outputs(run, out: Path) -> None:
    """report.json, spikes.npz and (when available) report.html with its figures."""
    from .report import write_report

    run.spikes.save(out / "spikes.npz")
    try:
        from .report.html import write_html
    except ImportError:
        write_html = None
    if write_html is not None:
        write_html(run.report, run.spikes, out)
    write_report(run.report, out / "report.json")


def cmd_chips(args) -> int:
    from .chips import format_chip_table, list_presets, load_chip

    print(format_chip_table([load_chip(name) for name in list_presets()]))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="chipemu", description="Map, emulate and cost spiking neural networks on a "
                                                  "Loihi-style neuromorphic chip.")
    parser.add_argument("--version", action="version", version=f"chipemu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("simulate", help="run a network on the host reference runner (no chip)")
    _add_network_args(p)
    p.add_argument("--steps", type=int, default=None, help="timesteps (default: the network's own)")
    p.add_argument("--out", default="out", help="output directory (default: out)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="map a network onto a chip, emulate it and write a report")
    _add_network_args(p)
    p.add_argument("--chip", default="loihi1", help="chip preset name or TOML file (default: loihi1; see 'chipemu chips')")
    p.add_argument("--mapper", default="traffic", help="mapping strategy (default: traffic; see 'chipemu map --help')")
    p.add_argument("--steps", type=int, default=None, help="timesteps (default: the network's own)")
    p.add_argument("--seed", type=int, default=0, help="seed of the mapper (default: 0)")
    p.add_argument("--noc", default="simpy", choices=["simpy", "analytic"],
                   help="NoC model: simpy (reference, default) or analytic (fast, for sweeps)")
    p.add_argument("--out", default="out", help="output directory (default: out)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("chips", help="list the chip presets with their key figures")
    p.set_defaults(func=cmd_chips)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ChipemuError as exc:
        msg = " ".join(str(exc).split())  # always one line
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
