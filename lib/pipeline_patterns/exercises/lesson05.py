"""Lesson 05's exercises: when a session may be emitted, and a watermark delay that drops no click."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.streaming import sessions as ss

GAP, DELAY = timedelta(minutes=30), timedelta(minutes=10)
END_USER = "zz_end_of_stream"
LATE_UPLOADS = timedelta(minutes=20)   # exercise 2: clicks reach Kafka up to this long after they happened
FRESHNESS_MINUTES = 30                 # exercise 2: the watermark may trail the newest click by at most this


def arrival_steps(step: timedelta, max_lag: timedelta = timedelta(minutes=5), seed: int = 42) -> list[list[ss.Click]]:
    """The lesson's seeded stream (``user_bridge`` included), plus its end marker a day after the last click."""
    steps, _ = ss.click_stream(users=8, seed=seed, step=step, max_lag=max_lag, out_of_order=True)
    last = max(c.event_time for step_clicks in steps for c in step_clicks)
    return [*steps, [ss.Click(END_USER, last + timedelta(days=1), "end")]]


def _described(session: ss.Session) -> str:
    return f"{session.user_id}'s session {session.start:%H:%M}-{session.end - GAP:%H:%M} (clicks: {session.events})"


def next_click_after(session: ss.Session, seen: list[ss.Click]) -> datetime | None:
    """The event time of the user's first click after the session's last one, among the clicks seen so far."""
    later = [c.event_time for c in seen if c.user_id == session.user_id and c.event_time > session.end - GAP]
    return min(later, default=None)


@exercise("05.emit_only_final_sessions", "a rule that emits each session once it can no longer change, and no later")
def emit_only_final_sessions(your_may_emit: Callable[[ss.Session, datetime, datetime | None], bool]) -> Verdict:
    steps = arrival_steps(timedelta(minutes=60))
    marks = ss.watermarks_after_steps(steps, DELAY)
    allowed = ss.emitted_after_steps(steps, GAP, DELAY, "state")   # the later of the two engines' rules
    expected = {s for s in ss.sessionize([c for arrived in steps for c in arrived], GAP) if s.user_id != END_USER}
    seen: list[ss.Click] = []
    emitted: dict[ss.Session, tuple[int, datetime]] = {}   # session -> (step, watermark) when emitted
    for number, (arrived, mark) in enumerate(zip(steps, marks, strict=True)):
        seen.extend(arrived)
        for session in ss.sessionize(seen, GAP):
            if session.user_id != END_USER and session not in emitted and mark is not None \
                    and your_may_emit(session, mark, next_click_after(session, seen)):
                emitted[session] = (number, mark)
    changed = sorted((step, s) for s, (step, _) in emitted.items() if s not in expected)
    if changed:
        step, session = changed[0]
        return wrong(f"emitted sessions that did not survive to the end: {len(changed)}, e.g. "
                     f"{_described(session)} emitted at step {step}: a click that arrived later changed it. "
                     "Append mode cannot take a row back: emit a session only once no click still on its way "
                     "can extend or merge it")
    # A click may arrive as late as the watermark allows (event time not before it): until the watermark has
    # passed a session's end, such a click could still extend it. This stream happened not to send one.
    lucky = sorted((step, s) for s, (step, mark) in emitted.items() if s.end > mark)
    if lucky:
        step, session = lucky[0]
        return wrong(f"sessions emitted too soon: {len(lucky)}, e.g. {_described(session)} at step "
                     f"{step}, when a click {DELAY.total_seconds() / 60:.0f} minutes late, which the watermark "
                     "still waits for, could have extended it. This stream happened not to send one; another will")
    never = sorted(expected - emitted.keys())
    if never:
        return wrong(f"{len(never)} of {len(expected)} sessions were never emitted (e.g. {_described(never[0])}), "
                     "though the end marker moved the watermark a day past all of them")
    first_allowed = {s: next(k for k, sessions in enumerate(allowed) if s in sessions) for s in expected}
    late = sorted((emitted[s][0] - first_allowed[s], s) for s in expected if emitted[s][0] > first_allowed[s])
    if late:
        steps_late, session = late[-1]
        return wrong(f"every session is right, but sessions emitted later than needed: {len(late)}, e.g. "
                     f"{_described(session)} {steps_late} step(s) after the watermark showed it could no longer "
                     "change")
    return right(f"all {len(expected)} sessions emitted exactly once, each at the first step it could no longer "
                 "change; user_bridge's two early clicks waited for the one that merged them")


def dropped_as_late(steps: list[list[ss.Click]], delay: timedelta) -> list[ss.Click]:
    """Clicks whose event time is behind the watermark when they arrive (a small pure model of Spark's rule:
    a stateful query drops a row older than the watermark the batch before it ended with)."""
    dropped: list[ss.Click] = []
    for mark, arrived in zip(ss.watermarks_after_steps(steps, delay), steps[1:], strict=False):
        dropped += [c for c in arrived if mark is not None and c.event_time < mark]
    return dropped


@exercise("05.delay_for_late_uploads", "a watermark delay that drops no late click and keeps the dashboard fresh")
def delay_for_late_uploads(your_delay_minutes: float) -> Verdict:
    if isinstance(your_delay_minutes, bool) or not isinstance(your_delay_minutes, int | float):
        return wrong(f"expected a number of minutes, found {your_delay_minutes!r}")
    if your_delay_minutes < 0:
        return wrong(f"a watermark delay is at least 0 minutes; found {your_delay_minutes}")
    steps = arrival_steps(timedelta(minutes=5), max_lag=LATE_UPLOADS, seed=7)
    clicks = [c for arrived in steps for c in arrived]
    dropped = dropped_as_late(steps, timedelta(minutes=your_delay_minutes))
    if dropped:
        kept = [c for c in clicks if c not in dropped]
        lost = set(ss.sessionize(clicks, GAP)) - set(ss.sessionize(kept, GAP))
        return wrong(f"with a {your_delay_minutes}-minute delay, clicks that arrived behind the watermark and were "
                     f"dropped: {len(dropped)}; reference sessions that came out wrong: {len(lost)}. The watermark "
                     "must wait for the latest upload")
    if your_delay_minutes > FRESHNESS_MINUTES:
        return wrong(f"no click is dropped, but the watermark trails the newest click by {your_delay_minutes} "
                     f"minutes (at most {FRESHNESS_MINUTES} wanted): every session waits that long to appear")
    return right(f"a {your_delay_minutes}-minute delay drops none of the {len(clicks)} clicks and keeps the "
                 f"watermark within {FRESHNESS_MINUTES} minutes of the newest click")
