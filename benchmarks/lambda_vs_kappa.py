"""Lambda's batch layer vs Kappa's replay on the same input, in the same run.

    .venv/bin/python benchmarks/lambda_vs_kappa.py [--events 100000]

Prints events/s of the Lambda batch job (Spark over the Delta master dataset: the daily
aggregation for every date, written with replaceWhere) and of the Kappa replay
(kafka-python from the log into PostgreSQL, one transaction per poll batch), the replay's
time to catch up, and the same-run ratio. Needs the stack (`make up`). The topic, the
replay's tables and its consumer group are removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from contextlib import suppress
from datetime import datetime

from kafka.errors import KafkaError

from pipeline_patterns import kafka_client
from pipeline_patterns.architectures.event_log import produce_event_log
from pipeline_patterns.architectures.kappa.log import create_log, partition_by_user
from pipeline_patterns.architectures.kappa.reprocessing import replay
from pipeline_patterns.architectures.kappa.serving import drop_deployment
from pipeline_patterns.architectures.kappa.versions import V2, output_table
from pipeline_patterns.architectures.lambda_arch.batch_layer import append_to_master, batch_daily_view
from pipeline_patterns.architectures.lambda_arch.fakes import simulated_events
from pipeline_patterns.spark import get_spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    events = simulated_events(args.events, seed=42, mean_gap_s=5.0)
    days = sorted({e["timestamp"][:10] for e in events})

    topic, view = f"bench_log_{suffix}", f"bench_metrics_{suffix}"
    create_log(topic, partitions=3)
    lake = tempfile.mkdtemp(prefix="bench_lambda_")
    try:
        produce_event_log(topic, events, partition_for=partition_by_user(3))
        spark = get_spark("bench-lambda-vs-kappa")
        append_to_master(spark, events, f"{lake}/master")

        began = time.perf_counter()
        for day in days:
            batch_daily_view(spark, f"{lake}/master", datetime.fromisoformat(day).date(), f"{lake}/batch")
        batch_s = time.perf_counter() - began

        replayed = replay(topic, V2, 0, view=view)
    finally:
        drop_deployment(view)
        admin = kafka_client.admin()
        with suppress(KafkaError):
            admin.delete_groups([f"kappa-{output_table(view, V2, 0)}"])
        admin.delete_topics([topic])
        admin.close()
        shutil.rmtree(lake, ignore_errors=True)
    print(f"{len(events)} events over {len(days)} days")
    print(f"Lambda batch layer : {len(events) / batch_s:>9,.0f} events/s ({batch_s:.1f} s for {len(days)} daily jobs)")
    print(f"Kappa replay       : {replayed.events_per_s:>9,.0f} events/s; caught up to the captured end offsets "
          f"in {replayed.seconds:.1f} s ({replayed.batches} poll batches)")
    print(f"ratio replay / batch: {replayed.events_per_s / (len(events) / batch_s):.2f}x")


if __name__ == "__main__":
    main()
