"""What every native service of the stack is: its ports, how it starts, when it is ready,
how it stops and how its processes are recognised.

Readiness always means a real request answered (see each service's ``check_ready``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, terminate


@dataclass
class Service:
    name: str
    ports: list[tuple[int, str]] = field(default_factory=list)
    """(port, the setting that moves it) pairs, checked free before a start."""

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
