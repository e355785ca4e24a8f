"""Start, find, signal and stop the stack's OS processes through small pid records.

A record stores the pid *and* its start time, so a recycled pid is never mistaken
for one of ours. Each JVM runs in its own session (process group), so a signal
reaches the whole service.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

import psutil


class ProcessState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CRASHED = "crashed"
    STOPPED = "stopped"
    UNRECORDED = "unrecorded"
    """A process of this checkout's stack runs, but its pid record is missing."""


@dataclass
class ProcessRecord:
    pid: int
    create_time: float
    log: str

    def process(self) -> psutil.Process | None:
        """The live process, or None when it has exited or the pid was reused."""
        try:
            proc = psutil.Process(self.pid)
            if abs(proc.create_time() - self.create_time) > 1.0:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None


class PidFiles:
    """``<stack_dir>/pids/<service>.json`` records of the processes we started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, service: str) -> Path:
        return self.folder / f"{service}.json"

    def read(self, service: str) -> ProcessRecord | None:
        path = self.path(service)
        if not path.exists():
            return None
        return ProcessRecord(**json.loads(path.read_text()))

    def write(self, service: str, record: ProcessRecord) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path(service).write_text(json.dumps(asdict(record)))

    def remove(self, service: str) -> None:
        self.path(service).unlink(missing_ok=True)

    def state(self, service: str) -> ProcessState:
        record = self.read(service)
        if record is None:
            return ProcessState.STOPPED
        proc = record.process()
        if proc is None:
            return ProcessState.CRASHED
        return ProcessState.PAUSED if proc.status() == psutil.STATUS_STOPPED else ProcessState.RUNNING


MALLOC = {"MALLOC_ARENA_MAX": "2"}


def start_process(cmd: list[str], log: Path, env: dict[str, str] | None = None,
                  cwd: Path | None = None, inherit_env: bool = True) -> subprocess.Popen:
    """Start ``cmd`` in its own session (so a kill of its group takes its children too),
    stdin closed, stdout and stderr appended to ``log``. Every process the kit starts goes
    through here: the stack's services, the processors a lesson kills, the fake services.

    ``env`` is added to this process's environment, or with ``inherit_env=False`` is the whole
    environment (a service that must not see some of the caller's variables builds it itself).
    ``MALLOC_ARENA_MAX`` is 2 unless set: glibc gives every thread that allocates its own arena (up to 8 per
    core), and the JVMs' and Airflow's many threads kept tens of MiB each of them resident."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**MALLOC, **os.environ, **(env or {})} if inherit_env else {**MALLOC, **(env or {})},
            cwd=cwd,
        )


def spawn(cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          inherit_env: bool = True) -> ProcessRecord:
    """Start a service with :func:`start_process` and return its record (pid, start time, log)."""
    proc = start_process(cmd, log, env, cwd, inherit_env)
    return ProcessRecord(pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(), log=str(log))


def signal_service(record: ProcessRecord, sig: signal.Signals) -> None:
    """Send ``sig`` to the service's process group (or its pid when it leads none)."""
    proc = record.process()
    if proc is None:
        return
    try:
        pgid = os.getpgid(record.pid)
        if pgid == record.pid:
            os.killpg(pgid, sig)
        else:
            os.kill(record.pid, sig)
    except ProcessLookupError:
        return


def group_members(record: ProcessRecord) -> list[psutil.Process]:
    """The service's process and its descendants."""
    proc = record.process()
    if proc is None:
        return []
    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return [proc]


def terminate(record: ProcessRecord, timeout: float = 30.0) -> None:
    """SIGCONT (in case it is paused), SIGTERM, then SIGKILL what is left after ``timeout``."""
    members = group_members(record)
    if not members:
        return
    signal_service(record, signal.SIGCONT)
    signal_service(record, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(alive, timeout=10)


def tail(path: str | Path, lines: int = 15) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])
