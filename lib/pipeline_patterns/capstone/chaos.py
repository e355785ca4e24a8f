"""The capstone under chaos: faults injected from outside at seeded random moments while the workload runs.

The pipeline runs as its own process (:mod:`.process`). While the shop's workload and the payments play,
threads inject, in a seeded random order, at seeded random moments after seeded random chunks of the workload
(while the next chunks play; a fault of the pipeline may overlap one of Connect or PostgreSQL):

* ``kill -9`` of Kafka Connect, restarted at once (Debezium resumes from its last flushed offset and sends
  again what came after it);
* ``kill -9`` of the pipeline's process (its Spark driver and JVM), started again (Spark replays the
  unfinished batch from its checkpoint; a marker written at the source then gives it something new to commit);
* ``SIGSTOP`` of PostgreSQL for ``pause_s`` seconds, then ``SIGCONT`` (the source's writers, Debezium's
  slot and the serving transactions all wait);
* ``kill -9`` of the Airflow task that closes a day (``dags/capstone_daily.py``), inside its transaction:
  Airflow retries it (:mod:`.daily`). Before it, the pipeline is frozen (SIGSTOP) and an order of the day is
  corrected at the source: the close's sensor must wait for the stream, thawed once the sensor is seen
  waiting. The closed day must equal the source's day at that moment, so the workload is held
  (and a kill of the pipeline before it is let finish) until the retried close has written the day. The DAG's
  ``maintain_lake`` (OPTIMIZE, VACUUM) then runs while the workload and the stream go on.

Each fault is recorded with when it began (for the Airflow close: its kill) and when its component was back
(Connect's connector running again, the pipeline's next batch committed, PostgreSQL answering, the retried daily
close successful), for the timeline. Nothing here decides whether the result is right:
:func:`.experiments.outcome` compares it with the independent reference.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pipeline_patterns import connect, postgres
from pipeline_patterns.capstone import daily, experiments, serving
from pipeline_patterns.capstone.experiments import CapstoneRun
from pipeline_patterns.capstone.pipeline import MAX_RECORDS
from pipeline_patterns.config import get_settings
from pipeline_patterns.faults import ProcessorRun, module_command
from pipeline_patterns.ingestion import debezium
from pipeline_patterns.orchestration.airflow_api import AirflowClient
from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack import Stack
from pipeline_patterns.stack.preflight import port_is_free

FAULTS = ("kill connect", "kill pipeline", "pause postgres", "kill airflow task")


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: float            # seconds since the chaos run began
    recovered_s: float     # seconds from the fault until its component was back


@dataclass(frozen=True)
class ChaosRun:
    faults: list[Fault]
    pipeline_starts: int
    seconds: float
    began_at_ms: int       # epoch ms of the run's start, to place the latency timeline
    closes: list[daily.Close]  # one per "kill airflow task"


@dataclass(frozen=True)
class PlannedFault:
    kind: str
    after_chunk: int       # lands after this chunk of the workload was committed
    delay_s: float         # this long after it


def plan_faults(faults: int, chunks: int, seed: int, max_delay_s: float = 3.0) -> list[PlannedFault]:
    """``faults`` faults in a seeded random order (every kind in turn, so each at least once when ``faults >= 4``),
    after seeded random chunks (distinct while there are chunks enough, the rest after the last), each a seeded
    random 0-``max_delay_s`` seconds after its chunk; ordered by chunk."""
    rng = random.Random(seed)
    kinds = [FAULTS[i % len(FAULTS)] for i in range(faults)]
    rng.shuffle(kinds)
    after = sorted(rng.sample(range(chunks), min(faults, chunks)))
    after += [chunks - 1] * (faults - len(after))
    return [PlannedFault(kind, chunk, round(rng.uniform(0, max_delay_s), 2)) for kind, chunk in zip(kinds, after,
                                                                                                    strict=True)]


def pipeline_process(run: CapstoneRun, lake: Path, stop_file: Path, grace_ms: int, log: Path,
                     max_records: int = MAX_RECORDS) -> ProcessorRun:
    args = ["--lake", str(lake), "--schema", run.capture.schema, "--payments-topic", run.payments_topic,
            "--dlq-topic", run.dlq_topic, "--serving-table", run.serving_table, "--grace-ms", str(grace_ms),
            "--max-records", str(max_records), "--stop-file", str(stop_file)]
    for topic in run.cdc_topics:
        args += ["--cdc-topic", topic]
    return ProcessorRun(module_command("pipeline_patterns.capstone.process", *args), log)


def _batches(run: CapstoneRun) -> int:
    try:
        with postgres.connect(connect_timeout=2) as conn:
            return len(serving_ledger(conn, run))
    except psycopg.Error:
        return 0


def serving_ledger(conn: psycopg.Connection, run: CapstoneRun) -> list[tuple]:
    from psycopg import sql

    return conn.execute(sql.SQL("SELECT batch_id FROM {}").format(
        sql.Identifier(f"{run.serving_table}_batches"))).fetchall()


def inject(kind: str, run: CapstoneRun, proc: ProcessorRun, stack: Stack, pause_s: float) -> float:
    """Inject one fault and wait until its component is back; the seconds that took."""
    began = time.monotonic()
    if kind == "kill connect":
        stack.kill("connect")
        port = get_settings().connect_port
        wait_until(lambda: port_is_free(port), 90, f"port {port} released by the killed Connect worker")
        layout = stack.saved_layout()
        stack.up(brokers=layout.brokers if layout else 1, airflow=bool(layout and layout.airflow))
        connect.wait_running(run.capture.connector, timeout_s=120)
    elif kind == "kill pipeline":
        before = _batches(run)
        proc.kill9()
        proc.start()
        with postgres.connect() as conn:  # something new to process, even if the killed batch was the last
            debezium.mark(conn, f"chaos: the pipeline restarted ({proc.starts})")
        wait_until(lambda: _batches(run) > before or not proc.alive, 180, "the restarted pipeline's next batch")
    elif kind == "pause postgres":
        stack.pause("postgres")
        try:
            threading.Event().wait(pause_s)  # the fault's length, chosen: not a wait for readiness
        finally:
            stack.resume("postgres")
        wait_until(lambda: _answers(), 60, "PostgreSQL answering after SIGCONT")
    else:
        raise ValueError(f"expected a fault in {FAULTS}, found {kind!r}")
    return time.monotonic() - began


def _answers() -> bool:
    try:
        with postgres.connect(connect_timeout=2) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def run_under_chaos(run: CapstoneRun, conn: psycopg.Connection, lake: Path, log: Path, *, faults: int, seed: int,
                    poison_rate: float, grace_ms: int, chunks: int = 8, pause_s: float = 3.0,
                    airflow: AirflowClient | None = None, max_delay_s: float = 3.0,
                    max_records: int = MAX_RECORDS) -> ChaosRun:
    """Play the workload in ``chunks`` with the pipeline running, injecting ``faults`` faults (every kind at least
    once when ``faults >= 4``: the Airflow task's kill needs ``airflow``, a client with ``capstone_daily``
    unpaused); then let everything catch up and stop the pipeline, whose micro-batches hold at most
    ``max_records`` records.

    The workload starts with the pipeline's process, not after its first batch. A fault planned at chunk ``k``
    lands a seeded random 0-``max_delay_s`` seconds after that chunk was committed, while the next chunks play,
    and once the pipeline has committed its first batch. A fault of the pipeline may overlap one of Connect or
    PostgreSQL; two faults of one kind never do.
    """
    plan = plan_faults(faults, chunks, seed, max_delay_s)
    airflow_closes = sum(p.kind == "kill airflow task" for p in plan)
    if airflow_closes and airflow is None:
        raise ValueError(f"expected an Airflow client for the {airflow_closes} Airflow task kill(s) of this plan, "
                         "found none: pass airflow=lesson_airflow.ready(['capstone_daily'])")
    closes: list[daily.Close] = []
    stop_file = lake / "STOP"
    proc = pipeline_process(run, lake / "lake", stop_file, grace_ms, log, max_records)
    stack = Stack(echo=lambda _: None)
    began, began_ms = time.monotonic(), int(time.time() * 1000)
    proc.start()
    done: list[Fault] = []
    first_batch = threading.Event()
    # the pipeline's faults beside the stack's; one fault of a lane at a time, in order. Connect and PostgreSQL
    # take turns: Connect's restart goes through `stack up`, which would resume a frozen PostgreSQL early
    lanes = {"kill pipeline": "pipeline", "kill connect": "stack", "pause postgres": "stack"}
    injectors = {lane: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"chaos-{lane}")
                 for lane in set(lanes.values())}
    injecting: list[Future] = []
    pipeline_kills: list[Future] = []

    def running() -> None:
        """Return once the pipeline has committed its first batch: every fault hits a running stream."""
        if not first_batch.is_set():
            wait_until(lambda: _batches(run) > 0 or not proc.alive, 180, "the pipeline's first batch")
            first_batch.set()

    def injected(kind: str, delay_s: float) -> None:
        running()
        threading.Event().wait(delay_s)  # the fault's random moment, planned: not a wait for readiness
        at = time.monotonic() - began
        done.append(Fault(kind, round(at, 2), round(inject(kind, run, proc, stack, pause_s), 2)))

    def between(k: int) -> None:
        for kind, delay_s in [(p.kind, p.delay_s) for p in plan if p.after_chunk == k]:
            if kind != "kill airflow task" or airflow is None:
                injecting.append(injectors[lanes[kind]].submit(injected, kind, delay_s))
                if kind == "kill pipeline":
                    pipeline_kills.append(injecting[-1])
                continue
            # a daily close freezes and thaws the pipeline itself: a kill of the pipeline before it finishes first
            # (Connect and PostgreSQL may still be down: the close's sensor waits for them too)
            for future in pipeline_kills:
                future.result()
            running()
            day = daily.busiest_day(conn, run.capture.schema, {c.day for c in closes})
            proc.pause()  # the stream falls behind a late correction of the day: the close must wait for it
            try:
                closes.append(daily.close_with_a_kill(airflow, run, conn, lake / "lake", day, proc.resume))
            finally:
                proc.resume()
            done.append(Fault(kind, round(closes[-1].killed_at - began, 2), round(closes[-1].recovered_s, 2)))

    try:
        experiments.play_workload(run, conn, poison_rate, seed, chunks=chunks, between=between)
        for future in injecting:
            future.result()  # every fault landed and its component is back (a failed injection raises here)
        experiments.caught_up(run, conn, grace_ms)
        stop_file.touch()  # the pipeline processes what is available, then exits
        if airflow is not None:  # each close's maintain_lake ran beside the stream and the workload
            closes[:] = [daily.finish(airflow, close) for close in closes]
        proc.wait(timeout_s=300)
    finally:
        for injector in injectors.values():
            injector.shutdown(wait=True, cancel_futures=True)
        proc.kill9()  # a run that failed half-way leaves no pipeline behind (a no-op after a clean exit)
    done.sort(key=lambda f: f.at_s)
    return ChaosRun(done, proc.starts, round(time.monotonic() - began, 1), began_ms, closes)


def latency_timeline(run: CapstoneRun) -> list[tuple[float, int]]:
    """(serving commit, epoch ms; latency ms) for every source change the serving table carried."""
    return serving.latencies_ms(f"{run.serving_table}_batches")
