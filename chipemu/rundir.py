"""A run directory: what ``chipemu run`` writes and ``chipemu report`` redraws.

``DIR/report.json`` (:mod:`chipemu.report`), ``DIR/spikes.npz``, ``DIR/report.html`` and
its PNG figures, ``DIR/network_learned.npz`` when some projection learned and
``DIR/probes.npz`` when some population was probed (:mod:`chipemu.probes`).

* :func:`write_run_dir` writes all of it or nothing: everything goes into a temporary
  folder inside ``DIR`` first and is moved into place only when all of it succeeded.
* :func:`read_run_dir` reads ``report.json`` and ``spikes.npz`` back and checks that they
  belong together; :func:`redraw_run_dir` redraws the HTML page and figures from them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .bounded import MAX_STEPS, check_int, check_memory, show
from .errors import ChipemuError, FileFormatError
from .files import atomic_write
from .spikes import SpikeRaster

#: the network with its learned weights, written when some projection is plastic
LEARNED_NETWORK = "network_learned.npz"
#: u and v of the probed populations (chipemu.probes)
PROBES = "probes.npz"
REPORT = "report.json"
SPIKES = "spikes.npz"
HTML = "report.html"


def write_run_dir(run, out, draw=None) -> list[Path]:
    """Write the run directory ``out`` of a :class:`~chipemu.chip.ChipRun` with its report
    attached (:func:`chipemu.pipeline.run_network`); return the paths written.

    ``draw``: ``draw(report, spikes) -> {name: png bytes}`` draws the figures elsewhere
    (``chipemu run``'s helper process, :class:`chipemu.sidecar.Sidecar`); None: drawn here
    (:func:`chipemu.report.figures.render_figures`).
    All or nothing: a failure (an unwritable folder, a directory where a file goes, a
    full disk) leaves ``out`` as it was.  A learned network or probes left by an earlier
    run are removed when this run did not learn or probe (they would be stale).
    """
    from .interrupt import check as check_interrupt
    from .interrupt import deferred
    from .report import write_report  # here, not at import: 'simulate' writes no report
    from .report.html import write_html

    if run.report is None:
        raise ChipemuError("write_run_dir: the run has no report (make it with chipemu.pipeline.run_network)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".chipemu-run-", dir=out))
    try:
        run.spikes.save(tmp / SPIKES)
        if run.probes:
            from .probes import save_probes
            save_probes(run.probes, tmp / PROBES)
        if run.weights:
            run.network.with_weights(run.weights).save(tmp / LEARNED_NETWORK)
        try:
            figures = draw(run.report, run.spikes) if draw is not None else None
            write_html(run.report, run.spikes, tmp, figures)
        except (OverflowError, FloatingPointError, ValueError) as exc:  # extreme but finite figures
            raise ChipemuError(f"cannot draw the report figures: a value in the report is too extreme "
                               f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
        write_report(run.report, tmp / REPORT)
        files = sorted(tmp.iterdir())
        check_interrupt()  # a signal swallowed while drawing: move nothing into place
        blocked = [out / f.name for f in files if (out / f.name).is_dir()]
        if blocked:
            raise ChipemuError(f"output {blocked[0]} is a directory; cannot write the report there")
        for f in files:
            os.replace(f, out / f.name)
        if not run.weights:
            (out / LEARNED_NETWORK).unlink(missing_ok=True)
        if not run.probes:
            (out / PROBES).unlink(missing_ok=True)
        return [out / f.name for f in files]
    finally:
        with deferred():  # a second Ctrl-C must not leave the temporary folder behind
            shutil.rmtree(tmp, ignore_errors=True)


def write_spikes_dir(result, out) -> list[Path]:
    """What ``chipemu simulate`` writes for a host run: ``out/spikes.npz``, and
    ``out/probes.npz`` when something was probed (a stale one is removed otherwise)."""
    out = Path(out)
    result.spikes.save(out / SPIKES)
    written = [out / SPIKES]
    if result.probes:
        from .probes import save_probes
        atomic_write(out / PROBES, lambda tmp: save_probes(result.probes, tmp))
        written.append(out / PROBES)
    else:
        (out / PROBES).unlink(missing_ok=True)
    return written


def read_run_dir(out) -> tuple[dict, SpikeRaster]:
    """``(report, spikes)`` of the run directory ``out``, checked to belong together.

    Raises :class:`~chipemu.errors.FileFormatError` (one line naming the file) for a
    missing directory or file, a malformed report, or spikes outside the report's
    compartments x steps.
    """
    out = Path(out)
    if not out.is_dir():
        raise FileFormatError(f"report directory {out}: no such directory (expected the output directory "
                              "of a chip run)")
    from .report import read_report

    report = read_report(out / REPORT)
    spikes = SpikeRaster.load(out / SPIKES)
    n, steps = report["network"]["neurons"], report["steps"]
    for key, value in (("network.neurons", n), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FileFormatError(f"report file {out / REPORT}: key '{key}' = {value!r} must be an integer >= 0")
        check_int(value, f"report file {out / REPORT}: key '{key}'", 0, MAX_STEPS, FileFormatError)
    check_memory(16 * (n + steps), f"report file {out / REPORT}: figures of {n:,} compartments x {steps:,} steps",
                 FileFormatError)
    _check_mesh(report, out / REPORT)
    if len(spikes) and (int(spikes.neuron.max()) >= n or int(spikes.t.max()) >= steps):
        raise FileFormatError(f"spike file {out / SPIKES}: spikes beyond the report's {n} compartments x "
                              f"{steps} steps; it does not belong to {out / REPORT}")
    return report, spikes


def redraw_run_dir(out) -> Path:
    """Redraw ``out/report.html`` and its figures from ``out/report.json`` and
    ``out/spikes.npz``; return the HTML path."""
    from .report.html import write_html  # draws with matplotlib, loaded with signals held back

    out = Path(out)
    report, spikes = read_run_dir(out)
    try:
        return write_html(report, spikes, out)
    except ChipemuError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, FloatingPointError,
            ZeroDivisionError) as exc:  # a report.json edited by hand: malformed values
        raise FileFormatError(f"report file {out / REPORT}: cannot draw the report "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None


def _check_mesh(report: dict, where) -> None:
    """The figures draw one cell per core of ``chip.mesh`` x ``chip.cores_per_router``:
    refuse a hand-edited report whose mesh is beyond any chip (:data:`MAX_CORES`)."""
    from .chips.spec import MAX_CORES

    chip = report.get("chip") if isinstance(report.get("chip"), dict) else {}
    mesh = chip.get("mesh") or [1, 1]
    cpr = chip.get("cores_per_router") or 1
    if not isinstance(mesh, list) or len(mesh) < 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                                          for v in [*mesh[:2], cpr]):
        raise FileFormatError(f"report file {where}: keys 'chip.mesh' = {show(mesh)} and 'chip.cores_per_router' = "
                              f"{show(cpr)} must be integers >= 1")
    if mesh[0] * mesh[1] * cpr > MAX_CORES:
        raise FileFormatError(f"report file {where}: chip mesh {show(mesh[0])} x {show(mesh[1])} x {show(cpr)} cores "
                              f"is too large to draw (at most {MAX_CORES:,} cores)")


__all__ = ["write_run_dir", "write_spikes_dir", "read_run_dir", "redraw_run_dir", "LEARNED_NETWORK", "PROBES"]
