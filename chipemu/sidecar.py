"""``chipemu run``'s helper process: the measured baseline and the report's figures, done
beside the chip emulation.

Besides mapping and emulating, ``chipemu run`` does work that needs none of their results
until the end: it times the host reference runner for ``report["baseline"]["measured"]``
(:func:`chipemu.baseline.measured_baseline`), it loads matplotlib and it draws the report's
figures.  On Linux, when a CPU is to spare (two or more usable CPUs and a 1-minute load
average below their number), the command line forks one helper process once the network
is built (:meth:`Sidecar.start`); the helper loads matplotlib and runs the
reference while the main process maps and emulates, then draws the figures from the
finished report, split over as many processes forked from it as there are CPUs (up to one
per figure; matplotlib is loaded already, so each fork costs milliseconds)::

    main process    build network | map, emulate, energy, report | (waits)       | write files
    helper process                | load matplotlib, reference run | draw figures 1
    forked from it                                                 | draw figures 2 ...

The outputs are those of a single process: the reference runner is the same code on the
same network and steps, timed the same way (its wall time is a measurement, as before);
the figures are :func:`chipemu.report.figures.render_figures` of the finished report and
spikes, so the PNG files are the same bytes.  What changes is the whole command's wall
time: the main process no longer waits for matplotlib and the reference run, and the
figures take about half as long on two CPUs (``bench/main_job.py --one-process`` times
both ways in one run).  The CPU time grows by the helper's own page faults, forks and
pickled messages (5-15 % on programs/brunel.py, measured on 2 busy CPUs).  The reference
shares the machine with the emulation while it is timed, as it shares it with whatever
else runs there.

Failures stay those of one process: an error in the helper (an extreme report value the
figures cannot draw, a network the reference refuses) is raised again in the main process
where the same work would have raised it; a helper that dies (killed, out of memory) is
replaced by doing its work in the main process.  The helper ignores SIGINT (Ctrl-C reaches
the whole process group: the main process handles it and ends the helper,
:meth:`Sidecar.close`); a main process killed outright takes the helper with it (the
kernel ends it: ``PR_SET_PDEATHSIG``), and so does a helper its figure processes.

No helper is forked for a network whose arrays take more than 64 MiB
(:data:`_HELPER_MAX_BYTES`): what it saves (matplotlib's import, the reference run, the
figures: seconds) is then a small share of the run, and a second process would hold its
own pages beside the largest working sets of the run (measured on the 100k-compartment
system benchmark: no shorter run, an upper bound of 5.6 GB instead of 2.8 GB for the two
processes).  Project assumption, from that measurement.

The helper runs the reference only when the network's arrays take at most 1/8 of the
memory budget (:func:`chipemu.bounded.memory_budget`); otherwise the main process runs it
after the emulation, as before, so the two never hold large working sets at once.  Project
assumption: the reference runner's working set is a small multiple of the network's arrays
(its fan-out table holds one copy of the synapses).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings
from dataclasses import replace

import numpy as np

from .cpus import usable_cpus
from .report.captions import FIGURES

__all__ = ["Sidecar"]

#: the helper times the reference only for networks taking at most this share of the memory budget
_REFERENCE_BUDGET_SHARE = 1 / 8
#: no helper for networks whose arrays take more than this (bytes; see the module doc)
_HELPER_MAX_BYTES = 64 << 20


_usable_cpus = usable_cpus  # a module name the tests can replace


def _spare_cpu() -> bool:
    """Whether a second process gets a CPU of its own: two or more usable CPUs and a
    1-minute load average below their number.  On a busier machine the helper only adds
    its cost (measured on 2 CPUs at load ~3.5: 5-15 % more CPU time, no shorter wall time)."""
    cpus = _usable_cpus()
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average
        load = 0.0
    return cpus >= 2 and load < cpus


def _flat_bytes(flat) -> int:
    """Bytes of the flat network's arrays (its explicit synapses, registers and inputs)."""
    return sum(v.nbytes for v in vars(flat).values() if isinstance(v, np.ndarray))


def _warnings_of(caught) -> list[tuple[str, type]]:
    return [(str(w.message), w.category) for w in caught]


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent ends (Linux ``prctl``
    ``PR_SET_PDEATHSIG``), so no helper outlives a main process that was killed outright
    while the helper was busy; if the parent is already gone, exit now."""
    from .allocator import libc

    try:
        libc().prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: the pipe's end still stops it
        pass
    if os.getppid() != parent:
        os._exit(0)


#: prctl option: the signal this process gets when its parent ends (linux/prctl.h)
_PR_SET_PDEATHSIG = 1


def _helper(conn, main_end, main_pid: int, network, steps, measure: bool) -> None:
    """The helper process: load the figure code, run and time the reference (``measure``),
    then draw the figures of the report it is sent.  Every answer is ``(kind, value,
    warnings)``, kind ``"ok"`` or ``"error"`` (then value is the exception).  ``main_end``:
    the main process's end of the pipe, closed here at once, so that the pipe ends (EOF)
    when the main process does, however it ends."""
    main_end.close()
    _die_with_parent(main_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the main process handles it and ends this one
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked by the main process around the fork

    def answer(work) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value, kind = work(), "ok"
            except BaseException as exc:  # noqa: BLE001 - raised again in the main process
                value, kind = exc, "error"
        try:
            conn.send((kind, value, _warnings_of(caught)))
        except Exception:  # noqa: BLE001 - e.g. an exception that does not pickle: say what it was
            conn.send(("error", RuntimeError(f"{type(value).__name__}: {value}"), _warnings_of(caught)))

    try:
        try:
            from .report import figures
        except BaseException as exc:  # noqa: BLE001 - reported when the figures are asked for
            figures, failed = None, exc
        if measure:
            def reference():
                from .reference import run

                res = run(network, steps)
                return replace(res, network=None, weights={}, probes={}, u_trace=None, v_trace=None)
            answer(reference)
        report, spikes = conn.recv()

        def draw():
            if figures is None:
                raise failed
            return _draw_split(figures.render_figures, report, spikes, min(_usable_cpus(), len(FIGURES)))
        answer(draw)
    except BaseException:  # noqa: BLE001 - the main process is gone or gave up; it draws itself if it must
        pass


#: rough drawing time of each figure (s, measured on programs/brunel.py): only to balance the groups
_DRAW_COST = {"raster": 0.26, "energy": 0.27, "cores": 0.19, "links": 0.19, "latency": 0.18}


def _deal(names: list[str], ways: int) -> list[list[str]]:
    """``names`` in ``ways`` groups of about equal drawing cost (longest first, each to the
    group with the least so far); no empty group."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(ways, len(names))))]
    load = [0.0] * len(groups)
    for name in sorted(names, key=lambda k: -_DRAW_COST.get(k, 0.2)):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += _DRAW_COST.get(name, 0.2)
    return groups


def _draw_split(render, report: dict, spikes, ways: int) -> dict[str, bytes]:
    """``render(report, spikes, names)`` for every figure, the figures dealt into ``ways``
    groups drawn at once: every group but the first in a process forked from this one
    (matplotlib is loaded already, so a fork costs milliseconds).  Their warnings are
    issued again here, their errors raised here; the figures come in :data:`FIGURES` order."""
    import pickle

    groups = _deal(list(FIGURES), ways)
    mine, helper = list(groups[0]), os.getpid()
    forks = []
    try:
        for names in groups[1:]:
            try:
                rfd, wfd = os.pipe()
            except OSError:  # no descriptors to spare: draw them here
                mine += names
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork beside threads
                    pid = os.fork()
            except OSError:  # no process to spare: draw them here
                os.close(rfd)
                os.close(wfd)
                mine += names
                continue
            if pid == 0:  # the forked process: draw, send, leave without running anything else
                try:
                    os.close(rfd)
                    _die_with_parent(helper)
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        try:
                            result = ("ok", render(report, spikes, names))
                        except BaseException as exc:  # noqa: BLE001 - raised again by the helper
                            result = ("error", exc)
                    with os.fdopen(wfd, "wb") as fh:
                        try:
                            data = pickle.dumps((*result, _warnings_of(caught)))
                        except Exception:  # noqa: BLE001 - an exception that does not pickle
                            data = pickle.dumps(("error", RuntimeError(f"{result[1]!r}"), []))
                        fh.write(data)
                finally:
                    os._exit(0)
            os.close(wfd)
            forks.append((pid, rfd))
        figures = render(report, spikes, mine)
        while forks:
            pid, rfd = forks.pop(0)
            try:
                with os.fdopen(rfd, "rb") as fh:
                    data = fh.read()
            finally:
                os.waitpid(pid, 0)  # it exits once it has written
            if not data:
                raise RuntimeError("a figure-drawing process ended without an answer")
            kind, value, caught = pickle.loads(data)
            for message, category in caught:
                warnings.warn(message, category, stacklevel=2)
            if kind == "error":
                raise value
            figures.update(value)
    finally:
        for pid, rfd in forks:  # after an error: end the processes not yet reaped
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(rfd)
    return {name: figures[name] for name in FIGURES}


#: the signals held back while the helper is forked (it installs its own handlers first)
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Sidecar:
    """The helper process of one ``chipemu run`` (see the module docstring).

    ``Sidecar.start(network, steps)`` returns None where no helper is used (not Linux, one
    CPU, fork not available); then the caller does the work itself.  Use as a context
    manager, or call :meth:`close`, so the helper never outlives the command.
    """

    def __init__(self, process, conn, network, steps: int | None, measures: bool):
        self._process, self._conn = process, conn
        self._network, self._steps = network, steps
        #: whether the helper runs and times the reference runner
        self.measures = measures
        self._reference = None
        self._reference_taken = False  # the helper's reference answer (or error) was read
        self._alive = True

    @classmethod
    def start(cls, network, steps: int | None = None, measure: bool = True) -> Sidecar | None:
        """Fork the helper for ``network`` run for ``steps`` steps (None: the network's own);
        ``measure``: have it run and time the reference runner too."""
        import multiprocessing

        if not sys.platform.startswith("linux") or not _spare_cpu() \
                or "fork" not in multiprocessing.get_all_start_methods():
            return None
        from .bounded import memory_budget

        flat = network.flat()  # built before the fork: both processes share its arrays
        size = _flat_bytes(flat)
        if size > _HELPER_MAX_BYTES:
            return None
        measure = measure and size <= memory_budget() * _REFERENCE_BUDGET_SHARE
        ctx = multiprocessing.get_context("fork")
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=_helper, args=(theirs, ours, os.getpid(), network, steps, measure), daemon=True,
                              name="chipemu-sidecar")
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            with warnings.catch_warnings():  # Python >= 3.12 warns about a fork beside native (BLAS) threads
                warnings.simplefilter("ignore", DeprecationWarning)
                process.start()
        except OSError:  # no process to spare: the caller does the work
            ours.close()
            return None
        finally:
            theirs.close()
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return cls(process, ours, network, steps, measure)

    def _receive(self):
        """The helper's next answer, its warnings issued again here (an error is raised);
        None if the helper is gone."""
        if not self._alive:
            return None
        try:
            kind, value, caught = self._conn.recv()
        except (EOFError, OSError):
            self.close()
            return None
        for message, category in caught:
            warnings.warn(message, category, stacklevel=3)
        if kind == "error":
            raise value
        return value

    def reference(self):
        """The reference runner's result for the network and steps (a
        :class:`~chipemu.reference.RunResult` without network, weights and traces), run and
        timed in the helper; run here when the helper does not measure or is gone."""
        if self.measures and not self._reference_taken:
            self._reference_taken = True
            self._reference = self._receive()  # its error, if it had one, is raised here
        if self._reference is None:
            from .reference import run

            self._reference = run(self._network, self._steps)
        return self._reference

    def draw(self, report: dict, spikes) -> dict[str, bytes]:
        """``{name: png bytes}`` of the report's figures, drawn in the helper from ``report``
        and ``spikes`` (:func:`chipemu.report.figures.render_figures`); drawn here when the
        helper is gone.  The helper's last task: it exits after it."""
        figures = None
        try:
            if self.measures and not self._reference_taken:
                self._reference_taken = True
                with warnings.catch_warnings():  # its answer comes first on the pipe; nothing asked for it
                    warnings.simplefilter("ignore")
                    try:
                        self._reference = self._receive()
                    except Exception:  # noqa: BLE001 - an error nobody asked about
                        pass
            if self._alive:
                try:
                    self._conn.send((report, spikes))
                except OSError:  # it died: draw here
                    self.close()
                else:
                    figures = self._receive()
        finally:
            self.close(wait=True)
        if figures is None:
            from .report.html import render_figures

            figures = render_figures(report, spikes)
        return figures

    def close(self, wait: bool = False) -> None:
        """End the helper and reap it (``wait``: it has finished its work; let it exit)."""
        if not self._alive and self._process is None:
            return
        self._alive = False
        self._conn.close()
        if self._process is not None:
            if wait:
                self._process.join(timeout=10)  # it exits after its last answer
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process = None

    def __enter__(self) -> Sidecar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
