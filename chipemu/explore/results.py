"""``results.csv`` of a sweep: one row per point, values written and read back exactly.

:func:`format_value` / :func:`parse_value` turn a value into a CSV cell and back;
:func:`read_results` reads the file the runner appends to (:mod:`chipemu.explore.runner`)
and the report draws from (:mod:`chipemu.explore.report`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from .. import bounded
from ..errors import ChipemuError

#: the results file in a sweep's output directory
RESULTS = "results.csv"


def max_results_bytes() -> int:
    """Largest results.csv read (a regular file only): parsed rows take ~16x the text in memory."""
    return max(bounded.MAX_TEXT_BYTES, bounded.memory_budget() // 16)


def format_value(v: Any) -> str:
    """A CSV cell: '' for None, repr precision for floats (exact round trip)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, (int,)):
        return str(v)
    try:  # numpy scalars
        import numpy as np
        if isinstance(v, np.integer):
            return str(int(v))
        if isinstance(v, np.floating):
            return format_value(float(v))
    except ImportError:  # pragma: no cover
        pass
    return " ".join(str(v).split())


def parse_value(s: str) -> Any:
    """Inverse of :func:`format_value` for reading: '' -> None, ints, floats, else the text."""
    if s == "":
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def read_results(path: str | Path, *, parse: bool = True) -> tuple[list[str], list[dict]]:
    """Columns and rows of a results.csv; tolerates a truncated last line (ignored) and
    keeps the first row of each ``point_id``.  ``parse``: convert numbers."""
    path = Path(path)
    data = bounded.read_bytes(path, "results file", max_results_bytes(), ChipemuError)
    if not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
    text = bounded.decode_utf8(data, f"results file {path}", ChipemuError)
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as e:
        raise ChipemuError(f"results file {path}: not a CSV file ({e})") from None
    if not lines:
        raise ChipemuError(f"{path}: empty (no header); not a results.csv of 'chipemu explore'")
    header = lines[0]
    if "point_id" not in header or "status" not in header:
        raise ChipemuError(f"{path}: header has no 'point_id'/'status' column; not a results.csv of 'chipemu explore'")
    rows, seen = [], set()
    for n, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            raise ChipemuError(f"{path}: line {n} has {len(cells)} fields, expected {len(header)}")
        row = dict(zip(header, cells))
        if row["point_id"] in seen:
            continue
        seen.add(row["point_id"])
        if parse:
            row = {k: (v if k in ("point_id", "error", "params") else parse_value(v)) for k, v in row.items()}
        rows.append(row)
    return header, rows


__all__ = ["RESULTS", "format_value", "parse_value", "read_results"]
