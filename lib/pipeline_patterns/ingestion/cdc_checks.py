"""Is the replica the source? Two independent reads compared row by row and by checksum.

The source is read with psycopg (values normalized to the form Debezium sends: numerics as
their exact decimal string, ``timestamptz`` as ISO-8601 UTC with microseconds), the replica
with Spark (its live rows). :func:`compare` lists missing, extra and differing keys, and a
SHA-256 over each side's sorted rows: equal checksums and no differing key mean equal tables.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from pyspark.sql import DataFrame


def debezium_form(value: Any) -> Any:
    """A PostgreSQL value as Debezium's JSON has it (``decimal.handling.mode=string``)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def source_rows(conn: psycopg.Connection, schema: str, table: str) -> list[dict[str, Any]]:
    cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
    names = [d.name for d in cur.description or []]
    return [{n: debezium_form(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]


def replica_rows(df: DataFrame) -> list[dict[str, Any]]:
    return [row.asDict() for row in df.collect()]


def checksum(rows: list[dict[str, Any]]) -> str:
    lines = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class TableDiff:
    table: str
    source_rows: int
    replica_rows: int
    missing: tuple  # keys at the source, not in the replica
    extra: tuple  # keys in the replica, not at the source
    differing: tuple  # keys in both, with other values
    source_checksum: str
    replica_checksum: str

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.differing) and self.source_checksum == self.replica_checksum


def compare(table: str, keys: tuple[str, ...], source: list[dict], replica: list[dict]) -> TableDiff:
    """Key by key, then whole: the replica's columns must be the source's (none more, none fewer)."""
    by_key_source = {tuple(r[k] for k in keys): r for r in source}
    by_key_replica = {tuple(r[k] for k in keys): r for r in replica}
    both = by_key_source.keys() & by_key_replica.keys()
    return TableDiff(
        table, len(source), len(replica),
        missing=tuple(sorted(by_key_source.keys() - by_key_replica.keys())),
        extra=tuple(sorted(by_key_replica.keys() - by_key_source.keys())),
        differing=tuple(sorted(k for k in both if by_key_source[k] != by_key_replica[k])),
        source_checksum=checksum(source), replica_checksum=checksum(replica))
