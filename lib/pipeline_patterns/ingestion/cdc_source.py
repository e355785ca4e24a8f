"""A source worth capturing: a small shop (customers, orders, order lines) and a seeded workload.

The workload is data — a list of transactions of :class:`Op` — so a test can check what it
contains without a database, and :func:`run` plays it on PostgreSQL (one commit per
transaction, identifiers composed with ``psycopg.sql``, values bound). It holds every change
a CDC pipeline must survive: inserts, updates (one key several times, in one transaction
and across them), deletes, transactions across the three tables, an update of a primary key,
a large incompressible text value (stored out of line: TOAST) left unchanged by later
updates, ``ALTER TABLE ... ADD COLUMN`` followed by rows that use it, a logical decoding
message, and a ``TRUNCATE``.

``orders`` has ``REPLICA IDENTITY FULL`` (``before`` holds the whole old row); ``customers``
and ``order_lines`` keep ``DEFAULT`` (``before`` holds only the primary key, and an unchanged
TOAST value is not sent at all).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

TABLES = ("customers", "orders", "order_lines")
KEYS = {"customers": ("id",), "orders": ("id",), "order_lines": ("order_id", "line_no")}
DDL = """
CREATE TABLE {s}.customers (id int PRIMARY KEY, name text NOT NULL, email text, notes text,
  active boolean NOT NULL DEFAULT true, signed_up timestamptz NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0);
CREATE TABLE {s}.orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
  total numeric(12,2) NOT NULL, ordered_at timestamptz NOT NULL);
ALTER TABLE {s}.orders REPLICA IDENTITY FULL;
CREATE TABLE {s}.order_lines (order_id int, line_no int, sku text NOT NULL, qty int NOT NULL,
  price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line_no));
"""
BASE_TIME = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
TOAST_CHARS = 12_000  # random hex: incompressible enough to be stored out of line (over ~2 kB)


@dataclass(frozen=True)
class Op:
    kind: str  # insert, update, delete, truncate, add_column, message
    table: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # insert: the row; update: the new values
    key: dict[str, Any] = field(default_factory=dict)  # update, delete: which row


@dataclass(frozen=True)
class ShopSpec:
    n_customers: int = 24
    n_orders: int = 48
    seed: int = 42

    def __post_init__(self) -> None:
        if self.n_customers < 8 or self.n_orders < 12:
            raise ValueError(f"expected n_customers >= 8 and n_orders >= 12 (the workload needs that many rows "
                             f"to show every kind of change), found {self.n_customers} and {self.n_orders}")


def create(conn: psycopg.Connection, schema: str) -> None:
    """The shop's schema and tables (the caller commits)."""
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    conn.execute(sql.SQL(DDL).format(s=sql.Identifier(schema)))


def _customer(rng: random.Random, cid: int, toast: bool) -> dict[str, Any]:
    notes = "".join(rng.choices("0123456789abcdef", k=TOAST_CHARS)) if toast else f"note {cid}"
    return {"id": cid, "name": f"customer {cid}", "email": f"c{cid}@shop.example", "notes": notes,
            "active": True, "signed_up": BASE_TIME + timedelta(minutes=rng.randrange(10_000)),
            "balance": Decimal(rng.randrange(0, 50_000)) / 100}


def _order(rng: random.Random, oid: int, customers: list[int]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = [
        {"order_id": oid, "line_no": n, "sku": f"sku-{rng.randrange(100):03d}", "qty": rng.randrange(1, 5),
         "price": Decimal(rng.randrange(100, 10_000)) / 100} for n in range(1, rng.randrange(2, 5))]
    order = {"id": oid, "customer_id": rng.choice(customers), "status": "new",
             "total": sum(line["qty"] * line["price"] for line in lines),
             "ordered_at": BASE_TIME + timedelta(minutes=rng.randrange(20_000))}
    return order, lines


def initial_rows(spec: ShopSpec) -> list[tuple[Op, ...]]:
    """What exists before capture starts (the connector's snapshot reads it: ``op = r``)."""
    rng = random.Random(spec.seed)
    half = spec.n_customers // 2
    customers = [Op("insert", "customers", _customer(rng, cid, toast=cid % 4 == 0)) for cid in range(1, half + 1)]
    orders = []
    for oid in range(1, spec.n_orders // 4 + 1):
        order, lines = _order(rng, oid, list(range(1, half + 1)))
        orders.append(Op("insert", "orders", order))
        orders += [Op("insert", "order_lines", line) for line in lines]
    return [tuple(customers), tuple(orders)]


def changes(spec: ShopSpec) -> list[tuple[Op, ...]]:
    """The workload after capture started, one tuple per transaction (see the module docstring)."""
    rng = random.Random(spec.seed + 1)
    half = spec.n_customers // 2
    ids = list(range(1, spec.n_customers + 1))
    txs: list[tuple[Op, ...]] = [(Op("insert", "customers", _customer(rng, cid, toast=cid % 4 == 0)),)
                                 for cid in range(half + 1, spec.n_customers + 1)]
    for oid in range(spec.n_orders // 4 + 1, spec.n_orders + 1):  # an order and its lines: one transaction
        order, lines = _order(rng, oid, ids)
        txs.append((Op("insert", "orders", order), *(Op("insert", "order_lines", line) for line in lines)))
    for oid in rng.sample(range(1, spec.n_orders + 1), spec.n_orders // 2):  # a key changed twice in one tx
        txs.append((Op("update", "orders", {"status": "paid"}, {"id": oid}),
                    Op("update", "orders", {"status": "shipped"}, {"id": oid})))
    for cid in range(4, spec.n_customers + 1, 4):  # TOASTed notes left unchanged: Debezium cannot send them
        txs.append((Op("update", "customers", {"email": f"new{cid}@shop.example"}, {"id": cid}),))
    for cid in rng.sample(ids, 4):
        txs.append((Op("update", "customers", {"balance": Decimal(rng.randrange(0, 90_000)) / 100}, {"id": cid}),))
    gone = rng.sample(range(1, spec.n_orders + 1), spec.n_orders // 8)
    for oid in gone:  # an order's lines and the order, across two tables in one transaction
        txs.append((Op("delete", "order_lines", key={"order_id": oid}), Op("delete", "orders", key={"id": oid})))
    old, new = 2, spec.n_customers + 100  # a primary key changes: delete of the old key, insert of the new
    txs.append((Op("update", "customers", {"id": new}, {"id": old}),
                Op("update", "orders", {"customer_id": new}, {"customer_id": old})))
    txs.append((Op("add_column", "customers", {"tier": "text"}),))
    for cid in rng.sample([c for c in ids if c != old], 5):
        txs.append((Op("update", "customers", {"tier": rng.choice(["gold", "silver"])}, {"id": cid}),))
    txs.append((Op("insert", "customers", {**_customer(rng, spec.n_customers + 1, False), "tier": "bronze"}),))
    txs.append((Op("delete", "customers", key={"id": 1}),))
    txs.append((Op("message", values={"prefix": "shop", "content": "end of day"}),))
    txs.append((Op("truncate", "order_lines"),))
    kept = [oid for oid in range(1, spec.n_orders + 1) if oid not in gone][:6]
    txs.append(tuple(Op("insert", "order_lines", {"order_id": oid, "line_no": 1, "sku": "sku-re", "qty": 1,
                                                  "price": Decimal("9.99")}) for oid in kept))
    return txs


def _where(key: dict[str, Any]) -> sql.Composable:
    return sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder()) for c in key)


def _statement(schema: str, op: Op) -> tuple[sql.Composed | sql.SQL, tuple]:
    table = sql.Identifier(schema, op.table)
    if op.kind == "insert":
        return (sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(map(sql.Identifier, op.values)),
            sql.SQL(", ").join(sql.Placeholder() * len(op.values))), tuple(op.values.values()))
    if op.kind == "update":
        sets = sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder()) for c in op.values)
        return (sql.SQL("UPDATE {} SET {} WHERE {}").format(table, sets, _where(op.key)),
                (*op.values.values(), *op.key.values()))
    if op.kind == "delete":
        return sql.SQL("DELETE FROM {} WHERE {}").format(table, _where(op.key)), tuple(op.key.values())
    if op.kind == "truncate":
        return sql.SQL("TRUNCATE {}").format(table), ()
    if op.kind == "add_column":
        (column, type_), = op.values.items()
        return sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(table, sql.Identifier(column), sql.SQL(type_)), ()
    if op.kind == "message":  # transactional: delivered in commit order, on <prefix>.message
        return sql.SQL("SELECT pg_logical_emit_message(true, %s, %s)"), (op.values["prefix"], op.values["content"])
    raise ValueError("expected an Op kind of insert, update, delete, truncate, add_column or message, "
                     f"found {op.kind!r}")


def run(conn: psycopg.Connection, schema: str, transactions: list[tuple[Op, ...]],
        after_each: Callable[[int], None] | None = None) -> int:
    """Play ``transactions`` on ``schema``, one commit each; the number of statements run."""
    statements = 0
    for n, tx in enumerate(transactions):
        with conn.transaction():
            for op in tx:
                conn.execute(*_statement(schema, op))
                statements += 1
        if after_each is not None:
            after_each(n)
    return statements
