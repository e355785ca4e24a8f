"""Rows per second of the exactly-once Spark -> PostgreSQL sink, by rows per micro-batch.

    .venv/bin/python benchmarks/spark_postgres_sink.py [--sizes 1000,10000,100000] [--batches 10,10,4]
                                                       [--transfers rows,arrow] [--rounds 1]

For each batch size (``maxOffsetsPerTrigger``) one topic of ``size x batches`` seeded events
is streamed with ``trigger(availableNow)`` into a fresh table, once per transfer, in one
Python process and one SparkSession (so the JVM's start is not in any figure):

* ``rows``  — the previous path: ``collect()`` Row objects, ``COPY`` one Python row at a time;
* ``arrow`` — ``toArrow()``, the batch encoded to CSV by Arrow, ``COPY`` from one buffer.

Both apply each batch in the same one-transaction ledger + COPY + MERGE. Prints rows/s end
to end (query start to stop: Kafka reads, Spark's planning and checkpoint writes included),
the per-batch cost from Spark's own progress (``durationMs`` parts, ms per batch) and,
inside ``addBatch``, the time to get rows into Python (``collect``) and in PostgreSQL
(``sink``); then the arrow/rows ratio per size. Transfers alternate within a round.
Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import uuid

from pipeline_patterns import datagen, kafka_client
from pipeline_patterns.exactly_once.spark_postgres import TRANSFERS, run

PARTS = ("latestOffset", "getBatch", "queryPlanning", "addBatch", "walCommit", "commitOffsets")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=_ints, default=[1_000, 10_000, 100_000])
    parser.add_argument("--batches", type=_ints, default=[10, 10, 4], help="micro-batches per size")
    parser.add_argument("--transfers", type=lambda t: t.split(","), default=list(TRANSFERS))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]

    topics = {}
    for size, batches in zip(args.sizes, args.batches, strict=True):
        topics[size] = f"sink_bench_{suffix}_{size}"
        kafka_client.create_topic(topics[size], partitions=3)
        kafka_client.produce_json(topics[size], datagen.user_events(size * batches, seed=42), key="user_id")

    results: dict[tuple[int, str], list[dict]] = {}
    for r in range(args.rounds):
        for size in args.sizes:
            order = args.transfers if r % 2 == 0 else args.transfers[::-1]
            for transfer in order:
                table = f"sink_bench_{suffix}_{size}_{transfer}_{r}"
                res = run(topics[size], table, tempfile.mkdtemp(prefix="sink_bench_"),
                          max_offsets_per_trigger=size, transfer=transfer)
                results.setdefault((size, transfer), []).append(res)

    print(f"{'per batch':>9} {'transfer':>8} {'rows':>7} {'batches':>7} {'rows/s e2e':>10} {'s':>6} "
          + " ".join(f"{p:>13}" for p in PARTS) + f" {'collect':>8} {'sink':>7}   (ms per batch, median of rounds)")
    e2e: dict[tuple[int, str], float] = {}
    for (size, transfer), runs in results.items():
        e2e[(size, transfer)] = statistics.median(x["rows"] / x["seconds"] for x in runs)
        last = runs[-1]
        n = last["progress_batches"] or 1
        per = {p: statistics.median(x["progress_ms"][p] / max(x["progress_batches"], 1) for x in runs) for p in PARTS}
        collect = statistics.median(1000 * x["collect_seconds"] / max(x["progress_batches"], 1) for x in runs)
        sink = statistics.median(1000 * x["sink_seconds"] / max(x["progress_batches"], 1) for x in runs)
        print(f"{size:>9,} {transfer:>8} {last['rows']:>7,} {n:>7} {e2e[(size, transfer)]:>10,.0f} "
              f"{statistics.median(x['seconds'] for x in runs):>6.1f} "
              + " ".join(f"{per[p]:>13,.0f}" for p in PARTS) + f" {collect:>8,.0f} {sink:>7,.0f}")
        print(f"{'':>9} {'':>8} sink alone: {last['rows'] / max(last['sink_seconds'], 1e-9):,.0f} rows/s; "
              f"outside any trigger (query start-up and stop): {last.get('outside_triggers_seconds', 0):.1f} s")
    if {"rows", "arrow"} <= set(args.transfers):
        for size in args.sizes:
            print(f"{size:>9,} per batch: arrow / rows end to end = {e2e[(size, 'arrow')] / e2e[(size, 'rows')]:.1f}x")


if __name__ == "__main__":
    main()
