"""A barrier on the capstone stream's progress, for the daily close (``dags/capstone_daily.py``).

:func:`mark_source` writes a logical decoding message at the source; :func:`stream_has_applied` is true once the
stream's serving ledger records a source commit at least that new. Debezium reads the WAL in commit order, so
every change committed before the marker has then been through bronze, silver, gold and serving. (A clock alone
cannot say this: the stream may be down or behind.) No Spark here: the DAG's first two tasks start in a second.
"""

from __future__ import annotations

import time
import uuid

from pipeline_patterns import postgres
from pipeline_patterns.capstone import serving
from pipeline_patterns.ingestion import debezium


def mark_source(run_id: str) -> int:
    """Write a marker at the source; the epoch ms read just before its commit (the marker's commit is newer)."""
    with postgres.connect() as conn:
        before_ms = int(time.time() * 1000)
        debezium.mark(conn, f"daily close {run_id} {uuid.uuid4().hex[:8]}")
    return before_ms


def stream_has_applied(serving_table: str, sink: str, since_ms: int) -> int | None:
    """The stream's progress (epoch ms of the newest source commit in a committed serving batch) once it has
    reached ``since_ms``; None before."""
    progress = serving.progress_ms(f"{serving_table}_batches", sink)
    return progress if progress >= since_ms else None
