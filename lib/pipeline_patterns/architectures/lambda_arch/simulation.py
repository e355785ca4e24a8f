"""A simulated day through all three Lambda layers, checked against a recomputation at every step.

:func:`recompute` is the answer from scratch in plain Python; :func:`simulate_day` replays
events as a day of arrivals and records, at each step, how far the serving view is from
it and how stale each layer is. A harness for the lesson and its tests, not a layer.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pipeline_patterns.architectures.aggregation import Answer, aggregate, diff, parse_ts
from pipeline_patterns.architectures.lambda_arch.batch_layer import (
    append_to_master,
    batch_daily_view,
    publish_batch_view,
)
from pipeline_patterns.architectures.lambda_arch.serving import (
    current_cutoff,
    newest_speed_event,
    serving_answer,
    set_cutoff,
)
from pipeline_patterns.architectures.lambda_arch.speed_layer import run_speed_layer
from pipeline_patterns.architectures.lambda_arch.tables import LambdaTables


def recompute(events: list[dict], until: datetime | None = None) -> Answer:
    """The answer from scratch, in plain Python: (user, type) -> (events, revenue cents, last event).

    Events at or after ``until`` are left out: the batch cutoff is half-open.
    """
    return aggregate(events, keep=None if until is None else (lambda ts: ts < until))


@dataclass(frozen=True)
class LambdaPaths:
    master: str
    batch_view: str
    speed_checkpoint: str


def simulate_day(spark, events: list[dict], topic: str, tables: LambdaTables, paths: LambdaPaths,
                 step_hours: list[float], batch_after_hours: float, day: date,
                 produce: Callable[[str, list[dict]], int], late: list[dict] | None = None,
                 late_arrival_hours: float | None = None) -> list[dict]:
    """Replay ``events`` as a day of arrivals and check the serving view at every step.

    At each step (hours after ``day`` 00:00 UTC) the events that have "happened" are appended
    to the master dataset and sent to Kafka, the speed layer catches up, and — at the first
    step at or after ``batch_after_hours`` — the batch layer processes ``day`` and moves the
    cutoff. ``late`` events (times long past) arrive at the first step at or after
    ``late_arrival_hours``, into the master dataset and Kafka like the others. Each step
    records the serving view against a recomputation of everything that has arrived
    (``diff_rows``; ``missing_events``/``missing_cents``: what the view lacks) and of the
    on-time arrivals only (``diff_rows_on_time``), and each layer's staleness.
    """
    late = list(late or [])
    start = datetime.combine(day, time.min, tzinfo=UTC)
    set_cutoff(tables, start)  # the batch layer has covered every earlier day (there are no earlier events)
    sent, late_sent, batch_done, records = 0, 0, False, []
    for hours in step_hours:
        now = start + timedelta(hours=hours)
        arrived = [e for e in events[sent:] if parse_ts(e["timestamp"]) < now]
        sent += len(arrived)
        if late and not late_sent and late_arrival_hours is not None and hours >= late_arrival_hours:
            arrived, late_sent = arrived + late, len(late)
        if arrived:
            append_to_master(spark, arrived, paths.master)
            produce(topic, arrived)
        began = clock.perf_counter()
        speed = run_speed_layer(spark, topic, paths.speed_checkpoint, tables)
        speed_s = clock.perf_counter() - began
        batch_s = None
        if not batch_done and hours >= batch_after_hours:
            began = clock.perf_counter()
            batch_daily_view(spark, paths.master, day, paths.batch_view)
            publish_batch_view(spark, paths.batch_view, day, tables)
            batch_s, batch_done = clock.perf_counter() - began, True
        newest = newest_speed_event(tables)
        cutoff = current_cutoff(tables)
        on_time = recompute(events[:sent])
        truth = recompute(events[:sent] + late[:late_sent])
        served = serving_answer(tables)
        records.append({
            "hours": hours, "now": now, "events_so_far": sent, "late_so_far": late_sent,
            "speed_rows_in": speed["input_rows"], "speed_batches": speed["batches"],
            "watermark": speed["watermark"], "dropped_by_watermark": speed["dropped_by_watermark"],
            "cutoff": cutoff, "batch_staleness_h": (now - cutoff).total_seconds() / 3600,
            # How far the speed view trails what has arrived: its missing tail plus its run time.
            "speed_staleness_s": (parse_ts(events[sent - 1]["timestamp"]) - newest).total_seconds() + speed_s
            if newest and sent else None,
            "speed_run_s": speed_s, "batch_run_s": batch_s,
            "diff_rows": len(diff(truth, served)),
            "diff_rows_on_time": len(diff(on_time, served)),
            "missing_events": sum(v[0] for v in truth.values()) - sum(v[0] for v in served.values()),
            "missing_cents": sum(v[1] for v in truth.values()) - sum(v[1] for v in served.values()),
        })
    return records
