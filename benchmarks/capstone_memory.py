"""The memory lesson 17 needs: the whole stack and the lesson, sampled while it runs, optionally under a limit.

    .venv/bin/python benchmarks/capstone_memory.py [--seed 42] [--limit 3.5G]

Runs lesson 17 with its defaults (and the reference solutions, as CI does) through the kit's runner, and every
second sums the memory of the processes the kit started: the stack's services and their children (PostgreSQL's
backends, Airflow's workers and task processes with their Spark JVMs) and the runner with its children (the
lesson's kernel, the pipeline's process and its JVM). It prints two peaks:

* **RSS summed**: what ``ps`` shows, added up. A page that forked processes share (Airflow's workers) counts once
  per process, so this overstates what the processes take together.
* **PSS summed**: each shared page split among its sharers: the memory the processes take together. The figure
  to compare with a laptop's memory.

and, at the PSS peak, each group's share.

With ``--limit`` (root, a cgroup v1 or v2 memory controller): the stack is stopped, started again inside a new
memory cgroup capped at the limit (swap capped too), and the lesson run in it; the cgroup's peak (page cache
included, which the kernel reclaims before it kills anything), how often the limit was hit and whether the
kernel killed a process are printed. The lesson's status says whether the stack and the lesson fit. The stack is
left running outside the cgroup afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil

from pipeline_patterns.config import PROJECT_DIR, get_settings

KIT = [sys.executable, "-m", "pipeline_patterns"]


def group(cmd: str) -> str:
    """The share a process's memory is reported under, from its command line."""
    for needle, name in (("kafka.Kafka", "Kafka"), ("ConnectDistributed", "Kafka Connect"),
                         ("pyspark-shell", "Spark JVMs"), ("postgres", "PostgreSQL"), ("airflow", "Airflow"),
                         ("ipykernel", "lesson kernel"), ("capstone.process", "pipeline process (Python)")):
        if needle in cmd:
            return name
    return "other (runner, Spark's Python workers)"


def kit_processes(roots: list[int]) -> list[psutil.Process]:
    """The stack's recorded processes, ``roots`` and all their descendants."""
    pids = set(roots)
    for record in (get_settings().stack_path / "pids").glob("*.json"):
        pids.add(json.loads(record.read_text())["pid"])
    found: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                found[p.pid] = p
        except psutil.Error:
            continue
    return list(found.values())


class Sampler(threading.Thread):
    def __init__(self, roots: list[int]) -> None:
        super().__init__(daemon=True)
        self.roots, self.stop = roots, threading.Event()
        self.peak_rss = self.peak_pss = 0
        self.at_peak: Counter[str] = Counter()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            rss = pss = 0
            shares: Counter[str] = Counter()
            for proc in kit_processes(self.roots):
                try:
                    info, cmd = proc.memory_full_info(), " ".join(proc.cmdline())
                except psutil.Error:
                    continue
                rss, pss = rss + info.rss, pss + info.pss
                shares[group(cmd)] += info.pss
            self.peak_rss = max(self.peak_rss, rss)
            if pss > self.peak_pss:
                self.peak_pss, self.at_peak = pss, shares


class MemoryCgroup:
    """A new memory cgroup (v2 if mounted, else v1) capped at ``limit`` bytes, swap included."""

    def __init__(self, limit: int) -> None:
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        self.v2 = unified.exists() and "memory" in unified.read_text()
        base = Path("/sys/fs/cgroup") if self.v2 else Path("/sys/fs/cgroup/memory")
        if not base.is_dir() or not os.access(base, os.W_OK):
            raise SystemExit(f"expected a writable memory cgroup at {base} (run as root), found none: run without "
                             "--limit to measure only")
        self.path = base / f"pipeline-patterns-{os.getpid()}"
        self.path.mkdir()
        if self.v2:
            (self.path / "memory.max").write_text(str(limit))
            (self.path / "memory.swap.max").write_text("0")
        else:
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            swap = self.path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))

    def enter(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def report(self) -> dict[str, object]:
        if self.v2:
            events = dict(line.split() for line in (self.path / "memory.events").read_text().splitlines())
            peak = self.path / "memory.peak"
            return {"peak_gib": int(peak.read_text()) / 2**30 if peak.exists() else None,
                    "limit_hit": int(events.get("max", 0)), "oom_kills": int(events.get("oom_kill", 0))}
        control = dict(line.split() for line in (self.path / "memory.oom_control").read_text().splitlines())
        return {"peak_gib": int((self.path / "memory.max_usage_in_bytes").read_text()) / 2**30,
                "limit_hit": int((self.path / "memory.failcnt").read_text()),
                "oom_kills": int(control.get("oom_kill", 0))}

    def leave(self) -> None:
        parent = self.path.parent
        (parent / "cgroup.procs").write_text(str(os.getpid()))


def gib(text: str) -> int:
    return int(float(text.rstrip("GgIiBb")) * 2**30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=gib, default=None, help="run in a memory cgroup of this size, e.g. 3.5G")
    args = parser.parse_args()
    cgroup = None
    if args.limit:
        cgroup = MemoryCgroup(args.limit)
        subprocess.run([*KIT, "stack", "down"], check=True, cwd=PROJECT_DIR)
        cgroup.enter()  # every process started from here on is in the cgroup
        subprocess.run([*KIT, "stack", "up", "--airflow"], check=True, cwd=PROJECT_DIR)
    began = time.monotonic()
    runner = subprocess.Popen([*KIT, "run", "17", "-p", "solutions", "True", "-p", "seed", str(args.seed)],
                              cwd=PROJECT_DIR, stdout=subprocess.DEVNULL)
    sampler = Sampler([runner.pid])
    sampler.start()
    runner.wait()
    sampler.stop.set()
    sampler.join()
    summary = json.loads((PROJECT_DIR / "runs" / "latest" / "summary.json").read_text())[0]
    print(f"lesson 17 (seed {args.seed}): {summary['status']} in {summary['seconds']} s "
          f"({time.monotonic() - began:.0f} s with the runner)")
    print(f"peak RSS summed {sampler.peak_rss / 2**30:.2f} GiB; peak PSS summed {sampler.peak_pss / 2**30:.2f} GiB")
    for name, pss in sampler.at_peak.most_common():
        print(f"  {name:<40} {pss / 2**20:6.0f} MiB PSS at the peak")
    if cgroup is not None:
        report = cgroup.report()
        cgroup.leave()
        print(f"in a memory cgroup of {args.limit / 2**30:.2f} GiB (swap included): peak {report['peak_gib']:.2f} "
              f"GiB with page cache, the limit hit {report['limit_hit']} times, {report['oom_kills']} process(es) "
              "killed by the kernel")
        subprocess.run([*KIT, "stack", "down"], check=True, cwd=PROJECT_DIR)
        subprocess.run([*KIT, "stack", "up", "--airflow"], check=True, cwd=PROJECT_DIR)  # outside the cgroup again
    sys.exit(0 if summary["status"] == "ok" else 1)


if __name__ == "__main__":
    main()
