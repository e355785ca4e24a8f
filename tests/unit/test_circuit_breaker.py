"""The circuit breaker, exactly: a fake clock (no sleeps), real threads, and hypothesis."""

from __future__ import annotations

import queue
import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pipeline_patterns.errors.circuit_breaker import (
    LEGAL_EDGES,
    BreakerState,
    CircuitBreaker,
    CircuitOpenError,
    Counters,
    Transition,
)
from pipeline_patterns.errors.fakes.flaky_service import PriceNotFound
from pipeline_patterns.errors.pitfalls import GuideCircuitBreaker, GuideState

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class FakeClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt


def ok() -> str:
    return "ok"


def down() -> None:
    raise ConnectionRefusedError("connection refused")


def not_found() -> None:
    raise PriceNotFound("no product 'x'")


def attempt(breaker: CircuitBreaker, fn) -> str:
    """Call through the breaker and name what happened."""
    try:
        fn_result = breaker.call(fn)
    except CircuitOpenError:
        return "rejected"
    except OSError:
        return "system"
    except LookupError:
        return "business"
    return fn_result


def test_opens_after_threshold_consecutive_system_failures():
    clock = FakeClock(100.0)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=10, clock=clock)
    assert [attempt(breaker, f) for f in (down, down, ok, down, down)] == ["system", "system", "ok", "system", "system"]
    assert breaker.state is CLOSED  # the success broke the run: 2 consecutive, not 4
    clock.advance(1.5)
    assert attempt(breaker, down) == "system"
    assert breaker.state is OPEN
    assert breaker.events == [Transition(101.5, CLOSED, OPEN)]
    assert breaker.retry_at == 111.5


def test_open_rejects_without_calling_until_the_timeout_and_says_when():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock, name="prices")
    attempt(breaker, down)
    called = []
    clock.advance(2)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(called.append, "reached")
    assert called == []
    assert (info.value.state, info.value.retry_at, info.value.retry_in_s) == (OPEN, 5.0, 3.0)
    assert str(info.value) == ("circuit 'prices' is OPEN: opened at t=0.000; call not made, "
                               "next trial at t=5.000 (in 3.000s)")
    clock.advance(2.999)
    assert attempt(breaker, ok) == "rejected"
    clock.advance(0.001)
    assert attempt(breaker, ok) == "ok"  # the first call at the timeout is the trial
    assert breaker.counters == Counters(calls=4, successes=1, failures=1, business_errors=0, rejected=2)


def test_half_open_closes_after_success_threshold_and_reopens_on_a_failed_trial():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=10, success_threshold=2, clock=clock)
    attempt(breaker, down)
    attempt(breaker, down)                     # t=0 CLOSED -> OPEN
    clock.advance(10)
    assert attempt(breaker, down) == "system"  # t=10 OPEN -> HALF_OPEN, trial fails -> OPEN
    assert breaker.retry_at == 20
    clock.advance(9)
    assert attempt(breaker, ok) == "rejected"
    clock.advance(1)
    assert attempt(breaker, ok) == "ok"        # t=20 OPEN -> HALF_OPEN, 1st trial succeeds
    assert breaker.state is HALF_OPEN
    clock.advance(1)
    assert attempt(breaker, ok) == "ok"        # t=21 2nd trial succeeds -> CLOSED
    assert breaker.events == [Transition(0, CLOSED, OPEN), Transition(10, OPEN, HALF_OPEN),
                              Transition(10, HALF_OPEN, OPEN), Transition(20, OPEN, HALF_OPEN),
                              Transition(21, HALF_OPEN, CLOSED)]
    attempt(breaker, down)
    assert breaker.state is CLOSED             # the failure count started again from zero
    assert breaker.counters == Counters(calls=7, successes=2, failures=4, business_errors=0, rejected=1)


def test_business_errors_pass_through_untouched_and_never_trip_it():
    breaker = CircuitBreaker(failure_threshold=2, clock=FakeClock())
    error = ValueError("quantity must be positive")

    def invalid():
        raise error

    for _ in range(10):
        with pytest.raises(ValueError) as info:
            breaker.call(invalid)
        assert info.value is error
        assert attempt(breaker, not_found) == "business"
    assert breaker.state is CLOSED and breaker.events == []
    # A business error is an answer: it ends a run of failures like a success does.
    assert [attempt(breaker, f) for f in (down, not_found, down)] == ["system", "business", "system"]
    assert breaker.state is CLOSED
    assert breaker.counters == Counters(calls=23, successes=0, failures=2, business_errors=21, rejected=0)


def test_a_business_error_in_half_open_is_a_successful_trial():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=1, clock=clock)
    attempt(breaker, down)
    clock.advance(1)
    assert attempt(breaker, not_found) == "business"
    assert [e.to_state for e in breaker.events] == [OPEN, HALF_OPEN, CLOSED]


def test_system_errors_are_configurable_as_types_or_a_predicate():
    class OperationalError(Exception):
        pass

    by_type = CircuitBreaker(failure_threshold=1, system_errors=OperationalError, clock=FakeClock())
    assert by_type.is_system_error(OperationalError()) and not by_type.is_system_error(OSError())
    by_predicate = CircuitBreaker(system_errors=lambda exc: getattr(exc, "status", 0) >= 500, clock=FakeClock())

    class HTTPError(Exception):
        def __init__(self, status: int) -> None:
            self.status = status

    assert by_predicate.is_system_error(HTTPError(503)) and not by_predicate.is_system_error(HTTPError(404))
    default = CircuitBreaker(clock=FakeClock())
    assert [default.is_system_error(e) for e in (TimeoutError(), ConnectionResetError(), OSError(), KeyError())] == \
        [True, True, True, False]


def test_a_late_result_from_an_earlier_state_counts_but_does_not_move_the_state():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock)
    slow = breaker.guard()
    slow.__enter__()                          # admitted while CLOSED, still running
    attempt(breaker, down)                    # CLOSED -> OPEN
    clock.advance(5)
    trial = breaker.guard()
    trial.__enter__()                         # OPEN -> HALF_OPEN, the one trial
    assert attempt(breaker, ok) == "rejected"
    slow.__exit__(None, None, None)           # the CLOSED-era call succeeds late: no trial success
    assert breaker.state is HALF_OPEN and breaker.trials_in_flight == 1
    trial.__exit__(None, None, None)
    assert breaker.state is CLOSED
    assert breaker.counters == Counters(calls=4, successes=2, failures=1, business_errors=0, rejected=1)


def test_decorator_listener_and_validation():
    seen = []
    clock = FakeClock(3.0)
    breaker = CircuitBreaker(failure_threshold=1, clock=clock, listener=seen.append)

    @breaker
    def fetch(x: int) -> int:
        """Doc."""
        if x < 0:
            raise TimeoutError("slow")
        return x * 2

    assert (fetch(21), fetch.__name__, fetch.__doc__) == (42, "fetch", "Doc.")
    with pytest.raises(TimeoutError):
        fetch(-1)
    assert seen == [Transition(3.0, CLOSED, OPEN)] == breaker.events
    with pytest.raises(ValueError, match="must be >= 1"):
        CircuitBreaker(half_open_max_calls=0)
    assert {(a.value, b.value) for a, b in LEGAL_EDGES} == {
        ("closed", "open"), ("open", "half_open"), ("half_open", "open"), ("half_open", "closed")}


# -- threads ---------------------------------------------------------------------------------
def test_half_open_admits_only_half_open_max_calls_among_concurrent_callers():
    for _ in range(20):  # twenty rounds of ten callers released at once
        clock = FakeClock()
        breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, half_open_max_calls=2,
                                 success_threshold=2, clock=clock)
        attempt(breaker, down)
        clock.advance(5)
        callers, barrier, release, results = 10, threading.Barrier(10), threading.Event(), queue.Queue()

        def trial(release: threading.Event = release) -> str:  # this round's objects, bound now
            assert release.wait(timeout=10)
            return "ok"

        def caller(barrier: threading.Barrier = barrier, breaker: CircuitBreaker = breaker,
                   results: queue.Queue = results) -> None:
            barrier.wait()
            try:
                results.put(breaker.call(trial))
            except CircuitOpenError as exc:
                results.put(exc)

        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for t in threads:
            t.start()
        rejected = [results.get(timeout=10) for _ in range(callers - 2)]  # trials block until release
        assert all(isinstance(r, CircuitOpenError) and r.state is HALF_OPEN and r.retry_at is None for r in rejected)
        assert breaker.trials_in_flight == 2 and breaker.state is HALF_OPEN
        release.set()
        for t in threads:
            t.join()
        assert [results.get_nowait() for _ in range(2)] == ["ok", "ok"]
        assert breaker.state is CLOSED
        assert breaker.counters == Counters(calls=11, successes=2, failures=1, business_errors=0, rejected=8)


def test_counters_stay_exact_under_concurrent_calls():
    breaker = CircuitBreaker(failure_threshold=10**9, clock=FakeClock())
    plan = (ok, down, not_found)

    def hammer() -> None:
        for i in range(600):
            attempt(breaker, plan[i % 3])

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert breaker.counters == Counters(calls=4800, successes=1600, failures=1600, business_errors=1600, rejected=0)


def test_the_guides_breaker_lets_every_concurrent_caller_through_half_open_and_trips_on_404s():
    guide = GuideCircuitBreaker(failure_threshold=2, recovery_timeout=timedelta(0), success_threshold=3)
    for _ in range(2):
        with pytest.raises(PriceNotFound):
            guide.call(not_found)
    assert guide.state is GuideState.OPEN  # two 404s opened it
    callers, barrier, release, entered = 10, threading.Barrier(10), threading.Event(), queue.Queue()

    def trial() -> str:
        entered.put(1)
        assert release.wait(timeout=10)
        return "ok"

    threads = [threading.Thread(target=lambda: (barrier.wait(), guide.call(trial))) for _ in range(callers)]
    for t in threads:
        t.start()
    assert [entered.get(timeout=10) for _ in range(callers)] == [1] * callers  # all ten are "trials" at once
    release.set()
    for t in threads:
        t.join()


# -- properties --------------------------------------------------------------------------------
class Model:
    """The breaker's rules as plain data, written out again for comparison."""

    def __init__(self, failure_threshold, reset_timeout_s, half_open_max_calls, success_threshold):
        self.p = (failure_threshold, reset_timeout_s, half_open_max_calls, success_threshold)
        self.state, self.epoch, self.failures, self.trial_ok, self.trials, self.opened_at = CLOSED, 0, 0, 0, 0, 0.0
        self.counts = {"calls": 0, "successes": 0, "failures": 0, "business_errors": 0, "rejected": 0}
        self.events = []

    def move(self, to, now):
        self.events.append(Transition(now, self.state, to))
        self.state, self.epoch, self.failures, self.trial_ok, self.trials = to, self.epoch + 1, 0, 0, 0
        if to is OPEN:
            self.opened_at = now

    def admit(self, now):
        self.counts["calls"] += 1
        if self.state is OPEN and now >= self.opened_at + self.p[1]:
            self.move(HALF_OPEN, now)
        if self.state is OPEN or (self.state is HALF_OPEN and self.trials >= self.p[2]):
            self.counts["rejected"] += 1
            return None
        self.trials += self.state is HALF_OPEN
        return self.epoch

    def finish(self, epoch, outcome, now):
        self.counts[{"ok": "successes", "system": "failures", "business": "business_errors"}[outcome]] += 1
        if epoch != self.epoch:
            return
        healthy = outcome != "system"
        if self.state is HALF_OPEN:
            self.trials -= 1
            if not healthy:
                self.move(OPEN, now)
            else:
                self.trial_ok += 1
                if self.trial_ok >= self.p[3]:
                    self.move(CLOSED, now)
        elif not healthy:
            self.failures += 1
            if self.failures >= self.p[0]:
                self.move(OPEN, now)
        else:
            self.failures = 0


EXCEPTIONS = {"system": TimeoutError("timed out"), "business": PriceNotFound("404")}


class BreakerMachine(RuleBasedStateMachine):
    """Calls start and finish in any interleaving (as threads would), the clock moves on."""

    @initialize(failure_threshold=st.integers(1, 3), reset_timeout_s=st.sampled_from([0.0, 1.0, 2.5]),
                half_open_max_calls=st.integers(1, 3), success_threshold=st.integers(1, 3))
    def setup(self, failure_threshold, reset_timeout_s, half_open_max_calls, success_threshold):
        self.clock = FakeClock()
        self.breaker = CircuitBreaker(failure_threshold, reset_timeout_s, half_open_max_calls, success_threshold,
                                      clock=self.clock)
        self.model = Model(failure_threshold, reset_timeout_s, half_open_max_calls, success_threshold)
        self.running = []  # (guard, model epoch)

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 2.5]))
    def advance(self, dt):
        self.clock.advance(dt)

    @rule()
    def start(self):
        state_before, retry_at = self.breaker.state, self.breaker.retry_at
        epoch = self.model.admit(self.clock())
        guard = self.breaker.guard()
        try:
            guard.__enter__()
        except CircuitOpenError as exc:
            assert epoch is None, "the breaker rejected a call the model admits"
            if state_before is OPEN and self.clock() < retry_at:
                assert exc.retry_at == retry_at and exc.retry_in_s == retry_at - self.clock()
            return
        assert epoch is not None, "the breaker admitted a call the model rejects"
        assert not (state_before is OPEN and self.clock() < retry_at), "OPEN let a call through before the timeout"
        self.running.append((guard, epoch))

    @precondition(lambda self: self.running)
    @rule(which=st.integers(0, 10**6), outcome=st.sampled_from(["ok", "system", "business"]))
    def finish(self, which, outcome):
        guard, epoch = self.running.pop(which % len(self.running))
        self.model.finish(epoch, outcome, self.clock())
        if outcome == "ok":
            guard.__exit__(None, None, None)
        else:
            exc = EXCEPTIONS[outcome]
            assert guard.__exit__(type(exc), exc, None) is False  # re-raised to the caller, never swallowed

    @invariant()
    def agrees_with_the_model(self):
        assert self.breaker.state is self.model.state
        assert self.breaker.events == self.model.events
        assert vars(self.breaker.counters) == self.model.counts

    @invariant()
    def trial_limit_holds(self):
        assert self.breaker.trials_in_flight <= self.breaker.half_open_max_calls
        if self.breaker.state is not HALF_OPEN:
            assert self.breaker.trials_in_flight == 0

    @invariant()
    def transitions_follow_legal_edges_in_time_order(self):
        events = self.breaker.events
        assert all((e.from_state, e.to_state) in LEGAL_EDGES for e in events)
        assert all(a.to_state is b.from_state and a.at <= b.at for a, b in pairwise(events))
        assert (events[0].from_state if events else self.breaker.state) is CLOSED

    @invariant()
    def counters_balance(self):
        c = self.breaker.counters
        assert c.calls == c.successes + c.failures + c.business_errors + c.rejected + len(self.running)


BreakerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_breaker_state_machine = BreakerMachine.TestCase


def test_the_guides_wall_clock_breaker_follows_a_clock_step_and_ours_does_not():
    from pipeline_patterns.errors.breaker_experiments import clock_step

    back = clock_step(3, 1.0, -3600, [0.5, 1.5, 3600.5, 3601.5])
    assert [r["ours: trial allowed"] for r in back] == [False, True, True, True]
    assert [r["guide: trial allowed"] for r in back] == [False, False, False, True]  # open an hour too long
    forward = clock_step(3, 1.0, 3600, [0.0])
    assert (forward[0]["ours: trial allowed"], forward[0]["guide: trial allowed"]) == (False, True)  # at once
