"""Re-drive: fix dead-lettered records and replay them into the main topic, idempotently.

Every replayed record carries ``redriven_from = topic:partition:offset`` of the input
record that was dead-lettered. Before sending, the tool reads the target topic's headers
and skips every position already there, so running it again sends nothing new — and a
re-drive killed half-way resumes where it stopped. The marker travels *in* the replayed
record, so there is no window between "sent" and "marked" (a separate ledger topic would
need a second write, and a crash between the two would replay a record twice).

Guarantee: each DLQ position is replayed at most once per target topic, as long as one
re-drive runs at a time (two concurrent runs could both miss each other's records).
Costs a read of the target topic; for a long-lived topic, keep a compacted ledger keyed
by position instead and accept (or dedupe) the rare double after a crash.

``fix(original_value) -> bytes | None``: the bytes to replay, or None to leave the record
in the DLQ (counted as unfixable).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass

import click

from pipeline_patterns import kafka_client
from pipeline_patterns.config import Settings
from pipeline_patterns.errors.dlq_headers import REDRIVEN_FROM, SOURCE, header

Fix = Callable[[bytes | None], bytes | None]


@dataclass
class RedriveReport:
    dlq_records: int = 0
    distinct: int = 0
    """DLQ records after dropping duplicates of one input position."""
    not_selected: int = 0
    """Reasons the caller did not ask to re-drive."""
    already_redriven: int = 0
    unfixable: int = 0
    sent: int = 0


def redriven_positions(target_topic: str, settings: Settings | None = None) -> set[bytes]:
    """Positions already replayed into ``target_topic`` (its records' ``redriven_from`` headers)."""
    return {marker for r in kafka_client.read_all(target_topic, settings)
            if (marker := header(r.headers, REDRIVEN_FROM)) is not None}


def redrive(dlq_topic: str, target_topic: str, fix: Fix, reasons: Collection[str] | None = None,
            settings: Settings | None = None) -> RedriveReport:
    """Replay the DLQ's records (optionally only ``reasons``) through ``fix`` into ``target_topic``."""
    done = redriven_positions(target_topic, settings)
    report, seen, futures = RedriveReport(), set(), []
    producer = kafka_client.producer(settings)
    try:
        for record in kafka_client.read_all(dlq_topic, settings):
            report.dlq_records += 1
            source = header(record.headers, SOURCE)
            if source is None:
                raise ValueError(f"DLQ record {record.topic}:{record.partition}:{record.offset} has no {SOURCE!r} "
                                 "header; re-drive needs each record's input position to stay idempotent")
            if source in seen:
                continue
            seen.add(source)
            reason = (header(record.headers, "reason") or b"").decode()
            if reasons is not None and reason not in reasons:
                report.not_selected += 1
                continue
            if source in done:
                report.already_redriven += 1
                continue
            fixed = fix(record.value)
            if fixed is None:
                report.unfixable += 1
                continue
            futures.append(producer.send(target_topic, key=record.key, value=fixed,
                                         headers=[(REDRIVEN_FROM, source), ("redrive_reason", reason.encode())]))
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        report.sent = len(futures)
    finally:
        producer.close(timeout=10)
    report.distinct = len(seen)
    return report


def _import_fix(path: str) -> Fix:
    module, _, name = path.partition(":")
    if not name:
        raise click.BadParameter(f"expected module:function, e.g. pipeline_patterns.errors.orders:repair; got {path!r}")
    return getattr(importlib.import_module(module), name)


@click.command()
@click.option("--dlq", "dlq_topic", required=True)
@click.option("--target", "target_topic", required=True, help="Usually the processor's input topic.")
@click.option("--fix", "fix_path", default="pipeline_patterns.errors.orders:repair", show_default=True,
              help="module:function taking the original bytes, returning fixed bytes or None.")
@click.option("--reason", "reasons", multiple=True, help="Only these DLQ reasons (repeatable); default all.")
def main(dlq_topic: str, target_topic: str, fix_path: str, reasons: tuple[str, ...]) -> None:
    """Replay fixed DLQ records into TARGET; already re-driven positions are skipped."""
    report = redrive(dlq_topic, target_topic, _import_fix(fix_path), reasons=set(reasons) or None)
    click.echo(json.dumps(asdict(report)))


if __name__ == "__main__":
    main()
