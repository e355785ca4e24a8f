"""PostgreSQL for the kit: initdb, the kit's role and database, start, readiness and stop.

Ready means a SQL query answered over TCP with the kit's password, on a server with
``wal_level=logical``. The stack's own PostgreSQL tools never see the caller's ``PG*``
variables.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import psutil
import psycopg

from pipeline_patterns.config import versions
from pipeline_patterns.postgres import one_row
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.layout import Context
from pipeline_patterns.stack.processes import ProcessRecord, signal_service, terminate
from pipeline_patterns.stack.service import Service


def without_libpq_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables libpq and PostgreSQL's tools read (``PG*``).

    A user who exported ``.env`` (``PGUSER``, ``PGHOST``, ...) or set ``PGOPTIONS`` must
    not change which role, socket or database the stack's own ``initdb``/``pg_ctl``/``psql``
    use; those get every value they need on their command line.
    """
    return {k: v for k, v in environ.items() if not k.startswith("PG")}


class Postgres(Service):
    """PostgreSQL with logical WAL for Debezium and scram password auth on 127.0.0.1.

    As root, the server runs as the ``postgres`` OS user (initdb and postgres refuse
    root); otherwise as the current user. Local socket access uses peer auth, TCP
    uses scram-sha-256 with the password from ``.env`` — never trust.
    """

    def __init__(self, ctx: Context) -> None:
        super().__init__(name="postgres", ports=[(ctx.settings.pgport, "PGPORT")])
        self.major = str(versions()["services"]["postgresql"])

    def base_dir(self, ctx: Context) -> Path:
        """``var/postgres``, unless the ``postgres`` OS user cannot reach it.

        As root, the server runs as ``postgres``; a checkout under a private folder
        (``/root/...``) is out of its reach, so the files go to a per-checkout folder
        under ``/var/tmp`` instead.
        """
        preferred = ctx.var / "postgres"
        if os.geteuid() != 0 or _reachable_by_postgres(ctx.var):
            return preferred
        digest = hashlib.sha1(str(ctx.var).encode()).hexdigest()[:10]
        return Path("/var/tmp") / f"pipeline-patterns-{digest}" / "postgres"

    def data_dir(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "data"

    def socket_dir(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "run"

    def log_path(self, ctx: Context) -> Path:
        return self.base_dir(ctx) / "postgres.log"

    @staticmethod
    def os_user() -> str:
        return "postgres" if os.geteuid() == 0 else getpass.getuser()

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool as the server's OS user, blind to the caller's ``PG*`` variables."""
        return subprocess.run(self._as_server_user(cmd), capture_output=True, text=True, check=False,
                              env=without_libpq_env(os.environ), **kwargs)

    def signature(self, ctx: Context) -> tuple[str, str]:
        return "postgres", str(self.data_dir(ctx))

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def start(self, ctx: Context) -> ProcessRecord:
        bindir = preflight.postgres_bindir(self.major)
        data, run = self.data_dir(ctx), self.socket_dir(ctx)
        log = self.log_path(ctx)
        for folder in (data.parent, run):
            folder.mkdir(parents=True, exist_ok=True)
        log.touch()
        self._own(data.parent, run, log)
        if not (data / "PG_VERSION").exists():
            out = self._run([
                str(bindir / "initdb"), "-D", str(data), "-U", self.os_user(), "-E", "UTF8",
                "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
            ])
            if out.returncode != 0:
                raise StackError(f"initdb failed for {data}:\n{out.stdout}{out.stderr}")
            (data / "pg_hba.conf").write_text(
                "# Written by pipeline_patterns.stack: peer on the socket, scram over TCP.\n"
                "local all all peer\n"
                "host all all 127.0.0.1/32 scram-sha-256\n"
                "host replication all 127.0.0.1/32 scram-sha-256\n"
            )
            with open(data / "postgresql.conf", "a") as conf:
                conf.write("\ninclude_if_exists = 'kit.conf'\n")
        kit_conf = data / "kit.conf"
        kit_conf.write_text(
            "# Rewritten by `stack up` from the settings.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {ctx.settings.pgport}\n"
            f"unix_socket_directories = '{run}'\n"
            "wal_level = logical\n"
            "max_replication_slots = 10\n"
            "max_wal_senders = 10\n"
            "shared_buffers = 128MB\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        self._own(kit_conf, data / "pg_hba.conf")
        try:
            out = self._run([
                str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60",
            ])
            if out.returncode != 0:
                raise StackError(f"PostgreSQL did not start:\n{out.stdout}{out.stderr}\nLog {log}:\n"
                                 + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
            pid = int((data / "postmaster.pid").read_text().splitlines()[0])
            self._bootstrap_role(ctx, bindir)
            return ProcessRecord(pid=pid, create_time=psutil.Process(pid).create_time(), log=str(log))
        except BaseException:
            # No record exists yet, so nobody else could stop this server: stop it here.
            self._pg_ctl_stop(ctx, bindir, mode="immediate")
            raise

    def _bootstrap_role(self, ctx: Context, bindir: Path) -> None:
        """Create (or update) the kit's role and database, and the CDC role; passwords are psql variables."""
        s = ctx.settings
        script = (
            "SELECT format('CREATE ROLE %I LOGIN', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \\gexec\n"
            "SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'role', :'pw') \\gexec\n"
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') "
            "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec\n"
            # Debezium's role: it may log in, stream the WAL and (granted per schema by a lesson) read.
            "SELECT format('CREATE ROLE %I LOGIN', :'cdc') "
            "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'cdc') \\gexec\n"
            "SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'cdc', :'cdcpw') \\gexec\n"
            "SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'db', :'cdc') \\gexec\n"
        )
        self.psql(ctx, script, {"role": s.pguser, "db": s.pgdatabase, "cdc": s.cdc_user},
                  {"pw": s.pg_password(), "cdcpw": s.cdc_pg_password()}, bindir,
                  f"Creating the role {s.pguser!r} and database {s.pgdatabase!r}")

    def psql(self, ctx: Context, script: str, variables: Mapping[str, str], secrets: Mapping[str, str],
             bindir: Path | None = None, what: str = "A psql script") -> None:
        """Run ``script`` as the server's superuser over the socket, with ``variables`` and ``secrets``
        as psql variables (``:'name'``), or raise a StackError saying what failed.

        Values never enter the SQL text; secrets reach psql through its environment
        (``\\getenv``), so no password is on a command line that ``ps`` shows.
        """
        bindir = bindir or preflight.postgres_bindir(self.major)
        env_names = {name: f"KIT_PSQL_SECRET_{i}" for i, name in enumerate(secrets)}
        prelude = "".join(f"\\getenv {name} {env_name}\n" for name, env_name in env_names.items())
        out = subprocess.run(
            self._as_server_user([
                str(bindir / "psql"), "-X", "-q", "-h", str(self.socket_dir(ctx)), "-p", str(ctx.settings.pgport),
                "-U", self.os_user(), "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                *(arg for name, value in variables.items() for arg in ("-v", f"{name}={value}")), "-f", "-",
            ]),
            input=prelude + script, capture_output=True, text=True, check=False,
            env={**without_libpq_env(os.environ), **{env_names[k]: v for k, v in secrets.items()}},
        )
        if out.returncode != 0:
            raise StackError(f"{what} failed in the kit's PostgreSQL (port {ctx.settings.pgport}):\n{out.stderr}")

    def check_ready(self, ctx: Context) -> None:
        s = ctx.settings
        # Explicit options override the caller's PGOPTIONS/PGSSLMODE/... (libpq reads them).
        with psycopg.connect(host=s.pghost, port=s.pgport, dbname=s.pgdatabase, user=s.pguser,
                             password=s.pg_password(), connect_timeout=5, options="",
                             sslmode="prefer", target_session_attrs="any") as conn:
            wal_level = one_row(conn.execute("SHOW wal_level"))[0]
        if wal_level != "logical":
            raise StackError(f"PostgreSQL runs with wal_level={wal_level}; Debezium needs logical.")

    def stop(self, ctx: Context, record: ProcessRecord) -> None:
        signal_service(record, signal.SIGCONT)
        self._pg_ctl_stop(ctx, preflight.postgres_bindir(self.major))
        terminate(record)

    def _pg_ctl_stop(self, ctx: Context, bindir: Path, mode: str = "fast") -> None:
        self._run([str(bindir / "pg_ctl"), "stop", "-D", str(self.data_dir(ctx)), "-m", mode, "-w", "-t", "30"])


def _reachable_by_postgres(folder: Path) -> bool:
    """Whether every parent of ``folder`` lets others traverse it (the ``postgres`` user)."""
    return all(not parent.exists() or parent.stat().st_mode & 0o001 for parent in [folder, *folder.parents])
