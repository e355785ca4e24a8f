"""At-least-once vs transactional throughput of the same kafka-python processor.

    .venv/bin/python benchmarks/exactly_once_overhead.py [--records 50000] [--rounds 3]

Prints records/s of each mode at several commit intervals (median of interleaved rounds)
and the same-run ratio transactional / at-least-once. Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse

from pipeline_patterns.exactly_once.throughput import compare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--intervals", default="10,100,1000", help="commit intervals in ms")
    args = parser.parse_args()
    intervals = tuple(int(i) for i in args.intervals.split(","))
    rows = compare(args.records, intervals, rounds=args.rounds)
    print(f"{args.records} events, 3 partitions, read -> transform -> write, {args.rounds} rounds per cell")
    print(f"{'interval':>9} {'at-least-once/s':>16} {'transactional/s':>16} {'ratio':>6} {'transactions':>13}")
    for r in rows:
        print(f"{r['commit_interval_ms']:>7}ms {r['at_least_once_per_s']:>16,.0f} {r['transactional_per_s']:>16,.0f} "
              f"{r['ratio']:>6.2f} {r['transactions']:>13}")


if __name__ == "__main__":
    main()
