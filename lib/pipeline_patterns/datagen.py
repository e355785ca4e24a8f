"""Seeded synthetic user events in the guide's schema.

``event_id, user_id, session_id, event_type (click|view|purchase), revenue, timestamp``.
The same ``seed`` always gives the same events (ids included), so lessons and tests
can assert exact results. Timestamps are ISO-8601 UTC strings.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

EVENT_TYPES = ("view", "click", "purchase")
EVENT_WEIGHTS = (0.6, 0.3, 0.1)
DEFAULT_START = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def user_events(n: int, seed: int = 42, users: int = 50, start: datetime = DEFAULT_START,
                mean_gap_s: float = 2.0) -> list[dict]:
    """``n`` events in timestamp order, from ``users`` users with seeded sessions."""
    rng = random.Random(seed)
    events, now = [], start
    sessions: dict[str, str] = {}
    for _ in range(n):
        now += timedelta(seconds=rng.expovariate(1.0 / mean_gap_s))
        user = f"user_{rng.randrange(users):04d}"
        if user not in sessions or rng.random() < 0.1:
            sessions[user] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event_type = rng.choices(EVENT_TYPES, EVENT_WEIGHTS)[0]
        revenue = round(rng.uniform(5, 200), 2) if event_type == "purchase" else 0.0
        events.append({
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "user_id": user,
            "session_id": sessions[user],
            "event_type": event_type,
            "revenue": revenue,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        })
    return events
