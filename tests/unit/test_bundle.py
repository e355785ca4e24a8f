"""The offline bundle's pure parts: which pins it carries, and when its jars may replace Maven."""

from __future__ import annotations

import json

import pytest

from pipeline_patterns import bundle
from pipeline_patterns.bootstrap import inputs_digest
from pipeline_patterns.stack.errors import StackError


def test_every_pin_of_the_constraints_and_nothing_else(tmp_path):
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# a comment == not a pin\napache-airflow==3.3.2\n\npyspark==4.1.1  # the big one\n")
    assert bundle.pins(constraints) == ["apache-airflow==3.3.2", "pyspark==4.1.1"]
    assert len(bundle.pins()) > 200 and "apache-airflow==3.3.2" in bundle.pins()


def fake_bundle(folder, digest):
    (folder / "jars" / "kafka").mkdir(parents=True)
    (folder / "jars" / "kafka" / "kafka-clients-9.9.jar").write_bytes(b"jar")
    (folder / "jars" / ".resolved").write_text(digest)
    (folder / "MANIFEST.json").write_text(json.dumps({"jars_digest": digest}))
    return folder


def test_the_jars_of_this_checkout_are_copied_without_maven(tmp_path):
    source, jars = fake_bundle(tmp_path / "bundle", inputs_digest()), tmp_path / "jars"
    assert bundle.install_jars(source, echo=lambda _: None, jars_dir=jars)
    assert (jars / "kafka" / "kafka-clients-9.9.jar").read_bytes() == b"jar"
    assert (jars / ".resolved").read_text() == inputs_digest()


def test_jars_for_other_versions_are_refused_naming_both_digests(tmp_path):
    source = fake_bundle(tmp_path / "bundle", "0" * 64)
    with pytest.raises(StackError, match=r"other versions .*000000000000.*make bundle"):
        bundle.install_jars(source, echo=lambda _: None, jars_dir=tmp_path / "jars")
    assert not (tmp_path / "jars").exists()


def test_no_bundle_means_maven_as_usual(tmp_path):
    assert bundle.install_jars(tmp_path / "none", echo=lambda _: None, jars_dir=tmp_path / "jars") is False
