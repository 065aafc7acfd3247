"""Network -> Mapping -> Run -> Report, as one call (what ``chipemu run`` does).

>>> from chipemu.pipeline import run_network
>>> run = run_network(net, chip="loihi1", mapper="traffic", seed=0)   # doctest: +SKIP
>>> run.report["energy"]["total_j"]                                   # doctest: +SKIP
"""

from __future__ import annotations

from .baseline import baseline_report
from .chip import ChipRun, emulate
from .chips import ChipSpec, SystemSpec, load_hardware
from .energy import energy_report
from .network import Network
from .report import build_report
from .report.schema import CheckSection


def run_network(network: Network, chip: str | ChipSpec | SystemSpec = "loihi1", mapper: str = "traffic", *,
                steps: int | None = None, seed: int = 0, noc: str = "simpy", mapping=None,
                progress=None, network_source: str = "", host: str = "cpu-45nm", measure_baseline: bool = True,
                probes=None, check=None, imported=None, reference=None, **map_options) -> ChipRun:
    """Map ``network`` onto ``chip``, emulate it and attach ``run.report`` (a dict).

    ``mapping``: reuse a :class:`mapper.Mapping` instead of mapping again.
    ``host``: the von Neumann host of the baseline (preset name or TOML path, :mod:`chipemu.hosts`).
    ``measure_baseline``: also time the host reference runner for ``report["baseline"]["measured"]``;
    ``reference``: a zero-argument callable returning that runner's result when it runs
    elsewhere (``chipemu run``'s helper process, :mod:`chipemu.sidecar`); None: run here.
    ``probes``: populations whose u and v are recorded every step (``run.probes``).
    ``check``: a program's ``check(result) -> (passed, detail)``; called with the run (its
    report attached) and recorded as ``report["check"]`` (:func:`check_run`).
    ``imported``: the report's ``import`` section (:class:`chipemu.report.schema.ImportSection`
    or its dict) when the network came from another tool's file.
    ``map_options``: passed to :func:`mapper.map_network` (``max_per_core``, ``pin``, ...).
    """
    from mapper import build_graph, map_network

    spec = load_hardware(chip)  # a chip or a system of chips
    graph = build_graph(network)  # once, for the mapper and the report's traffic figures
    if mapping is None:
        mapping = map_network(graph, spec, mapper=mapper, seed=seed, **map_options)
    run = emulate(network, mapping, steps, noc=noc, progress=progress, probes=probes)
    energy = energy_report(run)
    baseline = baseline_report(run, energy, host=host, measure=measure_baseline, reference=reference)
    sections = {"import": imported} if imported is not None else {}
    run.report = build_report(run, seed=seed, network_source=network_source, energy=energy, baseline=baseline,
                              graph=graph, **sections)  # the mapping's quality figures: computed there
    if check is not None:
        run.report = {**run.report, "check": check_run(check, run).to_dict()}
    return run


def check_run(check, result) -> CheckSection:
    """Call a program's ``check(result)`` and return its verdict as a typed record.

    ``check`` returns ``(passed, detail)``: whether the result is right and one line
    saying why; ``result`` is any run result (:class:`chipemu.results.RunOutcome`).
    """
    from .loading import run_check

    passed, detail = run_check(check, result)  # user code: whatever it does is one error naming it
    return CheckSection(passed=passed, detail=detail)
