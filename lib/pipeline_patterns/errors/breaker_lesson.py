"""Lesson 12's workbench: the guide's breaker as written, a paced load, concurrent callers, the plot.

:class:`GuideCircuitBreaker` is the guide's snippet kept as it is — only renamed ``Guide*``
and given the ``CircuitOpenError`` it raises but never defines — so the lesson can run it
against the same service and show its three faults: wall-clock ``datetime.now()``, HALF_OPEN letting every caller
through, and every exception — a 404 too — counting as a failure.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from unittest import mock

import pybreaker

from pipeline_patterns.errors.circuit_breaker import CircuitBreaker, CircuitOpenError, State, Transition
from pipeline_patterns.errors.flaky_service import CATALOGUE, FlakyService, PriceNotFound, get_price
from pipeline_patterns.poll import wait_until


# -- the guide's code, unchanged but for the exception it forgot to define ----------------
class GuideCircuitOpenError(Exception):
    """The guide raises ``CircuitOpenError`` but never defines it (a NameError as written)."""


class GuideState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class GuideCircuitBreaker:
    failure_threshold: int = 5
    recovery_timeout: timedelta = timedelta(seconds=30)
    success_threshold: int = 3

    def __post_init__(self):
        self.state = GuideState.CLOSED
        self.failure_count = 0
        self.success_count = 0
        self.last_failure_time = None
        self.lock = threading.Lock()

    def call(self, func, *args, **kwargs):
        with self.lock:
            if self.state == GuideState.OPEN:
                if self._should_attempt_reset():
                    self.state = GuideState.HALF_OPEN
                else:
                    raise GuideCircuitOpenError("Circuit is open")
        try:
            result = func(*args, **kwargs)
            self._record_success()
            return result
        except Exception:
            self._record_failure()
            raise

    def _record_success(self):
        with self.lock:
            if self.state == GuideState.HALF_OPEN:
                self.success_count += 1
                if self.success_count >= self.success_threshold:
                    self.state = GuideState.CLOSED
                    self.failure_count = 0
                    self.success_count = 0
            elif self.state == GuideState.CLOSED:
                self.failure_count = 0

    def _record_failure(self):
        with self.lock:
            self.failure_count += 1
            self.last_failure_time = datetime.now()
            if self.state == GuideState.HALF_OPEN:
                self.state = GuideState.OPEN
                self.success_count = 0
            elif self.failure_count >= self.failure_threshold:
                self.state = GuideState.OPEN

    def _should_attempt_reset(self):
        if self.last_failure_time is None:
            return True
        return datetime.now() - self.last_failure_time >= self.recovery_timeout


# -- workload ------------------------------------------------------------------------------
RESULTS = ("ok", "business", "system", "rejected")
# pybreaker's CircuitBreakerError is a rejection only with throw_new_error_on_trip=False; by
# default the call that trips the breaker raises it too, although that call reached the service.
REJECTIONS: tuple[type[BaseException], ...] = (CircuitOpenError, GuideCircuitOpenError, pybreaker.CircuitBreakerError)
NOT_FOUND_OR_REJECTED: tuple[type[BaseException], ...] = (PriceNotFound, *REJECTIONS)


@dataclass(frozen=True)
class Outcome:
    start: float   # clock time the call began
    end: float
    worker: int
    key: object
    result: str    # one of RESULTS
    detail: str = ""  # the exception's message, if any


def classify(exc: BaseException) -> str | None:
    """How the caller saw a failed call; None for an exception the lesson did not expect."""
    if isinstance(exc, REJECTIONS):
        return "rejected"
    if isinstance(exc, PriceNotFound):
        return "business"
    if isinstance(exc, OSError):
        return "system"
    return None


def product_ids(n: int, bad_share: float, seed: int) -> list[int | str]:
    """``n`` product ids, about ``bad_share`` of them unknown to the service (404s)."""
    rng = random.Random(seed)
    return [f"sku-{rng.randrange(10**6)}" if rng.random() < bad_share else rng.choice(CATALOGUE) for _ in range(n)]


def _timed_call(call: Callable[[object], object], key: object, worker: int, clock: Callable[[], float],
                outcomes: list[Outcome], unexpected: list[BaseException], lock: threading.Lock) -> None:
    start, detail = clock(), ""
    result: str | None
    try:
        call(key)
        result = "ok"
    except Exception as exc:  # classified below; anything unexpected is re-raised by the caller
        result, detail = classify(exc), str(exc)
        if result is None:
            unexpected.append(exc)
            return
    with lock:
        outcomes.append(Outcome(start, clock(), worker, key, result, detail))


def _run_threads(target: Callable[[int], None], workers: int, outcomes: list, unexpected: list) -> list[Outcome]:
    threads = [threading.Thread(target=target, args=(w,), name=f"load-{w}") for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if unexpected:
        raise unexpected[0]
    return sorted(outcomes, key=lambda o: o.start)


def run_load(call: Callable[[object], object], keys: Iterable, *, workers: int = 1, interval_s: float = 0.0,
             duration_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> list[Outcome]:
    """``workers`` threads take keys in turn and ``call(key)``, each starting one call per ``interval_s``.

    Stops when the keys run out or, with ``duration_s``, when no call should start any more.
    """
    source, lock = iter(keys), threading.Lock()
    outcomes: list[Outcome] = []
    unexpected: list[BaseException] = []
    end = None if duration_s is None else clock() + duration_s
    pace = threading.Event()  # never set: its wait() paces the load (a rate, not a wait for a condition)

    def worker(w: int) -> None:
        next_at = clock()
        while end is None or clock() < end:
            with lock:
                key = next(source, StopIteration)
            if key is StopIteration:
                return
            _timed_call(call, key, w, clock, outcomes, unexpected, lock)
            next_at = max(next_at + interval_s, clock())
            pace.wait(next_at - clock())

    return _run_threads(worker, workers, outcomes, unexpected)


def at_once(call: Callable[[object], object], keys: Sequence,
            clock: Callable[[], float] = time.monotonic) -> list[Outcome]:
    """One thread per key, released together by a barrier: a stampede of callers."""
    barrier, lock = threading.Barrier(len(keys)), threading.Lock()
    outcomes: list[Outcome] = []
    unexpected: list[BaseException] = []

    def caller(w: int) -> None:
        barrier.wait()
        _timed_call(call, keys[w], w, clock, outcomes, unexpected, lock)

    return _run_threads(caller, len(keys), outcomes, unexpected)


class InFlight:
    """Wraps a function and records how many calls of it ran at the same time (``peak``)."""

    def __init__(self, fn: Callable) -> None:
        self.fn, self.now, self.peak, self.calls = fn, 0, 0, 0
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.now, self.calls = self.now + 1, self.calls + 1
            self.peak = max(self.peak, self.now)
        try:
            return self.fn(*args, **kwargs)
        finally:
            with self._lock:
                self.now -= 1


def tally(outcomes: Iterable[Outcome]) -> dict[str, int]:
    counts = dict.fromkeys(RESULTS, 0)
    for o in outcomes:
        counts[o.result] += 1
    return counts


def edges(events: Iterable[Transition]) -> list[str]:
    return [f"{e.from_state.name}->{e.to_state.name}" for e in events]


# -- one experiment, three breakers (ours, the guide's, pybreaker) ----------------------------
Breaker = CircuitBreaker | GuideCircuitBreaker | pybreaker.CircuitBreaker


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
    monotonic clock; the guide's code reads ``datetime.now()``, which is replaced here — for this
    call only — by a wall clock that reads real time plus the step once the step has happened.
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
    with mock.patch(f"{__name__}.datetime", SteppedWallClock):
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


# -- the plot ------------------------------------------------------------------------------
COLORS = {"ok": "#55A868", "business": "#8172B2", "system": "#C44E52", "rejected": "#999999",
          State.CLOSED: "#FFFFFF", State.OPEN: "#F6D5D5", State.HALF_OPEN: "#FBE3B5"}


def plot_timeline(outcomes: Sequence[Outcome], events: Sequence[Transition], t0: float,
                  marks: dict[str, float] | None = None):
    """Top: calls offered vs calls that reached the service, cumulative. Bottom: each call on
    its worker's lane, start to end, coloured by outcome. Background: the breaker's state."""
    import matplotlib.pyplot as plt

    fig, (top, lanes) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, height_ratios=[3, 2])
    t_end = max([o.end for o in outcomes] + [e.at for e in events]) - t0
    starts = [o.start - t0 for o in outcomes]
    top.step(starts, range(1, len(starts) + 1), where="post", color="black", label="calls offered")
    reached = [o.start - t0 for o in outcomes if o.result != "rejected"]
    top.step(reached, range(1, len(reached) + 1), where="post", color="#4C72B0", label="reached the service")
    top.set(ylabel="calls (cumulative)")
    workers = sorted({o.worker for o in outcomes})
    for result in RESULTS:
        for w in workers:  # one bar per call, at least 15 ms wide so that a fast call shows
            bars = [(o.start - t0, max(o.end - o.start, 0.015))
                    for o in outcomes if (o.worker, o.result) == (w, result)]
            lanes.broken_barh(bars, (w - 0.35, 0.7), color=COLORS[result],
                              label=result if w == workers[0] else None)
    lanes.set(xlabel="seconds", ylabel="worker (one bar per call)", xlim=(0, t_end), yticks=workers)
    lanes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    state, since = State.CLOSED, 0.0
    for event in [*events, Transition(t_end + t0, State.CLOSED, State.CLOSED)]:
        for ax in (top, lanes):
            ax.axvspan(since, event.at - t0, color=COLORS[state], zorder=0, linewidth=0)
        if state is not State.CLOSED:
            top.text(since + 0.005 * t_end, 0.98, state.name.replace("_", "-"), rotation=90,
                     transform=top.get_xaxis_transform(), ha="left", va="top", fontsize=7)
        state, since = event.to_state, event.at - t0
    for label, at in (marks or {}).items():
        for ax in (top, lanes):
            ax.axvline(at - t0, color="black", linestyle="--", linewidth=1)
        top.text(at - t0, 1.01, label, transform=top.get_xaxis_transform(), ha="center", fontsize=8)
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    return fig
