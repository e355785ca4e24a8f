"""Lesson 04's exercises: a watermark delay that keeps a late event, and one that fits a state budget."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.streaming.watermarks import Event, Simulation, late_event_steps, simulate

SIZE, SLIDE = timedelta(minutes=5), timedelta(minutes=1)  # the lesson's sliding windows
ONE_MINUTE = timedelta(minutes=1)
DROPPED_EVENT = "ev0013"  # section 1's step-1 event 8 minutes behind the watermark: dropped at a 10-minute delay
MIN_FULLY_COUNTED = 0.95
MAX_STATE_ROWS = 120


def late_clicks() -> list[list[Event]]:
    """A later, laggier stream: 12 steps 10 minutes apart, 40 events each, some up to ~50 minutes late."""
    return late_event_steps(n_steps=12, per_step=40, seed=7, advance=timedelta(minutes=10),
                            delay=timedelta(minutes=30), late_share=0.3, behind_share=0.2)


def as_delay(yours: object) -> timedelta:
    if not isinstance(yours, timedelta):
        raise TypeError(f"expected a timedelta such as timedelta(minutes=...), found {type(yours).__name__}")
    if yours <= timedelta(0):
        raise ValueError(f"expected a delay above zero, found {yours}")
    return yours


def minutes(delay: timedelta) -> str:
    return f"{delay.total_seconds() / 60:g} min"


def fate_of(simulation: Simulation, event_id: str):
    return next(f for f in simulation.fates if f.event_id == event_id)


@exercise("04.keep_the_late_event", "the shortest watermark delay that fully counts the dropped event")
def keep_the_late_event(your_delay: timedelta) -> Verdict:
    delay = as_delay(your_delay)
    steps = late_event_steps()  # section 1's events, seed 42
    fate = fate_of(simulate(steps, delay, SIZE, SLIDE), DROPPED_EVENT)
    if fate.verdict != "counted":
        return wrong(f"with a {minutes(delay)} delay, {DROPPED_EVENT} (event time {fate.event_time:%H:%M:%S}) arrived "
                     f"in step {fate.step} with the watermark at {fate.watermark:%H:%M:%S}: it counts in "
                     f"{fate.counted_in} of its {fate.windows} windows (a window is dropped when its end is at or "
                     "before the watermark, and the watermark is the maximum event time seen minus the delay)")
    shorter = delay - ONE_MINUTE
    if shorter > timedelta(0) and fate_of(simulate(steps, shorter, SIZE, SLIDE), DROPPED_EVENT).verdict == "counted":
        return wrong(f"{DROPPED_EVENT} counts in all {fate.windows} windows at {minutes(delay)}, but a delay a minute "
                     "shorter would count it fully too: every minute of delay holds every window's result (and its "
                     "state) a minute longer, so take no more than the event needs")
    return right(f"{DROPPED_EVENT} counts in all {fate.windows} of its windows; a minute less and it would not")


@exercise("04.delay_within_a_state_budget", "a delay that counts 95% of late clicks within 120 state rows")
def delay_within_a_state_budget(your_delay: timedelta) -> Verdict:
    delay = as_delay(your_delay)
    simulation = simulate(late_clicks(), delay, SIZE, SLIDE)
    verdicts = Counter(f.verdict for f in simulation.fates)
    share = verdicts["counted"] / len(simulation.fates)
    peak = max(simulation.state_rows_after_step)
    if share < MIN_FULLY_COUNTED:
        return wrong(f"with a {minutes(delay)} delay {share:.1%} of the events are fully counted "
                     f"({verdicts['partly counted']} partly, {verdicts['dropped']} dropped); at least "
                     f"{MIN_FULLY_COUNTED:.0%} wanted")
    if peak > MAX_STATE_ROWS:
        return wrong(f"{share:.1%} fully counted, but the state holds up to {peak} (window, key) rows after a step "
                     f"(at most {MAX_STATE_ROWS} allowed): a longer delay keeps every window open longer")
    return right(f"{share:.1%} of the events fully counted, state at most {peak} rows")
