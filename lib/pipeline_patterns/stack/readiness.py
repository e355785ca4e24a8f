"""Waiting for a started service to be ready: its real request answered, within a deadline.

Refused connections, timeouts and :class:`NotReady` answers are polled again until the
deadline; anything else (a wrong config key, a bug) fails at once. A service whose
process exits while starting, or that misses the deadline, is a StackError with the
end of its log.
"""

from __future__ import annotations

import psycopg
import requests
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import PidFiles, ProcessState, tail
from pipeline_patterns.stack.service import Service

READY_DEADLINE_S = 180.0


class NotReady(Exception):
    """The service answered, but is not ready yet (polled again until the deadline)."""


def is_transient(exc: BaseException) -> bool:
    """Errors worth polling again: refused connections, timeouts, "not yet" answers.

    Anything else (a wrong config key, a bug) fails at once instead of after the deadline.
    """
    import kafka.errors

    if isinstance(exc, (NotReady, OSError, requests.RequestException, psycopg.OperationalError,
                        kafka.errors.KafkaConnectionError, kafka.errors.KafkaTimeoutError)):
        return True
    return isinstance(exc, kafka.errors.KafkaError) and bool(getattr(exc, "retriable", False))


def wait_ready(service: Service, ctx: Context, pids: PidFiles) -> None:
    """Poll ``service.check_ready`` every 0.5 s until it passes, for at most :data:`READY_DEADLINE_S`."""

    def attempt() -> None:
        if pids.state(service.name) is ProcessState.CRASHED:
            record = pids.read(service.name)
            assert record is not None  # CRASHED: its pid file names a process that is gone
            raise StackError(f"{service.name} exited while starting. Last lines of {record.log}:\n"
                             f"{tail(record.log)}")
        service.check_ready(ctx)

    try:
        for attempt_ctx in Retrying(stop=stop_after_delay(READY_DEADLINE_S), wait=wait_fixed(0.5),
                                    retry=retry_if_exception(is_transient), reraise=True):
            with attempt_ctx:
                attempt()
    except Exception as exc:
        if not is_transient(exc):
            raise
        record = pids.read(service.name)
        raise StackError(
            f"{service.name} did not become ready within {READY_DEADLINE_S:.0f}s "
            f"(last error: {exc}). Last lines of {record.log if record else 'its log'}:\n"
            f"{tail(record.log) if record else ''}"
        ) from exc
