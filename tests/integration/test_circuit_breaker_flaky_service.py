"""The circuit breaker against a real dependency: a price service in its own OS process,
paused with SIGSTOP and killed with SIGKILL. The service's own request counter is the proof
of the load the breaker spared it.

Independent of machine load: the breaker runs on a fake clock (its reset timeout passes when
a test says so, never because the machine was slow), calls to a healthy service get a generous
timeout, and only calls to the paused service use a short *read* timeout (the kernel still
accepts the connection; nobody answers, so the read times out however busy the machine is)."""

from __future__ import annotations

import pytest
import requests

from pipeline_patterns.errors.breaker_experiments import edges
from pipeline_patterns.errors.circuit_breaker import BreakerState, CircuitBreaker, CircuitOpenError, Counters
from pipeline_patterns.errors.fakes.flaky_service import FlakyService, PriceNotFound, get_price, price_of
from pipeline_patterns.errors.fakes.load import at_once, tally

pytestmark = pytest.mark.integration

HEALTHY = 10.0       # a healthy service answers well within this, even on a loaded machine
PAUSED = (10.0, 0.2)  # (connect, read): connecting to a paused service succeeds, reading times out
RESET_S = 0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, dt: float) -> None:
        self.now += dt


@pytest.fixture
def service():
    with FlakyService.start() as svc:
        yield svc


def breaker_for(service: FlakyService):
    """The breaker on a fake clock, and ``fetch(key, timeout)`` through it."""
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout_s=RESET_S, half_open_max_calls=1, success_threshold=2,
                             name="prices", clock=clock)
    return breaker, clock, lambda key, timeout=HEALTHY: breaker.call(get_price, service.url, key, timeout)


def until_retry(breaker: CircuitBreaker, clock: FakeClock) -> None:
    """Let exactly the reset timeout pass on the breaker's clock."""
    clock.advance(breaker.retry_at - clock())


def test_pause_opens_it_rejections_never_reach_the_service_and_trials_close_it(service):
    breaker, clock, fetch = breaker_for(service)
    assert fetch(7) == {"id": 7, "price": price_of(7)}
    for _ in range(5):
        with pytest.raises(PriceNotFound):
            fetch("no-such-product")
    assert breaker.state is BreakerState.CLOSED  # five 404s: business errors, passed through

    service.pause()
    for _ in range(3):
        with pytest.raises(requests.Timeout):
            fetch(1, PAUSED)
    assert breaker.state is BreakerState.OPEN
    clock.advance(RESET_S * 0.99)  # just short of the reset timeout: still rejected
    for _ in range(20):
        with pytest.raises(CircuitOpenError):
            fetch(1)

    service.resume()
    # 1 + 5 + 3 reached it (the 3 timed-out requests are served from the socket queue after SIGCONT);
    # the 20 rejected calls never did.
    assert service.wait_for_requests(9) == {"price_requests": 9, "found": 4, "not_found": 5, "pid": service.pid}

    until_retry(breaker, clock)
    assert fetch(2) == {"id": 2, "price": price_of(2)}
    assert breaker.state is BreakerState.HALF_OPEN
    assert fetch(3) == {"id": 3, "price": price_of(3)}
    assert breaker.state is BreakerState.CLOSED
    assert edges(breaker.events) == ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]
    assert breaker.counters == Counters(calls=31, successes=3, failures=3, business_errors=5, rejected=20)
    assert service.stats()["price_requests"] == 11 == breaker.counters.calls - breaker.counters.rejected


def test_half_open_lets_one_trial_reach_a_still_paused_service(service):
    breaker, clock, fetch = breaker_for(service)
    service.pause()
    for _ in range(3):
        with pytest.raises(requests.Timeout):
            fetch(1, PAUSED)
    until_retry(breaker, clock)
    # Eight callers at once, service still down. Whether a caller comes before or after the
    # trial's timeout, it is rejected: HALF_OPEN with the trial in flight, or OPEN again with
    # the clock (fake) not advanced.
    outcomes = at_once(lambda key: fetch(key, PAUSED), list(range(1, 9)))
    assert tally(outcomes) == {"ok": 0, "business": 0, "system": 1, "rejected": 7}
    assert breaker.state is BreakerState.OPEN  # the one trial timed out
    service.resume()
    assert service.wait_for_requests(4)["price_requests"] == 4  # 3 + the single trial
    assert edges(breaker.events) == ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->OPEN"]


def test_kill_fails_fast_and_a_restarted_service_gets_only_the_trials(service):
    breaker, clock, fetch = breaker_for(service)
    assert fetch(5)["id"] == 5
    service.kill()
    for _ in range(3):
        with pytest.raises(requests.ConnectionError):  # refused at once: no timeout to wait for
            fetch(5)
    assert breaker.state is BreakerState.OPEN
    service.restart()
    for _ in range(10):
        with pytest.raises(CircuitOpenError):
            fetch(5)
    until_retry(breaker, clock)
    assert [fetch(i)["id"] for i in (6, 7, 8)] == [6, 7, 8]
    assert edges(breaker.events) == ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"]
    assert service.stats()["price_requests"] == 3  # the new process saw the two trials and one normal call
    assert breaker.counters == Counters(calls=17, successes=4, failures=3, business_errors=0, rejected=10)
