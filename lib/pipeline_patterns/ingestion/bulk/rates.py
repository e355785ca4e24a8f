"""Rows per second and the ratio to ``COPY``: the maths behind lesson 14's table, pure.

A loader measured on fewer rows than the table (row-by-row ``INSERT`` on a few thousand) is
reported as what was measured — rows, seconds, rows/s — and its time for the whole table is
*extrapolated* from that rate and labelled so. Ratios are taken within one dataset and one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadRun:
    """One timed load: ``rows`` written by ``loader`` in ``seconds`` (load and commit), and the table's digest."""

    dataset: str
    loader: str
    rows: int
    seconds: float
    digest: tuple[int, int, str] = (0, 0, "")
    """(rows, sum of the key, md5 of the rows in key order) read back from the table."""

    @property
    def rows_per_s(self) -> float:
        if self.seconds <= 0:
            raise ValueError(f"{self.loader} on {self.dataset}: a load takes a positive time, got {self.seconds} s")
        return self.rows / self.seconds


def reference_run(runs: Sequence[LoadRun], dataset: str, reference: str) -> LoadRun:
    found = [r for r in runs if r.dataset == dataset and r.loader == reference]
    if len(found) != 1:
        raise ValueError(f"expected one {reference!r} run on {dataset!r} to compare with, found {len(found)}: "
                         f"measure the reference loader once per dataset in the same run")
    return found[0]


def copy_speedup(runs: Sequence[LoadRun], run: LoadRun, reference: str) -> float:
    """How many times faster the reference ``COPY`` is than ``run`` (rows/s over rows/s, same dataset)."""
    return reference_run(runs, run.dataset, reference).rows_per_s / run.rows_per_s


def extrapolated_seconds(run: LoadRun, rows: int) -> float:
    """Seconds ``run``'s loader would take for ``rows`` at its measured rate (an extrapolation)."""
    return rows / run.rows_per_s


def rate_rows(runs: Sequence[LoadRun], reference: str, table_rows: dict[str, int] | None = None) -> list[dict]:
    """One dict per run: rows, seconds, rows/s and how many times faster the reference is.

    ``extrapolated`` marks a run on fewer rows than its dataset's largest run; ``table_s`` is the
    seconds the loader would take for ``table_rows[dataset]`` rows (default: the largest run's) at
    its measured rate — an extrapolation for every run on fewer rows than that.
    """
    largest = {run.dataset: max(r.rows for r in runs if r.dataset == run.dataset) for run in runs}
    sizes = {**largest, **(table_rows or {})}
    return [{"dataset": run.dataset, "loader": run.loader, "rows": run.rows, "seconds": round(run.seconds, 3),
             "rows_per_s": round(run.rows_per_s), f"{reference}_x": round(copy_speedup(runs, run, reference), 1),
             "table_s": round(extrapolated_seconds(run, sizes[run.dataset]), 1),
             "extrapolated": run.rows < largest[run.dataset]} for run in runs]
