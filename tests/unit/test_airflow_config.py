"""Airflow's configuration in the kit, rendered without starting anything: the airflow.cfg, the
environment its processes get, the keys derived from AIRFLOW_SECRET_KEY and the secrets in .env."""

from __future__ import annotations

import base64
import configparser
from urllib.parse import unquote, urlsplit

import pytest
from dotenv import dotenv_values

from pipeline_patterns.bootstrap import SECRETS, ensure_env_file
from pipeline_patterns.config import PROJECT_DIR, Settings, SettingsError
from pipeline_patterns.stack import airflow_config

SECRET_VALUES = {"AIRFLOW_DB_PASSWORD": "p@ss:w/o%rd$HOME", "AIRFLOW_ADMIN_PASSWORD": "admin-secret-123",
                 "AIRFLOW_SECRET_KEY": "the-one-key-0123456789"}


def settings(**extra: str) -> Settings:
    return Settings(_env_file=None, **{**SECRET_VALUES, **extra})


def parsed(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_the_config_binds_loopback_needs_a_login_and_uses_the_local_executor(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_API_PORT", raising=False)
    cfg = parsed(airflow_config.render_config(settings(), tmp_path))
    assert cfg["api"]["host"] == "127.0.0.1" and cfg["api"]["port"] == "8090" and cfg["api"]["workers"] == "1"
    assert cfg["core"]["executor"] == "LocalExecutor"
    assert int(cfg["core"]["parallelism"]) == airflow_config.PARALLELISM == 4
    assert cfg["core"]["auth_manager"].endswith("SimpleAuthManager")
    assert cfg["core"]["simple_auth_manager_all_admins"] == "False"
    assert cfg["core"]["simple_auth_manager_users"] == "admin:admin"
    assert cfg["core"]["simple_auth_manager_passwords_file"] == str(tmp_path / "airflow" /
                                                                    "simple_auth_manager_passwords.json")
    assert cfg["core"]["dags_folder"] == str(PROJECT_DIR / "dags")
    assert cfg["core"]["load_examples"] == "False" and cfg["core"]["dags_are_paused_at_creation"] == "True"
    assert cfg["core"]["execution_api_server_url"] == "http://127.0.0.1:8090/execution/"
    assert cfg["logging"]["base_log_folder"] == str(tmp_path / "airflow" / "logs")
    assert cfg["dag_processor"]["dag_bundle_storage_path"] == str(tmp_path / "airflow" / "bundles")
    assert cfg["scheduler"]["enable_health_check"] == "False"  # no extra listener


def test_the_port_and_the_admin_follow_the_settings(tmp_path):
    cfg = parsed(airflow_config.render_config(settings(AIRFLOW_API_PORT="18090", AIRFLOW_ADMIN_USER="teacher"),
                                              tmp_path))
    assert cfg["api"]["port"] == "18090" and cfg["api"]["base_url"] == "http://127.0.0.1:18090"
    assert cfg["core"]["execution_api_server_url"] == "http://127.0.0.1:18090/execution/"
    assert cfg["core"]["simple_auth_manager_users"] == "teacher:admin"
    assert settings(AIRFLOW_API_PORT="18090").airflow_url == "http://127.0.0.1:18090"


def test_no_secret_is_written_to_the_config(tmp_path):
    text = airflow_config.render_config(settings(), tmp_path)
    env = airflow_config.process_env(settings(), tmp_path, {})
    for value in [*SECRET_VALUES.values(), env["AIRFLOW__API_AUTH__JWT_SECRET"], env["AIRFLOW__CORE__FERNET_KEY"]]:
        assert value not in text


def test_processes_get_the_secrets_in_their_environment_and_none_of_the_callers_airflow_or_pg_variables(tmp_path):
    caller = {"PATH": "/usr/bin", "HOME": "/root", "AIRFLOW_HOME": "/elsewhere", "AIRFLOW__CORE__LOAD_EXAMPLES": "True",
              "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "PGPASSWORD": "x", "PGOPTIONS": "-c a=b"}
    env = airflow_config.process_env(settings(), tmp_path, caller)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/root"
    assert not any(k.startswith("PG") for k in env)
    assert "AIRFLOW__CORE__LOAD_EXAMPLES" not in env and "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in env
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    assert env["AIRFLOW_CONFIG"] == str(tmp_path / "airflow" / "airflow.cfg")
    url = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert url.scheme == "postgresql+psycopg" and (url.hostname, url.port, url.path) == ("127.0.0.1", 5432, "/airflow")
    assert unquote(url.username or "") == "airflow"
    assert unquote(url.password or "") == SECRET_VALUES["AIRFLOW_DB_PASSWORD"]  # @ : / % survive the URL
    assert "$" not in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]  # Airflow expands $VARS in environment values
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_each_purpose_gets_its_own_key_and_every_process_the_same_one(tmp_path):
    first = airflow_config.process_env(settings(), tmp_path, {})
    again = airflow_config.process_env(settings(), tmp_path / "elsewhere", {})
    purposes = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY")
    keys = [first[k] for k in purposes]
    assert len(set(keys)) == 3 and SECRET_VALUES["AIRFLOW_SECRET_KEY"] not in keys
    assert all(first[k] == again[k] for k in first if k.startswith("AIRFLOW__"))
    fernet = first["AIRFLOW__CORE__FERNET_KEY"]
    assert len(fernet) == 44 and len(base64.urlsafe_b64decode(fernet)) == 32  # what cryptography's Fernet takes
    other = airflow_config.process_env(settings(AIRFLOW_SECRET_KEY="another-clone's-key"), tmp_path, {})
    assert other["AIRFLOW__API_AUTH__JWT_SECRET"] != first["AIRFLOW__API_AUTH__JWT_SECRET"]


@pytest.mark.parametrize("name", ["AIRFLOW_DB_PASSWORD", "AIRFLOW_SECRET_KEY"])
def test_a_missing_secret_is_a_clear_error(tmp_path, monkeypatch, name):
    monkeypatch.delenv(name, raising=False)
    values = {k: v for k, v in SECRET_VALUES.items() if k != name}
    with pytest.raises(SettingsError) as caught:
        airflow_config.process_env(Settings(_env_file=None, **values), tmp_path, {})
    assert f"{name} is not set" in str(caught.value) and "make setup" in str(caught.value)


def test_make_setup_draws_airflows_secrets_and_env_example_leaves_them_empty(tmp_path):
    airflow_secrets = {"AIRFLOW_DB_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_SECRET_KEY"}
    assert airflow_secrets <= set(SECRETS)
    example = dotenv_values(PROJECT_DIR / ".env.example")
    assert all(example[name] == "" for name in airflow_secrets)
    env = tmp_path / ".env"
    ensure_env_file(lambda _: None, env=env, example=PROJECT_DIR / ".env.example")
    filled = Settings(_env_file=env)
    values = [filled.airflow_secret(name) for name in sorted(airflow_secrets)]
    assert len(set(values)) == 3 and all(len(v) >= 20 for v in values)
