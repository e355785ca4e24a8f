"""The native stack: Kafka (KRaft), Kafka Connect with Debezium, PostgreSQL, an optional
Spark standalone cluster and optional Airflow, as local processes bound to 127.0.0.1.

Guarantees: ``up`` returns only once every service answers a real request
(metadata, SQL, REST); ``up`` on a running stack is a no-op; ``down`` stops every
process the kit started and leaves no listener on the kit's ports.
"""


from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_patterns.stack.errors import StackError

if TYPE_CHECKING:
    from pipeline_patterns.stack.manager import Stack

__all__ = ["Stack", "StackError"]


def __getattr__(name: str):
    """``Stack`` on first use: a processor that only needs ``stack.processes`` (the one Popen)
    does not load the manager, every service module, psycopg and requests at start-up."""
    if name == "Stack":
        from pipeline_patterns.stack.manager import Stack

        return Stack
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
