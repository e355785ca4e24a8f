"""A reader under load for the Kappa lesson: a thread that queries the view while it is swapped."""

from __future__ import annotations

import threading

import psycopg
from psycopg import sql

from pipeline_patterns import postgres


class ConcurrentReader:
    """A thread that queries the view in a loop and classifies every answer.

    Each answer is the view's totals (:func:`~.serving.table_totals`); it must equal one of the
    versions' totals. Errors (the view missing, a relation gone) are counted, not raised.
    """

    def __init__(self, view: str) -> None:
        self.view = view
        self.answers: list[tuple[int, int, int]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ConcurrentReader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        query = sql.SQL("SELECT count(*), coalesce(sum(event_count), 0), coalesce(sum(revenue_cents), 0) "
                        "FROM {}").format(sql.Identifier(self.view))
        with postgres.connect(autocommit=True) as conn:
            while not self._stop.is_set():
                try:
                    rows, events, cents = postgres.one_row(conn.execute(query))
                    self.answers.append((int(rows), int(events), int(cents)))
                except psycopg.Error as exc:
                    self.errors.append(type(exc).__name__)
