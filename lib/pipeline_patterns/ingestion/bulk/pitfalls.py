"""The guide's ``BulkIngester``, translated to PostgreSQL, so that lesson 14 can run where it goes wrong.

* :func:`guide_overwrite` — ``mode="overwrite"`` as the guide writes it: ``TRUNCATE`` in its own
  statement, then one ``COPY`` per staged file, each committed on its own: a reader sees an empty
  table, then a partial one.
* :func:`guide_append` — no ledger: calling it again with the same files loads their rows again.
* :func:`continue_on_error` — ``ON_ERROR = 'CONTINUE'``: rows that fail are skipped and nothing
  records which (PostgreSQL 15 has no such option; this is what a loop with ``except: continue`` does).
* :func:`guide_statement` / :func:`visible_to_other_sessions` — credentials inline in SQL: the
  statement's text, key included, is what the server shows in ``pg_stat_activity`` (and logs on error).
* :func:`fstring_truncate` — an f-string identifier, which breaks on a legal table name.
* :func:`plain_copy` / :func:`on_error_option` — what PostgreSQL 15's own ``COPY`` does with a bad
  row (stops, names the line, loads nothing) and with the guide's option (does not know it).

Here only to be shown failing; the kit's versions are in :mod:`.warehouse` and :mod:`.rejects`.
"""

from __future__ import annotations

import contextlib
import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk.tables import TableSpec, copy_from_stdin, insert_row
from pipeline_patterns.ingestion.bulk.warehouse import copy_file


def guide_overwrite(files: Sequence[Path], target: str, spec: TableSpec,
                    pause: Callable[[str], object] = lambda point: None) -> None:
    """``TRUNCATE`` then ``COPY`` each file, every statement committed on its own (autocommit)."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE TABLE {}").format(sql.Identifier(target)))
        pause("truncated")
        for path in files:
            copy_file(conn, Path(path), target, spec)
            pause(f"copied {Path(path).name}")


def guide_append(files: Sequence[Path], target: str, spec: TableSpec) -> None:
    """``COPY`` each file into the target, with no record of what was loaded before."""
    with postgres.connect(autocommit=True) as conn:
        for path in files:
            copy_file(conn, Path(path), target, spec)


def continue_on_error(path: Path, target: str, spec: TableSpec) -> None:
    """Insert each CSV row (header first), skip every row PostgreSQL refuses, report nothing."""
    with postgres.connect() as conn, open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        statement = insert_row(target, spec)
        for record in reader:
            # The guide's ON_ERROR = 'CONTINUE': a savepoint per row rolls a refused row back, the
            # error is swallowed, and the row is gone — with its line and its reason.
            with contextlib.suppress(psycopg.errors.DataError, psycopg.errors.IntegrityError), conn.transaction():
                conn.execute(statement, [value if value != "" else None for value in record])
        conn.commit()


def guide_statement(table: str, secret: str) -> str:
    """The guide's stage statement with ``secret`` where its AWS key goes (a marker, not a credential)."""
    return (f"CREATE STAGE IF NOT EXISTS {table}_stage URL = 's3://bucket/staging/{table}' "
            f"CREDENTIALS = (AWS_KEY_ID='{secret}' AWS_SECRET_KEY='{secret}') FILE_FORMAT = (TYPE = 'PARQUET')")


def visible_to_other_sessions(statement: str) -> tuple[str, str]:
    """Run ``statement`` in one session; return its error and the text another session reads for it.

    PostgreSQL keeps each session's last statement in ``pg_stat_activity.query`` (readable by the
    same role and monitoring roles) and writes a failed one to the server log: inline keys leak.
    """
    with postgres.connect(autocommit=True) as runner, postgres.connect(autocommit=True) as monitor:
        try:
            runner.execute(statement.encode())
            error = "none"
        except psycopg.Error as exc:  # PostgreSQL has no stages: the statement fails, its text stays
            error = type(exc).__name__
        row = postgres.one_row(monitor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s",
                                               (runner.info.backend_pid,)))
        return error, row[0]


def fstring_truncate(table: str) -> None:
    """The guide's ``f"TRUNCATE TABLE {table_name}"``: fine for ``flights``, broken for ``Flights 2013``."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(f"TRUNCATE TABLE {table}".encode())


@dataclass(frozen=True)
class CopyStopped:
    """Where a plain ``COPY`` stopped: PostgreSQL's error, the file line it names, and the rows it left."""

    error: str
    message: str
    line: int | None
    context: str
    rows_in_target: int


def plain_copy(path: Path, target: str, spec: TableSpec) -> CopyStopped | None:
    """``COPY`` the CSV straight into the typed target; None if every row went in, else where it stopped."""
    stopped = None
    with postgres.connect() as conn:
        try:
            with conn.transaction(), conn.cursor() as cur, cur.copy(
                    copy_from_stdin(target, spec.names, "csv_header")) as copy:
                copy.write(Path(path).read_bytes())
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            context = exc.diag.context or ""
            line = re.search(r"line (\d+)", context)
            stopped = (type(exc).__name__, exc.diag.message_primary or str(exc), int(line.group(1)) if line else None,
                       context)
        rows = postgres.one_row(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(target))))[0]
    return None if stopped is None else CopyStopped(*stopped, rows_in_target=int(rows))


def on_error_option(target: str, spec: TableSpec) -> str:
    """What PostgreSQL 15 says to ``COPY ... (ON_ERROR ...)``: the option arrived in PostgreSQL 17."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, ON_ERROR ignore)").format(
        sql.Identifier(target), sql.SQL(", ").join(map(sql.Identifier, spec.names)))
    with postgres.connect() as conn:
        try:
            with conn.cursor() as cur, cur.copy(statement):
                pass
        except psycopg.errors.SyntaxError as exc:
            return f"{type(exc).__name__}: {exc.diag.message_primary}"
    return "accepted (PostgreSQL 17 or later)"
