"""The SQL work of a generated ETL DAG: copy ``source`` into ``destination`` within one PostgreSQL schema.

``extract`` checks that the source exists and counts it; ``transform`` rebuilds ``<destination>_stage``
as the source's rows with the pipeline's transformations applied in SQL (an expression replacing a
column, or a filter; see :data:`~pipeline_patterns.orchestration.dag_factory.TRANSFORMATIONS`);
``load`` replaces the destination's rows by the stage's (``DELETE`` then ``INSERT … SELECT``) in one
transaction.

Guarantee: each run is a full refresh, so the run's rows are all of the source's and a rerun of any
step, or of the whole run, leaves the destination with the same rows; a reader sees the old rows or
the new, never none or both. Every identifier is composed with :mod:`psycopg.sql` and every value
bound. Assumes one run per pipeline and schema at a time (the DAGs set ``max_active_runs=1``): two
runs at once would share the stage table.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from pipeline_patterns.orchestration.dag_factory import TRANSFORMATIONS
from pipeline_patterns.postgres import connect, one_row


def stage_name(destination: str) -> str:
    return f"{destination}_stage"


def schema_from_conf(conf: Any) -> str:
    """The schema a run copies in, from its conf; a ValueError saying how to trigger it otherwise."""
    schema = conf.get("schema") if isinstance(conf, dict) else None
    if not isinstance(schema, str) or not schema:
        raise ValueError(f'expected the run\'s conf to name its PostgreSQL schema, {{"schema": "<name>"}}, found '
                         f"{conf!r}: trigger the DAG with that conf (a scheduled run has none)")
    return schema


def select_transformed(schema: str, source: str, columns: list[str], steps: list[str]) -> sql.Composed:
    """``SELECT`` of the source's ``columns`` in order, each step's expression or filter applied."""
    unknown = [s for s in steps if s not in TRANSFORMATIONS]
    if unknown:
        raise ValueError(f"unknown transformations {unknown}; allowed: {', '.join(TRANSFORMATIONS)}")
    chosen = [TRANSFORMATIONS[s] for s in steps]
    expressions = {t.column: t for t in chosen if t.kind == "expression"}
    filters = [t for t in chosen if t.kind == "filter"]
    missing = sorted({t.column for t in [*expressions.values(), *filters]} - set(columns))
    if missing:
        raise ValueError(f"the transformations {steps} need the columns {missing} in {schema}.{source}, which has "
                         f"{columns}: add the columns or drop those transformations from the pipeline's entry")
    items: list[sql.Composable] = []
    for column in columns:
        if column in expressions:
            value: sql.Composable = sql.SQL(expressions[column].template).format(sql.Identifier(column))
            items.append(sql.SQL("{} AS {}").format(value, sql.Identifier(column)))
        else:
            items.append(sql.Identifier(column))
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(items), sql.Identifier(schema, source))
    if filters:
        conditions = [sql.SQL(f.template).format(sql.Identifier(f.column)) for f in filters]
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(conditions))
    return query


def stage_statements(schema: str, source: str, destination: str, columns: list[str],
                     steps: list[str]) -> list[sql.Composed]:
    """Rebuild the stage table: the source's columns, the transformed rows."""
    stage = sql.Identifier(schema, stage_name(destination))
    return [sql.SQL("DROP TABLE IF EXISTS {}").format(stage),
            sql.SQL("CREATE TABLE {} (LIKE {})").format(stage, sql.Identifier(schema, source)),
            sql.SQL("INSERT INTO {} ({}) {}").format(stage, sql.SQL(", ").join(map(sql.Identifier, columns)),
                                                     select_transformed(schema, source, columns, steps))]


def load_statements(schema: str, destination: str, columns: list[str]) -> list[sql.Composed]:
    """Create the destination like the stage if new, then replace its rows by the stage's (run in one transaction)."""
    stage, target = sql.Identifier(schema, stage_name(destination)), sql.Identifier(schema, destination)
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    return [sql.SQL("CREATE TABLE IF NOT EXISTS {} (LIKE {})").format(target, stage),
            sql.SQL("DELETE FROM {}").format(target),
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(target, names, names, stage)]


def columns_of(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    """The table's columns in order; a LookupError naming the schema and table if it does not exist."""
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = %s ORDER BY ordinal_position", (schema, table)).fetchall()
    if not rows:
        raise LookupError(f"expected a table {schema}.{table}, found none: create it in schema {schema!r}, or fix "
                          "the pipeline's entry or the run's conf")
    return [row[0] for row in rows]


def extract(schema: str, source: str) -> dict:
    """The source's columns and row count (the check that there is something to copy)."""
    with connect(autocommit=True) as conn:
        columns = columns_of(conn, schema, source)
        rows = one_row(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, source))))[0]
    return {"schema": schema, "source": source, "columns": columns, "rows": rows}


def transform(schema: str, source: str, destination: str, steps: list[str]) -> dict:
    """Rebuild ``<destination>_stage`` with the transformed rows, in one transaction."""
    with connect(autocommit=True) as conn:
        columns = columns_of(conn, schema, source)
        with conn.transaction():
            *_, insert = [conn.execute(statement) for statement in
                          stage_statements(schema, source, destination, columns, steps)]
    return {"schema": schema, "stage": stage_name(destination), "rows": insert.rowcount}


def load(schema: str, destination: str) -> dict:
    """Replace the destination's rows by the stage's in one transaction (a rerun gives the same rows)."""
    with connect(autocommit=True) as conn:
        columns = columns_of(conn, schema, stage_name(destination))
        with conn.transaction():
            _, deleted, inserted = [conn.execute(statement) for statement in load_statements(schema, destination,
                                                                                             columns)]
    return {"schema": schema, "destination": destination, "deleted": deleted.rowcount, "inserted": inserted.rowcount}


def copy_table(schema: str, source: str, destination: str, steps: list[str]) -> dict:
    """All three steps in one call (the fan-out DAG's mapped task, a lesson without Airflow)."""
    extracted = extract(schema, source)
    staged = transform(schema, source, destination, steps)
    loaded = load(schema, destination)
    return {"source": source, "destination": destination, "extracted": extracted["rows"], "staged": staged["rows"],
            "loaded": loaded["inserted"]}
