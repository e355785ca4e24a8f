"""Bad rows reported, not dropped: a CSV through a text staging table into a typed target and a rejects table.

:func:`load_csv`, in **one transaction**: ``COPY`` the file into an ``UNLOGGED`` staging table
whose columns are all ``text`` (a type error cannot stop it) with each row's file line; compute
every row's first broken rule in SQL (:mod:`.rules`); insert the rows with none into the typed
target (cast) and the others into the rejects table with the file, the line and the reason (and
the row as JSON); check ``loaded + rejected == rows in the file`` (counted independently, by
Python's CSV reader) or roll back; commit.

Guarantee: every input row ends in exactly one of the two tables, and the counts are checked
before anything is visible. A plain ``COPY`` into the typed table stops at the first bad row
and loads nothing (PostgreSQL 15 has no ``ON_ERROR``); the guide's ``ON_ERROR = 'CONTINUE'``
loads the rest and forgets the bad ones. Assumes one record per line (no quoted newlines) so
that a record's number is its line; a row with too many or too few fields, or a header that
does not match the columns, stops the staging ``COPY`` with :class:`CsvShapeError`. A file is
loaded once: loading it again fails on the target's key (the warehouse load has a ledger).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk.rules import Rule, checks, sql_first_reason
from pipeline_patterns.ingestion.bulk.tables import TableSpec, checked_name, columns, copy_from_stdin, create_table


class CsvShapeError(ValueError):
    """The file's shape (fields per row, header) does not fit the table: no row was loaded."""


class AccountingError(AssertionError):
    """loaded + rejected != rows in the file: the load was rolled back."""


@dataclass(frozen=True)
class RejectReport:
    file: str
    input_rows: int
    loaded: int
    rejected: int
    reasons: dict[str, int]


def create_tables(target: str, rejects: str, spec: TableSpec, rules: Mapping[str, Rule]) -> None:
    """The typed target (NOT NULLs, the rules as CHECKs, the key) and the rejects table, if missing."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(create_table(target, spec, primary_key=True, if_not_exists=True,
                                  checks=checks(spec.columns, rules)))
        conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (file text NOT NULL, line bigint NOT NULL, "
                             "reason text NOT NULL, record jsonb NOT NULL, rejected_at timestamptz NOT NULL "
                             "DEFAULT now(), PRIMARY KEY (file, line))").format(sql.Identifier(checked_name(rejects))))


def count_records(path: Path) -> int:
    """Data rows in the CSV (its records minus the header), read by Python's CSV reader."""
    with open(path, newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def _stage(conn: psycopg.Connection, path: Path, stage: str, spec: TableSpec) -> None:
    conn.execute(create_table(stage, spec, unlogged=True, not_null=False, types=["text"] * len(spec.columns)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2)").format(
        sql.Identifier(stage)))
    try:
        with conn.cursor() as cur, cur.copy(copy_from_stdin(stage, spec.names, "csv_header")) as copy, \
                open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                copy.write(block)
    except (psycopg.errors.BadCopyFileFormat, psycopg.errors.InvalidParameterValue) as exc:
        raise CsvShapeError(f"{path} does not fit {len(spec.names)} text columns {spec.names} with a header "
                            f"naming them: {exc.diag.message_primary} ({exc.diag.context}). Fix the file's "
                            "header or the row's field count; no row was loaded.") from exc


def load_csv(path: Path, target: str, rejects: str, spec: TableSpec, rules: Mapping[str, Rule]) -> RejectReport:
    """Load a CSV file (with a header): valid rows into ``target``, the others into ``rejects`` with a reason."""
    path = Path(path)
    input_rows = count_records(path)
    stage = f"{target[:40]}_text_{uuid.uuid4().hex[:8]}"
    cols = columns(spec)
    casts = sql.SQL(", ").join(sql.SQL("{}::{}").format(sql.Identifier(c.name), sql.SQL(c.pg_type))
                               for c in spec.columns)
    with postgres.connect() as conn, conn.transaction():
        _stage(conn, path, stage, spec)
        loaded, rejected, staged = postgres.one_row(conn.execute(sql.SQL("""
            WITH checked AS MATERIALIZED (SELECT s.*, {reason} AS reason FROM {stage} AS s),
            good AS (INSERT INTO {target} ({cols}) SELECT {casts} FROM checked WHERE reason IS NULL RETURNING 1),
            bad AS (INSERT INTO {rejects} (file, line, reason, record)
                    SELECT %(file)s, line, reason, to_jsonb(checked) - 'line' - 'reason' FROM checked
                    WHERE reason IS NOT NULL RETURNING 1)
            SELECT (SELECT count(*) FROM good), (SELECT count(*) FROM bad), (SELECT count(*) FROM checked)""").format(
            reason=sql_first_reason(spec.columns, rules), stage=sql.Identifier(stage), target=sql.Identifier(target),
            cols=cols, casts=casts, rejects=sql.Identifier(rejects)), {"file": path.name}))
        if not loaded + rejected == staged == input_rows:
            raise AccountingError(f"{path.name}: {input_rows:,} rows in the file, {staged:,} staged, {loaded:,} "
                                  f"loaded + {rejected:,} rejected: rolled back, nothing changed")
        reasons: dict[str, int] = dict(conn.execute(sql.SQL(
            "SELECT reason, count(*) FROM {} WHERE file = %s GROUP BY reason ORDER BY count(*) DESC, reason").format(
            sql.Identifier(rejects)), (path.name,)).fetchall())
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))
    return RejectReport(path.name, input_rows, loaded, rejected, reasons)
