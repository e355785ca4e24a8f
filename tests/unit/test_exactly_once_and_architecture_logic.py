"""Pure logic behind lessons 06, 07, 09 and 10: audits, crash points, recomputations, naming."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from pipeline_patterns.architectures.aggregation import diff
from pipeline_patterns.architectures.kappa.log import partition_by_user
from pipeline_patterns.architectures.kappa.versions import V1, V2, batch_compute, output_table
from pipeline_patterns.architectures.lambda_arch.fakes import hours_to_cover, late_events, simulated_events
from pipeline_patterns.architectures.lambda_arch.simulation import recompute
from pipeline_patterns.exactly_once.abort_budget import AbortBudget, TooManyAborts
from pipeline_patterns.exactly_once.audit import audit_ids
from pipeline_patterns.exactly_once.kafka_transactions import ReadProcessWriteConfig
from pipeline_patterns.faults import CRASH_ENV

EVENTS = [
    {"event_id": "a", "user_id": "u1", "event_type": "purchase", "revenue": 19.99,
     "timestamp": "2024-01-15T23:59:59.999Z"},
    {"event_id": "b", "user_id": "u1", "event_type": "purchase", "revenue": 0.29,
     "timestamp": "2024-01-16T00:00:00.000Z"},
    {"event_id": "c", "user_id": "u2", "event_type": "view", "revenue": 0.0,
     "timestamp": "2024-01-16T08:00:00.000Z"},
]


def test_audit_counts_duplicates_missing_and_unexpected_ids():
    view = audit_ids(["a", "b", "c"], ["a", "a", "b", "z"])
    assert (view.expected, view.seen, view.distinct) == (3, 4, 3)
    assert (view.duplicates, view.missing, view.unexpected) == (1, 1, 1)
    assert not view.exactly_once
    assert audit_ids(["a", "b"], ["b", "a"]).exactly_once


def test_crash_point_kills_the_process_at_the_nth_arrival_only():
    code = ("from pipeline_patterns.faults import crash_point\n"
            "for i in range(5):\n    print(i, flush=True)\n    crash_point('here')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, CRASH_ENV: "here:3"}, check=False)
    assert run.returncode == -signal.SIGKILL and run.stdout.split() == ["0", "1", "2"]
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, CRASH_ENV: "elsewhere:1"}, check=False)
    assert other.returncode == 0 and other.stdout.split() == ["0", "1", "2", "3", "4"]


def test_processor_config_refuses_an_unknown_mode_and_keeps_a_stable_transactional_id():
    with pytest.raises(ValueError, match="mode must be one of"):
        ReadProcessWriteConfig("in", "out", "g", mode="exactly-twice")
    first, again = ReadProcessWriteConfig("in", "out", "g"), ReadProcessWriteConfig("in", "out", "g")
    assert first.transactional_id == again.transactional_id == "g-in"
    assert first.max_consecutive_aborts == 5
    with pytest.raises(ValueError, match="max_consecutive_aborts must be at least 1, got 0"):
        ReadProcessWriteConfig("in", "out", "g", max_consecutive_aborts=0)


def test_abort_budget_stops_at_the_nth_abort_in_a_row_and_a_commit_resets_it():
    budget = AbortBudget(max_consecutive=3)
    for _ in range(2):
        budget.aborted(RuntimeError("poison"), "batch 1")
    budget.committed()  # a commit in between: the next aborts count from zero
    for _ in range(2):
        budget.aborted(RuntimeError("poison"), "batch 2")
    assert budget.in_a_row == 2
    cause = RuntimeError("cannot parse record 42")
    with pytest.raises(TooManyAborts) as stopped:
        budget.aborted(cause, "processor 'g-in' (in -> out), batch 9")
    message = str(stopped.value)
    assert message.startswith("processor 'g-in' (in -> out), batch 9: 3 transactions aborted in a row")
    assert "(limit 3)" in message and "RuntimeError: cannot parse record 42" in message
    assert "check the processing step" in message and "committed offsets" in message
    assert stopped.value.__cause__ is cause
    with pytest.raises(ValueError, match="at least 1"):
        AbortBudget(max_consecutive=0)


def test_lambda_recompute_uses_half_open_cutoffs_and_integer_cents():
    until_midnight = recompute(EVENTS, until=datetime(2024, 1, 16, tzinfo=UTC))
    assert until_midnight == {("u1", "purchase"): (1, 1999, datetime(2024, 1, 15, 23, 59, 59, 999000, tzinfo=UTC))}
    everything = recompute(EVENTS)
    assert everything[("u1", "purchase")] == (2, 2028, datetime(2024, 1, 16, tzinfo=UTC))
    assert everything[("u2", "view")] == (1, 0, datetime(2024, 1, 16, 8, tzinfo=UTC))


def test_lambda_diff_lists_only_rows_that_differ():
    a = {("u1", "view"): (1, 0, None), ("u2", "view"): (2, 0, None)}
    b = {("u1", "view"): (1, 0, None), ("u3", "view"): (5, 0, None)}
    assert diff(a, b) == [
        {"user_id": "u2", "event_type": "view", "expected": (2, 0, None), "actual": None},
        {"user_id": "u3", "event_type": "view", "expected": None, "actual": (5, 0, None)}]
    assert diff(a, dict(a)) == []


def test_simulated_events_hold_one_event_exactly_on_the_cutoff():
    events = simulated_events(500, seed=3)
    assert len(events) == 501 and [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert sum(e["timestamp"] == "2024-01-16T00:00:00.000Z" for e in events) == 1


def test_kappa_versions_differ_only_by_the_truncation_bug():
    assert V1.to_cents(19.99) == 1998 and V2.to_cents(19.99) == 1999
    from_ms = int(datetime(2024, 1, 16, tzinfo=UTC).timestamp() * 1000)
    assert batch_compute(EVENTS, V2, from_ms) == {
        ("u1", "purchase"): (1, 29, datetime(2024, 1, 16, tzinfo=UTC)),
        ("u2", "view"): (1, 0, datetime(2024, 1, 16, 8, tzinfo=UTC))}
    assert batch_compute(EVENTS, V1, 0)[("u1", "purchase")][1] == 1998 + 28


def test_kappa_output_tables_are_named_deterministically_per_view_version_and_timestamp():
    assert output_table("user_metrics", V2, 1705276800000) == "user_metrics_v2_from_1705276800000"
    assert output_table("m", V1, 0) != output_table("m", V2, 0)


def test_partition_by_user_is_stable_and_in_range():
    place = partition_by_user(3)
    assert {place({"user_id": f"user_{i:04d}"}) for i in range(50)} == {0, 1, 2}
    assert place({"user_id": "user_0007"}) == place({"user_id": "user_0007"})


def test_hours_to_cover_is_the_first_whole_hour_after_the_last_event():
    from datetime import date

    assert hours_to_cover(EVENTS, date(2024, 1, 15)) == 33  # last event 2024-01-16T08:00 -> hour 33
    assert hours_to_cover(EVENTS[:1], date(2024, 1, 15)) == 24


def test_late_events_are_seeded_and_happen_in_the_morning_window_of_the_day():
    from datetime import date

    late = late_events(5, date(2024, 1, 15), seed=7)
    assert late == late_events(5, date(2024, 1, 15), seed=7) != late_events(5, date(2024, 1, 15), seed=8)
    assert len(late) == 5 and all("2024-01-15T09:00" <= e["timestamp"] < "2024-01-15T11:00" for e in late)
    on_time = {e["event_id"] for e in simulated_events(500, seed=7)}
    assert not on_time & {e["event_id"] for e in late}
    assert late_events(0, date(2024, 1, 15)) == []
