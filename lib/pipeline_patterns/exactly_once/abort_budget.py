"""How many aborted transactions in a row a processor accepts before it stops, and the error it stops with.

Pure (no Kafka): :mod:`~pipeline_patterns.exactly_once.kafka_transactions` calls
:meth:`AbortBudget.aborted` after each abort and :meth:`AbortBudget.committed` after each
commit. A poison record or a broker that refuses the transaction fails the same way every
time; looping would hide it, so one abort too many raises :class:`TooManyAborts` naming
the last error.
"""

from __future__ import annotations


class TooManyAborts(RuntimeError):
    """The same batch keeps failing: the processor stops instead of aborting forever."""


class AbortBudget:
    """Counts aborts in a row; a commit resets the count; one abort too many raises.

    Pure (no Kafka): the processor calls :meth:`aborted` after each abort and
    :meth:`committed` after each commit.
    """

    def __init__(self, max_consecutive: int = 5) -> None:
        if max_consecutive < 1:
            raise ValueError(f"max_consecutive must be at least 1, got {max_consecutive}")
        self.max_consecutive = max_consecutive
        self.in_a_row = 0

    def committed(self) -> None:
        self.in_a_row = 0

    def aborted(self, error: BaseException, where: str) -> None:
        """Record one abort caused by ``error``; raise :class:`TooManyAborts` when the budget is spent."""
        self.in_a_row += 1
        if self.in_a_row >= self.max_consecutive:
            raise TooManyAborts(
                f"{where}: {self.in_a_row} transactions aborted in a row without a commit "
                f"(limit {self.max_consecutive}); the last error was {type(error).__name__}: {error}. "
                "The same input keeps failing: check the processing step for a record it cannot handle "
                "and that the brokers accept transactions (`make status`, the broker log); then run again. "
                "Nothing after the last commit is lost: the next run starts from the committed offsets."
            ) from error
