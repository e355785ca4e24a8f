"""The guide's ``idempotent_etl`` as written, the parts lesson 15 runs to show where it goes wrong.

* :func:`old_form_errors`: its Airflow 2 forms (``days_ago``, ``schedule_interval``, ``provide_context``,
  ``execution_date``) and what Airflow 3 answers to each;
* :func:`guide_query`: its f-string SQL, which a date string from a run's conf turns into "every row";
* :func:`extract_rows`: its ``extract`` returning the day's rows, which XCom then stores in Airflow's metadata DB;
* :func:`load_in_two_statements`: its "delete and reinsert" as two statements with no transaction around them,
  inserting row by row: a reader sees the day vanish and refill, and a ``kill -9`` in between leaves it empty
  until a retry.

Not a pattern to copy: ``idempotent_etl`` is the corrected version.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.orchestration.kill_window import hold_here


def old_form_errors() -> dict[str, str]:
    """Each Airflow 2 form of the guide's DAG, tried on the installed Airflow 3: the error it gives."""
    from airflow.providers.standard.operators.python import (  # type: ignore[import-not-found, unused-ignore]
        PythonOperator,
    )
    from airflow.sdk import DAG  # type: ignore[import-not-found, unused-ignore]
    from airflow.sdk.definitions.context import KNOWN_CONTEXT_KEYS  # type: ignore[import-not-found, unused-ignore]

    errors: dict[str, str] = {}
    start = datetime(2024, 1, 1, tzinfo=UTC)
    try:
        from airflow.utils.dates import days_ago  # type: ignore[attr-defined, import-not-found, unused-ignore]  # noqa: F401
    except ImportError as exc:
        errors["from airflow.utils.dates import days_ago"] = f"{type(exc).__name__}: {str(exc).split(' (')[0]}"
    try:
        DAG(dag_id="guide_schedule_interval", schedule_interval="@daily", start_date=start)  # type: ignore[call-arg, unused-ignore]
    except TypeError as exc:
        errors['DAG(..., schedule_interval="@daily")'] = f"TypeError: {exc}"
    try:
        with DAG(dag_id="guide_provide_context", schedule=None, start_date=start):
            PythonOperator(task_id="process", python_callable=print, provide_context=True)
    except TypeError as exc:
        errors["PythonOperator(..., provide_context=True)"] = "TypeError: " + " ".join(str(exc).split())
    if "execution_date" not in KNOWN_CONTEXT_KEYS:
        errors["def extract(execution_date=None)"] = (
            "no error, worse: 'execution_date' is not in Airflow 3's context, so the task gets None and fails on "
            "None.strftime; use data_interval_start / data_interval_end (or logical_date)")
    return errors


def guide_query(schema: str, date_str: str) -> str:
    """The guide's extract query: the date pasted into the SQL text (do not run this with untrusted input)."""
    return f"SELECT * FROM {schema}.sales WHERE DATE(created_at) = '{date_str}'"  # the pitfall: SQL pasted together


def rows_of(query: str) -> int:
    """How many rows a query returns (to show what the f-string query leaks)."""
    with postgres.connect(autocommit=True) as conn:
        return len(conn.execute(query.encode()).fetchall())


def extract_rows(schema: str, start: datetime, end: datetime) -> list[list[int]]:
    """The guide's extract: the day's rows as the task's return value, so XCom stores them all."""
    with postgres.connect(autocommit=True) as conn:
        rows = conn.execute(sql.SQL("SELECT sale_id, customer_id, amount_cents FROM {}.sales WHERE created_at >= %s "
                                    "AND created_at < %s ORDER BY sale_id").format(sql.Identifier(schema)),
                            (start, end)).fetchall()
    return [list(r) for r in rows]


def load_in_two_statements(schema: str, day: date, rows: list[tuple[int, int, int]], run_id: str,
                           hold: dict | None = None, try_number: int = 1) -> int:
    """The guide's load: ``DELETE`` then ``insert_data`` as separate statements, each committed on its own."""
    target = sql.Identifier(schema, "daily_revenue")
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DELETE FROM {} WHERE day = %s").format(target), (day,))
        hold_here(hold, try_number)
        insert = sql.SQL("INSERT INTO {} (day, customer_id, sales, revenue_cents, loaded_by) "
                         "VALUES (%s, %s, %s, %s, %s)").format(target)
        for customer, sales, revenue in rows:
            conn.execute(insert, (day, customer, sales, revenue, run_id))
    return len(rows)
