"""Run a streaming query bounded: ``trigger(availableNow=True)`` from a checkpoint.

Each call processes everything available, then Spark's no-data batch advances the
watermark (emitting what it closed), and the query stops by itself. Lessons call it
once per step, so the watermark moves exactly when the lesson says. A query that has not
stopped within :data:`pipeline_patterns.spark.BOUND_S` (a safety net) is stopped and
raises ``TimeoutError``; a failed query raises its own exception.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame

from pipeline_patterns.spark import await_bounded


@dataclass
class StepProgress:
    step: int
    batches: int
    input_rows: int
    dropped_rows: int
    watermark: str | None
    state_rows: int | None  # None: no batch ran in this step
    state_bytes: int | None


def run_bounded(df: DataFrame, checkpoint: str, output: str, step: int, output_mode: str = "append") -> StepProgress:
    """Write ``df`` to the Delta table at ``output`` until caught up; return Spark's own progress figures."""
    query = (df.writeStream.format("delta").outputMode(output_mode).option("checkpointLocation", checkpoint)
             .trigger(availableNow=True).start(output))
    return _progress(await_bounded(query, f"step {step}"), step)  # availableNow ends by itself


def _progress(query, step: int) -> StepProgress:
    """Sum the batches that ran; state figures from the last one (None when no batch ran)."""
    ran = [p for p in query.recentProgress if p.get("stateOperators")]
    operators = [p["stateOperators"][0] for p in ran]
    return StepProgress(
        step=step, batches=len(ran), input_rows=sum(p["numInputRows"] for p in ran),
        dropped_rows=sum(op.get("numRowsDroppedByWatermark", 0) for op in operators),
        watermark=ran[-1]["eventTime"].get("watermark") if ran else None,
        state_rows=operators[-1]["numRowsTotal"] if operators else None,
        state_bytes=operators[-1]["memoryUsedBytes"] if operators else None,
    )


def run_bounded_together(queries: dict[str, tuple[DataFrame, str, str]], step: int,
                         single_batch: tuple[str, ...] = ()) -> dict[str, StepProgress]:
    """Run several bounded queries side by side (``name -> (df, checkpoint, output)``).

    Queries named in ``single_batch`` run one micro-batch (``trigger(once=True)``): with a
    processing-time timeout Spark asks for another batch forever, so neither
    ``availableNow`` nor ``processAllAvailable()`` would ever return for them.
    """
    started = {}
    for name, (df, ck, out) in queries.items():
        writer = df.writeStream.format("delta").outputMode("append").option("checkpointLocation", ck)
        trigger = {"once": True} if name in single_batch else {"availableNow": True}
        started[name] = writer.trigger(**trigger).start(out)
    results = {}
    try:
        for name, query in started.items():
            results[name] = _progress(await_bounded(query, f"step {step}: query {name!r}"), step)
    finally:
        for query in started.values():
            if query.isActive:
                query.stop()
    return results
