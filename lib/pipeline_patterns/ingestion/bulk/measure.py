"""Timing a loader honestly: a fresh empty table, the load and its commit timed, the result read back.

Guarantee of :func:`measure`: the figure covers the loader and its ``COMMIT`` only (not the
``CREATE TABLE`` before, nor the conversion of the rows, done once for every loader), and it is
returned only if the table then holds exactly the rows given (count, key sum and an md5 of
every row read back by an independent query); otherwise :class:`LoadMismatch` is raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk.loaders import loader
from pipeline_patterns.ingestion.bulk.rates import LoadRun
from pipeline_patterns.ingestion.bulk.rows import RowSet
from pipeline_patterns.ingestion.bulk.tables import TableSpec, create_table, digest_query, drop_table


class LoadMismatch(AssertionError):
    """A loader left a table that does not hold the rows it was given."""


def table_digest(conn: psycopg.Connection, table: str, spec: TableSpec) -> tuple[int, int, str]:
    count, key_sum, md5 = postgres.one_row(conn.execute(digest_query(table, spec)))
    return int(count), int(key_sum), str(md5)


def fresh_table(conn: psycopg.Connection, table: str, spec: TableSpec, **ddl) -> None:
    conn.execute(drop_table(table))
    conn.execute(create_table(table, spec, **ddl))
    conn.commit()


def checked_run(conn: psycopg.Connection, name: str, rows: RowSet, table: str, seconds: float) -> LoadRun:
    digest = table_digest(conn, table, rows.spec)
    expected = (len(rows), int(rows.frame[rows.spec.key].sum()))
    if digest[:2] != expected:
        raise LoadMismatch(f"{name} into {table}: expected {expected[0]:,} rows with key sum {expected[1]:,}, "
                           f"found {digest[0]:,} rows with key sum {digest[1]:,}; the loader lost or doubled rows")
    return LoadRun(rows.name, name, len(rows), seconds, digest)


def timed_load(name: str, rows: RowSet, table: str, write: Callable[[psycopg.Connection], None],
               keep: bool = False) -> LoadRun:
    """A new ``table``, ``write`` timed (it loads ``rows`` into it and commits), the load checked;
    the table dropped unless ``keep``. Every loader, Spark's JDBC writer included, is measured here."""
    with postgres.connect() as conn:
        fresh_table(conn, table, rows.spec)
        start = time.perf_counter()
        write(conn)
        seconds = time.perf_counter() - start
        run = checked_run(conn, name, rows, table, seconds)
        if not keep:
            conn.execute(drop_table(table))
            conn.commit()
    return run


def measure(name: str, rows: RowSet, table: str, keep: bool = False) -> LoadRun:
    """Load ``rows`` into a new ``table`` with loader ``name``; the timed run, checked (dropped unless ``keep``)."""
    load = loader(name)

    def write(conn: psycopg.Connection) -> None:
        load(conn, table, rows)
        conn.commit()

    return timed_load(name, rows, table, write, keep)
