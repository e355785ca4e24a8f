from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline_patterns.streaming.pitfalls import processing_time_sessions
from pipeline_patterns.streaming.session_queries import add_click
from pipeline_patterns.streaming.sessions import (
    BRIDGE_USER,
    Click,
    Session,
    click_stream,
    emitted_after_steps,
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


def test_out_of_order_stream_overtakes_within_a_user_and_bridges_two_sessions():
    steps, arrivals = click_stream(users=8, seed=42, step=timedelta(minutes=60), out_of_order=True)
    assert (steps, arrivals) == click_stream(users=8, seed=42, step=timedelta(minutes=60), out_of_order=True)
    arrival_step = {c.event_id: k for k, step in enumerate(steps) for c in step}
    clicks = [c for step in steps for c in step]
    overtaken = [(a, b) for a in clicks for b in clicks if a.user_id == b.user_id
                 and a.event_time < b.event_time and arrival_step[a.event_id] > arrival_step[b.event_id]]
    assert overtaken
    assert all(timedelta(0) <= arrived - c.event_time <= timedelta(minutes=5) for arrived, c in arrivals)
    # the bridge: two sessions as far as the first step shows, one once the late click arrives
    first_step_only = [c for c in steps[0] if c.user_id == BRIDGE_USER]
    bridge = [s for s in sessionize(clicks, GAP) if s.user_id == BRIDGE_USER]
    assert len(sessionize(first_step_only, GAP)) == 2 and len(bridge) == 1 and bridge[0].events == 3


def test_add_click_extends_backwards_and_merges_what_it_bridges():
    gap = 30 * 60_000
    sessions: list = []
    for minute in (0, 31, 50):
        sessions = add_click(sessions, minute * 60_000, 1.0, gap)
    assert sessions == [(0, 0, 1, 1.0), (31 * 60_000, 50 * 60_000, 2, 2.0)]
    sessions = add_click(sessions, 27 * 60_000, 1.0, gap)  # late: within 30 min of both
    assert sessions == [(0, 50 * 60_000, 4, 4.0)]
    sessions = add_click(sessions, 100 * 60_000, 1.0, gap)  # 50 minutes later: its own session
    assert sessions == [(0, 50 * 60_000, 4, 4.0), (100 * 60_000, 100 * 60_000, 1, 1.0)]


def test_no_engine_emits_a_session_before_the_watermark_passes_its_end():
    steps = [[click("a", 0), click("a", 31)], [click("a", 27)], [click("z", 200)]]
    for engine in ("state", "session_window"):
        emitted = emitted_after_steps(steps, GAP, timedelta(minutes=10), engine)
        assert emitted[0] == emitted[1] == set()  # a's first "session" was never final
        assert emitted[2] == {Session("a", T0, T0 + timedelta(minutes=61), 3)}
