"""Wait for a condition with a deadline (tenacity), never a bare sleep."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def wait_until(check: Callable[[], T | None], timeout_s: float, what: str, interval_s: float = 0.5) -> T:
    """Call ``check`` until it returns something truthy; return that, or raise TimeoutError.

    Exceptions from ``check`` propagate at once: a failure is not a "not yet".
    """
    retrying = Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(interval_s),
                        retry=retry_if_result(lambda result: not result))
    try:
        return cast(T, retrying(check))  # truthy, so not None: retry_if_result retried every falsy result
    except RetryError:
        raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}") from None
