"""A barrier on the capstone stream's progress, for the daily close (``dags/capstone_daily.py``).

The stream has two sources, and the barrier covers both. :func:`mark_source` reads the payments topic's end
offsets and writes a logical decoding message at the source; :func:`stream_has_applied` is true once the
stream's serving ledger records a source commit at least as new as the marker and has consumed every payments
partition up to those offsets. Debezium reads the WAL in commit order, so every change committed before the
marker, and every payment acknowledged before the mark, has then been through bronze, silver, gold and serving.
(A clock alone cannot say this: the stream may be down or behind. The source's marker alone cannot either: a
micro-batch bounded by ``maxOffsetsPerTrigger`` may carry the marker while older payments still wait in their
partitions; the full-size run closed a day with payments missing that way.) No Spark here: the DAG's first two
tasks start in a second.
"""

from __future__ import annotations

import time
import uuid

import psycopg

from pipeline_patterns import kafka_client, postgres
from pipeline_patterns.capstone import serving
from pipeline_patterns.ingestion import debezium


def mark_source(run_id: str, payments_topic: str) -> dict:
    """The payments topic's end offsets, then a marker at the source: ``{"since_ms": the epoch ms read just before
    the marker's commit (the marker's commit is newer), "offsets": {"topic:partition": end offset}}``."""
    offsets = kafka_client.end_offsets(payments_topic)
    if not offsets:
        raise LookupError(f"expected the payments topic {payments_topic!r} with partitions, found none: pass the "
                          "capstone run's payments topic as the run's conf 'payments_topic'")
    with postgres.connect() as conn:
        before_ms = int(time.time() * 1000)
        debezium.mark(conn, f"daily close {run_id} {uuid.uuid4().hex[:8]}")
    return {"since_ms": before_ms, "offsets": offsets}


def stream_has_applied(serving_table: str, sink: str, mark: dict) -> int | None:
    """The stream's progress (epoch ms of the newest source commit in a committed serving batch) once it has
    reached ``mark["since_ms"]`` and consumed every partition up to ``mark["offsets"]``; None before."""
    ledger = f"{serving_table}_batches"
    try:
        progress = serving.progress_ms(ledger, sink)
    except psycopg.errors.UndefinedTable:  # the stream has not started yet: it has applied nothing
        return None
    if progress < mark["since_ms"]:
        return None
    return None if behind(mark["offsets"], serving.consumed(ledger, sink)) else progress


def behind(offsets: dict[str, int], consumed: dict[str, int]) -> dict[str, int]:
    """The partitions (with the records still to consume) whose ``consumed`` next offset is below ``offsets``."""
    return {part: end - consumed.get(part, 0) for part, end in offsets.items() if consumed.get(part, 0) < end}
