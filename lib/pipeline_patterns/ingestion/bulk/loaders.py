"""Every way a person loads rows into PostgreSQL from Python, each as one function over the same rows.

Each loader writes a :class:`~.rows.RowSet` into an existing, empty table on an open psycopg
connection and leaves the commit to the caller (:mod:`.measure` times load + commit):

* ``row_by_row`` — one ``INSERT`` per row: a network round trip, a parse and an executor
  start-up per row;
* ``executemany`` — psycopg 3's ``executemany``, which pipelines the ``INSERT``s (no wait per row);
* ``multi_values`` — ``INSERT ... VALUES (..), (..)`` with ``batch_rows`` rows per statement,
  numbered placeholders through ``RawCursor`` (composed once per batch size);
* ``pandas_to_sql`` — ``DataFrame.to_sql`` through SQLAlchemy's psycopg dialect (its own connection);
* ``copy_text`` / ``copy_binary`` — ``COPY ... FROM STDIN`` fed row by row with psycopg's
  ``Copy.write_row`` (binary with ``set_types``: no text formatting or parsing at all);
* ``copy_arrow_csv`` — ``COPY ... (FORMAT csv)`` of one buffer encoded by Arrow in C++: no
  Python per row (how :mod:`.warehouse` feeds staged Parquet files).

Guarantee: every loader lands exactly the rows it is given, NULLs, ``''`` and awkward text
included (the integration tests compare each table's digest with the others').
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import psycopg

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk.rows import RowSet
from pipeline_patterns.ingestion.bulk.tables import copy_from_stdin, insert_row, insert_values

MULTI_VALUES_ROWS = 100
"""Rows per multi-row INSERT: fastest of 100/500/1,000/2,000 flights rows here (2026-12, 2 cores)."""


def row_by_row(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    statement = insert_row(table, rows.spec)
    with conn.cursor() as cur:
        for row in rows.tuples:
            cur.execute(statement, row)


def executemany(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    with conn.cursor() as cur:
        cur.executemany(insert_row(table, rows.spec), rows.tuples)


def multi_values(conn: psycopg.Connection, table: str, rows: RowSet, batch_rows: int = MULTI_VALUES_ROWS) -> None:
    data = rows.tuples
    statements: dict[int, str] = {}
    with psycopg.RawCursor(conn) as cur:
        for start in range(0, len(data), batch_rows):
            chunk = data[start:start + batch_rows]
            if len(chunk) not in statements:  # the full batch once, and the last, shorter one
                statements[len(chunk)] = insert_values(table, rows.spec, len(chunk)).as_string(conn)
            cur.execute(statements[len(chunk)], [value for row in chunk for value in row])


def pandas_to_sql(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    """``to_sql(if_exists="append")`` on a SQLAlchemy engine whose connections come from the kit's settings.

    SQLAlchemy commits on its own connection: ``conn`` is not used (the caller's commit is a no-op).
    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine("postgresql+psycopg://", creator=postgres.connect, poolclass=NullPool)
    try:
        rows.frame.to_sql(table, engine, if_exists="append", index=False)
    finally:
        engine.dispose()


def copy_text(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    with conn.cursor() as cur, cur.copy(copy_from_stdin(table, rows.spec.names, "text")) as copy:
        for row in rows.tuples:
            copy.write_row(row)


def copy_binary(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    with conn.cursor() as cur, cur.copy(copy_from_stdin(table, rows.spec.names, "binary")) as copy:
        copy.set_types(rows.spec.pg_types)
        for row in rows.tuples:
            copy.write_row(row)


def arrow_csv(table: Any) -> bytes:
    """An Arrow table as CSV for ``COPY ... (FORMAT csv)``: every string quoted, a null empty and unquoted."""
    import pyarrow.csv as pa_csv

    out = io.BytesIO()
    pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False))
    return out.getvalue()


def copy_arrow_csv(conn: psycopg.Connection, table: str, rows: RowSet) -> None:
    with conn.cursor() as cur, cur.copy(copy_from_stdin(table, rows.spec.names, "csv")) as copy:
        copy.write(arrow_csv(rows.arrow))


Loader = Callable[[psycopg.Connection, str, RowSet], None]

LOADERS: dict[str, Loader] = {
    "row_by_row": row_by_row, "executemany": executemany, "multi_values": multi_values,
    "pandas_to_sql": pandas_to_sql, "copy_text": copy_text, "copy_binary": copy_binary,
    "copy_arrow_csv": copy_arrow_csv,
}
REFERENCE = "copy_binary"
"""The loader every other one is compared with: ``COPY`` through psycopg's copy API, binary."""


def loader(name: str) -> Loader:
    if name not in LOADERS:
        raise ValueError(f"unknown loader {name!r}; the loaders are {list(LOADERS)} (and Spark's JDBC writer, "
                         "measured by spark_jdbc.measure_jdbc)")
    return LOADERS[name]
