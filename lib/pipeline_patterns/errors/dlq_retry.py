"""The DLQ's retry policy: a retriable error (``TimeoutError``) retried with exponential backoff.

:func:`call_with_retries` returns the answer and how many retries it took, or raises
:class:`RetriesExhausted` (carrying the last error and the count) once ``max_retries``
retries have failed; any other exception propagates at once, unretried. The sleep is
injected, so tests run instantly and exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_s: float = 0.01
    max_backoff_s: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    """Injected so tests run instantly and exactly."""


class RetriesExhausted(Exception):
    def __init__(self, error: BaseException, retries: int) -> None:
        super().__init__(f"gave up after {retries} retries: {error}")
        self.error, self.retries = error, retries


def call_with_retries(fn: Callable[[], Any], policy: RetryPolicy) -> tuple[Any, int]:
    """``(fn(), retries needed)``; TimeoutError is retried with backoff, others propagate at once."""
    attempts = 0

    def attempt() -> Any:
        nonlocal attempts
        attempts += 1
        return fn()

    retrying = Retrying(retry=retry_if_exception_type(TimeoutError), stop=stop_after_attempt(policy.max_retries + 1),
                        wait=wait_exponential(multiplier=policy.backoff_s, max=policy.max_backoff_s),
                        sleep=policy.sleep, reraise=True)
    try:
        return retrying(attempt), attempts - 1
    except TimeoutError as exc:
        raise RetriesExhausted(exc, attempts - 1) from exc
