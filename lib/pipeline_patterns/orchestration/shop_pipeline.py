"""Lesson 16's pipeline: an upstream DAG that lands a day of shop data, and downstream reporting DAGs that wait for it.

The tasks are small but real: the upstream marks the day landed in PostgreSQL (``upstream_days``), the extract
tasks read it, and ``load`` writes one reporting row per day and pipeline (``reporting``). Every write is an upsert
keyed by day (and pipeline), so a rerun changes nothing. One schema per lesson run (``l16_<suffix>``), named in
the run's conf — or, for the Asset-scheduled DAG, in the extra of the Asset event that triggered it.
"""

from __future__ import annotations

from datetime import date

from psycopg import sql

from pipeline_patterns import postgres

ORDERS_ASSET = "lesson16_shop_orders"
"""The Asset the upstream's ``final_task`` produces and ``shop_reporting_on_asset`` is scheduled on."""
UPSTREAM_DAG, UPSTREAM_TASK = "shop_upstream", "final_task"


def create(schema: str) -> None:
    s = sql.Identifier(schema)
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.upstream_days (day date PRIMARY KEY, orders int NOT NULL, "
                             "customers int NOT NULL, products int NOT NULL)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.reporting (day date NOT NULL, pipeline text NOT NULL, "
                             "revenue_per_customer numeric NOT NULL, loaded_by text NOT NULL, "
                             "PRIMARY KEY (day, pipeline))").format(s))


def drop(schema: str) -> None:
    with postgres.connect(autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def land_day(schema: str, day: date) -> dict:
    """The upstream's work: the day's figures (fixed by the date), upserted."""
    figures = {"orders": 100 + day.day, "customers": 20 + day.day % 7, "products": 10 + day.day % 3}
    with postgres.connect() as conn:
        conn.execute(sql.SQL("INSERT INTO {} (day, orders, customers, products) VALUES (%s, %s, %s, %s) "
                             "ON CONFLICT (day) DO UPDATE SET orders = excluded.orders, customers = "
                             "excluded.customers, products = excluded.products").format(
                                 sql.Identifier(schema, "upstream_days")),
                     (day, figures["orders"], figures["customers"], figures["products"]))
    return figures


def extract(schema: str, day: date, column: str) -> int:
    """One figure of a landed day (a LookupError if the upstream has not landed it: the sensor exists for that)."""
    if column not in ("orders", "customers", "products"):
        raise ValueError(f"expected orders, customers or products, found {column!r}")
    with postgres.connect(autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT {} FROM {} WHERE day = %s").format(
            sql.Identifier(column), sql.Identifier(schema, "upstream_days")), (day,)).fetchone()
    if row is None:
        raise LookupError(f"day {day} is not in {schema}.upstream_days: has {UPSTREAM_DAG} run for it?")
    return int(row[0])


def load(schema: str, day: date, pipeline: str, revenue_per_customer: float, run_id: str) -> None:
    with postgres.connect() as conn:
        conn.execute(sql.SQL("INSERT INTO {} (day, pipeline, revenue_per_customer, loaded_by) VALUES (%s, %s, %s, %s) "
                             "ON CONFLICT (day, pipeline) DO UPDATE SET revenue_per_customer = "
                             "excluded.revenue_per_customer, loaded_by = excluded.loaded_by").format(
                                 sql.Identifier(schema, "reporting")), (day, pipeline, revenue_per_customer, run_id))


def reporting(schema: str) -> dict[tuple[date, str], float]:
    with postgres.connect(autocommit=True) as conn:
        rows = conn.execute(sql.SQL("SELECT day, pipeline, revenue_per_customer FROM {}").format(
            sql.Identifier(schema, "reporting"))).fetchall()
    return {(d, p): float(v) for d, p, v in rows}


def create_sources(schema: str, n_customers: int, seed: int) -> dict[str, int]:
    """The tables ``dags/configs/pipelines.yaml`` copies (customers, orders, payments), seeded; the rows each
    destination must hold after a copy (test rows dropped where the pipeline says ``drop_test_rows``)."""
    import random

    rng = random.Random(seed)
    customers = [(i, f"  Customer {i} ", f"Customer{i}@Example.COM", rng.random() < 0.1)
                 for i in range(1, n_customers + 1)]
    orders = [(i, rng.randrange(1, n_customers + 1), rng.randrange(100, 10_000), rng.random() < 0.1)
              for i in range(1, 3 * n_customers + 1)]
    payments = [(i, o[0], o[2]) for i, o in enumerate(orders[: 2 * n_customers], start=1)]
    s = sql.Identifier(schema)
    with postgres.connect() as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE TABLE {}.customers (customer_id int PRIMARY KEY, name text, email text, "
                             "is_test boolean)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.orders (order_id int PRIMARY KEY, customer_id int, amount_cents int, "
                             "is_test boolean)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.payments (payment_id int PRIMARY KEY, order_id int, "
                             "amount_cents int)").format(s))
        for table, rows in (("customers", customers), ("orders", orders), ("payments", payments)):
            with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(schema, table))) as copy:
                for row in rows:
                    copy.write_row(row)
    return {"customers_clean": sum(not c[3] for c in customers), "orders_clean": sum(not o[3] for o in orders),
            "payments_clean": len(payments)}
