"""Run a streaming query bounded: ``trigger(availableNow=True)`` from a checkpoint.

Each call processes everything available, then Spark's no-data batch advances the
watermark (emitting what it closed), and the query stops by itself. Lessons call it
once per step, so the watermark moves exactly when the lesson says. A query that has not
stopped within :data:`pipeline_patterns.spark.BOUND_S` (a safety net) is stopped and
raises ``TimeoutError``; a failed query raises its own exception.

The output is what the query emitted, one JSON-lines file per micro-batch id
(``batch-000007.jsonl``): a batch Spark replays after a crash rewrites its own file, so
the output holds each emitted row once, as a Delta sink would. It is read back in plain
Python (:func:`emitted_rows`), with no Spark job. Measured on lesson 04's stepped query
(same JVM, same run): a Delta sink made each step about 2.5x slower than no sink at all
(`benchmarks/spark_small_batches.py`); the lessons' point is what Spark emits, not the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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
    query = (df.writeStream.foreachBatch(batch_files(output)).outputMode(output_mode)
             .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())
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
        writer = df.writeStream.foreachBatch(batch_files(out)).outputMode("append").option("checkpointLocation", ck)
        trigger = {"once": True} if name in single_batch else {"availableNow": True}
        started[name] = writer.trigger(**trigger).start()
    results = {}
    try:
        for name, query in started.items():
            results[name] = _progress(await_bounded(query, f"step {step}: query {name!r}"), step)
    finally:
        for query in started.values():
            if query.isActive:
                query.stop()
    return results


def batch_files(output: str):
    """A ``foreachBatch`` writer: each batch's rows as JSON lines in ``output/batch-<id>.jsonl``.

    Written to a temporary name and renamed, so a reader never sees half a batch; a replayed
    batch id replaces its file (idempotent). Timestamps are Spark's JSON (ISO 8601, UTC session).
    """
    folder = Path(output)

    def write(batch_df: DataFrame, batch_id: int) -> None:
        lines = batch_df.toJSON().collect()
        if not lines:  # the no-data batch that moves the watermark often emits nothing
            return
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"batch-{batch_id:06d}.jsonl"
        partial = target.with_suffix(".partial")
        partial.write_text("\n".join(lines) + "\n")
        partial.replace(target)

    return write


def emitted_rows(output: str) -> list[dict]:
    """Every row the query has emitted into ``output`` so far, in batch order (empty before the first)."""
    return [json.loads(line) for path in sorted(Path(output).glob("batch-*.jsonl"))
            for line in path.read_text().splitlines() if line]
