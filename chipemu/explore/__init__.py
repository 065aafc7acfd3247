"""Architecture exploration: sweeps over chips, mappers and workloads, with Pareto reports.

>>> from chipemu.explore import load_sweep, run_sweep          # doctest: +SKIP
>>> outcome = run_sweep(load_sweep("examples/sweeps/mesh_cores.toml"), "explore-out")  # doctest: +SKIP

* :mod:`chipemu.explore.sweep` -- the sweep file (TOML): validation, expansion into points.
* :mod:`chipemu.explore.point` -- one point -> one result row (a pure function).
* :mod:`chipemu.explore.runner` -- executors (in-process, process pool, Dask), results.csv
  streaming and resume, progress bar.
* :mod:`chipemu.explore.pareto` -- Pareto fronts (both objectives minimised).
* :mod:`chipemu.explore.report` -- explore.html and its figures, redrawn from results.csv.

See ``docs/explore.md``.
"""

from .pareto import pareto_front, pareto_front_groups
from .point import WALL_COLUMNS, result_columns, run_point
from .report import redraw_explore
from .runner import SweepOutcome, default_workers, read_results, run_sweep
from .sweep import Sweep, load_sweep, parse_sweep, point_id

__all__ = [
    "Sweep", "load_sweep", "parse_sweep", "point_id", "run_point", "result_columns", "WALL_COLUMNS",
    "run_sweep", "SweepOutcome", "read_results", "default_workers", "pareto_front", "pareto_front_groups",
    "redraw_explore", "is_explore_dir",
]


def is_explore_dir(path) -> bool:
    """True when ``path`` is a directory holding an exploration's ``results.csv``."""
    from pathlib import Path

    return (Path(path) / "results.csv").is_file()
