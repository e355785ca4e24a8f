"""One typed settings object, read from the environment and the project's `.env`.

The names are the ecosystem's own: Kafka's bootstrap servers, libpq's ``PG*``
variables, Spark's master URL. Reading settings never connects to anything.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""The kit's checkout (the package is installed editable from ``lib/``)."""


class SettingsError(RuntimeError):
    """A setting is missing or unusable: what was expected, what was found, the fix."""


class Settings(BaseSettings):
    """Where the services are and where the kit keeps its files."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_DIR / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_connect_url: str = Field("http://127.0.0.1:8083", alias="KAFKA_CONNECT_URL")
    pghost: str = Field("127.0.0.1", alias="PGHOST")
    pgport: int = Field(5432, alias="PGPORT")
    pgdatabase: str = Field("pipelines", alias="PGDATABASE")
    pguser: str = Field("pipelines", alias="PGUSER")
    pgpassword: SecretStr | None = Field(None, alias="PGPASSWORD")
    """No default: every clone would share it. ``make setup`` writes a random one to ``.env``."""
    cdc_user: str = Field("pipelines_cdc", alias="CDC_USER")
    """The replication role Debezium connects as (lesson 13): REPLICATION and SELECT, nothing else."""
    cdc_password: SecretStr | None = Field(None, alias="CDC_PASSWORD")
    """Its password; ``make setup`` writes a random one to ``.env``. Kafka Connect reads it from its
    environment (``${env:CDC_PASSWORD}``), so no connector config holds it."""
    connect_pghost: str | None = Field(None, alias="CONNECT_PGHOST")
    """PostgreSQL's host as Kafka Connect sees it (``postgres`` in compose); default PGHOST."""
    spark_master: str = Field("local[*]", alias="SPARK_MASTER")
    spark_master_port: int = Field(7077, alias="SPARK_MASTER_PORT")
    """Port of the kit's Spark standalone master (``stack up --spark-cluster``); Spark's own name."""
    spark_master_webui_port: int = Field(8080, alias="SPARK_MASTER_WEBUI_PORT")
    """Port of that master's web UI and JSON status (its readiness check)."""
    spark_worker_webui_port: int = Field(8081, alias="SPARK_WORKER_WEBUI_PORT")
    """Port of the kit's Spark worker's web UI."""
    airflow_api_port: int = Field(8090, alias="AIRFLOW_API_PORT")
    """Port of Airflow's API server and UI (``stack up --airflow``); 8080 is Spark's master UI."""
    airflow_db_user: str = Field("airflow", alias="AIRFLOW_DB_USER")
    """Airflow's own role in the kit's PostgreSQL, owner of its metadata database and nothing else."""
    airflow_db_name: str = Field("airflow", alias="AIRFLOW_DB_NAME")
    airflow_db_password: SecretStr | None = Field(None, alias="AIRFLOW_DB_PASSWORD")
    """That role's password; ``make setup`` writes a random one to ``.env``."""
    airflow_admin_user: str = Field("admin", alias="AIRFLOW_ADMIN_USER")
    """The one user of Airflow's UI and REST API (role admin)."""
    airflow_admin_password: SecretStr | None = Field(None, alias="AIRFLOW_ADMIN_PASSWORD")
    """Its password; ``make setup`` writes a random one to ``.env``."""
    airflow_secret_key: SecretStr | None = Field(None, alias="AIRFLOW_SECRET_KEY")
    """The random secret Airflow's signing keys are derived from (JWT, API session, Fernet);
    ``make setup`` writes one to ``.env``."""
    lake_dir: Path = Field(Path("data/lake"), alias="LAKE_DIR")
    stack_dir: Path = Field(Path("var"), alias="STACK_STATE_DIR")
    """Data, logs and pid files of the native stack (git-ignored)."""

    def resolve(self, path: Path) -> Path:
        """A settings path made absolute against the project directory."""
        return path if path.is_absolute() else PROJECT_DIR / path

    @property
    def lake_path(self) -> Path:
        return self.resolve(self.lake_dir)

    @property
    def stack_path(self) -> Path:
        return self.resolve(self.stack_dir)

    @property
    def kafka_port(self) -> int:
        """Port of the first bootstrap server, where the native broker listens."""
        first = self.kafka_bootstrap_servers.split(",")[0].strip()
        return int(first.rsplit(":", 1)[1])

    @property
    def connect_port(self) -> int:
        return urlsplit(self.kafka_connect_url).port or 8083

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.pghost}:{self.pgport}/{self.pgdatabase}"

    def pg_password(self) -> str:
        """The kit role's password, or a SettingsError saying where to set it."""
        return _secret(self.pgpassword, "PGPASSWORD")

    def cdc_pg_password(self) -> str:
        """The CDC replication role's password, or a SettingsError saying where to set it."""
        return _secret(self.cdc_password, "CDC_PASSWORD")

    @property
    def airflow_url(self) -> str:
        """Where Airflow's API server (and UI) answers."""
        return f"http://127.0.0.1:{self.airflow_api_port}"

    def airflow_secret(self, name: str) -> str:
        """One of Airflow's secrets (``AIRFLOW_DB_PASSWORD``, ``AIRFLOW_ADMIN_PASSWORD``,
        ``AIRFLOW_SECRET_KEY``), or a SettingsError saying where to set it."""
        field = {"AIRFLOW_DB_PASSWORD": self.airflow_db_password, "AIRFLOW_ADMIN_PASSWORD": self.airflow_admin_password,
                 "AIRFLOW_SECRET_KEY": self.airflow_secret_key}[name]
        return _secret(field, name)

    def jdbc_properties(self) -> dict[str, str]:
        return {
            "user": self.pguser,
            "password": self.pg_password(),
            "driver": "org.postgresql.Driver",
        }


@cache
def get_settings() -> Settings:
    """The settings, read once per process."""
    return Settings()


@cache
def versions() -> dict:
    """The pinned versions from ``stack/versions.toml``."""
    with open(PROJECT_DIR / "stack" / "versions.toml", "rb") as f:
        return tomllib.load(f)


def _secret(value: SecretStr | None, name: str) -> str:
    secret = value.get_secret_value() if value is not None else ""
    if not secret:
        raise SettingsError(
            f"{name} is not set: expected it in {PROJECT_DIR / '.env'} or the environment, "
            f"found it missing or empty. Run `make setup` (it fills {name} in .env with a random password "
            f"when it is missing), or set {name}=<a password of your choice> in .env."
        )
    return secret
