"""Lesson 16's exercises: a sensor's execution_delta between two schedules, and a pipeline entry the factory takes."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.orchestration.dag_factory import PipelineSpec, load_specs
from pipeline_patterns.orchestration.etl_experiments import midnight

# ---- 1 · execution_delta -----------------------------------------------------------------------------------------

MARCH = [date(2024, 3, 1) + timedelta(days=n) for n in range(31)]
DOWNSTREAM_AT = timedelta(hours=3)  # the downstream's CronDataIntervalTimetable("0 3 * * *"): runs start at 03:00


def upstream_logical_dates() -> set[datetime]:
    """``shop_upstream``'s runs, February and March 2024 (``CronDataIntervalTimetable("@daily")``: logical date =
    the start of its day's interval, 00:00 UTC)."""
    return {midnight(date(2024, 2, 1) + timedelta(days=n)) for n in range(60)}


def sensor_target(downstream_logical_date: datetime, execution_delta: timedelta) -> datetime:
    """The upstream logical date an ``ExternalTaskSensor`` waits for: its own run's logical date minus the delta."""
    return downstream_logical_date - execution_delta


@exercise("16.wait_for_the_same_days_upstream", "an execution_delta that points each run at its day's upstream run")
def wait_for_the_same_days_upstream(your_delta: Any) -> Verdict:
    if not isinstance(your_delta, timedelta):
        return wrong(f"execution_delta is a datetime.timedelta, found a {type(your_delta).__name__}: {your_delta!r}")
    upstream = upstream_logical_dates()
    for day in MARCH:
        logical = midnight(day) + DOWNSTREAM_AT
        target = sensor_target(logical, your_delta)
        if target not in upstream:
            return wrong(f"the downstream run of {day} (logical date {logical:%Y-%m-%d %H:%M}) would wait for "
                         f"shop_upstream at {target:%Y-%m-%d %H:%M}, and no upstream run has that logical date (they "
                         "are at 00:00 UTC): the sensor waits out its whole timeout, then fails the run")
        if target.date() != day:
            return wrong(f"the downstream run of {day} would wait for the upstream run of {target.date()}: it exists, "
                         "so the sensor succeeds, and the run goes on with another day's data. Wanted: the upstream "
                         "run of the same day")
    example = sensor_target(midnight(MARCH[9]) + DOWNSTREAM_AT, your_delta)
    return right(f"every downstream run of March waits for the upstream run of its own day "
                 f"(e.g. {MARCH[9]} 03:00 → {example:%Y-%m-%d %H:%M})")


# ---- 2 · a pipelines entry ---------------------------------------------------------------------------------------

LESSON_ENTRIES = """
- {source: customers, destination: customers_clean, transformations: [trim_names, lowercase_email]}
- {source: orders, destination: orders_clean, transformations: [drop_test_rows]}
- {source: payments, destination: payments_clean, transformations: []}
"""
WANTED = {"source": "refunds", "destination": "refunds_clean", "transformations": ["drop_test_rows"],
          "schedule": "@daily", "retries": 3}


def describe(spec: PipelineSpec) -> str:
    return (f"{spec.dag_id}: {spec.source} into {spec.destination}, transformations {spec.transformations}, "
            f"schedule {spec.schedule!r}, retries {spec.retries}")


@exercise("16.an_entry_the_factory_accepts", "a pipelines.yaml entry the validated DAG factory accepts as asked")
def an_entry_the_factory_accepts(your_entry: Any) -> Verdict:
    entry = yaml.safe_load(your_entry) if isinstance(your_entry, str) else your_entry
    document = {"pipelines": [*yaml.safe_load(LESSON_ENTRIES), entry]}
    with tempfile.TemporaryDirectory(prefix="l16-exercise-") as folder:
        path = Path(folder) / "pipelines.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        read = load_specs(path)
    if read.problems:
        return wrong("the kit's factory leaves your entry out (the other DAGs of the file still load): "
                     + "; ".join(map(str, read.problems)))
    yours = read.specs[-1]
    if yours.model_dump() != WANTED:
        return wrong(f"the factory accepts your entry and builds {describe(yours)}; wanted refunds copied into "
                     "refunds_clean without its test rows, daily, with 3 retries")
    return right(f"the factory builds {len(read.specs)} DAGs from the file, yours among them: {describe(yours)}")
