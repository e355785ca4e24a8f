"""A failed ``up`` leaves nothing behind, and ``status``/``down`` find what lost its record.

Each test runs a second, private stack of the real services: its own state folder
(``STACK_STATE_DIR``, so its own PostgreSQL data, Kafka log dir and pid records) and free
ports, so the stack the rest of the suite uses is never touched. Tests run in file order
and share that private stack's data to save the ``initdb`` and Kafka format time; each
brings the private stack up itself and leaves it down.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import psycopg
import pytest
from dotenv import dotenv_values

from pipeline_patterns.config import PROJECT_DIR
from pipeline_patterns.stack.preflight import port_is_free

pytestmark = pytest.mark.integration


def _free_ports() -> dict[str, int]:
    """A Kafka port whose +1 (the controller) is free too, a Connect port and a PostgreSQL port."""
    held: list[socket.socket] = []

    def take() -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        held.append(sock)
        return sock.getsockname()[1]

    try:
        kafka_port = take()
        while not port_is_free(kafka_port + 1):
            kafka_port = take()
        return {"kafka": kafka_port, "connect": take(), "pg": take()}
    finally:
        for sock in held:
            sock.close()


class Private:
    """The private stack: its environment, state folder and ports."""

    def __init__(self) -> None:
        # Under /tmp rather than pytest's 0700 tmp_path: as root, PostgreSQL runs as the
        # `postgres` user and keeps its data in the state folder only if it can reach it.
        self.state = Path(tempfile.mkdtemp(prefix="pp-failed-up-"))
        self.state.chmod(0o755)
        ports = _free_ports()
        self.ports = [ports["kafka"], ports["kafka"] + 1, ports["connect"], ports["pg"]]
        self.pgport = ports["pg"]
        self.env = {
            "STACK_STATE_DIR": str(self.state),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['kafka']}",
            "KAFKA_CONNECT_URL": f"http://127.0.0.1:{ports['connect']}",
            "PGPORT": str(ports["pg"]),
        }

    def kit(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "COLUMNS": "200", **(extra or {}), **self.env}
        return subprocess.run([sys.executable, "-m", "pipeline_patterns", *args], capture_output=True,
                              text=True, env=env, check=False, timeout=600)

    def states(self) -> dict[str, str]:
        out = self.kit("stack", "status", "--json")
        return {row["service"]: row["state"] for row in json.loads(out.stdout)}

    def processes(self) -> list[psutil.Process]:
        """Every live process whose command line names the private state folder."""
        found = []
        for proc in psutil.process_iter(["cmdline", "status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(str(self.state) in arg for arg in proc.info["cmdline"] or []):
                found.append(proc)
        return found

    def listening(self) -> list[int]:
        return [port for port in self.ports if not port_is_free(port)]

    def up(self) -> None:
        out = self.kit("stack", "up")
        assert out.returncode == 0, out.stdout + out.stderr
        assert set(self.states().values()) == {"running"}


@pytest.fixture(scope="module")
def private():
    stack = Private()
    try:
        yield stack
    finally:
        stack.kit("stack", "down")
        for proc in stack.processes():  # only if the code under test left some: ours, by pid
            proc.kill()
        psutil.wait_procs(stack.processes(), timeout=30)
        shutil.rmtree(stack.state, ignore_errors=True)


def test_up_with_the_env_file_exported_in_the_shell(private):
    """`set -a; . ./.env; set +a; make up`: the bootstrap's psql must not use the user's PG*."""
    exported = {k: v for k, v in dotenv_values(PROJECT_DIR / ".env").items() if v}
    assert exported.get("PGUSER") and exported.get("PGHOST")
    # Variables libpq reads that would also break an administrative connection.
    exported["PGOPTIONS"] = "-c statement_timeout=1"
    out = private.kit("stack", "up", extra=exported)
    assert out.returncode == 0, out.stdout + out.stderr
    assert set(private.states().values()) == {"running"}
    password = exported.get("PGPASSWORD") or dotenv_values(PROJECT_DIR / ".env")["PGPASSWORD"]
    with psycopg.connect(host="127.0.0.1", port=private.pgport, dbname="pipelines", user="pipelines",
                         password=password, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("pipelines",)
    down = private.kit("stack", "down", extra=exported)
    assert down.returncode == 0, down.stderr
    assert private.processes() == [] and private.listening() == []


def test_status_and_down_find_processes_whose_record_is_missing(private):
    private.up()
    for record in (private.state / "pids").glob("*.json"):
        record.unlink()
    status = private.kit("stack", "status")
    assert status.returncode == 1, status.stdout
    text = " ".join(status.stdout.split())
    data_dir = private.state / "postgres" / "data"
    assert f"runs on this checkout's {data_dir} without a record" in text
    assert set(private.states().values()) == {"unrecorded"}

    down = private.kit("stack", "down")
    assert down.returncode == 0, down.stderr
    text = " ".join(down.stdout.split())
    assert f"runs on this checkout's {data_dir} without a record: stopping it" in text
    assert "stopped connect, kafka-1, postgres" in text
    assert private.processes() == [] and private.listening() == []
    assert set(private.states().values()) == {"stopped"}


def test_a_service_that_exits_at_once_leaves_nothing_running_and_the_next_up_works(private):
    """Kafka dies on a corrupt meta.properties after PostgreSQL is up: `up` stops PostgreSQL too."""
    meta = private.state / "kafka-1node" / "node-1" / "logs" / "meta.properties"
    if not meta.exists():  # run alone: format the private Kafka log dir first
        private.up()
        assert private.kit("stack", "down").returncode == 0
    good = meta.read_text()
    meta.write_text("this is not a meta.properties file\n")
    try:
        out = private.kit("stack", "up")
        assert out.returncode == 1
        message = " ".join(out.stderr.split())
        assert "kafka-1 exited while starting" in message and "Traceback" not in out.stderr
        assert "`up` stopped what it had started: kafka-1, postgres." in message
        assert private.processes() == [] and private.listening() == []
        assert set(private.states().values()) == {"stopped"}
    finally:
        meta.write_text(good)
    private.up()
    down = private.kit("stack", "down")
    assert down.returncode == 0 and private.processes() == [] and private.listening() == []
