from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_patterns.config import PROJECT_DIR, Settings, SettingsError


def test_defaults_are_the_documented_addresses(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_CONNECT_URL", "PGHOST", "PGPORT", "SPARK_MASTER", "LAKE_DIR"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert s.kafka_connect_url == "http://127.0.0.1:8083"
    assert (s.pghost, s.pgport, s.pgdatabase, s.pguser) == ("127.0.0.1", 5432, "pipelines", "pipelines")
    assert s.spark_master == "local[*]"
    assert s.lake_path == PROJECT_DIR / "data" / "lake"


def test_environment_overrides_and_derived_values(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092,127.0.0.1:19094")
    monkeypatch.setenv("KAFKA_CONNECT_URL", "http://127.0.0.1:18083")
    monkeypatch.setenv("PGPORT", "15432")
    monkeypatch.setenv("LAKE_DIR", "/tmp/elsewhere")
    s = Settings(_env_file=None)
    assert s.kafka_port == 19092
    assert s.connect_port == 18083
    assert s.jdbc_url == "jdbc:postgresql://127.0.0.1:15432/pipelines"
    assert s.lake_path == Path("/tmp/elsewhere")


def test_password_is_secret_in_repr_but_given_to_jdbc(monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "s3cret-value")
    s = Settings(_env_file=None)
    assert "s3cret-value" not in repr(s)
    assert s.jdbc_properties()["password"] == "s3cret-value"


def test_env_file_is_read(tmp_path, monkeypatch):
    monkeypatch.delenv("PGUSER", raising=False)
    env = tmp_path / ".env"
    env.write_text("PGUSER=from_file\n")
    assert Settings(_env_file=env).pguser == "from_file"


def test_no_password_is_a_clear_error_not_a_shared_default(monkeypatch):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    for settings in (Settings(_env_file=None), Settings(_env_file=None, PGPASSWORD="")):
        with pytest.raises(SettingsError) as caught:
            settings.pg_password()
        message = str(caught.value)
        assert "PGPASSWORD is not set" in message and ".env" in message and "make setup" in message
        with pytest.raises(SettingsError):
            settings.jdbc_properties()


def test_env_example_holds_no_password(tmp_path):
    from dotenv import dotenv_values

    assert dotenv_values(PROJECT_DIR / ".env.example")["PGPASSWORD"] == ""


def test_spark_cluster_ports_default_to_the_kit_contract_and_follow_the_environment(monkeypatch):
    for name in ("SPARK_MASTER_PORT", "SPARK_MASTER_WEBUI_PORT", "SPARK_WORKER_WEBUI_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert (s.spark_master_port, s.spark_master_webui_port, s.spark_worker_webui_port) == (7077, 8080, 8081)
    monkeypatch.setenv("SPARK_MASTER_PORT", "17077")
    monkeypatch.setenv("SPARK_MASTER_WEBUI_PORT", "18080")
    monkeypatch.setenv("SPARK_WORKER_WEBUI_PORT", "18081")
    s = Settings(_env_file=None)
    assert (s.spark_master_port, s.spark_master_webui_port, s.spark_worker_webui_port) == (17077, 18080, 18081)
