"""The per (user, event type) aggregation that Lambda and Kappa both compute, written once.

An *answer* maps ``(user_id, event_type)`` to ``(events, revenue cents, last event)``.
:func:`aggregate` computes one in plain Python; Lambda's reference recomputation, Kappa's
independent batch computation and each Kappa poll batch all call it. :func:`diff` compares
two answers. Revenue is kept in integer cents so every comparison is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

Answer = dict[tuple[str, str], tuple[int, int, datetime]]


def parse_ts(value: str) -> datetime:
    """An ISO-8601 event timestamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def cents(revenue: float) -> int:
    """Revenue in integer cents, rounded (Lambda's conversion and Kappa's fixed version)."""
    return round(revenue * 100)


def aggregate(events: Iterable[dict], to_cents: Callable[[float], int] = cents,
              keep: Callable[[datetime], bool] | None = None) -> Answer:
    """``(user, type) -> (events, revenue cents, last event)`` over the events whose time ``keep`` accepts.

    ``to_cents`` converts revenue (Kappa's versions differ only by it); ``keep`` filters on
    the parsed event time (Lambda stops at a cutoff, Kappa starts at a replay timestamp).
    """
    totals: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0, None])
    for e in events:
        ts = parse_ts(e["timestamp"])
        if keep is not None and not keep(ts):
            continue
        row = totals[(e["user_id"], e["event_type"])]
        row[0] += 1
        row[1] += to_cents(e["revenue"])
        row[2] = ts if row[2] is None or ts > row[2] else row[2]
    return {k: tuple(v) for k, v in totals.items()}


def diff(expected: dict, actual: dict) -> list[dict]:
    """Rows that differ between two answers (empty when they agree exactly)."""
    rows = []
    for key in sorted(expected.keys() | actual.keys()):
        if expected.get(key) != actual.get(key):
            rows.append({"user_id": key[0], "event_type": key[1], "expected": expected.get(key),
                         "actual": actual.get(key)})
    return rows
