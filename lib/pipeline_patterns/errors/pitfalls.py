"""The guide's error-handling code as written, kept so lesson 12 can run it and show its pitfalls.

:class:`GuideCircuitBreaker` is the guide's snippet kept as it is — only renamed ``Guide*``
and given the ``CircuitOpenError`` it raises but never defines — so the lesson can run it
against the same service as :class:`~pipeline_patterns.errors.circuit_breaker.CircuitBreaker`
and show its three faults: wall-clock ``datetime.now()`` (a clock step moves its reset
timeout), HALF_OPEN letting every caller through (a stampede on a recovering service), and
every exception — a 404 too — counting as a failure. No guarantee: this is the
counter-example. (The guide's DLQ order — commit before the sends are acknowledged — is
``DlqProcessorConfig(commit_before_ack=True)`` in :mod:`pipeline_patterns.errors.dlq`.)

The wall clock is this module's ``datetime``: an experiment that steps it patches
``pipeline_patterns.errors.pitfalls.datetime``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


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
