"""Kafka read-process-write: kill -9 the processor again and again; read_committed sees each id once.

The processor runs as its own OS process; it is killed from outside when the group's
committed offsets (read independently through the admin API) pass seeded random
points, and from inside at named crash points. The audit reads the output topic like
any downstream consumer. The at-least-once twin, under the same kind of kill, writes
duplicates: the test can fail.
"""

from __future__ import annotations

import random
import signal

import pytest

from pipeline_patterns import datagen, kafka_client
from pipeline_patterns.exactly_once.audit import CommittedProgress, audit_ids, topic_event_ids
from pipeline_patterns.faults import CRASH_ENV, ProcessorRun, module_command

pytestmark = pytest.mark.reliability

PROCESSOR = "pipeline_patterns.exactly_once.kafka_transactions"


def _prepare(unique: str, n: int) -> tuple[str, str, list[str]]:
    source, output = f"eos_in_{unique}", f"eos_out_{unique}"
    kafka_client.create_topic(source, partitions=3)
    kafka_client.create_topic(output, partitions=3)
    events = datagen.user_events(n, seed=11)
    assert kafka_client.produce_json(source, events, key="user_id") == n
    return source, output, [e["event_id"] for e in events]


def test_transactions_give_exactly_once_under_repeated_kill_9(unique, tmp_path, full_size):
    n, kills = (100_000, 10) if full_size else (20_000, 10)
    source, output, ids = _prepare(unique, n)
    group = f"eos_{unique}"
    run = ProcessorRun(module_command(PROCESSOR, "--input", source, "--output", output, "--group", group,
                                      "--commit-interval-ms", "50"), log=tmp_path / "processor.log")
    rng = random.Random(2024)
    points = sorted(rng.sample(range(n // 20, n * 4 // 5), kills))
    progress = CommittedProgress(group, source)
    landed = 0
    for i, point in enumerate(points):
        # Every third kill is from inside, with a transaction open or just committed.
        point_inside = f"{rng.choice(['before-commit', 'after-commit'])}:{rng.randint(2, 4)}"
        crash = {CRASH_ENV: point_inside} if i % 3 == 2 else {}
        run.start(crash)
        killed = run.wait() == -signal.SIGKILL if crash else run.kill_when(progress, point)
        landed += killed and progress() < n  # killed with work left to do
    run.start()
    run.wait()

    committed_view = audit_ids(ids, topic_event_ids(output, "read_committed"))
    uncommitted_view = audit_ids(ids, topic_event_ids(output, "read_uncommitted"))
    print(f"\n{n} events, {run.starts} starts, {landed} kills landed mid-work")
    print(f"read_committed:   {committed_view}")
    print(f"read_uncommitted: {uncommitted_view}")
    assert landed == kills and run.kills == kills
    assert committed_view.exactly_once and committed_view.seen == n
    assert progress() == n
    progress.close()
    # A read_uncommitted reader also sees whatever aborted writes reached the log before a kill
    # (how many depends on where each kill landed; printed above, 0 to a few hundred).
    assert uncommitted_view.missing == 0 and uncommitted_view.seen == n + uncommitted_view.duplicates


def test_without_transactions_the_same_kill_duplicates(unique, tmp_path):
    n = 5_000
    source, output, ids = _prepare(unique, n)
    group = f"alo_{unique}"
    run = ProcessorRun(module_command(PROCESSOR, "--input", source, "--output", output, "--group", group,
                                      "--mode", "at-least-once", "--commit-interval-ms", "50"),
                       log=tmp_path / "processor.log")
    run.start({CRASH_ENV: "after-flush:3"})  # written and acknowledged, offsets not yet committed
    run.wait()
    run.start()
    run.wait()
    view = audit_ids(ids, topic_event_ids(output, "read_committed"))
    print(f"\nat-least-once after one kill: {view}")
    assert run.kills == 1
    assert view.missing == 0 and view.duplicates > 0
