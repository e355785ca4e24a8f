"""Broadcast hash, sort-merge and shuffled hash joins side by side, at two sizes, from Spark's own metrics.

    .venv/bin/python benchmarks/spark_joins.py [--scales 1,4] [--repeats 3]

Lesson 03's join (flights left-joined with airlines, planes, airports and weather; every dimension
under one strategy hint; :func:`pipeline_patterns.batch.joins.run_strategy`) on ``scale`` copies of
flights. One session (``spark_metrics.BATCH_CONF``: the metrics API, generated code); the strategies
run interleaved, ``--repeats`` rounds per size, after one warm-up round that is not counted. Prints per
size and strategy the medians of Spark's executor run time (summed over tasks), the bytes shuffled into
the joins (SQL metrics), the wall time of the action, and each median's ratio to the broadcast join of
the same run. Every run's operators and checksum are checked: a wrong plan or result stops the benchmark.
No service needed.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from pipeline_patterns.batch import flights, joins, spark_metrics
from pipeline_patterns.config import get_settings


def run_size(spark, scale: int, repeats: int) -> dict[str, dict[str, float]]:
    lake = flights.build(get_settings().lake_path, flights.FlightsSpec(scale=scale))
    figures: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    checksums = set()
    for round_ in range(repeats + 1):
        for strategy in joins.STRATEGIES:
            run = joins.run_strategy(spark, lake, strategy)
            if run.joins != [joins.OPERATORS[strategy]] * 4 or run.rows != lake.spec.flights_rows:
                raise RuntimeError(f"{strategy} at scale {scale} ran {run.joins} over {run.rows} rows")
            checksums.add(run.checksum)
            if round_ == 0:
                continue  # warm-up
            figures[strategy]["executor_s"].append(run.measured.executor_run_ms / 1000)
            figures[strategy]["shuffle_mib"].append(run.join_shuffle_bytes / 2**20)
            figures[strategy]["wall_s"].append(run.measured.wall_s)
    if len(checksums) != 1:
        raise RuntimeError(f"strategies disagree at scale {scale}: checksums {checksums}")
    return {s: {k: statistics.median(v) for k, v in f.items()} for s, f in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4", help="copies of flights (336,776 rows each), comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spark = spark_metrics.batch_session("benchmark-spark-joins")
    try:
        print(f"{'scale':>5} {'rows':>10} {'strategy':<15} {'executor s':>10} {'shuffle MiB':>11} {'wall s':>7}"
              f" {'exec x bcast':>12} {'wall x bcast':>12}")
        for scale in (int(s) for s in args.scales.split(",")):
            medians = run_size(spark, scale, args.repeats)
            base = medians["broadcast hash"]
            for strategy, m in medians.items():
                print(f"{scale:>5} {scale * flights.FLIGHTS_ROWS:>10,} {strategy:<15} {m['executor_s']:>10.2f}"
                      f" {m['shuffle_mib']:>11.1f} {m['wall_s']:>7.2f} {m['executor_s'] / base['executor_s']:>12.2f}"
                      f" {m['wall_s'] / base['wall_s']:>12.2f}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
