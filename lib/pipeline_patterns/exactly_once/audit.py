"""Independent checks of delivery guarantees: count what a reader really sees.

The audits never ask the processor what it did. They read the output the way a
downstream consumer (or a SQL client) would and compare ids with the input.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient

from pipeline_patterns import kafka_client


@dataclass(frozen=True)
class Audit:
    expected: int
    seen: int
    distinct: int
    duplicates: int
    """Records seen more than once (seen - distinct)."""
    missing: int
    """Expected ids never seen."""
    unexpected: int
    """Ids seen that were never expected."""

    @property
    def exactly_once(self) -> bool:
        return self.duplicates == 0 and self.missing == 0 and self.unexpected == 0

    def __str__(self) -> str:
        return (f"expected {self.expected}, seen {self.seen}, distinct {self.distinct}, "
                f"duplicates {self.duplicates}, missing {self.missing}, unexpected {self.unexpected}")


def audit_ids(expected: Iterable[str], seen: Iterable[str]) -> Audit:
    """Compare the ids a reader saw with the ids that should be there exactly once."""
    expected_set = set(expected)
    counts = Counter(seen)
    seen_total = sum(counts.values())
    return Audit(
        expected=len(expected_set), seen=seen_total, distinct=len(counts),
        duplicates=seen_total - len(counts), missing=len(expected_set - counts.keys()),
        unexpected=len(counts.keys() - expected_set),
    )


def topic_event_ids(topic: str, isolation_level: str = "read_committed") -> list[str]:
    """Every ``event_id`` in ``topic`` as a reader with ``isolation_level`` sees it."""
    records = kafka_client.read_all(topic, isolation_level=isolation_level)
    return [json.loads(r.value)["event_id"] for r in records]


class CommittedProgress:
    """How far a consumer group has durably got on a topic: the sum of its committed offsets.

    Read through the admin API (one client kept open), so a test can poll it every few
    milliseconds to decide when to kill a processor.
    """

    def __init__(self, group_id: str, topic: str) -> None:
        self.group_id, self.topic = group_id, topic
        self._admin: KafkaAdminClient | None = None

    def __call__(self) -> int:
        if self._admin is None:
            self._admin = kafka_client.admin()
        return sum(kafka_client.committed_offsets(self.group_id, self.topic, admin_client=self._admin).values())

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
