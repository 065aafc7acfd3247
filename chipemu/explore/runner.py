"""Run a sweep: in-process, on a local process pool or on a Dask cluster; stream the rows
to ``results.csv``; resume an interrupted sweep.

Output directory layout::

    DIR/sweep.toml     copy of the sweep file
    DIR/points.json    the expanded point list (ids, parameters) and the column list
    DIR/results.csv    one row per finished point, appended and flushed as each finishes
                       (completion order); header = the columns fixed before running
    DIR/explore.html   the report (plus DIR/explore_*.png), redrawn from results.csv

Resume: rerunning the same sweep into the same DIR skips every point whose ``point_id``
already has a row.  A truncated last line (the process was killed mid-write) is cut off
first; rows that ended with ``status = "error"`` (a crash, not a fit failure) are removed
and retried.  A results.csv written by a different sweep (other columns, or ids this sweep
does not have) is refused rather than mixed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .. import bounded
from ..errors import ChipemuError
from .point import WALL_COLUMNS, result_columns, run_point
from .report import redraw_explore
from .results import RESULTS, format_value, max_results_bytes, parse_value, read_results
from .sweep import Sweep, load_sweep

__all__ = ["run_sweep", "SweepOutcome", "read_results", "default_workers", "format_value", "parse_value",
           "MAX_DEFAULT_WORKERS"]

#: default worker count: os.cpu_count() capped at this
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def _prepare_results(path: Path, columns: list[str], known_ids: set[str]) -> set[str]:
    """Create or repair results.csv; return the ids already done (not to be rerun)."""
    if not path.exists() or path.stat().st_size == 0:
        _rewrite(path, columns, [])
        return set()
    data = bounded.read_bytes(path, "results file", max_results_bytes(), ChipemuError)
    cut = data.rfind(b"\n") + 1
    repaired = cut != len(data)
    data = data[:cut]
    try:
        lines = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline="")))
    except csv.Error as e:
        raise ChipemuError(f"results file {path}: not a CSV file ({e}); repair or remove it") from None
    if not lines:
        _rewrite(path, columns, [])
        return set()
    header = lines[0]
    if header != columns:
        extra = [c for c in header if c not in columns]
        missing = [c for c in columns if c not in header]
        why = (f"it has columns {extra[:3]} this sweep does not" if extra else
               f"it lacks columns {missing[:3]}" if missing else "its columns are in another order")
        raise ChipemuError(f"{path} was written by a different sweep ({why}); give another output directory "
                           f"or remove it")
    keep, done = [], set()
    for n, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(columns):
            raise ChipemuError(f"{path}: line {n} has {len(cells)} fields, expected {len(columns)}; "
                               f"repair or remove the file")
        row = dict(zip(columns, cells))
        pid = row["point_id"]
        if pid not in known_ids:
            raise ChipemuError(f"{path} holds point {pid} that this sweep does not have (a different sweep, or "
                               f"another NoC model); give another output directory or remove it")
        if pid in done or row["status"] == "error":
            repaired = True
            continue
        done.add(pid)
        keep.append(cells)
    if repaired:
        _rewrite(path, columns, keep)
    return done


def _rewrite(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _Writer:
    """Appends rows to results.csv, flushed to disk after each row."""

    def __init__(self, path: Path, columns: list[str]):
        self.columns = columns
        self.fh = open(path, "a", newline="", encoding="utf-8")
        self.w = csv.writer(self.fh, lineterminator="\n")

    def write(self, row: dict) -> None:
        self.w.writerow([format_value(row.get(c)) for c in self.columns])
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


# --------------------------------------------------------------------------------------
# progress


def _hms(s: float) -> str:
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class SweepProgress:
    """A plain-text progress bar on stderr: points done, failures, elapsed and time left."""

    def __init__(self, total: int, done_before: int = 0, stream=None, enabled: bool = True, width: int = 24):
        self.total, self.before = total, done_before
        self.done = 0
        self.fits = self.errors = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self.last = -1e9
        self.shown = False

    def update(self, status: str) -> None:
        self.done += 1
        self.fits += status == "fit_failure"
        self.errors += status == "error"
        self.draw()

    def line(self) -> str:
        n = self.before + self.done
        frac = n / self.total if self.total else 1.0
        fill = int(round(frac * self.width))
        el = time.perf_counter() - self.t0
        left = self.total - n
        eta = f"~{_hms(el / self.done * left)} left" if self.done and left else ("done" if not left else "...")
        extra = []
        if self.fits:
            extra.append(f"{self.fits} fit failure{'s' * (self.fits != 1)}")
        if self.errors:
            extra.append(f"{self.errors} error{'s' * (self.errors != 1)}")
        extra = f" ({', '.join(extra)})" if extra else ""
        return (f"explore [{'#' * fill}{'.' * (self.width - fill)}] {n}/{self.total} points{extra}, "
                f"{_hms(el)} elapsed, {eta}")

    def draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = self.before + self.done >= self.total
        interval = 0.2 if self.tty else 10.0
        if not (force or finished or now - self.last >= interval):
            return
        self.last = now
        self.shown = True
        if self.tty:
            self.stream.write("\r" + self.line() + " ")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


# --------------------------------------------------------------------------------------
# executors: each yields result rows as points finish


def _run_inprocess(points: list[dict]) -> Iterable[dict]:
    for p in points:
        yield run_point(p)


def _watch_parent(parent: int) -> None:
    """Pool worker initializer: exit when the parent dies (killed with SIGKILL, say), rather
    than wait forever for work that will not come."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="chipemu-explore-watch-parent").start()


def _run_pool(points: list[dict], workers: int) -> Iterable[dict]:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_watch_parent, initargs=(os.getpid(),))
    clean = False
    try:
        futures = {pool.submit(run_point, p): p for p in points}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except BrokenProcessPool:
                raise ChipemuError("a worker process died (out of memory or killed); finished points are saved "
                                   "in results.csv: rerun the same command to resume") from None
        clean = True
    finally:
        if not clean:  # interrupted or failed: stop the running points too, do not wait for them
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
        pool.shutdown(wait=clean, cancel_futures=True)


def _dask_client(scheduler):
    """``(client, owned)``: connect to ``scheduler`` (an address) or use a given Client."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ChipemuError("a Dask scheduler needs Dask: pip install 'chipemu[dask]' "
                           "(or pip install 'dask[distributed]')") from None
    if not isinstance(scheduler, str):
        return scheduler, False  # a Client given by the caller
    address = check_scheduler_address(scheduler)
    try:
        return Client(address, timeout=f"{_CONNECT_TIMEOUT_S * 2:g}s"), True
    except Exception as e:  # OSError, TimeoutError, ValueError from Dask's address parser, ...
        raise ChipemuError(f"cannot connect to the Dask scheduler {scheduler!r}: "
                           f"{' '.join(str(e).split()) or type(e).__name__}") from None


#: seconds to wait for a scheduler's TCP port before giving up
_CONNECT_TIMEOUT_S = 3.0


def check_scheduler_address(address: str) -> str:
    """Parse a Dask scheduler address (``tcp://host:port``, ``tls://host:port`` or
    ``host:port``) and check that something listens there, within a few seconds; a
    malformed or unreachable address is a :class:`ChipemuError` before any work starts."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address.strip() or len(address) > 1024 or any(
            c.isspace() or not c.isprintable() for c in address):
        raise ChipemuError(f"scheduler address {bounded.show(address)}: not an address (expected tcp://HOST:PORT)")
    text = address if "://" in address else f"tcp://{address}"
    try:
        parts = urlsplit(text)
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError as e:  # a port out of range or not a number, a bad IPv6 literal
        raise ChipemuError(f"scheduler address {address!r}: malformed ({e}; expected tcp://HOST:PORT)") from None
    if scheme not in ("tcp", "tls"):
        raise ChipemuError(f"scheduler address {address!r}: protocol {scheme!r} is not supported (allowed: tcp, tls)")
    if not host or port is None or port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ChipemuError(f"scheduler address {address!r}: malformed (expected tcp://HOST:PORT)")
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S):
            pass
    except (OSError, UnicodeError) as e:
        why = "timed out" if isinstance(e, TimeoutError) else (getattr(e, "strerror", None) or str(e) or type(e).__name__)
        raise ChipemuError(f"cannot connect to the Dask scheduler {address!r}: {why}") from None
    return text


def _run_dask(points: list[dict], client) -> Iterable[dict]:
    from dask.distributed import as_completed

    futures = []
    try:
        token = uuid.uuid4().hex[:8]  # fresh keys per call: never reuse another call's futures
        futures = [client.submit(run_point, p, key=f"chipemu-point-{p['id']}-{token}", pure=False)
                   for p in points]
        by_key = {f.key: p for f, p in zip(futures, points)}
        for fut in as_completed(futures):
            p = by_key[fut.key]
            try:
                row = fut.result()
            except Exception as e:  # a worker died (KilledWorker) or could not import chipemu
                row = {"point_id": p["id"], "index": p["index"], "status": "error",
                       "error": f"Dask: {type(e).__name__}: {' '.join(str(e).split())}",
                       "workload": p["workload"], "mapper": p["mapper"], "seed": p["seed"], **p["vary"],
                       "program": p["ref"], "noc": p["noc"], "chip.base": p["chip"],
                       "params": json.dumps(p["params"], sort_keys=True, separators=(",", ":"))}
            fut.release()
            yield row
    finally:
        for f in futures:
            if not f.done():
                f.cancel()


# --------------------------------------------------------------------------------------
# the sweep


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did."""

    out: Path
    total: int                     # points in the sweep
    skipped: int                   # already in results.csv
    ran: int                       # run by this call
    status: dict[str, int] = field(default_factory=dict)   # over every row of results.csv
    html: Path | None = None
    remaining: int = 0             # points not done yet (--limit, interruption)
    executor: str = ""


class _Lock:
    def __init__(self, out: Path):
        self.path = out / ".explore.lock"
        self.held = False

    def __enter__(self):
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    pid = int(self.path.read_text().strip() or "0")
                except (OSError, ValueError):
                    pid = 0
                if pid and pid != os.getpid() and _alive(pid):
                    raise ChipemuError(f"{self.path.parent}: another 'chipemu explore' (pid {pid}) is writing "
                                       f"this directory; wait for it, give another output directory, or remove {self.path} if no "
                                       f"such run is going on") from None
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self.held = True
            return self
        raise ChipemuError(f"{self.path}: cannot take the lock")

    def __exit__(self, *exc):
        if self.held:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def run_sweep(sweep: Sweep | str | Path, out: str | Path, *, workers: int | None = None, scheduler=None,
              noc: str | None = None, limit: int | None = None, progress: bool = True, report: bool = True,
              stream=None) -> SweepOutcome:
    """Run every point of ``sweep`` not yet in ``out/results.csv``.

    ``workers``: processes of the local pool (default :func:`default_workers`; 1 runs in
    this process).  ``scheduler``: a Dask scheduler address (or a ``dask.distributed.Client``)
    to run on instead.  ``noc``: override the sweep's NoC model.  ``limit``: run at most
    this many points now (the rest on a later call).  ``report``: write explore.html.
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep)
    if noc is not None and noc not in ("analytic", "simpy"):
        raise ChipemuError(f"noc = {noc!r} is not allowed (allowed: analytic, simpy)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ChipemuError(f"workers = {workers!r} is not allowed (allowed: int >= 1)")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ChipemuError(f"limit = {limit!r} is not allowed (allowed: int >= 0)")
    out = bounded.check_output_dir(out, "output directory", (RESULTS, "explore.html"))
    points = sweep.points(noc)
    columns = result_columns(sweep.parameter_columns)
    client, own = (None, False) if scheduler is None else _dask_client(scheduler)  # fail before writing
    try:
        out.mkdir(parents=True, exist_ok=True)
    except BaseException:
        if own:
            client.close()
        raise
    with _Lock(out):
        results = out / RESULTS
        done = _prepare_results(results, columns, {p["id"] for p in points})
        (out / "sweep.toml").write_text(sweep.text, encoding="utf-8")
        _write_json(out / "points.json", {
            "name": sweep.name, "description": sweep.description, "source": sweep.source,
            "noc": noc or sweep.noc, "sampling": sweep.sampling, "count": len(points),
            "parameter_columns": sweep.parameter_columns, "columns": columns,
            "wall_columns": list(WALL_COLUMNS), "points": [p.to_dict() for p in points],
        })
        pending = [p for p in points if p["id"] not in done]
        if limit is not None:
            pending = pending[:limit]
        if scheduler is not None:
            executor = "dask"
            rows = _run_dask(pending, client)
        else:
            n = default_workers() if workers is None else workers
            n = min(n, max(1, len(pending)))
            if n == 1:
                executor = "in-process"
                rows = _run_inprocess(pending)
            else:
                executor = f"process pool ({n} workers)"
                rows = _run_pool(pending, n)
        bar = SweepProgress(len(points), len(done), stream=stream, enabled=progress)
        writer = _Writer(results, columns)
        ran = 0
        try:
            bar.draw(force=True)
            for row in rows:
                writer.write(row)
                ran += 1
                bar.update(row.get("status", "error"))
        finally:
            writer.close()
            bar.close()
            close = getattr(rows, "close", None)
            if close is not None:
                close()
            if own:
                client.close()
    _, all_rows = read_results(results, parse=False)
    status: dict[str, int] = {}
    for r in all_rows:
        status[r["status"]] = status.get(r["status"], 0) + 1
    outcome = SweepOutcome(out=out, total=len(points), skipped=len(done), ran=ran, status=status,
                           remaining=len(points) - len(all_rows), executor=executor)
    if report:
        outcome.html = redraw_explore(out)
    return outcome
