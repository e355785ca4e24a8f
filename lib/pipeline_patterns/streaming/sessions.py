"""Sessionization in event time: a session ends after 30 minutes without an event.

Definition (the same as Spark's ``session_window``): a user's events, in event-time
order, belong to one session while each follows the previous by less than ``gap``;
the session spans ``[first event, last event + gap)``.

:func:`sessionize` is the plain-Python reference. :func:`emitted_after_steps` models
*when* a streaming engine can emit each session: only once the watermark has passed
the session's end (for the built-in ``session_window``), or earlier when the user's
next event already proves the gap (for the ``applyInPandasWithState`` processor).
:func:`processing_time_sessions` shows the guide's pitfall: with a processing-time
timeout the sessions depend on when records *arrived*, not when events happened.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, order=True)
class Click:
    user_id: str
    event_time: datetime
    event_id: str
    value: float = 1.0


@dataclass(frozen=True, order=True)
class Session:
    user_id: str
    start: datetime
    end: datetime  # last event + gap
    events: int


def sessionize(events: list[Click], gap: timedelta) -> list[Session]:
    """Every session of every user, by the gap rule."""
    by_user: dict[str, list[datetime]] = defaultdict(list)
    for e in events:
        by_user[e.user_id].append(e.event_time)
    sessions = []
    for user, times in by_user.items():
        times.sort()
        start = last = times[0]
        count = 1
        for t in times[1:]:
            if t - last >= gap:
                sessions.append(Session(user, start, last + gap, count))
                start, count = t, 0
            last = t
            count += 1
        sessions.append(Session(user, start, last + gap, count))
    return sorted(sessions)


def watermarks_after_steps(steps: list[list[Click]], delay: timedelta) -> list[datetime | None]:
    """The watermark after each step (max event time so far minus the delay)."""
    marks, latest = [], None
    for step in steps:
        if step:
            top = max(e.event_time for e in step)
            latest = top if latest is None else max(latest, top)
        marks.append(None if latest is None else latest - delay)
    return marks


def emitted_after_steps(steps: list[list[Click]], gap: timedelta, delay: timedelta,
                        engine: str) -> list[set[Session]]:
    """Which sessions each engine has emitted after each step (append mode).

    ``session_window``: a session is emitted once ``end <= watermark``.
    ``state``: the applyInPandasWithState processor also emits a session as soon as the
    user's next event (seen by that step) starts a new one, and on timeout, i.e. once
    the watermark is past ``end``; a session whose end is already behind the watermark
    when its last batch is processed is emitted in that batch.
    """
    if engine not in ("session_window", "state"):
        raise ValueError(f"engine must be 'session_window' or 'state', got {engine!r}")
    marks = watermarks_after_steps(steps, delay)
    seen: list[Click] = []
    emitted: list[set[Session]] = []
    for step, mark in zip(steps, marks, strict=True):
        seen.extend(step)
        sessions = sessionize(seen, gap)
        last_per_user: dict[str, Session] = {}
        for s in sessions:
            if s.user_id not in last_per_user or s.start > last_per_user[s.user_id].start:
                last_per_user[s.user_id] = s
        done = set()
        for s in sessions:
            closed_by_next_event = last_per_user[s.user_id] != s
            passed = mark is not None and (s.end <= mark if engine == "session_window" else s.end < mark)
            if passed or (engine == "state" and closed_by_next_event):
                done.add(s)
        emitted.append(done)
    return emitted


def processing_time_sessions(arrivals: list[tuple[datetime, Click]], timeout: timedelta) -> list[tuple[str, int]]:
    """The guide's logic: a user's session closes only when no record *arrived* for ``timeout``.

    ``arrivals`` are (arrival time, event) pairs. Returns (user, events) per session.
    The same events with another arrival schedule (a replay, a lagging consumer) give
    other sessions.
    """
    by_user: dict[str, list[datetime]] = defaultdict(list)
    for arrived, event in sorted(arrivals, key=lambda a: a[0]):
        by_user[event.user_id].append(arrived)
    result = []
    for user, times in sorted(by_user.items()):
        count, last = 1, times[0]
        for t in times[1:]:
            if t - last >= timeout:
                result.append((user, count))
                count = 0
            count, last = count + 1, t
        result.append((user, count))
    return result


def click_stream(users: int = 12, sessions_per_user: tuple[int, int] = (1, 4), seed: int = 42,
                 start: datetime = datetime(2024, 1, 15, 8, 0, tzinfo=UTC), step: timedelta = timedelta(minutes=20),
                 max_lag: timedelta = timedelta(minutes=5)) -> tuple[list[list[Click]], list[tuple[datetime, Click]]]:
    """Seeded clicks in sessions, arriving up to ``max_lag`` late, cut into arrival steps.

    Within a session clicks are 1–12 minutes apart; sessions of a user are 40–150
    minutes apart (always more than a 30-minute gap). Each user's clicks arrive in
    event-time order; across users arrival order is mixed. Returns the arrival steps
    (``step`` of arrival time each) and the (arrival, click) pairs.
    """
    rng = random.Random(seed)
    arrivals: list[tuple[datetime, Click]] = []
    serial = 0
    for u in range(users):
        user = f"user_{u:03d}"
        t = start + timedelta(seconds=rng.randint(0, 3600))
        last_arrival = t
        for s in range(rng.randint(*sessions_per_user)):
            if s:
                t += timedelta(seconds=rng.randint(40 * 60, 150 * 60))
            for c in range(rng.randint(2, 7)):
                if c:
                    t += timedelta(seconds=rng.randint(60, 12 * 60))
                arrived = max(last_arrival, t + timedelta(seconds=rng.randint(0, int(max_lag.total_seconds()))))
                last_arrival = arrived
                arrivals.append((arrived, Click(user, t, f"c{serial:05d}", round(rng.uniform(1, 50), 2))))
                serial += 1
    arrivals.sort(key=lambda a: (a[0], a[1].event_id))
    steps: dict[int, list[Click]] = defaultdict(list)
    for arrived, click in arrivals:
        steps[int((arrived - start) / step)].append(click)
    return [steps.get(k, []) for k in range(max(steps) + 1)], arrivals
