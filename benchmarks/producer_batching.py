"""Producer throughput: the kit's helper with default settings vs tuned batching.

    .venv/bin/python benchmarks/producer_batching.py [--records 50000] [--rounds 3]

Prints records/s and MiB/s per configuration and the same-run ratio (tuned / default).
Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse
import statistics
import uuid

from pipeline_patterns import kafka_client
from pipeline_patterns.streaming.producer_tuning import DEFAULT, TUNED, measure, payloads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    records = payloads(args.records)
    topic = f"bench_producer_{uuid.uuid4().hex[:8]}"
    kafka_client.create_topic(topic, partitions=6)
    results: dict[str, list[float]] = {"default": [], "tuned": []}
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        for name, config in (("default", DEFAULT), ("tuned", TUNED)):
            results[name].append(measure(name, topic, records, **config).records_per_s)
    print(f"{args.records} records x {args.rounds} rounds, acks=all, topic with 6 partitions")
    print(f"tuned = {TUNED}")
    for name, rates in results.items():
        print(f"{name:>8}: median {statistics.median(rates):>9,.0f} records/s  (rounds: "
              + ", ".join(f"{r:,.0f}" for r in rates) + ")")
    ratio = statistics.median(results["tuned"]) / statistics.median(results["default"])
    print(f"   ratio: tuned / default = {ratio:.2f}x")


if __name__ == "__main__":
    main()
