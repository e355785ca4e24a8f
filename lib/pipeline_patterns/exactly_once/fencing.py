"""Zombie fencing: a second producer with the same ``transactional_id`` fences the first.

Guarantee: once an instance has called ``init_transactions`` with a ``transactional_id``,
an older instance with the same id (a "zombie": paused by GC, partitioned, presumed dead
and replaced) can no longer commit. Its open transaction is aborted, so its writes are
never visible to ``read_committed`` readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka.errors import KafkaError

from pipeline_patterns import kafka_client


@dataclass(frozen=True)
class FencingResult:
    zombie_error: str | None
    """The error the old instance got when it tried to commit (None: it was not fenced)."""
    read_committed: list[str]
    read_uncommitted: list[str]


def zombie_is_fenced(topic: str, transactional_id: str) -> FencingResult:
    """Start instance A, write in a transaction, start B with the same id, let A try to commit."""
    zombie = kafka_client.producer(transactional_id=transactional_id)
    zombie.init_transactions()
    zombie.begin_transaction()
    zombie.send(topic, b"written by the zombie").get(timeout=30)

    successor = kafka_client.producer(transactional_id=transactional_id)
    successor.init_transactions()  # bumps the epoch: the zombie's transaction is aborted
    try:
        zombie.commit_transaction()
        zombie_error = None
    except KafkaError as exc:
        zombie_error = type(exc).__name__
    finally:
        zombie.close(timeout=5)
    successor.begin_transaction()
    successor.send(topic, b"written by the successor")
    successor.commit_transaction()
    successor.close()
    return FencingResult(
        zombie_error=zombie_error,
        read_committed=[r.value.decode() for r in kafka_client.read_all(topic, isolation_level="read_committed")],
        read_uncommitted=[r.value.decode() for r in kafka_client.read_all(topic, isolation_level="read_uncommitted")],
    )
