"""Seconds per bounded micro-batch step on lesson-sized data, by Spark configuration.

    .venv/bin/python benchmarks/spark_small_batches.py [--steps 6] [--variants defaults,no-ui,...]

The lessons' streaming steps move a dozen rows each: what they cost is Spark's fixed
per-batch work (planning, checkpoint and state-store files, the Delta commit), not data.
This runs lesson 04's stepped query (watermark, sliding windows, Delta sink, one
``availableNow`` run per step; :mod:`pipeline_patterns.streaming.watermark_query`) on the
same seeded steps once per configuration variant, each in a fresh Python process and JVM
so no variant warms the next. It prints, per variant, the first step (query start-up and
JIT warm-up included), the median of the later steps, Spark's own ``durationMs`` parts
summed over the run, and each median's ratio to the kit's defaults. Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta

from pipeline_patterns.spark import GENERATED_CODE_CONF

VARIANTS: dict[str, dict[str, str]] = {
    "defaults": {},
    "no-ui": {"spark.ui.enabled": "false"},
    # the kit runs interpreted (spark.DEFAULT_CONF); this puts generated code back
    "no-ui+codegen": {"spark.ui.enabled": "false", **GENERATED_CODE_CONF},
    "no-ui+no-AQE": {"spark.ui.enabled": "false", "spark.sql.adaptive.enabled": "false"},
    "no-ui+1-shuffle-partition": {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1"},
    # the driver JVM with the JVM's own JIT and collector (C2, G1) instead of the kit's C1 + serial GC
    "no-ui+jvm-default-JIT-and-GC": {"spark.ui.enabled": "false",
                                     "spark.driver.extraJavaOptions": "-Dlog4j2.level=ERROR"},
}


def one_variant(name: str, steps: int) -> dict:
    """Run in a child process: a fresh JVM with the variant's settings; return its figures."""
    from pipeline_patterns import kafka_client
    from pipeline_patterns.config import get_settings
    from pipeline_patterns.spark import get_spark
    from pipeline_patterns.streaming import bounded
    from pipeline_patterns.streaming.watermark_query import produce_events, run_step
    from pipeline_patterns.streaming.watermarks import late_event_steps

    parts: dict[str, float] = defaultdict(float)
    measured = bounded._progress

    def progress_with_parts(query, step):
        for p in query.recentProgress:
            for part, ms in p["durationMs"].items():
                parts[part] += ms
        return measured(query, step)

    bounded._progress = progress_with_parts  # read Spark's figures from the same queries the lesson runs
    started = time.perf_counter()
    spark = get_spark(f"bench-small-batches-{uuid.uuid4().hex[:6]}", conf=VARIANTS[name])
    session_s = time.perf_counter() - started
    delay, size, slide = timedelta(minutes=10), timedelta(minutes=5), timedelta(minutes=1)
    suffix = uuid.uuid4().hex[:8]
    topic, lake = f"bench_small_{suffix}", get_settings().lake_path / "bench_small" / suffix
    kafka_client.create_topic(topic, partitions=1)
    seconds = []
    for number, events in enumerate(late_event_steps(n_steps=steps, per_step=12, seed=42, delay=delay, size=size)):
        produce_events(topic, events)
        began = time.perf_counter()
        run_step(spark, topic, str(lake / "checkpoint"), str(lake / "out"), number, delay, size, slide)
        seconds.append(time.perf_counter() - began)
    spark.stop()
    return {"session_s": session_s, "steps_s": seconds, "parts_s": {k: v / 1000 for k, v in parts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_variant(args.child, args.steps)))
        return
    results = {}
    for name in args.variants.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", name, "--steps", str(args.steps)],
                             capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[name]
        top = sorted(r["parts_s"].items(), key=lambda kv: -kv[1])[:4]
        print(f"{name:26s} session {r['session_s']:5.1f} s | first step {r['steps_s'][0]:5.1f} s | "
              f"later steps median {statistics.median(r['steps_s'][1:]):5.2f} s | "
              + ", ".join(f"{k} {v:.1f} s" for k, v in top), flush=True)
    base = statistics.median(results["defaults"]["steps_s"][1:]) if "defaults" in results else None
    if base:
        print("median later step, ratio to the kit's defaults (same run):")
        for name, r in results.items():
            print(f"  {name:26s} {statistics.median(r['steps_s'][1:]) / base:.2f}x")


if __name__ == "__main__":
    main()
