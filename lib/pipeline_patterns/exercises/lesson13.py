"""Lesson 13's exercises: the MERGE rules that keep a CDC replica exact through a replay from an old offset."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.ingestion.cdc_events import UNAVAILABLE, process_cdc_event
from pipeline_patterns.ingestion.cdc_plan import plan_table

SCHEMA, TABLE = "shop", "customers"
KEYS = ("id",)
COLUMNS = {"id": "int32", "email": "string", "notes": "string", "balance": "int64"}
META = ("_lsn", "_deleted", "_source_ts_ms")
BATCH = 9            # records per micro-batch
REPLAYED = 0.6       # the share of the records a restart from an old offset sends again
TOAST_CHARS = 3_000  # a notes value this long is stored out of line: an update that leaves it is sent without it

Condition = Callable[[dict, dict], bool]         # (incoming, current) -> apply the incoming row?
ColumnValue = Callable[[str, dict, dict], Any]   # (column, incoming, current) -> the value to set


def workload(seed: int = 13) -> tuple[list[tuple[dict, dict | None, int]], dict[int, dict]]:
    """Seeded Debezium records of ``shop.customers`` as (key, value, offset), decoded JSON, and the source's
    rows after them. Commit times tick in whole ms, so transactions often share one ``source.ts_ms``."""
    rng = random.Random(seed)
    source: dict[int, dict] = {}
    records: list[tuple[Any, Any]] = []
    lsn, ts_ms, tx_id = 10_000, 1_700_000_000_000, 700

    def commit(ops: list[tuple[str, int, dict]]) -> None:
        nonlocal lsn, ts_ms, tx_id
        ts_ms, tx_id = ts_ms + rng.choice((0, 0, 1, 2)), tx_id + 1
        for op, cid, values in ops:
            lsn += rng.randrange(40, 400)
            before = dict(source[cid]) if cid in source else None
            if op == "d":
                del source[cid]
                after = None
            else:
                source[cid] = {**source.get(cid, {}), **values}
                after = dict(source[cid])
                if op == "u" and "notes" not in values and len(after["notes"]) >= TOAST_CHARS:
                    after["notes"] = UNAVAILABLE  # REPLICA IDENTITY DEFAULT: an unchanged TOAST value is not sent
            envelope = {"before": {"id": cid} if before and op == "d" else None, "after": after, "op": op,
                        "source": {"schema": SCHEMA, "table": TABLE, "lsn": lsn, "txId": tx_id, "ts_ms": ts_ms}}
            records.append(({"id": cid}, {"schema": {"fields": [{"field": "after", "fields": [
                {"field": c, "type": t} for c, t in COLUMNS.items()]}]}, "payload": envelope}))
            if op == "d":
                records.append(({"id": cid}, None))  # the delete's tombstone

    for cid in range(1, 13):
        notes = "".join(rng.choices("0123456789abcdef", k=TOAST_CHARS)) if cid % 4 == 0 else f"note {cid}"
        commit([("c", cid, {"id": cid, "email": f"c{cid}@shop.example", "notes": notes, "balance": 0})])
    for _ in range(18):
        cid = rng.choice(sorted(source))
        if rng.random() < 0.5:  # one key changed twice in one transaction: one commit time, two positions
            commit([("u", cid, {"balance": rng.randrange(1, 9_000)}), ("u", cid, {"balance": rng.randrange(1, 9_000)})])
        else:
            commit([("u", cid, {"email": f"c{cid}.{rng.randrange(100)}@shop.example"})])
    for cid in rng.sample(sorted(source), 2):
        commit([("d", cid, {})])
    live = sorted(source)  # month end, one transaction: every balance credited, then rounded (two changes a key)
    month_end = len(records) + len(live)  # where its second half starts
    commit([("u", cid, {"balance": source[cid]["balance"] + 17}) for cid in live]
           + [("u", cid, {"balance": (source[cid]["balance"] + 17) // 10 * 10}) for cid in live])
    while int(len(records) * REPLAYED) < month_end:  # later changes of a few customers, until the replay's cut
        cid = rng.choice(live[:3])                     # falls between the month end's two halves
        commit([("u", cid, {"email": f"c{cid}.{rng.randrange(100)}@shop.example"})])
    return [(key, value, offset) for offset, (key, value) in enumerate(records)], source


def deliveries(records: list) -> list[list]:
    """What the replica is given: every record, then the first 60 % again (a restart from an old offset)."""
    stream = records + records[: int(len(records) * REPLAYED)]
    stream = [(key, value, offset) for offset, (key, value, _) in enumerate(stream)]  # re-sent: new offsets
    return [stream[i:i + BATCH] for i in range(0, len(stream), BATCH)]


def keep_unavailable(column: str, incoming: dict, current: dict) -> Any:
    """The kit's MERGE SET: a column Debezium could not send keeps the replica's value."""
    return current[column] if column in incoming["_unavailable"] else incoming[column]


def by_position(incoming: dict, current: dict) -> bool:
    """The kit's MERGE condition: only a change newer than the row, by source position."""
    return bool(incoming["_lsn"] > current["_lsn"])


def replicate(condition: Condition, column_value: ColumnValue, seed: int = 13) -> tuple[dict, dict]:
    """The replica after every delivery (plan each batch with the kit's plan, MERGE it with the given rules),
    live rows only, next to the source's rows."""
    records, source = workload(seed)
    replica: dict[int, dict] = {}
    for batch in deliveries(records):
        changes = [(process_cdc_event(value, key), offset) for key, value, offset in batch]
        for row in plan_table(f"{SCHEMA}.{TABLE}", KEYS, changes).rows:
            incoming = {**{c: row.get(c) for c in COLUMNS}, **{m: row[m] for m in (*META, "_unavailable")}}
            current = replica.get(row["id"])
            if current is None:  # WHEN NOT MATCHED THEN INSERT
                replica[row["id"]] = {c: incoming[c] for c in (*COLUMNS, *META)}
            elif condition(incoming, current):  # WHEN MATCHED AND <condition> THEN UPDATE SET ...
                replica[row["id"]] = {**{c: column_value(c, incoming, current) for c in COLUMNS},
                                      **{m: incoming[m] for m in META}}
    live = {k: {c: r[c] for c in COLUMNS} for k, r in replica.items() if not r["_deleted"]}
    return live, source


def first_difference(live: dict, source: dict) -> str | None:
    """The first key where the replica is not the source, said in words; None when they are equal."""
    for cid in sorted(live.keys() | source.keys()):
        if cid not in live:
            return f"customer {cid} is missing from your replica"
        if cid not in source:
            return f"customer {cid} is in your replica but was deleted at the source"
        for column in COLUMNS:
            mine, theirs = live[cid][column], source[cid][column]
            if mine != theirs:
                return (f"customer {cid}'s {column} is {shown(mine)} in your replica, {shown(theirs)} at the source "
                        f"({sum(live.get(k) != source.get(k) for k in live.keys() | source.keys())} rows differ)")
    return None


def shown(value: Any) -> str:
    return f"a {len(value):,}-character text" if isinstance(value, str) and len(value) > 40 else repr(value)


@exercise("13.apply_only_newer_changes", "a MERGE condition that makes a replayed batch of changes change nothing")
def apply_only_newer_changes(your_condition: Condition) -> Verdict:
    live, source = replicate(your_condition, keep_unavailable)
    difference = first_difference(live, source)
    if difference:
        return wrong(f"after every record and then the first 60 % of them again, {difference}. Each batch holds the "
                     "latest change per key; wanted: a condition under which an older or repeated change leaves the "
                     "row alone and every newer one is applied (commit times are in whole ms and can tie)")
    return right(f"the replica equals the source ({len(source)} live customers) after a replay of 60 % of the "
                 "records: a repeated or older change changes nothing")


@exercise("13.keep_the_unsent_toast_value", "a MERGE SET that keeps a TOASTed value Debezium did not send")
def keep_the_unsent_toast_value(your_column_value: ColumnValue) -> Verdict:
    live, source = replicate(by_position, your_column_value)
    difference = first_difference(live, source)
    if difference:
        return wrong(f"{difference}. An update that leaves a large (TOASTed) value unchanged does not carry it: "
                     "the change says which columns it could not send; wanted: every column as the source has it")
    toasted = sum(len(r["notes"]) >= TOAST_CHARS for r in source.values())
    return right(f"the replica equals the source, including the {toasted} customers whose long notes later "
                 "updates did not send")
