"""Seeded events for the Lambda lesson: a simulated day, late arrivals, the hours they cover.

The same ``seed`` always gives the same events. The day holds one purchase at exactly
midnight, the event that sits on the batch cutoff.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta

from pipeline_patterns import datagen
from pipeline_patterns.architectures.aggregation import parse_ts


def simulated_events(n: int, seed: int = 42, mean_gap_s: float = 25.0) -> list[dict]:
    """Seeded events from 2024-01-15 09:00 UTC into the next day, plus one purchase at exactly
    midnight (2024-01-16T00:00:00.000Z) — the event that sits on the batch cutoff."""
    events = datagen.user_events(n, seed=seed, mean_gap_s=mean_gap_s)
    boundary = {"event_id": f"00000000-0000-4000-8000-{seed:012d}", "user_id": "user_0000",
                "session_id": "boundary", "event_type": "purchase", "revenue": 42.0,
                "timestamp": "2024-01-16T00:00:00.000Z"}
    events.append(boundary)
    return sorted(events, key=lambda e: e["timestamp"])


def late_events(n: int, day: date, seed: int = 42, from_hour: float = 9.0, until_hour: float = 11.0) -> list[dict]:
    """``n`` seeded events that *happened* on ``day`` between ``from_hour`` and ``until_hour``
    (UTC) — a client that was offline — to be delivered hours later, behind the watermark."""
    rng = random.Random(seed)
    start = datetime.combine(day, time.min, tzinfo=UTC)
    late = datagen.user_events(n, seed=seed + 100_003, start=start)
    moments = sorted(rng.uniform(from_hour * 3600, until_hour * 3600) for _ in late)
    for event, seconds in zip(late, moments, strict=True):
        event["session_id"] = "offline"
        event["timestamp"] = (start + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    return late


def hours_to_cover(events: list[dict], day: date) -> int:
    """The first whole hour after ``day`` 00:00 UTC by which every event has happened."""
    last = max(parse_ts(e["timestamp"]) for e in events)
    return math.floor((last - datetime.combine(day, time.min, tzinfo=UTC)).total_seconds() / 3600) + 1
