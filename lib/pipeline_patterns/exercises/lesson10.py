"""Lesson 10's exercises: a batch ledger that makes a replayed micro-batch write nothing, and a MERGE source.

No Spark, no PostgreSQL: each check runs a small pure model of the rule lesson 10 shows on the real stack.
Spark's side is its checkpoint protocol (plan batch *n*'s offsets, call ``foreachBatch(rows, n)``, mark *n*
done; a start after a kill runs the planned-but-unfinished batch again, same id, same rows); PostgreSQL's side
is one transaction per batch that commits all or nothing, a ledger with a primary key (``INSERT ... ON CONFLICT
DO NOTHING RETURNING``), and a MERGE that refuses to meet a key twice. The rows go through
``postgres_sink.arrow_batch`` (the sink's own conversion); the table is audited by ``audit.audit_ids``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline_patterns import datagen
from pipeline_patterns.exactly_once.audit import audit_ids
from pipeline_patterns.exactly_once.postgres_sink import COLUMNS, KEY, arrow_batch
from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.streaming.partition_keys import partition_for

PER_BATCH = 150   # maxOffsetsPerTrigger
PARTITIONS = 3


def topic_rows(n: int, seed: int) -> list[dict]:
    """Seeded user events as the query's rows (``postgres_sink.COLUMNS``), numbered per partition as Kafka does."""
    next_offset: Counter = Counter()
    rows = []
    for event in datagen.user_events(n, seed=seed):
        partition = partition_for(event["user_id"], PARTITIONS)
        rows.append({"event_id": event["event_id"], "user_id": event["user_id"], "event_type": event["event_type"],
                     "revenue_cents": round(event["revenue"] * 100),
                     "event_time": datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")),
                     "kafka_partition": partition, "kafka_offset": next_offset[partition]})
        next_offset[partition] += 1
    return rows


# -- 1 · the ledger ----------------------------------------------------------------------------------

@dataclass
class Database:
    """The committed state: the ledger's keys and an append-only table (a second insert is a second row)."""

    ledger: set = field(default_factory=set)
    rows: list[dict] = field(default_factory=list)


@dataclass
class Transaction:
    """One PostgreSQL transaction of the sink: nothing of it exists until :meth:`commit`."""

    db: Database
    claims: list = field(default_factory=list)
    inserted: list[dict] = field(default_factory=list)

    def claim(self, key: Hashable) -> bool:
        """``INSERT INTO ledger ... ON CONFLICT DO NOTHING RETURNING``: True if ``key`` was not there yet."""
        hash(key)  # a ledger key must be a value (text, number, tuple), as a primary key is
        if key in self.db.ledger or key in self.claims:
            return False
        self.claims.append(key)
        return True

    def insert(self, row: dict) -> None:
        """A plain INSERT into an append-only table: no key, so the same event twice is two rows."""
        self.inserted.append(dict(row))

    def commit(self) -> None:
        self.db.ledger.update(self.claims)
        self.db.rows += self.inserted


class Killed(Exception):
    """kill -9 of the query's process (and its JVM)."""


def run_query(db: Database, rows: list[dict], sink: str, write_batch: Callable, kills: dict[int, str]) -> None:
    """Spark's micro-batch loop with its checkpoint, started again after every kill until it finishes.

    ``kills`` maps a batch id to where its first run dies: ``before-db-commit`` (the transaction is rolled
    back) or ``after-db-commit`` (committed in PostgreSQL, not yet in Spark's checkpoint).
    """
    batches = [rows[i:i + PER_BATCH] for i in range(0, len(rows), PER_BATCH)]
    finished: set[int] = set()   # the checkpoint's commits/
    pending = dict(kills)
    while len(finished) < len(batches):
        try:
            for batch_id, batch in enumerate(batches):
                if batch_id in finished:
                    continue
                tx = Transaction(db)
                write_batch(tx, [dict(r) for r in batch], batch_id, sink)
                if pending.get(batch_id) == "before-db-commit":
                    raise Killed(pending.pop(batch_id))
                tx.commit()
                if pending.get(batch_id) == "after-db-commit":
                    raise Killed(pending.pop(batch_id))
                finished.add(batch_id)
        except Killed:
            continue  # the next start replays the unfinished batch with the same id and rows


def two_queries() -> dict[str, tuple[list[dict], dict[int, str]]]:
    """Two queries (their sink: the checkpoint path) into one table and ledger: rows, and where each is killed."""
    return {"checkpoints/orders_eu": (topic_rows(700, seed=10), {1: "after-db-commit", 2: "before-db-commit"}),
            "checkpoints/orders_us": (topic_rows(500, seed=11), {0: "after-db-commit", 3: "before-db-commit"})}


@exercise("10.skip_the_replayed_batch", "a ledger claim that makes a replayed batch write nothing")
def skip_the_replayed_batch(your_write_batch: Callable) -> Verdict:
    db, queries = Database(), two_queries()
    for sink, (rows, kills) in queries.items():
        run_query(db, rows, sink, your_write_batch, kills)
    sink_of = {r[KEY]: sink for sink, (rows, _) in queries.items() for r in rows}
    seen = audit_ids(sink_of, [str(r.get(KEY)) for r in db.rows])
    if seen.unexpected:
        return wrong(f"the table holds {seen.unexpected} rows that are no input event: insert the batch's rows")
    if seen.missing:
        lost = Counter(sink_of[i] for i in set(sink_of) - {r.get(KEY) for r in db.rows})
        sink, n = lost.most_common(1)[0]
        return wrong(f"{seen.missing} events never landed, {n} of them from {sink} ({len(queries[sink][0])} rows in "
                     "its topic): their batches wrote nothing, or were skipped as already applied when they were not. "
                     f"Two queries ({', '.join(queries)}) write to this table and its ledger, each numbering its "
                     "batches from 0; a batch may only be skipped when that very batch of that query committed")
    if seen.duplicates:
        return wrong(f"read independently, the table holds {seen.duplicates} rows twice: after a kill between the "
                     "database commit and Spark's checkpoint, the next start ran the same batch (same id, same rows) "
                     "and it was inserted again. A replayed batch must write nothing, and only the transaction "
                     "itself can tell (the ledger commits with the rows or not at all)")
    return right(f"{seen.expected} events from two queries, each in the table exactly once, through "
                 f"{sum(len(k) for _, k in queries.values())} kills at both windows; the ledger holds "
                 f"{len(db.ledger)} batches")


# -- 2 · one row per key into the MERGE ---------------------------------------------------------------

def corrected_batches(seed: int = 21) -> list[list[dict]]:
    """Batches where the order service re-sent some purchases with a corrected revenue (same event_id, later
    offset in the same partition) — some corrections in the same batch, some later — each batch's rows in
    no particular order, as Spark gives them."""
    rng = random.Random(seed)
    stream = topic_rows(600, seed=seed)
    purchases = [r for r in stream if r["event_type"] == "purchase"]
    for original in rng.sample(purchases, len(purchases) // 2):
        for _ in range(rng.choice((1, 1, 2))):
            at = rng.randrange(stream.index(original) + 1, min(len(stream), stream.index(original) + 200) + 1)
            stream.insert(at, {**original, "revenue_cents": original["revenue_cents"] + rng.randrange(1, 900)})
    offsets: Counter = Counter()
    for row in stream:  # renumber: the offset is the order in which each partition received its rows
        row["kafka_offset"] = offsets[row["kafka_partition"]]
        offsets[row["kafka_partition"]] += 1
    batches = [stream[i:i + PER_BATCH] for i in range(0, len(stream), PER_BATCH)]
    for batch in batches:
        rng.shuffle(batch)
    return batches


def merge(target: dict[str, dict], source: list[dict], batch_id: int) -> None:
    """PostgreSQL's MERGE by ``event_id``: update a key it has, insert one it has not; never one key twice."""
    twice = [key for key, n in Counter(r[KEY] for r in source).items() if n > 1]
    if twice:
        error = "CardinalityViolation" if twice[0] in target else "UniqueViolation"
        offsets = sorted(r["kafka_offset"] for r in source if r[KEY] == twice[0])
        raise ValueError(f"batch {batch_id}: the MERGE's source holds {len(twice)} event_ids more than once "
                         f"(e.g. {twice[0]} at offsets {offsets}) and PostgreSQL refuses it with {error}; Spark "
                         "replays the batch into the same error forever")
    for row in source:
        target[row[KEY]] = row


@exercise("10.one_row_per_key", "a MERGE source with one row per event, the newest version")
def one_row_per_key(your_merge_source: Callable[[list[dict]], Iterable[dict]]) -> Verdict:
    batches = corrected_batches()
    latest: dict[str, dict] = {}
    for row in (r for batch in batches for r in batch):
        if row[KEY] not in latest or row["kafka_offset"] > latest[row[KEY]]["kafka_offset"]:
            latest[row[KEY]] = row
    target: dict[str, dict] = {}
    for batch_id, batch in enumerate(batches):
        chosen = list(your_merge_source([dict(r) for r in batch]))
        source = arrow_batch([tuple(r[c] for c in COLUMNS) for r in chosen]).to_pylist()  # the sink's conversion
        try:
            merge(target, source, batch_id)
        except ValueError as refused:
            return wrong(str(refused))
        lost = {r[KEY] for r in batch} - {r[KEY] for r in source}
        if lost:
            return wrong(f"batch {batch_id}: {len(lost)} of its events are not in your MERGE source, so they never "
                         "reach the table: keep exactly one row for every event_id of the batch")
    stale = sorted(key for key, row in latest.items() if target.get(key, {}).get("revenue_cents")
                   != row["revenue_cents"])
    if stale:
        corrected = sum(n > 1 for n in Counter(r[KEY] for batch in batches for r in batch).values())
        return wrong(f"{len(stale)} of the {corrected} corrected events ended with an older version than the last "
                     f"one their partition received (e.g. {stale[0]}): within a batch the rows come in no particular "
                     "order, so pick the row to keep by what says which version came last")
    return right(f"{len(batches)} batches merged without an error; all {len(latest)} events hold their newest version")
