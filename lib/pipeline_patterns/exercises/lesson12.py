"""Lesson 12's exercises: breaker settings that survive an outage and its hiccups, and what counts as failure.

No service process and no sleeps: the lesson's ``CircuitBreaker`` runs on a fake clock against a pure
stand-in for its price service, which answers (``price_of``), raises what the real client raises when the
process is paused, killed or overloaded, or says 404 (``PriceNotFound``). Calls are one every 20 ms, each
finishing at once on the fake clock; what reaches the stand-in is its own count.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import NamedTuple

import requests

from pipeline_patterns.errors.circuit_breaker import BreakerState, CircuitBreaker, CircuitOpenError
from pipeline_patterns.errors.fakes.flaky_service import PriceNotFound, price_of
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

CALL_EVERY_S = 0.02
SETTINGS = ("failure_threshold", "reset_timeout_s", "half_open_max_calls", "success_threshold")


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def ticks(start_s: float, end_s: float) -> Iterator[float]:
    """Call times from ``start_s`` to ``end_s``, one every ``CALL_EVERY_S`` (on the 20 ms grid, no float drift)."""
    first, last = round(start_s / CALL_EVERY_S), round(end_s / CALL_EVERY_S)
    return (i * CALL_EVERY_S for i in range(first, last))


# -- 1 · settings that survive the outage ------------------------------------------------------------

DOWN_FROM_S = 10.0
OUTAGES_S = tuple(20.0 + 0.25 * k for k in range(9))   # one run per outage length: 20 s to 22 s
HICCUP_WINDOWS = ((1.0, 9.0), (35.0, 39.5))
LONGEST_HICCUP = 3           # a hiccup: 1 to 3 timeouts in a row (a GC pause, a slow disk)
OUTAGE_BUDGET = 20           # calls that may reach the stopped service in one outage
CLOSE_WITHIN_S = 2.0         # after it is back, the circuit must be closed again this soon
END_S = 40.0


def hiccups(seed: int = 12) -> set[int]:
    """Call numbers that time out on a healthy service: seeded runs of 1-3, at least 40 calls apart."""
    rng, failing = random.Random(seed), set[int]()
    for start_s, end_s in HICCUP_WINDOWS:
        i, last = round(start_s / CALL_EVERY_S), round(end_s / CALL_EVERY_S)
        lengths = iter([LONGEST_HICCUP, *(rng.randint(1, LONGEST_HICCUP) for _ in range(1000))])
        while (i := i + rng.randint(40, 90)) < last:
            failing.update(range(i, i + next(lengths)))
    return failing


class OutageRun(NamedTuple):
    down: tuple[float, float]
    reached_while_down: int
    closed_after_s: float | None   # None: still not closed at the end
    spurious_open_at: float | None  # when the circuit opened on a healthy service


def outage_run(settings: dict, outage_s: float) -> OutageRun:
    """40 s of traffic with the service stopped for ``outage_s`` from t=10 s, through a breaker with ``settings``."""
    clock, failing = FakeClock(), hiccups()
    breaker = CircuitBreaker(**settings, clock=clock, name="prices")
    down = (DOWN_FROM_S, DOWN_FROM_S + outage_s)
    reached_while_down, closed_at = 0, None

    def get_price(n: int) -> dict:
        nonlocal reached_while_down
        stopped = down[0] <= clock.t < down[1]
        reached_while_down += stopped
        if stopped or n in failing:
            raise requests.ReadTimeout(f"read timed out after 0.25 s (call {n})")
        return {"id": n % 1000 + 1, "price": price_of(n % 1000 + 1)}

    for n, t in enumerate(ticks(0, END_S)):
        clock.t = t
        with suppress(OSError, CircuitOpenError):
            breaker.call(get_price, n)
        if closed_at is None and t >= down[1] and breaker.state is BreakerState.CLOSED:
            closed_at = t
    spurious = [e.at for e in breaker.events if e.to_state is BreakerState.OPEN and not down[0] <= e.at < down[1]]
    return OutageRun(down, reached_while_down, None if closed_at is None else closed_at - down[1],
                     spurious[0] if spurious else None)


@exercise("12.survive_the_outage", "breaker settings that ride out hiccups, spare a stopped service, close soon")
def survive_the_outage(your_settings: dict) -> Verdict:
    if not isinstance(your_settings, dict) or set(your_settings) - set(SETTINGS):
        return wrong(f"expected a dict with some of {SETTINGS}, found {your_settings!r:.80}")
    runs = [outage_run(your_settings, outage_s) for outage_s in OUTAGES_S]
    if spurious := next((r for r in runs if r.spurious_open_at is not None), None):
        return wrong(f"the circuit opened at t={spurious.spurious_open_at:.2f} s on a healthy service: its hiccups "
                     f"are up to {LONGEST_HICCUP} timeouts in a row, and every call the open circuit rejected was one "
                     "the service would have answered")
    busiest = max(runs, key=lambda r: r.reached_while_down)
    if busiest.reached_while_down > OUTAGE_BUDGET:
        return wrong(f"{busiest.reached_while_down} calls reached the stopped service during its "
                     f"{busiest.down[1] - busiest.down[0]:.2f} s outage (at most {OUTAGE_BUDGET} wanted): count the "
                     "calls it takes to open, then the trials, one per reset timeout")
    slowest = max(runs, key=lambda r: float("inf") if r.closed_after_s is None else r.closed_after_s)
    if slowest.closed_after_s is None or slowest.closed_after_s > CLOSE_WITHIN_S:
        late = "was still not closed at the end" if slowest.closed_after_s is None else \
            f"closed only {slowest.closed_after_s:.2f} s after the service was back"
        return wrong(f"after a {slowest.down[1] - slowest.down[0]:.2f} s outage the circuit {late} (within "
                     f"{CLOSE_WITHIN_S:.0f} s wanted, however long the outage): every call until then was rejected "
                     "although the service answered again")
    return right(f"{len(runs)} outages of {OUTAGES_S[0]:.0f}-{OUTAGES_S[-1]:.0f} s: no trip on the hiccups, at most "
                 f"{busiest.reached_while_down} calls reached the stopped service (budget {OUTAGE_BUDGET}), closed at "
                 f"most {slowest.closed_after_s:.2f} s after it was back")


# -- 2 · what counts as a failure ------------------------------------------------------------------

def http_503() -> requests.HTTPError:
    response = requests.Response()
    response.status_code, response.reason = 503, "Service Unavailable"
    return requests.HTTPError("503 Server Error: Service Unavailable", response=response)


PHASES: tuple[tuple[str, Callable[[int], BaseException], bool], ...] = (
    # (what happens, the error each call raises, whether the circuit must open)
    ("a storm of 404s on the healthy service", lambda n: PriceNotFound(f"no product 'sku-{n}' (HTTP 404)"), False),
    ("product ids the client itself rejects", lambda n: ValueError(f"product id must be a number, got 'x{n}'"),
     False),
    ("the service paused (SIGSTOP): reads time out", lambda n: requests.ReadTimeout("read timed out (0.25 s)"), True),
    ("the service killed: connections refused", lambda n: ConnectionRefusedError(111, "Connection refused"), True),
    ("the service overloaded: HTTP 503", lambda n: http_503(), True),
)
PHASE_CALLS = 10


def raise_(error: BaseException) -> None:
    raise error


@exercise("12.count_only_system_errors", "the errors that count as failures: the system's, not the answers")
def count_only_system_errors(your_system_errors) -> Verdict:
    for what, error_of, must_open in PHASES:
        clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=1.0, system_errors=your_system_errors,
                                 clock=clock, name="prices")
        raised = []
        for n, t in enumerate(ticks(0, PHASE_CALLS * CALL_EVERY_S)):
            clock.t = t
            try:
                breaker.call(raise_, error_of(n))
            except Exception as exc:  # the caller's view: what reached it
                raised.append(exc)
        example = type(error_of(0)).__name__
        if must_open and breaker.state is not BreakerState.OPEN:
            return wrong(f"{what}: {PHASE_CALLS} calls failed with {example} and the circuit stayed closed, so "
                         "every caller keeps waiting on a broken service. That error is a system failure")
        if not must_open and breaker.state is not BreakerState.CLOSED:
            rejected = sum(isinstance(e, CircuitOpenError) for e in raised)
            return wrong(f"{what}: {example} opened the circuit and {rejected} later calls were rejected, although "
                         "the service was healthy and answering. That error is an answer, not a failure")
    return right(f"{len(PHASES)} scenarios: the answers (404, the client's own ValueError) left the circuit closed; "
                 "timeouts, refused connections and HTTP 503 opened it")
