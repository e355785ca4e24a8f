"""What else makes a load fast and safe, measured on the same rows: indexes, UNLOGGED, commits.

* :func:`indexes_before_vs_after` — ``COPY`` into a table that already has its primary key,
  CHECKs and secondary indexes, against ``COPY`` into a bare table and adding them afterwards
  (one sort per index instead of one index insert per row and index; the CHECKs in one
  ``ALTER TABLE``, validated in one scan — a CHECK costs about the same either way, the indexes
  are where "after" wins). Both end with the same table.
* :func:`logged_vs_unlogged` — the same ``COPY`` into a regular and an ``UNLOGGED`` table, with the
  WAL bytes each wrote (an unlogged table's rows are not in the WAL: fast, and empty after a crash
  — right for a staging table, wrong for the target).
* :func:`commit_every` — row-by-row ``INSERT`` committing after every row, every ``k`` rows, or once
  (each commit waits for its WAL to reach the disk: ``synchronous_commit = on``).

Each returns :class:`~.rates.LoadRun` figures (``dataset`` names the experiment, ``loader`` the
variant); the tables are dropped. Figures are printed and plotted, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk.loaders import copy_binary
from pipeline_patterns.ingestion.bulk.measure import checked_run, fresh_table
from pipeline_patterns.ingestion.bulk.rates import LoadRun
from pipeline_patterns.ingestion.bulk.rows import RowSet
from pipeline_patterns.ingestion.bulk.tables import drop_table, insert_row


def _index_statements(table: str, key: str, checks: Sequence[sql.Composable],
                      indexes: Sequence[Sequence[str]]) -> list[sql.Composed]:
    """The key and every CHECK in one ``ALTER TABLE`` (one scan to validate them all), then each index."""
    t = sql.Identifier(table)
    constraints = [sql.SQL("ADD PRIMARY KEY ({})").format(sql.Identifier(key))]
    constraints += [sql.SQL("ADD CHECK ({})").format(c) for c in checks]
    return ([sql.SQL("ALTER TABLE {} {}").format(t, sql.SQL(", ").join(constraints))]
            + [sql.SQL("CREATE INDEX ON {} ({})").format(t, sql.SQL(", ").join(map(sql.Identifier, cols)))
               for cols in indexes])


def indexes_before_vs_after(rows: RowSet, prefix: str, checks: Sequence[sql.Composable] = (),
                            indexes: Sequence[Sequence[str]] = ()) -> list[LoadRun]:
    """``COPY`` with the key, ``checks`` and ``indexes`` in place, vs ``COPY`` then build them (one commit each)."""
    runs = []
    with postgres.connect() as conn:
        for variant in ("before", "after"):
            table = f"{prefix}_{variant}"
            fresh_table(conn, table, rows.spec)
            ddl = _index_statements(table, rows.spec.key, checks, indexes)
            start = time.perf_counter()
            for statement in ddl if variant == "before" else []:
                conn.execute(statement)
            copy_binary(conn, table, rows)
            for statement in ddl if variant == "after" else []:
                conn.execute(statement)
            conn.commit()
            runs.append(checked_run(conn, f"indexes {variant} the load", rows, table, time.perf_counter() - start))
            conn.execute(drop_table(table))
            conn.commit()
    return [LoadRun("indexes", r.loader, r.rows, r.seconds, r.digest) for r in runs]


def _wal_lsn(conn) -> int:
    return int(postgres.one_row(conn.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn"))[0])


def logged_vs_unlogged(rows: RowSet, prefix: str) -> tuple[list[LoadRun], dict[str, int]]:
    """The same ``COPY`` into a logged and an ``UNLOGGED`` table: the runs and the WAL bytes written during each."""
    runs, wal = [], {}
    with postgres.connect() as conn:
        for variant, unlogged in (("logged", False), ("unlogged", True)):
            table = f"{prefix}_{variant}"
            fresh_table(conn, table, rows.spec, unlogged=unlogged)
            lsn, start = _wal_lsn(conn), time.perf_counter()
            copy_binary(conn, table, rows)
            conn.commit()
            seconds = time.perf_counter() - start
            wal[variant] = _wal_lsn(conn) - lsn  # the whole server's WAL: other sessions' writes count too
            run = checked_run(conn, variant, rows, table, seconds)
            runs.append(LoadRun("staging table", variant, run.rows, run.seconds, run.digest))
            conn.execute(drop_table(table))
            conn.commit()
    return runs, wal


def commit_every(rows: RowSet, prefix: str, every: Sequence[int | None] = (1, 100, None)) -> list[LoadRun]:
    """Row-by-row ``INSERT``, committing after every ``k`` rows (None: once, at the end)."""
    runs = []
    with postgres.connect() as conn:
        for k in every:
            table = f"{prefix}_{k or 'once'}"
            fresh_table(conn, table, rows.spec)
            statement = insert_row(table, rows.spec)
            start = time.perf_counter()
            with conn.cursor() as cur:
                for i, row in enumerate(rows.tuples, start=1):
                    cur.execute(statement, row)
                    if k and i % k == 0:
                        conn.commit()
            conn.commit()
            label = "one transaction" if k is None else f"commit every {k:,} row{'s' if k > 1 else ''}"
            run = checked_run(conn, label, rows, table, time.perf_counter() - start)
            runs.append(LoadRun("commits", label, run.rows, run.seconds, run.digest))
            conn.execute(drop_table(table))
            conn.commit()
    return runs
