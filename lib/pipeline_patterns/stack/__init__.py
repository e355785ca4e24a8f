"""The native stack: Kafka (KRaft), Kafka Connect with Debezium, PostgreSQL and an
optional Spark standalone cluster, as local processes bound to 127.0.0.1.

Guarantees: ``up`` returns only once every service answers a real request
(metadata, SQL, REST); ``up`` on a running stack is a no-op; ``down`` stops every
process the kit started and leaves no listener on the kit's ports.
"""

from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.manager import Stack

__all__ = ["Stack", "StackError"]
