"""The guide's streaming designs as written (ported where needed), kept so lessons can show their pitfalls.

No guarantee: these are the counter-examples. Lesson 05's sessions with a
**processing-time** timeout: :func:`processing_time_sessions` models them in plain Python
(the sessions depend on when records *arrived*, not when events happened, so a replay
gives other sessions), and :func:`guide_sessions` runs the guide's design on Spark —
every event kept in state, closed by a processing-time timeout. The event-time versions
are :mod:`~pipeline_patterns.streaming.sessions` and
:mod:`~pipeline_patterns.streaming.session_queries`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from pipeline_patterns.streaming.session_queries import OUTPUT
from pipeline_patterns.streaming.sessions import Click

EVERY_EVENT_STATE = "start_ms LONG, event_ms ARRAY<LONG>, values ARRAY<DOUBLE>"


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


def _guide_sessions(timeout_ms: int):
    def update(key: tuple, batches: Iterator[pd.DataFrame], state: GroupState) -> Iterator[pd.DataFrame]:
        (user,) = key
        if state.hasTimedOut:
            start, times, values = state.get
            state.remove()
            yield pd.DataFrame([{"user_id": user, "start_ms": start, "end_ms": max(times), "events": len(times),
                                 "value": float(sum(values))}])
            return
        rows = pd.concat(list(batches)).sort_values("ts_ms")
        start, times, values = state.get if state.exists else (int(rows["ts_ms"].iloc[0]), [], [])
        state.update((start, list(times) + rows["ts_ms"].tolist(), list(values) + rows["value"].tolist()))
        # Processing time: "no record *arrived* for 30 minutes". (PySpark takes milliseconds;
        # the guide's "30 minutes" string raises NOT_INT.)
        state.setTimeoutDuration(timeout_ms)

    return update


def guide_sessions(clicks: DataFrame, gap: timedelta) -> DataFrame:
    """The guide's design: every event kept in state, closed by a processing-time timeout."""
    return clicks.groupBy("user_id").applyInPandasWithState(
        _guide_sessions(int(gap.total_seconds() * 1000)), OUTPUT, EVERY_EVENT_STATE, "append",
        GroupStateTimeout.ProcessingTimeTimeout)
