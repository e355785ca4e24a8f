"""Checks run before any service starts: Java, jars, PostgreSQL binaries, free ports.

Each failure raises :class:`StackError` with one message saying what was expected,
what was found and the command that fixes it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import psutil

from pipeline_patterns.stack.errors import StackError

MIN_JAVA = 17


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` when JAVA_HOME is set, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise StackError(
            f"JAVA_HOME is set to {java_home}, but {candidate} does not exist. "
            "Point JAVA_HOME at a JDK 17+ or unset it to use `java` from PATH."
        )
    found = shutil.which("java")
    if not found:
        raise StackError(
            "Java 17 or newer is required, but no `java` is on PATH and JAVA_HOME is unset. "
            "Install it (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) "
            "or set JAVA_HOME to a JDK 17+."
        )
    return found


def parse_java_major(version_output: str) -> int:
    """The major version from ``java -version`` output (``1.8.0_x`` means 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        raise StackError(f"Could not read a Java version from: {version_output.strip()[:200]!r}")
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major


def check_java() -> str:
    """Return the java executable after checking it is Java 17 or newer."""
    java = java_executable()
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    major = parse_java_major(out.stderr + out.stdout)
    if major < MIN_JAVA:
        raise StackError(
            f"Java {MIN_JAVA} or newer is required; found Java {major} at {java}. "
            "Install openjdk-17-jre-headless (apt) or set JAVA_HOME to a JDK 17+."
        )
    return java


def check_jars(folder: Path, pattern: str, what: str) -> list[Path]:
    """The jars in ``folder`` matching ``pattern``, or a StackError saying run make setup."""
    jars = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not jars:
        raise StackError(
            f"{what} jars are missing: expected {pattern} in {folder}. "
            "Run `make setup` to resolve every jar with Maven (once, ahead of time)."
        )
    return jars


def postgres_bindir(major: str) -> Path:
    """The PostgreSQL ``major`` server binaries' folder, or a message saying what to install.

    Looked for in Debian's folder, ``pg_config --bindir``, the folder of ``postgres`` on ``PATH`` (a conda env, a
    source build) and Homebrew's ``postgresql@<major>``; a folder outside Debian's counts only if its
    ``postgres --version`` is that major version (a data folder of one major does not start under another).
    """
    debian = Path(f"/usr/lib/postgresql/{major}/bin")
    candidates = [debian]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += [Path(f"/opt/homebrew/opt/postgresql@{major}/bin"), Path(f"/usr/local/opt/postgresql@{major}/bin")]
    for bindir in dict.fromkeys(candidates):
        if (bindir / "postgres").exists() and (bindir / "initdb").exists() and (
                bindir == debian or _major_of(bindir / "postgres") == major):
            return bindir
    raise StackError(
        f"PostgreSQL {major} server binaries (postgres, initdb) were not found in "
        f"{', '.join(str(c) for c in dict.fromkeys(candidates))}. Run `make setup` as root to install them "
        f"with apt, or install them yourself: `sudo apt-get install postgresql-{major}` (Debian, Ubuntu), "
        f"`brew install postgresql@{major}` (macOS), or put a PostgreSQL {major} `bin` folder on PATH."
    )


def _major_of(postgres: Path) -> str | None:
    """``15`` for a ``postgres`` that says ``postgres (PostgreSQL) 15.8``; None if it says nothing usable."""
    out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True, check=False)
    words = out.stdout.split()
    return words[-1].split(".")[0] if out.returncode == 0 and words else None


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing accepts connections on host:port and it can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_owner(port: int) -> str:
    """A description of the process listening on ``port``, e.g. ``pid 1234 (java)``."""
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return "another process (run as root, or `ss -ltnp`, to see which)"
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            if conn.pid is None:
                return "another process (its pid is hidden from this user)"
            try:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({proc.name()}: {' '.join(proc.cmdline())[:120]})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "another process (it may be closing; try again)"


def check_port_free(port: int, service: str, setting: str) -> None:
    """Raise a StackError naming the process when ``port`` is taken."""
    if not port_is_free(port):
        raise StackError(
            f"Port {port} is needed by {service} but is in use by {port_owner(port)}. "
            f"Stop that process (if it is an earlier stack of this kit: `make down`), "
            f"or move the kit's {service} with {setting} in .env."
        )
