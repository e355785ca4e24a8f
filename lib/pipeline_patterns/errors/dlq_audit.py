"""Independent accounting of a DLQ run: read input, output and DLQ back and match positions.

Nothing here trusts the processor's own counts. Every output and DLQ record names its
input position in the ``source`` header; duplicates (the at-least-once price after a
crash) share a position and are counted once. The run balanced when every input
position is in exactly one of output and DLQ:
``consumed = processed + dead-lettered`` with nothing missing and nothing in both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipeline_patterns import kafka_client
from pipeline_patterns.config import Settings
from pipeline_patterns.errors.dlq_headers import SOURCE, header


@dataclass
class DlqAccounting:
    """A DLQ run counted from the topics themselves: input, output and DLQ matched by source position."""

    consumed: int
    """Input records (positions) in the input topic."""
    processed: int
    """Distinct input positions in the output topic."""
    dead_lettered: dict[str, int]
    """Distinct input positions in the DLQ, per reason."""
    output_records: int
    dlq_records: int
    missing: list[bytes] = field(default_factory=list)
    """Input positions in neither topic: lost."""
    in_both: list[bytes] = field(default_factory=list)
    strays: int = 0
    """Output/DLQ positions that are not input positions (another input, or a bug)."""

    @property
    def dead(self) -> int:
        return sum(self.dead_lettered.values())

    @property
    def duplicates(self) -> int:
        """Records written more than once (removed by counting distinct positions)."""
        return self.output_records - self.processed + self.dlq_records - self.dead

    @property
    def balanced(self) -> bool:
        return (self.consumed == self.processed + self.dead and not self.missing and not self.in_both
                and not self.strays)

    def rows(self) -> dict[str, int]:
        """The figures as one flat mapping (a table row or a bar chart)."""
        return {"consumed": self.consumed, "processed": self.processed,
                **{f"dead: {reason}": n for reason, n in sorted(self.dead_lettered.items())},
                "duplicates removed": self.duplicates, "missing": len(self.missing)}


def committed_total(group: str, settings: Settings | None = None) -> int:
    """Input records the group has committed: a progress reading independent of the processor."""
    return sum(kafka_client.committed_offsets(group, settings=settings).values())


def positions_by_source(records: list) -> dict[bytes, list]:
    """Records grouped by their ``source`` header (the input position they came from)."""
    grouped: dict[bytes, list] = {}
    for record in records:
        source = header(record.headers, SOURCE)
        if source is None:
            raise ValueError(f"record {record.topic}:{record.partition}:{record.offset} has no {SOURCE!r} header; "
                             "expected every output and DLQ record to name its input position")
        grouped.setdefault(source, []).append(record)
    return grouped


def account(input_topic: str, output_topic: str, dlq_topic: str, settings: Settings | None = None) -> DlqAccounting:
    """Read all three topics to their current ends and match input positions."""
    inputs = {kafka_client.source_position(r.topic, r.partition, r.offset)
              for r in kafka_client.read_all(input_topic, settings)}
    output_records = kafka_client.read_all(output_topic, settings)
    dlq_records = kafka_client.read_all(dlq_topic, settings)
    processed, dead = positions_by_source(output_records), positions_by_source(dlq_records)
    reasons = Counter((header(records[0].headers, "reason") or b"(no reason header)").decode()
                      for records in dead.values())
    return DlqAccounting(
        consumed=len(inputs), processed=len(processed), dead_lettered=dict(reasons),
        output_records=len(output_records), dlq_records=len(dlq_records),
        missing=sorted(inputs - processed.keys() - dead.keys()), in_both=sorted(processed.keys() & dead.keys()),
        strays=len((processed.keys() | dead.keys()) - inputs),
    )
