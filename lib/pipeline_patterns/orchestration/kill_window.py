"""A ``kill -9`` of an Airflow task at an exact point of its load, from outside.

The lesson holds a PostgreSQL advisory lock and passes its key in the run's conf (``hold``). The task, on its first
try, writes its pid to a file and then waits for that lock at the point to test (between its DELETE and its INSERT);
the lesson sees the waiter in ``pg_locks``, looks at the target, kills the task's process with SIGKILL (no cleanup,
as a machine failure would) and lets go of the lock. Airflow then retries the task; the retry does not wait.
No sleeps and no luck: the window is held open until the kill.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import psycopg

from pipeline_patterns import postgres
from pipeline_patterns.config import get_settings
from pipeline_patterns.poll import wait_until


def hold_here(hold: dict | None, try_number: int) -> None:
    """In a task: on the first try of a held run, record this pid and wait for the lesson's lock."""
    if not hold or try_number != 1:
        return
    Path(hold["pid_file"]).write_text(str(os.getpid()))
    with postgres.connect(autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (hold["lock_key"],))  # returns only when the lesson lets go
        conn.execute("SELECT pg_advisory_unlock(%s)", (hold["lock_key"],))


class KillWindow:
    """The lesson's side: hold the lock, wait for the task to park, kill it, let go.

    Use as a context manager; ``conf`` goes into the run's conf as ``hold``.
    """

    def __init__(self, timeout_s: float = 120.0) -> None:
        self.lock_key = uuid.uuid4().int % 2**31
        self.pid_file = get_settings().stack_path / f"kill-window-{self.lock_key}.pid"
        self.timeout_s = timeout_s
        self.killed_pid: int | None = None
        self._conn: psycopg.Connection | None = None  # opened by __enter__: a window never entered holds none

    @property
    def conf(self) -> dict:
        return {"lock_key": self.lock_key, "pid_file": str(self.pid_file)}

    def __enter__(self) -> KillWindow:
        conn = postgres.connect(autocommit=True)
        conn.execute("SELECT pg_advisory_lock(%s)", (self.lock_key,))
        self._conn = conn
        return self

    def wait_parked(self) -> int:
        """The task's pid, once it waits for the lock (its DELETE has run)."""
        if self._conn is None:
            raise RuntimeError("use the KillWindow as a context manager (with KillWindow() as window: ...)")
        conn = self._conn

        def parked() -> bool:
            row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
                                     "AND NOT granted", (self.lock_key,)).fetchone()
            return bool(row and row[0]) and self.pid_file.exists()

        wait_until(parked, self.timeout_s, "the task to reach its kill window (between DELETE and INSERT)", 0.2)
        return int(self.pid_file.read_text())

    def kill(self) -> int:
        """SIGKILL the parked task's process; its pid."""
        pid = self.wait_parked()
        os.kill(pid, signal.SIGKILL)
        self.killed_pid = pid
        return pid

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()  # lets go of the lock
        self.pid_file.unlink(missing_ok=True)
