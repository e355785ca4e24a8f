"""The driver's class-data archive is used only when its stamp matches (a bad archive crashes a JVM)."""

from __future__ import annotations

import json

import pytest

from pipeline_patterns import spark_archive

OPTIONS = "-XX:+UseSerialGC"


@pytest.fixture
def archive(tmp_path, monkeypatch):
    path = tmp_path / "cds" / "spark-driver.jsa"
    path.parent.mkdir()
    monkeypatch.setattr(spark_archive, "ARCHIVE", path)
    monkeypatch.setattr(spark_archive, "STAMP", path.with_suffix(".json"))
    monkeypatch.setattr(spark_archive, "_stamp", lambda java_options: {"java": "/usr/bin/java", "jars": ["a.jar"],
                                                                         "java_options": java_options})
    return path


def write(archive, size: int, stamp: dict) -> None:
    archive.write_bytes(b"x" * size)
    archive.with_suffix(".json").write_text(json.dumps(stamp))


def test_a_matching_archive_is_passed_to_the_jvm(archive):
    write(archive, 10, {"java": "/usr/bin/java", "jars": ["a.jar"], "java_options": OPTIONS, "size": 10})
    assert spark_archive.option(OPTIONS) == f"-XX:SharedArchiveFile={archive}"


@pytest.mark.parametrize(("size", "stamp_changes"), [
    (9, {}),                                  # truncated after it was stamped
    (10, {"jars": ["a.jar", "b.jar"]}),       # another jar set
    (10, {"java_options": "-XX:+UseG1GC"}),   # other JVM options
])
def test_a_stale_or_damaged_archive_is_not_used(archive, size, stamp_changes):
    write(archive, size, {"java": "/usr/bin/java", "jars": ["a.jar"], "java_options": OPTIONS, "size": 10,
                          **stamp_changes})
    assert spark_archive.option(OPTIONS) is None


def test_no_archive_or_no_stamp_means_start_without(archive):
    assert spark_archive.option(OPTIONS) is None
    archive.write_bytes(b"x")
    assert spark_archive.option(OPTIONS) is None
    archive.with_suffix(".json").write_text("{not json")
    assert spark_archive.option(OPTIONS) is None
