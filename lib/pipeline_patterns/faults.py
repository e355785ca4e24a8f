"""Fault injection for the reliability lessons and tests: real processes, real ``kill -9``.

Two ways to crash a processor, both with ``SIGKILL`` (no cleanup, no ``finally``, no
flush — exactly what a power cut or the OOM killer does):

* from outside: :class:`ProcessorRun` starts the processor as its own OS process and
  :meth:`ProcessorRun.kill_when` kills it once an *independent* progress reading
  (committed offsets, rows in a table) passes a threshold;
* from inside, at a named point: the processor calls :func:`crash_point("after-db-commit")`
  and dies there when ``PIPELINE_PATTERNS_CRASH_AT`` says so — the only way to hit a
  window as narrow as "between the database commit and the checkpoint commit".

``PIPELINE_PATTERNS_CRASH_AT`` is ``<point>:<n>``: die the ``n``-th time ``point`` is
reached in this process (``after-db-commit:3``). Unset, :func:`crash_point` does nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_patterns.poll import wait_until
from pipeline_patterns.stack.processes import start_process, tail

CRASH_ENV = "PIPELINE_PATTERNS_CRASH_AT"
_reached: Counter[str] = Counter()


def crash_point(point: str) -> None:
    """SIGKILL this process here if ``PIPELINE_PATTERNS_CRASH_AT`` names ``point`` and its count."""
    plan = os.environ.get(CRASH_ENV)
    if not plan:
        return
    name, _, nth = plan.partition(":")
    if name != point:
        return
    _reached[point] += 1
    if _reached[point] >= int(nth or 1):
        sys.stdout.flush()
        # A processor started by ProcessorRun leads its own process group: kill all of it
        # (a Spark driver's JVM too), as a machine failure would.
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


class ProcessorFailed(RuntimeError):
    """The processor exited with an error of its own (not one we injected)."""


@dataclass
class ProcessorRun:
    """One processor command, started, killed and restarted as separate OS processes.

    ``log`` collects the output of every start (appended), so a failure can show it.
    """

    cmd: Sequence[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    starts: int = 0
    kills: int = 0
    _proc: subprocess.Popen | None = None

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        if self.alive:
            raise RuntimeError("the processor is still running; kill it or wait for it first")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"--- start {self.starts + 1}: {' '.join(self.cmd)}\n".encode())
        # Its own session (a kill of its group takes a Spark driver's JVM too), output appended to the log.
        self._proc = start_process(list(self.cmd), self.log, env={**self.env, **(extra_env or {})})
        self.starts += 1

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill9(self) -> bool:
        """SIGKILL the processor. True if it was still running (a real mid-work kill)."""
        if not self.alive:
            return False
        proc = self._proc
        assert proc is not None  # alive
        with suppress(ProcessLookupError):  # it may exit between the check and the kill
            os.killpg(proc.pid, signal.SIGKILL)  # its own group: children (a JVM) die too
        proc.wait(timeout=30)
        self.kills += 1
        return True

    def pause(self) -> None:
        """SIGSTOP the processor's process group (a Spark driver's JVM too): it holds its state and does nothing."""
        if self.alive:
            assert self._proc is not None
            with suppress(ProcessLookupError):  # it may exit between the check and the signal
                os.killpg(self._proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause` (harmless if it was not paused or has exited)."""
        if self._proc is not None and self._proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGCONT)

    def kill_when(self, progress: Callable[[], int], at_least: int, timeout_s: float = 120.0) -> bool:
        """Kill the processor once ``progress()`` reaches ``at_least`` (or it exits first).

        Returns True if the kill landed on a running process. A processor that failed on
        its own raises :class:`ProcessorFailed` with the end of its log.
        """
        wait_until(lambda: not self.alive or progress() >= at_least, timeout_s,
                   f"progress {at_least} before killing {self.cmd[-1]!r}", interval_s=0.05)
        if not self.alive:
            self._check_exit()
            return False
        return self.kill9()

    def wait(self, timeout_s: float = 600.0) -> int:
        """Wait for the processor to finish on its own; raise if it failed."""
        if self._proc is None:
            raise RuntimeError("the processor was never started")
        try:
            self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise TimeoutError(f"processor still running after {timeout_s:.0f}s; see {self.log}") from None
        self._check_exit()
        return self._proc.returncode

    def summary(self) -> dict | None:
        """The last JSON object the processor printed (the kit's processors end with one)."""
        for line in reversed(self.log.read_text(errors="replace").splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        return None

    def _check_exit(self) -> None:
        assert self._proc is not None  # called only after the process was started and has exited
        code = self._proc.returncode
        if code == -signal.SIGKILL:
            self.kills += 1  # an injected crash_point
            return
        if code != 0:
            raise ProcessorFailed(f"processor exited with {code}; end of {self.log}:\n{tail(self.log, 25)}")


def module_command(module: str, *args: str) -> list[str]:
    """``python -m <module> <args>`` with this interpreter (the kit's venv)."""
    return [sys.executable, "-m", module, *args]
