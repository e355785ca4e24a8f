"""The answer the capstone must reach, computed without the pipeline: SQL on the source and the payments produced.

Independent of :mod:`.pipeline` by construction: no Spark, no Kafka, no replica. The live orders are read from
the source database with SQL; the payments are the list the producer sent, with the labels it gave them
(:mod:`.payments`), not the pipeline's validation. Gold per customer and day (UTC): orders, revenue (sum of
totals), paid orders (with a valid payment), the amount paid, unpaid orders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg
from psycopg import sql

from pipeline_patterns.capstone.payments import (
    BAD_TYPE,
    NOT_JSON,
    POISON,
    RESENT,
    UNKNOWN_ORDER,
    UNKNOWN_ORDER_REASON,
    VALID,
    Payment,
)
from pipeline_patterns.errors.orders import MALFORMED_JSON, WRONG_TYPE


@dataclass(frozen=True)
class SourceOrder:
    id: int
    customer_id: int
    total: Decimal
    day: date


def source_orders(conn: psycopg.Connection, schema: str) -> list[SourceOrder]:
    """The source's live orders, with their UTC day."""
    rows = conn.execute(sql.SQL("SELECT id, customer_id, total, (ordered_at AT TIME ZONE 'UTC')::date FROM {}.orders")
                        .format(sql.Identifier(schema))).fetchall()
    return [SourceOrder(*row) for row in rows]


def gold(orders: list[SourceOrder], payments: list[Payment]) -> dict[tuple[int, date], tuple]:
    """(customer_id, day) -> (orders, revenue, paid_orders, paid_amount, unpaid_orders), as the serving table."""
    paid: dict[int, Decimal] = defaultdict(Decimal)
    for p in payments:
        if p.kind == VALID and p.order_id is not None and p.amount is not None:  # a resent copy counts once
            paid[p.order_id] += p.amount
    cells: dict[tuple[int, date], list] = defaultdict(lambda: [0, Decimal(0), 0, Decimal(0), 0])
    for o in orders:
        cell = cells[(o.customer_id, o.day)]
        cell[0] += 1
        cell[1] += o.total
        if o.id in paid:
            cell[2] += 1
            cell[3] += paid[o.id]
        else:
            cell[4] += 1
    return {key: tuple(cell) for key, cell in cells.items()}


REASON_OF = {NOT_JSON: MALFORMED_JSON, BAD_TYPE: WRONG_TYPE, UNKNOWN_ORDER: UNKNOWN_ORDER_REASON}


def dead_letter_expected(payments: list[Payment]) -> int:
    """How many records must reach the dead letter topic: every poison record, once."""
    return sum(1 for p in payments if p.kind in POISON)


def dead_letter_reasons(payments: list[Payment]) -> dict[str, int]:
    """The dead letter topic's expected reasons, counted (the lesson-11 reason codes of each poison kind)."""
    return dict(Counter(REASON_OF[p.kind] for p in payments if p.kind in POISON))


def valid_records(payments: list[Payment]) -> int:
    """Records the pipeline must accept (a resent copy is a record too; silver keeps its payment once)."""
    return sum(1 for p in payments if p.kind in (VALID, RESENT))
