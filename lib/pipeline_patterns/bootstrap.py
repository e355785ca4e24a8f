"""``make setup`` after the venv exists: jars, the Spark driver's class-data archive, PostgreSQL, Java,
``.env``, Jupyter kernel.

Idempotent: each step checks what is already there and does only what is missing.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline_patterns import spark_archive
from pipeline_patterns.config import PROJECT_DIR, versions
from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError
from pipeline_patterns.stack.jvm import JARS_DIR

MAVEN_DIR = PROJECT_DIR / "stack" / "maven"
KERNEL_NAME = "pipeline-patterns"
# Jars Spark must not get twice: pyspark ships jcl-over-slf4j, which replaces commons-logging.
SPARK_JAR_EXCLUDES = {"commons-logging"}


def _artifact_name(jar: str) -> str:
    """``kafka-clients-3.9.1.jar`` -> ``kafka-clients``."""
    return re.sub(r"-\d+(\.\d+)+(-[\w.]+)?\.jar$", "", jar)


def inputs_digest() -> str:
    """The digest of what decides the jars: stack/versions.toml and the Maven projects."""
    digest = hashlib.sha256((PROJECT_DIR / "stack" / "versions.toml").read_bytes())
    for pom in sorted(MAVEN_DIR.glob("*/pom.xml")):
        digest.update(pom.read_bytes())
    return digest.hexdigest()


def _mvn(pom_dir: str, goal: list[str], props: dict[str, str]) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("Maven (`mvn`) is needed to resolve the kit's jars once. "
                         "Install it (Debian/Ubuntu: `apt-get install maven`) and run `make setup` again.")
    cmd = [mvn, "-q", "-B", "-f", str(MAVEN_DIR / pom_dir / "pom.xml"), *goal,
           *(f"-D{k}={v}" for k, v in props.items())]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise StackError(f"Maven could not resolve the {pom_dir} jars:\n{out.stdout[-3000:]}{out.stderr[-2000:]}")


def resolve_jars(echo: Callable[[str], None] = print, force: bool = False) -> None:
    """Resolve broker, Connect, Debezium, Delta, Spark Kafka connector and JDBC jars."""
    stamp = JARS_DIR / ".resolved"
    digest = inputs_digest()
    if not force and stamp.exists() and stamp.read_text() == digest:
        echo(f"jars: up to date in {JARS_DIR}")
        return
    from pipeline_patterns.bundle import install_jars

    if not force and install_jars(echo=echo):  # `make setup BUNDLE=...` unpacked one: no Maven
        return
    jvm = versions()["jvm"]
    shutil.rmtree(JARS_DIR, ignore_errors=True)
    kafka_dir, spark_dir, staging = JARS_DIR / "kafka", JARS_DIR / "spark", JARS_DIR / ".spark-staging"
    echo("jars: resolving Kafka broker + Connect runtime with Maven ...")
    _mvn("kafka", ["dependency:copy-dependencies"],
         {"kafka.version": jvm["kafka"], "outputDirectory": str(kafka_dir), "includeScope": "runtime"})
    echo("jars: resolving the Debezium PostgreSQL plugin ...")
    _mvn("debezium", ["generate-resources"],
         {"debezium.version": jvm["debezium"], "plugin.dir": str(JARS_DIR / "connect-plugins")})
    echo("jars: resolving Delta, the Spark Kafka connector and the PostgreSQL JDBC driver ...")
    _mvn("spark", ["dependency:copy-dependencies"],
         {"spark.version": jvm["spark"], "delta.version": jvm["delta"], "delta.artifact": jvm["delta-spark-artifact"],
          "postgresql.version": jvm["postgresql-jdbc"], "outputDirectory": str(staging), "includeScope": "runtime"})
    import pyspark

    shipped = {_artifact_name(j.name) for j in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    spark_dir.mkdir(parents=True, exist_ok=True)
    for jar in staging.glob("*.jar"):
        name = _artifact_name(jar.name)
        if name not in shipped and name not in SPARK_JAR_EXCLUDES:
            shutil.copy2(jar, spark_dir / jar.name)
    shutil.rmtree(staging)
    for folder in (kafka_dir, spark_dir):
        (folder / ".gitkeep").touch()
    stamp.write_text(digest)
    counts = {d.name: len(list(d.glob("*.jar"))) for d in (kafka_dir, spark_dir)}
    echo(f"jars: {counts['kafka']} in {kafka_dir}, {counts['spark']} in {spark_dir}, Debezium in "
         f"{JARS_DIR / 'connect-plugins'}")


def ensure_postgres(echo: Callable[[str], None] = print) -> None:
    """Install PostgreSQL with apt when missing and we are root; else say what to install."""
    major = str(versions()["services"]["postgresql"])
    try:
        bindir = preflight.postgres_bindir(major)
        echo(f"postgres: server binaries found in {bindir}")
        return
    except StackError:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise
    echo(f"postgres: installing postgresql-{major} with apt-get ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", f"postgresql-{major}"], check=True, env=env,
                   capture_output=True)
    preflight.postgres_bindir(major)


SECRETS = ("PGPASSWORD", "CDC_PASSWORD", "AIRFLOW_DB_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_SECRET_KEY")
"""Each clone draws its own; .env.example leaves them empty."""


def with_password(example_text: str, password: str, name: str = "PGPASSWORD") -> str:
    """``.env.example``'s text with its ``name=`` line set to ``password`` (appended if missing)."""
    lines = example_text.splitlines(keepends=True)
    out = [f"{name}={password}\n" if line.startswith(f"{name}=") else line for line in lines]
    if out == lines:
        out.append(f"{name}={password}\n")
    return "".join(out)


def _filled(text: str, name: str) -> bool:
    return any(line.startswith(f"{name}=") and line.strip() != f"{name}=" for line in text.splitlines())


def ensure_env_file(echo: Callable[[str], None] = print, env: Path | None = None,
                    example: Path | None = None) -> None:
    """Create ``.env`` from ``.env.example`` with a random value for each of :data:`SECRETS` (PostgreSQL's
    kit role, the CDC replication role, Airflow's role, admin and key); keep an existing ``.env``, only
    filling a secret it lacks."""
    env, example = env or PROJECT_DIR / ".env", example or PROJECT_DIR / ".env.example"
    if not env.exists():
        env.touch(mode=0o600)
        env.chmod(0o600)
        env.write_text(example.read_text())
        echo(f".env: created from .env.example (only in {env})")
    text = env.read_text()
    missing = [name for name in SECRETS if not _filled(text, name)]
    for name in missing:
        text = with_password(text, secrets.token_urlsafe(18), name)
    if missing:
        env.write_text(text)
        echo(f".env: filled {', '.join(missing)} with a random password")
    else:
        echo(".env: kept as it is")


LAB_SETTINGS = PROJECT_DIR / "stack" / "jupyter" / "overrides.json"


def install_lab_settings(echo: Callable[[str], None] = print, prefix: Path | None = None) -> Path:
    """JupyterLab's settings for a workshop room: no "official Jupyter news?" prompt and no update
    check (both reach the internet). Installed as the venv's ``overrides.json``, which a user's own
    settings still override."""
    target = (prefix or Path(sys.prefix)) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LAB_SETTINGS, target)
    echo(f"jupyter: lab settings (no news prompt, no update check) in {target}")
    return target


def register_kernel(echo: Callable[[str], None] = print) -> None:
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
                    "--display-name", "Python (pipeline-patterns)"], check=True, capture_output=True)
    echo(f"jupyter: kernel {KERNEL_NAME!r} registered in {sys.prefix}")


def setup(echo: Callable[[str], None] = print) -> None:
    java = preflight.check_java()
    echo(f"java: {java} is 17 or newer")
    ensure_env_file(echo)
    resolve_jars(echo)
    spark_archive.build(echo)
    ensure_postgres(echo)
    register_kernel(echo)
    install_lab_settings(echo)
