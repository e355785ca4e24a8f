"""Lesson 14's props: the flights as a CSV file with a seeded handful of bad rows, and a record of each.

Every corruption is one a real export produces: a placeholder in a number column, a value out
of range or too big for its type, a decimal where minutes are whole, a missing required value, a
day that is not on the calendar, a code one letter too long. :func:`bad_rows_csv` writes the
file and returns, for each broken row, its line, column, value and the reason the rules give.

Guarantee: the same rows, ``n_bad`` and ``seed`` give the same file (numpy's generator).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from pipeline_patterns.ingestion.bulk.loaders import arrow_csv
from pipeline_patterns.ingestion.bulk.rows import RowSet

CORRUPTIONS = (
    ("dep_delay", "n/a"), ("month", "13"), ("distance", "99999999999"), ("air_time", "12.5"),
    ("carrier", ""), ("time_hour", "2013-02-30 05:00:00+00"), ("origin", "JFKX"),
)
"""(column, bad value): what the ``i``-th broken row gets is ``CORRUPTIONS[i % 7]``, rows drawn by the seed."""


@dataclass(frozen=True)
class BadRow:
    line: int
    column: str
    value: str


def bad_rows_csv(rows: RowSet, path: Path, n_bad: int, seed: int) -> list[BadRow]:
    """Write ``rows`` as CSV with a header to ``path``, ``n_bad`` of them broken; the broken rows by line."""
    import numpy as np

    if not 0 <= n_bad <= len(rows):
        raise ValueError(f"n_bad must be 0..{len(rows):,} (the rows in the file), got {n_bad}")
    lines = arrow_csv(rows.arrow).decode().splitlines()
    picked = sorted(np.random.default_rng(seed).choice(len(lines), size=n_bad, replace=False).tolist())
    bad = []
    for i, index in enumerate(picked):
        column, value = CORRUPTIONS[i % len(CORRUPTIONS)]
        fields = next(csv.reader([lines[index]]))
        fields[rows.spec.names.index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(fields)
        lines[index] = out.getvalue()
        bad.append(BadRow(index + 2, column, value))  # line 1 is the header
    header = io.StringIO()
    csv.writer(header, lineterminator="").writerow(rows.spec.names)
    Path(path).write_text("\n".join([header.getvalue(), *lines]) + "\n")
    return bad
