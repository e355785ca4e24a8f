from __future__ import annotations

import os
import socket

import pytest

from pipeline_patterns.stack import preflight
from pipeline_patterns.stack.errors import StackError


@pytest.mark.parametrize(("output", "major"), [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "25" 2025-09-16', 25),
    ('java version "1.8.0_402"', 8),
    ('openjdk version "11.0.22" 2024-01-16', 11),
])
def test_parse_java_major(output, major):
    assert preflight.parse_java_major(output) == major


def test_old_java_gets_one_actionable_message(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.22" 2024-01-16\' >&2\n')
    fake.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(StackError) as err:
        preflight.check_java()
    message = str(err.value)
    assert "Java 17 or newer is required; found Java 11" in message
    assert str(fake) in message and "JAVA_HOME" in message


def test_java_home_pointing_nowhere_is_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nope"))
    with pytest.raises(StackError, match="does not exist"):
        preflight.java_executable()


def test_missing_jars_say_run_make_setup(tmp_path):
    with pytest.raises(StackError) as err:
        preflight.check_jars(tmp_path / "kafka", "kafka_2.13-*.jar", "Kafka broker")
    assert "Kafka broker jars are missing" in str(err.value)
    assert "make setup" in str(err.value)


def test_port_taken_names_the_process():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not preflight.port_is_free(port)
        with pytest.raises(StackError) as err:
            preflight.check_port_free(port, "kafka-1", "KAFKA_BOOTSTRAP_SERVERS")
    message = str(err.value)
    assert f"Port {port} is needed by kafka-1 but is in use by pid {os.getpid()} (python" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message
    assert preflight.port_is_free(port)


def test_missing_postgres_binaries_say_what_to_install(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda name: None)
    with pytest.raises(StackError) as err:
        preflight.postgres_bindir("99")
    assert "apt-get install postgresql-99" in str(err.value)


def fake_server(folder, version):
    folder.mkdir(parents=True)
    for tool in ("postgres", "initdb"):
        (folder / tool).write_text(f"#!/bin/sh\necho '{tool} (PostgreSQL) {version}'\n")
        (folder / tool).chmod(0o755)
    return folder


def test_postgres_binaries_on_path_count_only_in_the_right_major(monkeypatch, tmp_path):
    """A conda env or Homebrew puts ``postgres`` on PATH: found there if it is major 99, refused if it is 98."""
    right, wrong = fake_server(tmp_path / "right" / "bin", "99.2"), fake_server(tmp_path / "wrong" / "bin", "98.1")
    for folder, found in ((right, True), (wrong, False)):
        monkeypatch.setattr(preflight.shutil, "which",
                            lambda name, folder=folder: str(folder / "postgres") if name == "postgres" else None)
        if found:
            assert preflight.postgres_bindir("99") == folder.resolve()
        else:
            with pytest.raises(StackError, match="brew install postgresql@99"):
                preflight.postgres_bindir("99")
