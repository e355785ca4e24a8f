"""The guide's warehouse load on real parts: staged Parquet -> UNLOGGED staging -> validate -> publish, one transaction.

:func:`load_staged`, in **one PostgreSQL transaction**:

1. locks the target against other loaders (``SHARE ROW EXCLUSIVE``: readers are not blocked)
   and asks the ledger (:mod:`.ledger`) what to do — a file the table holds already is skipped;
2. ``COPY``s each new file into an ``UNLOGGED`` staging table (no WAL for rows that are thrown
   away at commit), encoded as CSV by Arrow, without NOT NULLs so that validation can count them;
3. validates: the rows staged equal the rows in the files' footers, no NULL in a required
   column, no key twice, and (append) no key the target holds already; any failure raises
   :class:`StagedLoadRejected` and rolls everything back;
4. publishes: ``overwrite`` deletes the target's rows and inserts the staged ones, ``append``
   inserts; records the files in the ledger; drops the staging table; commits.

Guarantees: a concurrent reader sees the target before or after a load, never empty or half
loaded (PostgreSQL's MVCC: the delete and the inserts become visible at the one commit; the
guide's separate ``TRUNCATE`` commits an empty table first); a failed load changes nothing;
loading a file again is a no-op. ``DELETE`` rather than ``TRUNCATE`` inside the transaction:
``TRUNCATE`` would take an ``ACCESS EXCLUSIVE`` lock and make every reader wait for the whole
load (and it is not MVCC-safe for a reader's older snapshot); the price is dead rows for VACUUM.
Assumes the target has the spec's columns and a primary key on ``spec.key`` (:func:`create_target`).

``pause(point)`` is called at named points inside the transaction (``staged <file>``,
``cleared``, ``published``) so that a lesson can let a reader look at the table right there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk import ledger as ledgers
from pipeline_patterns.ingestion.bulk.loaders import arrow_csv
from pipeline_patterns.ingestion.bulk.staging import fingerprint, read_typed
from pipeline_patterns.ingestion.bulk.tables import TableSpec, columns, copy_from_stdin, create_table

Pause = Callable[[str], object]


class StagedLoadRejected(ValueError):
    """Staged rows failed validation; nothing was published and the ledger is unchanged."""


@dataclass(frozen=True)
class LoadReport:
    target: str
    mode: str
    loaded: tuple[str, ...]
    skipped: tuple[str, ...]
    rows_loaded: int
    rows_in_target: int
    seconds: float
    why: str


def create_target(target: str, spec: TableSpec, ledger: str) -> None:
    """The target table (with its primary key) and the ledger, created if missing."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(create_table(target, spec, primary_key=True, if_not_exists=True))
        conn.execute(ledgers.create_ledger(ledger))


def copy_file(conn: psycopg.Connection, path: Path, table: str, spec: TableSpec) -> None:
    """One Parquet file into ``table`` through ``COPY ... (FORMAT csv)``, encoded by Arrow."""
    with conn.cursor() as cur, cur.copy(copy_from_stdin(table, spec.names, "csv")) as copy:
        copy.write(arrow_csv(read_typed(path, spec)))


def problems(conn: psycopg.Connection, stage: str, target: str, spec: TableSpec, expected_rows: int,
             mode: str) -> list[str]:
    """What is wrong with the staged rows (empty when they may be published)."""
    required = [c.name for c in spec.columns if not c.nullable]
    key = sql.Identifier(spec.key)
    counts = sql.SQL(", ").join(sql.SQL("count(*) FILTER (WHERE {} IS NULL)").format(sql.Identifier(c))
                                for c in required)
    staged, distinct, *nulls = postgres.one_row(conn.execute(sql.SQL(
        "SELECT count(*), count(DISTINCT {}), {} FROM {}").format(key, counts, sql.Identifier(stage))))
    found = []
    if staged != expected_rows:
        found.append(f"staged {staged:,} rows, the files' footers say {expected_rows:,}")
    found += [f"{n:,} rows with no {c} (required)" for c, n in zip(required, nulls, strict=True) if n]
    if distinct != staged - nulls[required.index(spec.key)]:
        found.append(f"{staged - distinct:,} rows repeat a {spec.key} of another staged row")
    if mode == "append":
        clash = postgres.one_row(conn.execute(sql.SQL("SELECT count(*) FROM {} s JOIN {} t USING ({})").format(
            sql.Identifier(stage), sql.Identifier(target), key)))[0]
        if clash:
            found.append(f"{clash:,} staged rows have a {spec.key} the target holds already (loaded from "
                         "another file? overwrite, or stage only the new rows)")
    return found


def load_staged(files: Sequence[Path], target: str, spec: TableSpec, ledger: str, mode: str = "append",
                pause: Pause | None = None) -> LoadReport:
    """Load staged Parquet ``files`` into ``target`` (``append`` or ``overwrite``) in one transaction."""
    start = time.perf_counter()
    staged = [fingerprint(Path(p)) for p in files]
    paths: dict[str, Path] = {}
    for f, p in zip(staged, files, strict=True):
        paths.setdefault(f.sha256, Path(p))
    pause = pause or (lambda point: None)
    load_id = str(uuid.uuid4())
    stage = f"{target[:40]}_stage_{load_id[:8]}"
    with postgres.connect() as conn:
        with conn.transaction():
            conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(target)))
            plan = ledgers.plan_load(mode, staged, ledgers.read_history(conn, ledger, target))
            if plan.load:
                conn.execute(create_table(stage, spec, unlogged=True, not_null=False))
                for f in plan.load:
                    copy_file(conn, paths[f.sha256], stage, spec)
                    pause(f"staged {f.name}")
                found = problems(conn, stage, target, spec, sum(f.rows for f in plan.load), mode)
                if found:
                    raise StagedLoadRejected(f"{target}: not published, nothing changed — " + "; ".join(found))
                if plan.replace:
                    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(target)))
                    pause("cleared")
                conn.execute(sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM {s}").format(
                    t=sql.Identifier(target), c=columns(spec), s=sql.Identifier(stage)))
                pause("published")
                ledgers.record(conn, ledger, target, load_id, mode, plan.load)
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))
        rows_in_target = postgres.one_row(conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(target))))[0]
    return LoadReport(target, mode, tuple(f.name for f in plan.load), tuple(f.name for f in plan.skip),
                      sum(f.rows for f in plan.load), rows_in_target, time.perf_counter() - start, plan.why)
