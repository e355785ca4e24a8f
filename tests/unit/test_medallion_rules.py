"""The medallion lesson's pure parts: raw files, validation rules, dedupe rule, state file.

The plain-Python reference (``medallion.rules.reference``) is what the Spark pipeline is
checked against in tests/integration/test_medallion.py, so its rules are pinned here
record by record, with exact counts for the seeded files.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from pipeline_patterns.architectures.medallion import rules as r
from pipeline_patterns.architectures.medallion.checks import rewritten_partitions
from pipeline_patterns.architectures.medallion.fakes import (
    EVENT_KINDS,
    FLIGHT_KINDS,
    ingestions,
    land,
    landing_files,
    to_json_lines,
)
from pipeline_patterns.architectures.medallion.lake import last_commit, table_version
from pipeline_patterns.architectures.medallion.state import read_state, write_state

GOOD_EVENT = {"event_id": "e1", "user_id": "user_0001", "session_id": "s1", "event_type": "purchase",
              "revenue": 19.99, "timestamp": "2024-01-15T09:00:01.234Z"}
GOOD_FLIGHT = {"year": 2013, "month": 1, "day": 5, "carrier": "UA", "flight": 1545, "tailnum": "N14228",
               "origin": "EWR", "dest": "IAH", "sched_dep_time": 515, "dep_time": 517, "dep_delay": 2,
               "arr_delay": 11, "distance": 1400}


@pytest.fixture(scope="module")
def files():
    return landing_files(n_events=600, n_flights=450, seed=42)


# --- raw files -------------------------------------------------------------------------------

def test_the_same_seed_gives_byte_identical_files(files, tmp_path):
    again = landing_files(n_events=600, n_flights=450, seed=42)
    assert [(f.name, to_json_lines(f.records)) for f in again] == [(f.name, to_json_lines(f.records)) for f in files]
    assert landing_files(n_events=600, n_flights=450, seed=7)[0].records != files[0].records
    first = [p.read_bytes() for p in land(files, tmp_path / "a", 1)]
    assert first == [p.read_bytes() for p in land(files, tmp_path / "b", 1)]


def test_files_arrive_in_three_deliveries_with_exact_sizes(files):
    assert [(f.delivery, f.name, len(f.records)) for f in files] == [
        (1, "events_001.json", 271), (1, "flights_001.json", 155),
        (2, "events_002.json", 137), (2, "flights_002.json", 154),
        (3, "events_003.json", 244), (3, "events_004.json", 2), (3, "flights_003.json", 167)]


def test_land_writes_only_the_delivery_asked_for(files, tmp_path):
    written = land(files, tmp_path, 3)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "events/events_003.json", "events/events_004.json", "flights/flights_003.json"]
    assert written[0].read_text().count("\n") == 244


def test_device_column_arrives_with_the_second_delivery(files):
    by_name = {f.name: f for f in files}
    assert not any("device" in e for e in by_name["events_001.json"].records)
    assert all("device" in e for e in by_name["events_002.json"].records)


def test_every_injected_row_breaks_exactly_the_rule_it_was_made_for(files):
    for f in files:
        rules = r.EVENT_RULES if f.dataset == "events" else r.FLIGHT_RULES
        first = Counter(r.reasons(rec, rules)[0] for rec in f.records if r.reasons(rec, rules))
        natural = Counter({k: v for k, v in first.items() if k == "dep_delay_missing"})  # cancelled flights
        assert first - natural == f.injected, f.name
        assert set(f.injected) <= set(EVENT_KINDS if f.dataset == "events" else FLIGHT_KINDS)


def test_resent_and_corrected_events_reuse_earlier_event_ids(files):
    by_name = {f.name: {e["event_id"]: e for e in f.records} for f in files if f.dataset == "events"}
    resent = (by_name["events_001.json"].keys() & by_name["events_002.json"].keys()) - {None}
    corrected = by_name["events_003.json"].keys() & by_name["events_004.json"].keys()
    assert len(resent) == 2 and len(corrected) == 2
    for event_id in corrected:
        assert by_name["events_004.json"][event_id]["device"] != by_name["events_003.json"][event_id]["device"]


def test_too_few_events_to_span_four_days_is_refused():
    with pytest.raises(ValueError, match="need at least 4"):
        landing_files(n_events=3, n_flights=30, seed=42)


# --- rules -----------------------------------------------------------------------------------

def test_raw_values_are_read_as_bronze_holds_them():
    assert r.text({"revenue": 0.0}, "revenue") == "0.0" and r.text({"flight": 1545}, "flight") == "1545"
    assert r.text({"revenue": "12,50"}, "revenue") == "12,50" and r.text({}, "revenue") is None
    assert r.as_decimal("12.345") == Decimal("12.35") and r.as_decimal("12,50") is None
    assert r.as_decimal("1e3") == Decimal("1000.00") and r.as_decimal("1e12") is None
    assert r.as_int("1545") == 1545 and r.as_int("15.5") is None and r.as_float("n/a") is None


@pytest.mark.parametrize("value", ["yesterday", "2024-02-30T10:00:00.000Z", "15/01/2024 10:00",
                                   "2024-01-15T09:00:01Z", None])
def test_timestamps_must_be_iso_utc_with_milliseconds(value):
    assert r.as_timestamp(value) is None
    assert r.as_timestamp("2024-01-15T09:00:01.234Z").microsecond == 234000


@pytest.mark.parametrize(("change", "reason"), [
    ({"event_id": None}, "missing_event_id"),
    ({"user_id": " "}, "missing_user_id"),
    ({"session_id": None}, "missing_session_id"),
    ({"event_type": "signup"}, "unknown_event_type"),
    ({"event_type": None}, "unknown_event_type"),
    ({"revenue": "12,50"}, "revenue_not_numeric"),
    ({"revenue": None}, "revenue_not_numeric"),
    ({"event_type": "view", "revenue": -3.5}, "negative_revenue"),
    ({"revenue": 0.0}, "purchase_without_revenue"),
    ({"timestamp": "yesterday"}, "bad_timestamp"),
])
def test_each_event_rule(change, reason):
    assert r.reasons(GOOD_EVENT, r.EVENT_RULES) == []
    assert r.reasons({**GOOD_EVENT, **change}, r.EVENT_RULES) == [reason]


def test_a_row_breaking_several_rules_lists_them_in_rule_order():
    bad = {**GOOD_EVENT, "user_id": None, "revenue": -1, "timestamp": None}
    assert r.reasons(bad, r.EVENT_RULES) == ["missing_user_id", "negative_revenue", "purchase_without_revenue",
                                             "bad_timestamp"]
    assert r.reasons({**GOOD_EVENT, "event_type": "view", "revenue": 0.0}, r.EVENT_RULES) == []


@pytest.mark.parametrize(("change", "reason"), [
    ({"carrier": None}, "missing_key"),
    ({"flight": "x1"}, "missing_key"),
    ({"month": 2, "day": 30}, "bad_flight_date"),
    ({"dep_delay": None}, "dep_delay_missing"),
    ({"dep_delay": "n/a"}, "dep_delay_not_numeric"),
    ({"dep_delay": 9999}, "dep_delay_out_of_range"),
    ({"dep_delay": -121}, "dep_delay_out_of_range"),
])
def test_each_flight_rule(change, reason):
    assert r.reasons(GOOD_FLIGHT, r.FLIGHT_RULES) == []
    assert r.reasons({**GOOD_FLIGHT, "dep_delay": 1440}, r.FLIGHT_RULES) == []
    assert r.reasons({**GOOD_FLIGHT, **change}, r.FLIGHT_RULES) == [reason]


def test_flight_key_is_date_carrier_number_origin_and_scheduled_time():
    assert r.flight_key(GOOD_FLIGHT) == "2013-01-05|UA|1545|EWR|515"


# --- dedupe rule and the reference ------------------------------------------------------------

def test_the_latest_ingestion_wins_then_the_greater_file_name():
    a, b, c = ({**GOOD_EVENT, "device": d} for d in ("ios", "web", "android"))
    ref = r.reference([[("e_001.json", (a,))], [("e_003.json", (c,)), ("e_002.json", (b,))]],
                      r.EVENT_RULES, r.event_key)
    assert ref.silver["e1"]["device"] == "android"  # second ingestion; e_003 > e_002
    ref = r.reference([[("e_002.json", (b,)), ("e_003.json", (c,))], [("e_001.json", (a,))]],
                      r.EVENT_RULES, r.event_key)
    assert ref.silver["e1"]["device"] == "ios"  # a later ingestion beats a greater file name
    assert (ref.bronze_rows, len(ref.silver), ref.duplicates_removed) == (3, 1, 2) and ref.accounted


def test_rejected_copies_never_count_as_duplicates():
    ref = r.reference([[("e_001.json", ({**GOOD_EVENT, "revenue": -1}, GOOD_EVENT))]], r.EVENT_RULES, r.event_key)
    assert ref.rejects == Counter(negative_revenue=1) and ref.duplicates_removed == 0 and len(ref.silver) == 1


def test_reference_counts_for_seed_42_exactly(files):
    events = r.reference(ingestions(files, "events"), r.EVENT_RULES, r.event_key)
    assert (events.bronze_rows, len(events.silver), events.duplicates_removed) == (654, 600, 6)
    assert events.rejects == Counter(bad_timestamp=6, missing_event_id=5, missing_session_id=6, missing_user_id=8,
                                     negative_revenue=3, purchase_without_revenue=4, revenue_not_numeric=7,
                                     unknown_event_type=9)
    flights = r.reference(ingestions(files, "flights"), r.FLIGHT_RULES, r.flight_key)
    assert (flights.bronze_rows, len(flights.silver), flights.duplicates_removed) == (476, 432, 3)
    assert flights.rejects == Counter(bad_flight_date=7, dep_delay_missing=18, dep_delay_not_numeric=6,
                                      dep_delay_out_of_range=6, missing_key=4)
    assert events.accounted and flights.accounted


# --- partitions and state --------------------------------------------------------------------

def test_rewritten_partitions_are_the_ones_whose_files_changed():
    before = {"a": frozenset({"1"}), "b": frozenset({"2"}), "c": frozenset({"3"})}
    after = {"a": frozenset({"1"}), "b": frozenset({"4"}), "d": frozenset({"5"})}
    assert rewritten_partitions(before, after) == {"b", "c", "d"}
    assert rewritten_partitions(before, dict(before)) == set()


def test_state_file_starts_at_minus_one_and_keeps_each_consumer(tmp_path):
    state = tmp_path / "_state" / "versions.json"
    assert read_state(state, "silver_events") == -1
    write_state(state, "silver_events", 3)
    write_state(state, "gold_events", 5)
    write_state(state, "silver_events", 4)
    assert (read_state(state, "silver_events"), read_state(state, "gold_events")) == (4, 5)
    assert [p.name for p in state.parent.iterdir()] == ["versions.json"]  # no temporary file left


def test_state_writes_from_many_threads_keep_every_consumer(tmp_path):
    state = tmp_path / "_state" / "versions.json"
    consumers = [f"consumer_{i}" for i in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:  # the lesson's datasets write it from their own threads
        list(pool.map(lambda c: [write_state(state, c, v) for v in range(20)], consumers))
    assert {c: read_state(state, c) for c in consumers} == dict.fromkeys(consumers, 19)


# --- the table version and last commit, read from the Delta log --------------------------------

def _commit(log, version: int, *actions: dict) -> None:
    (log / f"{version:020d}.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def test_table_version_and_last_commit_come_from_the_highest_numbered_commit_file(tmp_path):
    table = tmp_path / "bronze"
    assert table_version(str(table)) is None  # no table yet
    log = table / "_delta_log"
    log.mkdir(parents=True)
    assert table_version(str(table)) is None  # a log folder without a commit is no table either
    _commit(log, 0, {"protocol": {}},
            {"commitInfo": {"operation": "WRITE", "operationMetrics": {"numOutputRows": "5"}}})
    _commit(log, 11, {"commitInfo": {"operation": "MERGE", "operationMetrics": {"numTargetRowsInserted": "2"}}},
            {"add": {"path": "part-0.parquet"}})
    (log / "00000000000000000010.checkpoint.parquet").write_bytes(b"")  # not a commit
    (log / "00000000000000000011.crc").write_text("{}")
    assert table_version(str(table)) == 11
    commit = last_commit(str(table))
    assert (commit["version"], commit["operation"], commit["operationMetrics"]) == (
        11, "MERGE", {"numTargetRowsInserted": "2"})


def test_last_commit_of_a_missing_table_says_which_log_it_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"is not a Delta table .*_delta_log"):
        last_commit(str(tmp_path / "nowhere"))
