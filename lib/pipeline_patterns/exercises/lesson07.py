"""Lesson 07's exercises: where a replay from go-live starts, and where it resumes after a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

from pipeline_patterns import datagen
from pipeline_patterns.architectures.aggregation import Answer, aggregate, diff
from pipeline_patterns.architectures.event_log import event_time_ms
from pipeline_patterns.architectures.kappa.log import partition_by_user
from pipeline_patterns.architectures.kappa.versions import V2, batch_compute
from pipeline_patterns.architectures.lambda_arch.fakes import simulated_events
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

GO_LIVE_MS = int(datetime(2024, 1, 15, tzinfo=UTC).timestamp() * 1000)
MAX_POLL_RECORDS = 500
CRASH_AFTER_POLL = 5   # exercise 2: the replay dies after this poll's table transaction, before its Kafka commit

Log = dict[int, list[dict]]   # a small pure model of the Kafka log: partition -> its records, offset = index


def event_log() -> Log:
    """The lesson's log, one partition more: December's test backfill on partitions 0-3, go-live traffic on
    0, 1, 2 and 4 (4 was added at go-live, so its offset 0 is already a go-live event; 3 holds only December)."""
    by_user = partition_by_user(4)
    log: Log = {p: [] for p in range(5)}
    for e in datagen.user_events(400, seed=43, start=datetime(2023, 12, 1, tzinfo=UTC)):
        log[by_user(e)].append(e)
    for e in simulated_events(3000, seed=42):
        log[(0, 1, 2, 4)[by_user(e)]].append(e)
    return log


def offset_for_time(records: list[dict], from_ms: int) -> int | None:
    """``offsets_for_times`` for one partition: the first offset with a timestamp >= ``from_ms``, else None."""
    return next((offset for offset, e in enumerate(records) if event_time_ms(e) >= from_ms), None)


def _offsets(yours: Callable[..., int], log: Log, *args_per_partition: Mapping[int, int | None]) -> dict[int, int]:
    """The learner's offset for each partition; raises ValueError naming the first one that is not an offset."""
    offsets = {}
    for p, records in log.items():
        offset = yours(*(args[p] for args in args_per_partition))
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= len(records):
            raise ValueError(f"partition {p}: expected an offset from 0 to its end offset {len(records)}, "
                             f"found {offset!r}")
        offsets[p] = offset
    return offsets


@exercise("07.start_the_replay_at_go_live", "a start offset per partition that replays exactly the go-live events")
def start_the_replay_at_go_live(your_start_offset: Callable[[int | None, int], int]) -> Verdict:
    """The replay on the pure log model (no Kafka): version 2's table against its ``batch_compute``."""
    log = event_log()
    found = {p: offset_for_time(records, GO_LIVE_MS) for p, records in log.items()}
    end = {p: len(records) for p, records in log.items()}
    try:
        start = _offsets(your_start_offset, log, found, end)
    except ValueError as exc:
        return wrong(f"{exc}; a consumer can seek only to an offset")
    replayed = {p: records[start[p]:] for p, records in log.items()}
    before = {p: sum(event_time_ms(e) < GO_LIVE_MS for e in rs) for p, rs in replayed.items()}
    skipped = {p: sum(event_time_ms(e) >= GO_LIVE_MS for e in log[p][:start[p]]) for p in log}
    if any(before.values()):
        parts = sorted(p for p, n in before.items() if n)
        return wrong(f"events from before go-live replayed: {sum(before.values())} (partitions {parts}). The "
                     "December backfill is not part of the answer")
    if any(skipped.values()):
        parts = sorted(p for p, n in skipped.items() if n)
        return wrong(f"go-live events skipped: {sum(skipped.values())} (partitions {parts}), where "
                     f"offsets_for_times answered {[found[p] for p in parts]}")
    answer = aggregate((e for records in replayed.values() for e in records), V2.to_cents)
    if rows := diff(batch_compute([e for rs in log.values() for e in rs], V2, GO_LIVE_MS), answer):
        return wrong(f"rows that differ from version 2's batch computation: {len(rows)}")
    return right(f"started at {start}: exactly the {sum(map(len, replayed.values()))} go-live events replayed, "
                 "none on the December-only partition and all of the one added at go-live")


def apply_poll(table: dict[tuple[str, str], list], batch: list[dict]) -> None:
    """One poll batch added into the output table, as ``reprocessing._apply`` upserts its deltas."""
    for key, (count, cents, last) in aggregate(batch, V2.to_cents).items():
        row = table.setdefault(key, [0, 0, last])
        row[0], row[1], row[2] = row[0] + count, row[1] + cents, max(row[2], last)


def polls(log: Log, position: dict[int, int]) -> Iterator[tuple[int, list[dict]]]:
    """Poll until caught up, round-robin: up to ``MAX_POLL_RECORDS`` of the next partition with records left."""
    order, turn = sorted(log), 0
    while any(position[p] < len(log[p]) for p in order):
        p, turn = order[turn % len(order)], turn + 1
        if position[p] < len(log[p]):
            batch = log[p][position[p]:position[p] + MAX_POLL_RECORDS]
            position[p] += len(batch)
            yield p, batch


@exercise("07.resume_after_a_crash", "where a crashed replay resumes, so that no event counts twice or never")
def resume_after_a_crash(your_resume_offset: Callable[[int | None, int | None, int], int]) -> Verdict:
    """``replay``'s loop on the pure log model (no Kafka, no PostgreSQL): each poll adds its totals to the table
    and stores its offsets in one step, then commits to Kafka; it crashes between the two after poll 5."""
    log = event_log()
    start = {p: offset_for_time(records, GO_LIVE_MS) for p, records in log.items()}
    replay_start: dict[int, int] = {p: len(log[p]) if o is None else o for p, o in start.items()}
    table: dict[tuple[str, str], list] = {}
    stored: dict[int, int] = {}      # the offsets table, written in each poll's transaction
    committed: dict[int, int] = {}   # the consumer group's offsets in Kafka, committed after it
    position = dict(replay_start)
    for number, (p, batch) in enumerate(polls(log, position), start=1):
        apply_poll(table, batch)
        stored[p] = position[p]
        if number == CRASH_AFTER_POLL:
            break
        committed[p] = position[p]
    # Crash: the last poll's transaction committed (rows + offsets in the table), its Kafka commit never ran.
    kafka_committed: dict[int, int | None] = {p: committed.get(p) for p in log}
    table_offset: dict[int, int | None] = {p: stored.get(p) for p in log}
    try:
        resume = _offsets(your_resume_offset, log, kafka_committed, table_offset, replay_start)
    except ValueError as exc:
        return wrong(f"{exc}; the replay must resume at an offset in every partition")
    crashed_at = dict(stored)
    for _, batch in polls(log, dict(resume)):
        apply_poll(table, batch)
    answer: Answer = {key: (count, cents, last) for key, (count, cents, last) in table.items()}
    expected = batch_compute([e for rs in log.values() for e in rs], V2, GO_LIVE_MS)
    if not diff(expected, answer):
        return right(f"resumed at {resume} after the crash: the table equals version 2's batch computation, "
                     "no event counted twice or lost")
    if early := {p: replay_start[p] - resume[p] for p in log if resume[p] < replay_start[p]}:
        return wrong(f"events from before go-live replayed: {sum(early.values())} (partitions {sorted(early)}). "
                     "The December backfill is not part of the answer")
    applied = {p: crashed_at.get(p, replay_start[p]) for p in log}   # what the table held at the crash
    if twice := {p: applied[p] - resume[p] for p in log if resume[p] < applied[p]}:
        p = min(twice)
        return wrong(f"events counted twice: {sum(twice.values())}, e.g. partition {p}'s offsets "
                     f"{resume[p]} to {applied[p] - 1} were already in the table before the crash, and were "
                     "applied again (each poll adds its totals to the table's)")
    lost = {p: resume[p] - applied[p] for p in log if resume[p] > applied[p]}
    p = min(lost)
    return wrong(f"events never counted: {sum(lost.values())}, e.g. partition {p}'s offsets "
                 f"{applied[p]} to {resume[p] - 1} were not in the table when it crashed, and the resumed "
                 "replay skipped them")
