"""Lesson 12's experiments: the same service, three breakers (ours, the guide's, pybreaker).

Each experiment drives a breaker against the real
:class:`~pipeline_patterns.errors.fakes.flaky_service.FlakyService` (or, for the clock
step, against a clock it controls) and returns the figures the lesson shows and asserts:
a storm of 404s on a healthy service (:func:`business_storm`), a stampede of callers when
the reset timeout ends (:func:`stampede`), callers at once on a paused service
(:func:`concurrent_outage`) and a wall-clock step (:func:`clock_step`). The breakers
are in :mod:`~pipeline_patterns.errors.circuit_breaker` and
:mod:`~pipeline_patterns.errors.pitfalls`, the load in :mod:`~pipeline_patterns.errors.fakes.load`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest import mock

import pybreaker

from pipeline_patterns.errors import pitfalls
from pipeline_patterns.errors.circuit_breaker import CircuitBreaker, Transition
from pipeline_patterns.errors.fakes.flaky_service import FlakyService, PriceNotFound, get_price
from pipeline_patterns.errors.fakes.load import REJECTIONS, InFlight, at_once, tally
from pipeline_patterns.errors.pitfalls import GuideCircuitBreaker, GuideState
from pipeline_patterns.poll import wait_until

NOT_FOUND_OR_REJECTED: tuple[type[BaseException], ...] = (PriceNotFound, *REJECTIONS)
Breaker = CircuitBreaker | GuideCircuitBreaker | pybreaker.CircuitBreaker


def edges(events: Iterable[Transition]) -> list[str]:
    return [f"{e.from_state.name}->{e.to_state.name}" for e in events]


def state_name(breaker: Breaker) -> str:
    if isinstance(breaker, pybreaker.CircuitBreaker):
        return breaker.current_state.replace("-", "_")  # pybreaker says "half-open"
    return breaker.state.value


def reset_due(breaker: CircuitBreaker | GuideCircuitBreaker) -> bool:
    """The breaker's next call would be a trial (each by its own clock: monotonic, or the guide's wall clock)."""
    if isinstance(breaker, GuideCircuitBreaker):
        return breaker.state is GuideState.OPEN and breaker._should_attempt_reset()
    return breaker.retry_at is not None and breaker.clock() >= breaker.retry_at


def business_storm(service: FlakyService, breaker: Breaker, n: int, timeout_s: float) -> str:
    """``n`` calls for a product that does not exist (404s) on a healthy service; the state after."""
    for _ in range(n):
        with suppress(*NOT_FOUND_OR_REJECTED):  # expected: the lesson looks at the state, not at these answers
            breaker.call(get_price, service.url, "no-such-product", timeout_s)
    return state_name(breaker)


@dataclass(frozen=True)
class Stampede:
    trip: dict[str, int]         # the calls that opened the breaker
    stampede: dict[str, int]     # the callers released together once the reset timeout had passed
    reached_service: int         # of those, requests the service itself counted
    state_after: str


def stampede(service: FlakyService, breaker: CircuitBreaker | GuideCircuitBreaker, trip_calls: int, callers: int,
             timeout_s: float, max_wait_s: float = 30.0) -> Stampede:
    """With the service paused: trip the breaker, wait for its reset timeout, release ``callers``
    callers at once. Resume the service and count what reached it."""
    fetch = lambda key: breaker.call(get_price, service.url, key, timeout_s)  # noqa: E731
    before = service.stats()["price_requests"]
    service.pause()
    try:
        trip = at_once(fetch, [1] * trip_calls)
        wait_until(lambda: reset_due(breaker), max_wait_s, "the breaker's reset timeout", interval_s=0.02)
        crowd = at_once(fetch, list(range(1, callers + 1)))
    finally:
        service.resume()
    passed = tally(crowd)
    expected = before + trip_calls + callers - passed["rejected"]
    counted = service.wait_for_requests(expected)["price_requests"]
    return Stampede(tally(trip), passed, counted - before - trip_calls, state_name(breaker))


def concurrent_outage(service: FlakyService, breaker: Breaker, callers: int, timeout_s: float,
                      clock: Callable[[], float] = time.monotonic) -> dict:
    """``callers`` callers at once on a paused service: how many calls overlapped, and how long it took."""
    inner = InFlight(get_price)
    service.pause()
    try:
        started = clock()
        outcomes = at_once(lambda key: breaker.call(inner, service.url, key, timeout_s), list(range(1, callers + 1)))
        elapsed = clock() - started
    finally:
        service.resume()
    return {"peak calls in flight": inner.peak, "seconds": round(elapsed, 2), **tally(outcomes),
            "state after": state_name(breaker)}


def clock_step(failure_threshold: int, reset_timeout_s: float, step_s: float,
               probes_s: Sequence[float]) -> list[dict]:
    """Trip ours and the guide's breaker at real time 0, then step the wall clock by ``step_s``
    (an NTP step or an operator: negative is back); at each of ``probes_s`` (real seconds since
    the trip) say whether each breaker would let a trial call through.

    Nothing sleeps: real time is a number both clocks derive from. Ours reads it as its injected
    monotonic clock; the guide's code reads ``datetime.now()``, which is replaced in
    :mod:`~pipeline_patterns.errors.pitfalls` — for this call only — by a wall clock that reads
    real time plus the step once the step has happened.
    """
    real, stepped = [0.0], [False]
    wall_at_trip = datetime(2026, 3, 29, 1, 59, 30)

    class SteppedWallClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return wall_at_trip + timedelta(seconds=real[0] + (step_s if stepped[0] else 0.0))

    def timed_out():
        raise TimeoutError("the dependency timed out")

    ours = CircuitBreaker(failure_threshold, reset_timeout_s, clock=lambda: real[0], name="monotonic")
    guide = GuideCircuitBreaker(failure_threshold, timedelta(seconds=reset_timeout_s))
    rows = []
    with mock.patch(f"{pitfalls.__name__}.datetime", SteppedWallClock):
        for breaker in (ours, guide):
            for _ in range(failure_threshold):
                with contextlib.suppress(TimeoutError):
                    breaker.call(timed_out)
        stepped[0] = True
        for t in probes_s:
            real[0] = t
            rows.append({"real s since trip": t, "wall clock reads": SteppedWallClock.now().strftime("%H:%M:%S"),
                         "ours: trial allowed": reset_due(ours), "guide: trial allowed": reset_due(guide)})
    return rows
