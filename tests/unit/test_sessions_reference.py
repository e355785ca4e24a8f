from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline_patterns.streaming.sessions import (
    Click,
    Session,
    click_stream,
    emitted_after_steps,
    processing_time_sessions,
    sessionize,
)

T0 = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
GAP = timedelta(minutes=30)


def click(user: str, minutes: float, n: int = 0) -> Click:
    return Click(user, T0 + timedelta(minutes=minutes), f"{user}-{n}-{minutes}")


def test_gap_rule_splits_at_exactly_thirty_minutes():
    clicks = [click("a", 0), click("a", 29), click("a", 59), click("a", 100), click("b", 5)]
    assert sessionize(clicks, GAP) == [
        Session("a", T0, T0 + timedelta(minutes=59), 2),          # 29 -> 59 is exactly 30: a new session
        Session("a", T0 + timedelta(minutes=59), T0 + timedelta(minutes=89), 1),
        Session("a", T0 + timedelta(minutes=100), T0 + timedelta(minutes=130), 1),
        Session("b", T0 + timedelta(minutes=5), T0 + timedelta(minutes=35), 1),
    ]


def test_out_of_order_arrival_gives_the_same_sessions():
    clicks = [click("a", m) for m in (0, 10, 50, 55)]
    assert sessionize(clicks, GAP) == sessionize(list(reversed(clicks)), GAP)


def test_sessions_wait_for_the_watermark_or_the_next_click():
    steps = [[click("a", 0), click("b", 0)], [click("a", 45)], [click("c", 80)]]
    window = emitted_after_steps(steps, GAP, timedelta(minutes=10), "session_window")
    state = emitted_after_steps(steps, GAP, timedelta(minutes=10), "state")
    first_a = Session("a", T0, T0 + GAP, 1)
    first_b = Session("b", T0, T0 + GAP, 1)
    # after step 1 the watermark is 9:35: both first sessions (end 9:30) are closed
    assert window[1] == state[1] == {first_a, first_b}
    # after step 2 (watermark 10:10) a's second session (9:45-10:15) is still open
    assert window[2] == {first_a, first_b}
    with pytest.raises(ValueError, match="engine"):
        emitted_after_steps(steps, GAP, timedelta(minutes=10), "flink")


def test_processing_time_sessions_depend_on_arrival():
    clicks = [click("a", 0), click("a", 40), click("a", 80)]
    live = [(c.event_time, c) for c in clicks]
    replay = [(T0, c) for c in clicks]
    assert processing_time_sessions(live, GAP) == [("a", 1), ("a", 1), ("a", 1)]
    assert processing_time_sessions(replay, GAP) == [("a", 3)]


def test_click_stream_is_seeded_and_keeps_each_users_order():
    steps, arrivals = click_stream(users=6, seed=3)
    assert (steps, arrivals) == click_stream(users=6, seed=3)
    per_user: dict[str, list[datetime]] = {}
    for step in steps:
        for c in step:
            per_user.setdefault(c.user_id, []).append(c.event_time)
    assert all(times == sorted(times) for times in per_user.values())
    assert all(arrived >= c.event_time for arrived, c in arrivals)  # nothing arrives before it happens
