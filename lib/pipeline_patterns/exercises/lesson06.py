"""Lesson 06's exercises: the serving layer's boundary rule, and which dates the batch layer must recompute."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta

from pipeline_patterns.architectures.aggregation import diff, parse_ts
from pipeline_patterns.architectures.lambda_arch.fakes import late_events, simulated_events
from pipeline_patterns.architectures.lambda_arch.simulation import recompute
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

DAY = date(2024, 1, 15)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def minute_start(ts: datetime) -> datetime:
    return ts.replace(second=0, microsecond=0)


def _times_counted(batch: dict[date, list[dict]], speed: list[dict], cutoff: datetime,
                   counts: Callable[[str, datetime, datetime], bool]) -> Counter:
    """How many times the serving view counts each event (by event id) under the rule ``counts``."""
    times: Counter = Counter()
    for day, events in batch.items():
        if counts("batch", day_start(day), cutoff):
            times.update(e["event_id"] for e in events)
    times.update(e["event_id"] for e in speed if counts("speed", minute_start(parse_ts(e["timestamp"])), cutoff))
    return times


def served(batch: dict[date, list[dict]], speed: list[dict], cutoff: datetime,
           counts: Callable[[str, datetime, datetime], bool]) -> list[dict]:
    """The events behind the serving view's rows: each batch date and each speed window the rule keeps."""
    times = _times_counted(batch, speed, cutoff, counts)
    by_id = {e["event_id"]: e for e in [*speed, *(e for events in batch.values() for e in events)]}
    return [by_id[event_id] for event_id, n in sorted(times.items()) for _ in range(n)]


@exercise("06.count_each_event_once", "a serving rule that counts every event exactly once, at every cutoff")
def count_each_event_once(your_counts: Callable[[str, datetime, datetime], bool]) -> Verdict:
    """A small pure model of the serving view (SQL in the lesson): batch rows per date, speed rows per minute,
    added up by the library's aggregation and compared with its recomputation, at three cutoffs."""
    events = simulated_events(4000, seed=42)   # 2024-01-15 09:00 to the 16th's noon; one purchase at midnight
    late = late_events(5, DAY, seed=42)         # in the master dataset (and batch rows), dropped by the speed layer
    late_ids = {e["event_id"] for e in late}
    for nights in range(3):                      # before the first nightly batch, after one, after two
        cutoff = day_start(DAY + timedelta(days=nights))
        every = events + late if nights else events  # the late events arrive after the first night
        batch: dict[date, list[dict]] = {}
        for e in every:
            if parse_ts(e["timestamp"]) < cutoff:
                batch.setdefault(parse_ts(e["timestamp"]).date(), []).append(e)
        times = _times_counted(batch, events, cutoff, your_counts)
        twice = [e for e in every if times[e["event_id"]] > 1]
        never = [e for e in every if times[e["event_id"]] == 0]
        when = f"with the cutoff at {cutoff:%Y-%m-%d %H:%M}"
        if twice:
            return wrong(f"{when}, events counted twice: {len(twice)} (e.g. {twice[0]['timestamp']}), in the "
                         "batch row of its date and in its speed window")
        if lost_late := [e for e in never if e["event_id"] in late_ids]:
            return wrong(f"{when}, late events counted by neither layer: {len(lost_late)}. The speed layer dropped "
                         "them behind its watermark, so only the batch rows of their date have them")
        if never:
            return wrong(f"{when}, events counted by neither layer: {len(never)} (e.g. {never[0]['timestamp']}). "
                         "Every event must land on exactly one side of the cutoff")
        if rows := diff(recompute(every), recompute(served(batch, events, cutoff, your_counts))):
            return wrong(f"{when}, serving rows that differ from the recomputation: {len(rows)}")
    return right(f"at each of 3 cutoffs every one of {len(events) + len(late)} events is counted exactly once: "
                 "the purchase at midnight, and the late events once the batch has their date")


def nightly(master: list[dict], day: date) -> list[dict]:
    """The batch layer's view of one date: every event of that date in the master dataset."""
    return [e for e in master if parse_ts(e["timestamp"]).date() == day]


def serving_view(batch: dict[date, list[dict]], speed: list[dict], cutoff: datetime) -> list[dict]:
    """The events behind the lesson's serving view: batch dates before the cutoff, speed windows from it on."""
    return [*(e for day, rows in batch.items() if day_start(day) < cutoff for e in rows),
            *(e for e in speed if parse_ts(e["timestamp"]) >= cutoff)]


# Offline phones' events that arrive by 06:00 on two different mornings: (how many, the day they happened, seed).
LATE_ARRIVALS = (((5, DAY, 42), (4, DAY - timedelta(days=1), 43)),
                 ((3, DAY - timedelta(days=3), 44),))


@exercise("06.rerun_the_late_dates", "the dates to recompute after late events arrive, and no other")
def rerun_the_late_dates(your_dates_to_rerun: Callable[[list[datetime], datetime], Iterable[date]]) -> Verdict:
    """A small pure model of the lesson's day (Spark and PostgreSQL there): the nightly batch, late events at
    06:00, the learner's reruns as ``publish_batch_view`` does them, the rest of the day through the speed layer;
    played twice, with offline phones from different days."""
    done = []
    for morning, arrivals in enumerate(LATE_ARRIVALS):
        late = [e for n, day, seed in arrivals for e in late_events(n, day, seed=seed)]
        verdict = _rerun_morning(your_dates_to_rerun, late)
        if not verdict.passed:
            return wrong(f"on another morning, with late events of other days: {verdict.message}") if morning \
                else verdict
        done.append(verdict.message)
    return right("; on another morning, ".join(done))


def _rerun_morning(your_dates_to_rerun: Callable[[list[datetime], datetime], Iterable[date]],
                   late: list[dict]) -> Verdict:
    """One morning: the nightly batch has published ``DAY``; by 06:00 the night's events and ``late`` arrived."""
    events = simulated_events(4000, seed=42)
    nightly_run, rerun_at = day_start(DAY) + timedelta(hours=26), day_start(DAY) + timedelta(hours=30)

    def on_time(since: datetime, until: datetime) -> list[dict]:
        return [e for e in events if since <= parse_ts(e["timestamp"]) < until]

    master = on_time(day_start(DAY), nightly_run)
    batch, cutoff = {DAY: nightly(master, DAY)}, day_start(DAY + timedelta(days=1))   # the nightly batch
    new = on_time(nightly_run, rerun_at) + late                                        # arrived by 06:00
    master += new
    chosen = set(your_dates_to_rerun([parse_ts(e["timestamp"]) for e in new], cutoff))
    if not_a_date := next((d for d in chosen if not isinstance(d, date) or isinstance(d, datetime)), None):
        return wrong(f"expected a set of dates (datetime.date), found the {type(not_a_date).__name__} {not_a_date}")
    for day in sorted(chosen):                   # publish_batch_view: replace the date; cutoff = greatest(...)
        batch[day] = nightly(master, day)
        cutoff = max(cutoff, day_start(day + timedelta(days=1)))
    master += on_time(rerun_at, day_start(DAY + timedelta(days=2)))   # the rest of the 16th, after the rerun
    speed = [e for e in master if e not in late]                       # the late ones: behind its watermark
    every = events + late
    shown = serving_view(batch, speed, cutoff)
    counted = {e["event_id"] for e in shown}
    missing = Counter(parse_ts(e["timestamp"]).date() for e in every if e["event_id"] not in counted)
    if missing:
        day, n = min(missing.items())
        if day >= DAY + timedelta(days=1):
            return wrong(f"recomputing {max(chosen)} moved the cutoff to {cutoff:%Y-%m-%d} while that day was still "
                         f"arriving. Events of {day} that came later and are counted by neither layer: {n} (speed "
                         "rows before the cutoff no longer count, and the batch ran before they came)")
        return wrong(f"late events of {day} counted by neither layer: {n}. The speed layer dropped them behind "
                     "its watermark, and the batch view of their date does not have them")
    if rows := diff(recompute(every), recompute(shown)):
        return wrong(f"serving rows that differ from the recomputation: {len(rows)}")
    idle = sorted(chosen - {parse_ts(e["timestamp"]).date() for e in new})
    if idle:
        return wrong(f"the serving view is exact, but you recomputed {', '.join(map(str, idle))}, which received "
                     "no new event: each rerun is a full batch job over that date of the master dataset")
    return right(f"recomputed {', '.join(map(str, sorted(chosen)))}: the serving view counts all "
                 f"{len(every)} events, the {len(late)} late ones included, and today's speed rows still count")
