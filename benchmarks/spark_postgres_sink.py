"""Rows per second of the exactly-once Spark -> PostgreSQL sink.

    .venv/bin/python benchmarks/spark_postgres_sink.py [--events 50000] [--per-batch 5000]

Streams a topic of seeded events into a fresh table with ``trigger(availableNow)`` and
prints rows/s end to end (query start to stop, Spark's planning and Kafka reads included)
and inside the sink (the PostgreSQL transaction: ledger claim, COPY, MERGE, commit).
Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse
import tempfile
import uuid

from pipeline_patterns import datagen, kafka
from pipeline_patterns.exactly_once.spark_postgres import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--per-batch", type=int, default=5_000)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    topic = f"sink_bench_{suffix}"
    kafka.create_topic(topic, partitions=3)
    kafka.produce_json(topic, datagen.user_events(args.events, seed=42), key="user_id")
    result = run(topic, f"sink_bench_{suffix}", tempfile.mkdtemp(prefix="sink_bench_"),
                 max_offsets_per_trigger=args.per_batch)
    print(f"{result['rows']} rows in {len(result['applied'])} batches of up to {args.per_batch}")
    print(f"end to end : {result['rows'] / result['seconds']:>9,.0f} rows/s ({result['seconds']:.1f} s)")
    print(f"in the sink: {result['rows'] / result['sink_seconds']:>9,.0f} rows/s ({result['sink_seconds']:.1f} s "
          f"in PostgreSQL transactions)")
    print(f"sink share of the run: {result['sink_seconds'] / result['seconds']:.0%}")


if __name__ == "__main__":
    main()
