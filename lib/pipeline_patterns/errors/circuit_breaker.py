"""Circuit breaker, hand-written: the pattern is the lesson, so all of its logic is here to read.

Guarantee: while the circuit is OPEN the dependency gets **no** call through this breaker
until ``reset_timeout_s`` have passed on a monotonic clock since it opened; then the
circuit is HALF_OPEN and at most ``half_open_max_calls`` trial calls are in flight at
once — every other caller is rejected at once with :class:`CircuitOpenError`, which says
when the next trial may start. ``success_threshold`` successful trials close it; one
failed trial opens it again for another ``reset_timeout_s``. Every rejected call is load
the dependency was spared, and is counted.

Only *system* errors count as failures: by default ``OSError`` and its subclasses
(``TimeoutError``, ``ConnectionError`` and every ``requests`` exception — including
``requests.HTTPError``, so map a 404 to a business error *before* it reaches the
breaker). Pass ``system_errors`` (a tuple of types or a predicate) to add, e.g.,
``psycopg.OperationalError``. Any other exception — a validation error, "no such
product" — is an answer from a healthy dependency: it is re-raised to the caller and
counted apart, and for the state machine it counts like a success (it resets the run of
failures in CLOSED and is a successful trial in HALF_OPEN), as pybreaker's ``exclude`` does.

A call that finishes after the circuit changed state (a slow call admitted while CLOSED
that fails after the circuit opened) is counted but does not move the state: only calls
admitted in the current state speak for it. State changes happen on calls: an OPEN
circuit becomes HALF_OPEN when the first call after the timeout arrives.

Assumes: one process (the state is in memory, per breaker). Breaks it: a wall clock
(``datetime.now()`` jumps with NTP and DST fixes), counting business errors as failures,
and a client without a timeout — the breaker counts failures, only a timeout makes a
hung dependency fail.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple, TypeVar

T = TypeVar("T")

SYSTEM_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError)  # the last two are OSErrors


class BreakerState(StrEnum):
    """Where a circuit is: CLOSED (calls pass), OPEN (calls rejected), HALF_OPEN (trial calls)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


LEGAL_EDGES = frozenset({(BreakerState.CLOSED, BreakerState.OPEN), (BreakerState.OPEN, BreakerState.HALF_OPEN),
                         (BreakerState.HALF_OPEN, BreakerState.OPEN), (BreakerState.HALF_OPEN, BreakerState.CLOSED)})


class Transition(NamedTuple):
    at: float
    from_state: BreakerState
    to_state: BreakerState


@dataclass
class Counters:
    """calls = successes + failures + business_errors + rejected + calls still in flight."""

    calls: int = 0
    successes: int = 0
    failures: int = 0          # system errors
    business_errors: int = 0   # other exceptions, passed through
    rejected: int = 0          # never reached the dependency: load spared


class CircuitOpenError(RuntimeError):
    """The breaker rejected the call without calling the dependency."""

    def __init__(self, name: str, state: BreakerState, now: float, retry_at: float | None, detail: str) -> None:
        self.state, self.retry_at = state, retry_at
        self.retry_in_s = None if retry_at is None else max(0.0, retry_at - now)
        when = ("when a trial call finishes" if retry_at is None
                else f"at t={retry_at:.3f} (in {self.retry_in_s:.3f}s)")
        super().__init__(f"circuit {name!r} is {state.name}: {detail}; call not made, next trial {when}")


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, reset_timeout_s: float = 30.0, half_open_max_calls: int = 1,
                 success_threshold: int = 1,
                 system_errors: tuple[type[BaseException], ...] | Callable[[BaseException], bool] = SYSTEM_ERRORS,
                 clock: Callable[[], float] = time.monotonic,
                 listener: Callable[[Transition], None] | None = None, name: str = "breaker") -> None:
        if min(failure_threshold, half_open_max_calls, success_threshold) < 1 or reset_timeout_s < 0:
            raise ValueError("thresholds and half_open_max_calls must be >= 1 and reset_timeout_s >= 0")
        self.failure_threshold, self.reset_timeout_s = failure_threshold, reset_timeout_s
        self.half_open_max_calls, self.success_threshold = half_open_max_calls, success_threshold
        if isinstance(system_errors, (tuple, type)):
            self._is_system = lambda exc: isinstance(exc, system_errors)
        else:
            self._is_system = system_errors
        self.clock, self.listener, self.name = clock, listener, name
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._epoch = 0                # bumped on every transition: which calls speak for the state
        self._consecutive_failures = 0
        self._trial_successes = 0
        self._trials_in_flight = 0
        self._opened_at = 0.0
        self._counted = Counters()
        self._events: list[Transition] = []

    # -- the state machine (always under the lock) --------------------------------------
    def _move(self, to: BreakerState, now: float) -> None:
        event = Transition(now, self._state, to)
        self._state, self._epoch = to, self._epoch + 1
        self._consecutive_failures = self._trial_successes = self._trials_in_flight = 0
        if to is BreakerState.OPEN:
            self._opened_at = now
        self._events.append(event)
        if self.listener is not None:
            self.listener(event)  # runs under the lock: keep it quick, never call the breaker from it

    def _admit(self) -> int:
        with self._lock:
            now = self.clock()
            self._counted.calls += 1
            if self._state is BreakerState.OPEN:
                retry_at = self._opened_at + self.reset_timeout_s
                if now < retry_at:
                    self._counted.rejected += 1
                    raise CircuitOpenError(self.name, BreakerState.OPEN, now, retry_at,
                                           f"opened at t={self._opened_at:.3f}")
                self._move(BreakerState.HALF_OPEN, now)
            if self._state is BreakerState.HALF_OPEN:
                if self._trials_in_flight >= self.half_open_max_calls:
                    self._counted.rejected += 1
                    raise CircuitOpenError(self.name, BreakerState.HALF_OPEN, now, None,
                                           f"{self._trials_in_flight} trial call(s) in flight, "
                                           f"limit {self.half_open_max_calls}")
                self._trials_in_flight += 1
            return self._epoch

    def _finish(self, epoch: int, failed: bool, business: bool = False) -> None:
        with self._lock:
            if failed:
                self._counted.failures += 1
            elif business:
                self._counted.business_errors += 1
            else:
                self._counted.successes += 1
            if epoch != self._epoch:
                return  # admitted under an earlier state: counted, but it says nothing about this one
            now = self.clock()
            if self._state is BreakerState.HALF_OPEN:
                self._trials_in_flight -= 1
                if failed:
                    self._move(BreakerState.OPEN, now)
                else:
                    self._trial_successes += 1
                    if self._trial_successes >= self.success_threshold:
                        self._move(BreakerState.CLOSED, now)
            elif failed:
                self._consecutive_failures += 1
                if self._consecutive_failures >= self.failure_threshold:
                    self._move(BreakerState.OPEN, now)
            else:
                self._consecutive_failures = 0

    # -- public API ---------------------------------------------------------------------
    @contextmanager
    def guard(self) -> Iterator[None]:
        """``with breaker.guard(): ...`` — the block is the protected call."""
        epoch = self._admit()
        try:
            yield
        except BaseException as exc:
            system = self._is_system(exc)
            self._finish(epoch, failed=system, business=not system)
            raise
        self._finish(epoch, failed=False)

    def call(self, fn: Callable[..., T], /, *args, **kwargs) -> T:
        with self.guard():
            return fn(*args, **kwargs)

    def __call__(self, fn: Callable[..., T]) -> Callable[..., T]:
        """Use the breaker as a decorator: ``@breaker``."""
        @functools.wraps(fn)
        def protected(*args, **kwargs):
            return self.call(fn, *args, **kwargs)
        return protected

    def is_system_error(self, exc: BaseException) -> bool:
        return bool(self._is_system(exc))

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state

    @property
    def retry_at(self) -> float | None:
        """When an OPEN circuit lets the next trial through (clock time); None unless OPEN."""
        with self._lock:
            return self._opened_at + self.reset_timeout_s if self._state is BreakerState.OPEN else None

    @property
    def trials_in_flight(self) -> int:
        with self._lock:
            return self._trials_in_flight

    @property
    def counters(self) -> Counters:
        """A copy of the counters, read at one instant."""
        with self._lock:
            return replace(self._counted)

    @property
    def events(self) -> list[Transition]:
        with self._lock:
            return list(self._events)
