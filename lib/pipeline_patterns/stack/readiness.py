"""Which failures of a readiness check mean "not yet, poll again" and which mean "broken".

Refused connections, timeouts and :class:`NotReady` answers are polled again until the
deadline; anything else (a wrong config key, a bug) fails at once.
"""

from __future__ import annotations

import psycopg
import requests


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
