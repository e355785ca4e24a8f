"""The swap a Kappa lesson runs to show why it must be atomic: drop the view, then create it.

Between the two autocommitted statements a concurrent reader finds no view at all.
"""

from __future__ import annotations

from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.architectures.kappa.serving import VIEW_COLUMNS


def non_atomic_swap(view: str, table: str) -> None:
    """The counterfactual: drop, then create, as two autocommitted statements."""
    with postgres.connect(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(sql.Identifier(view)))
        conn.execute(sql.SQL("CREATE VIEW {} AS SELECT {} FROM {}").format(
            sql.Identifier(view), sql.SQL(", ").join(map(sql.Identifier, VIEW_COLUMNS)), sql.Identifier(table)))
