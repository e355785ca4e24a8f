"""One record's fate in the DLQ processor: processed (validated, enriched, transformed) or dead.

Classification comes first (retriable vs terminal). Terminal errors — bytes that are not
UTF-8, not JSON, or break the schema (:func:`~pipeline_patterns.errors.orders.validate`)
— are dead at once: retrying the same bytes gives the same answer. A retriable error —
the dependency timing out — is retried (:mod:`~pipeline_patterns.errors.dlq_retry`) and
is dead with reason :data:`DEPENDENCY_TIMEOUT` once the retries are spent. Any other
exception is a bug and propagates. A dead record keeps its original value; either way
the headers name the input position and the retries it took (and the re-drive lineage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import orders
from pipeline_patterns.errors.dlq_headers import (
    REDRIVEN_FROM,
    RETRY_COUNT,
    SOURCE,
    Headers,
    dlq_headers,
    header,
    utc_now,
)
from pipeline_patterns.errors.dlq_retry import RetriesExhausted, RetryPolicy, call_with_retries

DEPENDENCY_TIMEOUT = "dependency_timeout"


@dataclass(frozen=True)
class RecordDecision:
    """What the processor writes for one input record: to the DLQ (``dead``) or to the output."""

    dead: bool
    value: bytes | None
    headers: Headers
    reason: str | None = None
    retries: int = 0


def decide(record: Any, lookup: Callable[[str], int], policy: RetryPolicy,
           now: Callable[[], datetime] = utc_now) -> RecordDecision:
    """Validate, enrich and transform ``record`` (a ConsumerRecord), or say why it is dead.

    A DLQ decision carries the original value unchanged; the key is the caller's to keep.
    """
    redriven = header(record.headers, REDRIVEN_FROM)
    lineage = [(REDRIVEN_FROM, redriven)] if redriven is not None else []
    where = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    try:
        order = orders.validate(record.value)
        score, retries = call_with_retries(lambda: lookup(order["order_id"]), policy)
    except orders.InvalidRecord as exc:
        return RecordDecision(True, record.value, dlq_headers(reason=exc.reason, error=exc, **where, retries=0,
                                                              failed_at=now(), redriven_from=redriven), exc.reason)
    except RetriesExhausted as exc:
        return RecordDecision(True, record.value,
                              dlq_headers(reason=DEPENDENCY_TIMEOUT, error=exc.error, **where, retries=exc.retries,
                                          failed_at=now(), redriven_from=redriven),
                              DEPENDENCY_TIMEOUT, exc.retries)
    headers = [(SOURCE, kafka_client.source_position(**where)), (RETRY_COUNT, str(retries).encode()), *lineage]
    return RecordDecision(False, orders.transform(order, score), headers, retries=retries)
