"""Lesson 12's load: paced callers and a stampede, each call timed and classified as the caller saw it.

:func:`run_load` runs ``workers`` threads that each start one call per interval;
:func:`at_once` releases one thread per key together (a barrier). Every call becomes a
:class:`CallOutcome` — ``ok``, ``business`` (a 404), ``system`` (a timeout, a refusal) or
``rejected`` (a breaker said no) — and an exception of any other kind is re-raised once
the threads are done: the lesson never hides an error it did not expect.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pybreaker

from pipeline_patterns.errors.circuit_breaker import CircuitOpenError
from pipeline_patterns.errors.fakes.flaky_service import CATALOGUE, PriceNotFound
from pipeline_patterns.errors.pitfalls import GuideCircuitOpenError

RESULTS = ("ok", "business", "system", "rejected")
# pybreaker's CircuitBreakerError is a rejection only with throw_new_error_on_trip=False; by
# default the call that trips the breaker raises it too, although that call reached the service.
REJECTIONS: tuple[type[BaseException], ...] = (CircuitOpenError, GuideCircuitOpenError, pybreaker.CircuitBreakerError)


@dataclass(frozen=True)
class CallOutcome:
    """One call as its caller saw it."""

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
                outcomes: list[CallOutcome], unexpected: list[BaseException], lock: threading.Lock) -> None:
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
        outcomes.append(CallOutcome(start, clock(), worker, key, result, detail))


def _run_threads(target: Callable[[int], None], workers: int, outcomes: list,
                 unexpected: list) -> list[CallOutcome]:
    threads = [threading.Thread(target=target, args=(w,), name=f"load-{w}") for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if unexpected:
        raise unexpected[0]
    return sorted(outcomes, key=lambda o: o.start)


def run_load(call: Callable[[object], object], keys: Iterable, *, workers: int = 1, interval_s: float = 0.0,
             duration_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> list[CallOutcome]:
    """``workers`` threads take keys in turn and ``call(key)``, each starting one call per ``interval_s``.

    Stops when the keys run out or, with ``duration_s``, when no call should start any more.
    """
    source, lock = iter(keys), threading.Lock()
    outcomes: list[CallOutcome] = []
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
            clock: Callable[[], float] = time.monotonic) -> list[CallOutcome]:
    """One thread per key, released together by a barrier: a stampede of callers."""
    barrier, lock = threading.Barrier(len(keys)), threading.Lock()
    outcomes: list[CallOutcome] = []
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


def tally(outcomes: Iterable[CallOutcome]) -> dict[str, int]:
    """Calls per result, every result of :data:`RESULTS` present."""
    counts = dict.fromkeys(RESULTS, 0)
    for o in outcomes:
        counts[o.result] += 1
    return counts
