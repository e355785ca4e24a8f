"""What every native service of the stack is: its ports, how it starts, when it is ready,
how it stops and how its processes are recognised.

Readiness always means a real request answered (see each service's ``check_ready``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, terminate

if TYPE_CHECKING:
    import psutil


@dataclass
class Service:
    name: str
    ports: list[tuple[int, str]] = field(default_factory=list)
    """(port, the setting that moves it) pairs, checked free before a start."""
    group: str | None = None
    """Services of one group start one after another and are waited for together once the last
    has started (Kafka's brokers: a broker is ready when all have registered; Airflow's processes)."""

    def start(self, ctx: Context) -> ProcessRecord:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_ready(self, ctx: Context) -> None:  # pragma: no cover - abstract
        """Return when the service answers a real request; raise otherwise."""
        raise NotImplementedError

    def stop(self, ctx: Context, record: ProcessRecord) -> None:
        terminate(record)

    def signature(self, ctx: Context) -> tuple[str, str] | None:
        """(main program or class, this checkout's path) that this service's command line names."""
        return None

    def owns(self, ctx: Context, cmdline: Sequence[str]) -> bool:
        """Whether a process with ``cmdline`` is this service of this checkout's stack.

        Both the program and the path under this checkout's state folder must appear as
        whole arguments, so another checkout's stack (another path) is never taken for ours.
        """
        sig = self.signature(ctx)
        if sig is None or not cmdline:
            return False
        program, path = sig
        args = list(cmdline)
        return any(a == program or a.endswith("/" + program) for a in args) and path in args

    def owns_process(self, ctx: Context, proc: psutil.Process, cmdline: Sequence[str]) -> bool:
        """Whether the live ``proc`` (its command line ``cmdline``) is this service of this checkout's
        stack; by default its command line says so (:meth:`owns`)."""
        return self.owns(ctx, cmdline)
