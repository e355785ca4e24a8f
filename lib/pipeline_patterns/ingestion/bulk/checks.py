"""Independent readers of a loaded table: a reader thread that queries it during loads, and what it saw.

:class:`TableReader` queries ``count(*)`` and the key's sum in a loop on its own connection
(autocommit: each query is its own snapshot, as a dashboard's would be) and keeps every answer
and every error. :meth:`TableReader.look` is the loader's ``pause``: it waits until the reader
has *finished a query that started after the call*, so the answer shows the table exactly at
that point of the load — a window the lesson does not have to be lucky to hit.
"""

from __future__ import annotations

import threading
import time

import psycopg
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.poll import wait_until

Answer = tuple[int, int]


def table_answer(table: str, key: str) -> Answer:
    """(rows, sum of ``key``) of ``table`` now."""
    with postgres.connect() as conn:
        rows, total = postgres.one_row(conn.execute(sql.SQL("SELECT count(*), coalesce(sum({}), 0) FROM {}").format(
            sql.Identifier(key), sql.Identifier(table))))
        return int(rows), int(total)


class TableReader:
    """A thread that queries ``table`` in a loop; ``answers``, ``errors`` and ``looks`` tell what it saw."""

    def __init__(self, table: str, key: str, timeout_s: float = 30.0, schema: str | None = None,
                 pause_s: float = 0.0) -> None:
        """``pause_s``: the pause between two queries (0: back to back; a few ms leaves the CPU to the writer)."""
        self.table, self.key, self.timeout_s, self.pause_s = table, key, timeout_s, pause_s
        self.name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
        self.answers: list[tuple[float, Answer]] = []  # (monotonic time the query started, answer)
        self.errors: list[str] = []
        self.looks: list[tuple[str, Answer]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TableReader:
        self._thread.start()
        wait_until(lambda: self.answers or self.errors, self.timeout_s, f"a first answer from {self.table}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.timeout_s)

    def _loop(self) -> None:
        query = sql.SQL("SELECT count(*), coalesce(sum({}), 0) FROM {}").format(
            sql.Identifier(self.key), self.name)
        with postgres.connect(autocommit=True) as conn:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    rows, total = postgres.one_row(conn.execute(query))
                    self.answers.append((started, (int(rows), int(total))))
                except psycopg.Error as exc:
                    self.errors.append(type(exc).__name__)
                if self.pause_s:
                    self._stop.wait(self.pause_s)  # pacing between queries, not a wait for a condition

    def look(self, point: str) -> Answer:
        """The answer of a query that started after this call (the table at this point), recorded under ``point``."""
        asked = time.monotonic()

        def fresh() -> Answer | None:
            return next((a for t, a in reversed(self.answers) if t > asked), None)

        answer = wait_until(fresh, self.timeout_s, f"the reader's next answer from {self.table} ({point})",
                            interval_s=0.005)
        self.looks.append((point, answer))
        return answer

    @property
    def queries(self) -> int:
        return len(self.answers) + len(self.errors)

    def seen(self) -> list[Answer]:
        return [a for _, a in self.answers]
