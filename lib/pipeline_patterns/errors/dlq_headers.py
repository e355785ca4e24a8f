"""The DLQ's record headers: names, reading one back, and the headers of a dead-lettered record.

Every output and DLQ record names its input position in the ``source`` header
(:data:`pipeline_patterns.kafka_client.SOURCE_HEADER`, ``topic:partition:offset``) and
the retries it needed in ``retry_count``; a re-driven record carries ``redriven_from``.
A DLQ record adds why it died (``reason``, ``error_type``, ``error_message``), where it
came from, and when (``failed_at``, UTC ISO 8601 — a naive time is refused).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline_patterns import kafka_client

SOURCE = kafka_client.SOURCE_HEADER
RETRY_COUNT, REDRIVEN_FROM = "retry_count", "redriven_from"
DLQ_HEADER_NAMES = ("reason", "error_type", "error_message", "source_topic", "source_partition", "source_offset",
                    SOURCE, RETRY_COUNT, "failed_at")
Headers = list[tuple[str, bytes]]
"""kafka-python's headers: a list of ``(str, bytes)`` pairs — names may repeat; no ``.get``."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def header(headers: Headers | None, name: str) -> bytes | None:
    """The last value of header ``name`` (Kafka allows repeats), or None."""
    found = None
    for key, value in headers or []:
        if key == name:
            found = value
    return found


def retry_count(headers: Headers | None) -> int:
    """The ``retry_count`` header as an int (0 when absent)."""
    raw = header(headers, RETRY_COUNT)
    if raw is None:
        return 0
    try:
        count = int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"header {RETRY_COUNT!r}: expected ASCII digits like b'2', found {raw!r:.40}") from None
    if count < 0:
        raise ValueError(f"header {RETRY_COUNT!r}: expected a count >= 0, found {count}")
    return count


def dlq_headers(*, reason: str, error: BaseException, topic: str, partition: int, offset: int, retries: int,
                failed_at: datetime, redriven_from: bytes | None = None) -> Headers:
    """The DLQ record's headers; ``failed_at`` must be timezone-aware (written as UTC ISO 8601)."""
    if failed_at.tzinfo is None or failed_at.utcoffset() is None:
        raise ValueError(f"failed_at must be timezone-aware, found naive {failed_at!r}; "
                         "use datetime.now(timezone.utc), not datetime.utcnow()")
    headers = [("reason", reason.encode()), ("error_type", type(error).__name__.encode()),
               ("error_message", str(error)[:1000].encode()), ("source_topic", topic.encode()),
               ("source_partition", str(partition).encode()), ("source_offset", str(offset).encode()),
               (SOURCE, kafka_client.source_position(topic, partition, offset)), (RETRY_COUNT, str(retries).encode()),
               ("failed_at", failed_at.astimezone(UTC).isoformat().encode())]
    return headers + ([(REDRIVEN_FROM, redriven_from)] if redriven_from is not None else [])
