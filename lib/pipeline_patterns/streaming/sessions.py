"""Sessionization in event time: a session ends after 30 minutes without an event.

Definition (the same as Spark's ``session_window``): a user's events, in event-time
order, belong to one session while each follows the previous by less than ``gap``;
the session spans ``[first event, last event + gap)``.

:func:`sessionize` is the plain-Python reference. :func:`emitted_after_steps` models
*when* a streaming engine may emit each session: only once the watermark has passed
the session's end. Earlier is wrong when a user's clicks can arrive out of order: a
click that arrives later can still extend the session or bridge it with the next one.
The guide's pitfall — with a processing-time timeout the sessions depend on when
records *arrived*, not when events happened — is in :mod:`pipeline_patterns.streaming.pitfalls`.
"""

from __future__ import annotations

import math
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

    ``session_window`` emits a session once ``end <= watermark``; the
    ``applyInPandasWithState`` processor once ``end < watermark`` (its event-time
    timeout fires when the watermark is past the timeout timestamp). Neither emits a
    session earlier, whatever the user's next click says.
    """
    if engine not in ("session_window", "state"):
        raise ValueError(f"engine must be 'session_window' or 'state', got {engine!r}")
    marks = watermarks_after_steps(steps, delay)
    seen: list[Click] = []
    emitted: list[set[Session]] = []
    for step, mark in zip(steps, marks, strict=True):
        seen.extend(step)
        emitted.append({s for s in sessionize(seen, gap)
                        if mark is not None and (s.end <= mark if engine == "session_window" else s.end < mark)})
    return emitted


BRIDGE_USER = "user_bridge"


def click_stream(users: int = 12, sessions_per_user: tuple[int, int] = (1, 4), seed: int = 42,
                 start: datetime = datetime(2024, 1, 15, 8, 0, tzinfo=UTC), step: timedelta = timedelta(minutes=20),
                 max_lag: timedelta = timedelta(minutes=5),
                 out_of_order: bool = False) -> tuple[list[list[Click]], list[tuple[datetime, Click]]]:
    """Seeded clicks in sessions, arriving up to ``max_lag`` late, cut into arrival steps.

    Within a session clicks are 1–12 minutes apart; sessions of a user are 40–150
    minutes apart (always more than a 30-minute gap). Across users arrival order is
    mixed. With ``out_of_order=False`` each user's clicks arrive in event-time order;
    with ``True`` each click's lag is drawn on its own, so a user's clicks can overtake
    each other, across steps too, and one more user (``BRIDGE_USER``) has a click that
    arrives a step after the clicks around it and merges what looked like two
    sessions into one. Keep ``max_lag`` below the watermark delay and nothing is
    late enough to be dropped. Returns the arrival steps (``step`` of arrival time
    each) and the (arrival, click) pairs.
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
                arrived = t + timedelta(seconds=rng.randint(0, int(max_lag.total_seconds())))
                if not out_of_order:
                    arrived = max(last_arrival, arrived)
                last_arrival = arrived
                arrivals.append((arrived, Click(user, t, f"c{serial:05d}", round(rng.uniform(1, 50), 2))))
                serial += 1
    if out_of_order:
        first_boundary_after_32_min = start + step * math.ceil(timedelta(minutes=32) / step)
        arrivals.extend(_bridge(first_boundary_after_32_min, max_lag))
    arrivals.sort(key=lambda a: (a[0], a[1].event_id))
    steps: dict[int, list[Click]] = defaultdict(list)
    for arrived, click in arrivals:
        steps[int((arrived - start) / step)].append(click)
    return [steps.get(k, []) for k in range(max(steps) + 1)], arrivals


def _bridge(boundary: datetime, max_lag: timedelta) -> list[tuple[datetime, Click]]:
    """Clicks at 0 and 31 minutes (two sessions, as far as the first step shows), and one at
    27 minutes that arrives just after the step ``boundary``: it merges them (30-minute gap)."""
    lag = min(max_lag, timedelta(minutes=4, seconds=30))
    last = boundary - timedelta(seconds=10)
    first, bridge = last - timedelta(minutes=31), last - lag + timedelta(seconds=20)
    clicks = [(first, first, "b0"), (last, last, "b1"), (boundary + timedelta(seconds=10), bridge, "b2")]
    return [(arrived, Click(BRIDGE_USER, at, f"bridge_{name}", 10.0)) for arrived, at, name in clicks]
