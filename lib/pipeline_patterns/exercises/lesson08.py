"""Lesson 08's exercises: silver's MERGE condition under replays, and the gold partitions to replace."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

from pipeline_patterns import datagen
from pipeline_patterns.architectures.medallion import fakes, rules
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

Row = dict   # a raw record plus _ingested_at, _source_file and _row_hash, as silver's MERGE sees it


Ingestion = list[tuple[str, tuple[dict, ...]]]   # the (file name, records) bronze ingested together


def event_ingestions() -> list[Ingestion]:
    """The lesson's event files as bronze ingests them (three deliveries), then ``events_002.json`` again."""
    batches = fakes.ingestions(fakes.event_files(2000, seed=42), "events")
    return [*batches, batches[1]]


def bronze_versions(ingestions: list[Ingestion]) -> list[list[Row]]:
    """Each ingestion as a bronze version: its rows with ``_ingested_at``, ``_source_file`` and ``_row_hash``."""
    versions = []
    for number, files in enumerate(ingestions):
        ingested_at = datetime(2024, 1, 20, 6, tzinfo=UTC) + timedelta(days=number)
        versions.append([{**record, "_ingested_at": ingested_at, "_source_file": name,
                          "_row_hash": hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()}
                         for name, records in files for record in records])
    return versions


def latest_per_key(rows: list[Row]) -> dict[str, Row]:
    """The valid rows, one per key: latest ``_ingested_at``, then ``_source_file``, then ``_row_hash``."""
    best: dict[str, Row] = {}
    for row in rows:
        record = {k: v for k, v in row.items() if not k.startswith("_")}
        if rules.reasons(record, rules.EVENT_RULES):
            continue   # to quarantine
        key = rules.event_key(record)
        rank = (row["_ingested_at"], row["_source_file"], row["_row_hash"])
        if key not in best or rank > (best[key]["_ingested_at"], best[key]["_source_file"], best[key]["_row_hash"]):
            best[key] = row
    return best


def merge(silver: dict[str, Row], source: dict[str, Row], update_when: Callable[[Row, Row], bool]) -> int:
    """``MERGE ... WHEN MATCHED AND <update_when> THEN UPDATE WHEN NOT MATCHED THEN INSERT``; rows updated."""
    updated = 0
    for key, row in source.items():
        if key not in silver:
            silver[key] = row
        elif update_when(dict(row), dict(silver[key])):
            silver[key], updated = row, updated + 1
    return updated


def payloads(rows: dict[str, Row]) -> dict[str, dict]:
    return {key: {k: v for k, v in row.items() if not k.startswith("_")} for key, row in rows.items()}


@exercise("08.merge_only_newer_copies", "a MERGE condition that keeps the latest copy and makes replays no-ops")
def merge_only_newer_copies(your_update_when: Callable[[Row, Row], bool]) -> Verdict:
    """A small pure model of silver's MERGE (Delta in the lesson) over the lesson's raw files, checked against
    the plain-Python reference of ``medallion.rules``."""
    ingestions = event_ingestions()
    versions = bronze_versions(ingestions)
    silver: dict[str, Row] = {}
    for version in versions[:3]:
        merge(silver, latest_per_key(version), your_update_when)
    expected = rules.reference(ingestions[:3], rules.EVENT_RULES, rules.event_key).silver
    if stale := sorted(k for k, record in payloads(silver).items() if record != expected[k]):
        return wrong(f"after the three deliveries, keys holding another copy than the latest ingestion's: "
                     f"{len(stale)} (e.g. event {stale[0]}). A newer copy of a row must replace it")
    steps = (("replaying bronze version 0 (a repair job reads it again)", versions[0], ingestions[:3]),
             ("ingesting events_002.json a second time (the source re-sent it)", versions[3], ingestions))
    for what, version, ingested in steps:
        updated = merge(silver, latest_per_key(version), your_update_when)
        expected = rules.reference(ingested, rules.EVENT_RULES, rules.event_key).silver
        rolled_back = sorted(k for k, record in payloads(silver).items() if record != expected[k])
        if rolled_back:
            return wrong(f"{what} rolled silver rows back to an older copy: {len(rolled_back)} (e.g. event "
                         f"{rolled_back[0]} lost the device its later copy brought). An older copy must never win")
        if updated:
            return wrong(f"silver still holds the right copies, but {what} updated rows with an identical copy: "
                         f"{updated}. Each is a rewritten file, a change-feed row and a gold partition recomputed "
                         "for nothing")
    return right(f"silver holds the latest copy of all {len(expected)} keys, and neither replaying bronze version 0 "
                 "nor the re-delivered file updated a single row")


def event_date(record: dict) -> date:
    ts = rules.as_timestamp(rules.text(record, "timestamp"))
    assert ts is not None, record   # silver holds valid records only
    return ts.date()


def daily_user_metrics(records: Iterable[dict]) -> dict[tuple[date, str], tuple]:
    """Gold's aggregate in plain Python: per (event_date, user) events, sessions, purchase revenue, last event."""
    groups: dict[tuple[date, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[event_date(r), r["user_id"]].append(r)
    return {key: (len(rs), len({r["session_id"] for r in rs}),
                  sum((rules.as_decimal(rules.text(r, "revenue")) or Decimal(0) for r in rs
                       if r["event_type"] == "purchase"), Decimal(0)),
                  max(r["timestamp"] for r in rs)) for key, rs in groups.items()}


class Delivery(NamedTuple):
    """A delivery that fixes a device clock that ran a day ahead, and brings a few new events."""

    moved_from: date   # ``moved`` of its events move back a day
    moved: int
    added_on: date     # ``added`` new events happened that day
    added: int
    seed: int


DELIVERIES = (Delivery(date(2024, 1, 17), 8, date(2024, 1, 19), 5, seed=17),
              Delivery(date(2024, 1, 19), 6, date(2024, 1, 15), 4, seed=19))


def clock_fix(silver: dict[str, dict], delivery: Delivery) -> tuple[dict[str, dict], list[dict]]:
    """Silver after ``delivery``, and silver's change feed for it (``_change_type``, ``event_date``)."""
    rng = random.Random(delivery.seed)
    moved = rng.sample(sorted(k for k, r in silver.items() if event_date(r) == delivery.moved_from), delivery.moved)
    added = datagen.user_events(delivery.added, seed=delivery.seed + 82,
                                start=datetime.combine(delivery.added_on, time(12), tzinfo=UTC))
    after, changes = dict(silver), []
    for key in moved:
        old = silver[key]
        ts = rules.as_timestamp(rules.text(old, "timestamp"))
        assert ts is not None
        after[key] = {**old, "timestamp": (ts - timedelta(days=1)).isoformat(timespec="milliseconds") + "Z"}
        changes += [{**old, "event_date": event_date(old), "_change_type": "update_preimage"},
                    {**after[key], "event_date": event_date(after[key]), "_change_type": "update_postimage"}]
    for record in added:
        after[record["event_id"]] = record
        changes.append({**record, "event_date": event_date(record), "_change_type": "insert"})
    return after, changes


@exercise("08.replace_touched_partitions", "the gold partitions to recompute: every one silver touched, no other")
def replace_touched_partitions(your_partitions: Callable[[list[dict]], Iterable[date]]) -> Verdict:
    """A small pure model of gold (Spark and Delta in the lesson): silver's change feed for one delivery, gold's
    daily user metrics in plain Python, and ``replaceWhere`` on the partitions the learner names; for each of
    ``DELIVERIES`` (the second on other dates, so that no fixed set of dates passes)."""
    silver = rules.reference(event_ingestions()[:3], rules.EVENT_RULES, rules.event_key).silver
    done = []
    for number, delivery in enumerate(DELIVERIES):
        verdict = _replace_for(your_partitions, silver, delivery)
        if not verdict.passed:
            return wrong(f"for another delivery, on other dates: {verdict.message}") if number else verdict
        done.append(verdict.message)
    return right("; for another delivery, ".join(done))


def _replace_for(your_partitions: Callable[[list[dict]], Iterable[date]], silver: dict[str, dict],
                 delivery: Delivery) -> Verdict:
    after, changes = clock_fix(silver, delivery)
    chosen = set(your_partitions([dict(row) for row in changes]))
    if not_a_date := next((d for d in chosen if not isinstance(d, date) or isinstance(d, datetime)), None):
        return wrong(f"expected a set of event_date values (datetime.date), found the {type(not_a_date).__name__} "
                     f"{not_a_date!r}")
    gold_before, recomputed = daily_user_metrics(silver.values()), daily_user_metrics(after.values())
    gold = {key: row for key, row in gold_before.items() if key[0] not in chosen}
    gold |= {key: row for key, row in recomputed.items() if key[0] in chosen}
    wrong_rows = [key for key in gold.keys() | recomputed.keys() if gold.get(key) != recomputed.get(key)]
    if differ := sorted({day for day, _ in wrong_rows}):
        day = differ[0]
        moved_out = sum(1 for c in changes if c["_change_type"] == "update_preimage" and c["event_date"] == day)
        rows = sum(1 for key in wrong_rows if key[0] == day)
        why = (f"still counts the events that moved out of it to another date ({moved_out})" if moved_out
               else "lacks events silver changed or added there")
        return wrong(f"gold partitions that differ from a recomputation: {len(differ)}. {day} {why}; "
                     f"its user rows that are wrong: {rows}")
    touched = {c["event_date"] for c in changes}
    if extra := sorted(chosen - touched):
        return wrong(f"gold is right, but you also replaced {', '.join(map(str, extra))}, which silver did not "
                     "touch: a rewrite for nothing (partitions silver did not touch keep their very files)")
    return right(f"replaced {', '.join(map(str, sorted(chosen)))}: gold equals a full recomputation, and the "
                 f"other {len({key[0] for key in recomputed}) - len(chosen)} partitions were not rewritten")
