from __future__ import annotations

import itertools
from collections import Counter

import pytest

from pipeline_patterns import runner
from pipeline_patterns.bootstrap import _artifact_name
from pipeline_patterns.datagen import user_events
from pipeline_patterns.poll import wait_until


@pytest.mark.parametrize(("text", "value"), [
    ("50", 50), ("0.5", 0.5), ("True", True), ("false", False), ("None", None), ("abc", "abc"), ("00", 0),
])
def test_parameter_values_are_typed_like_papermill(text, value):
    assert runner.parse_value(text) == value and type(runner.parse_value(text)) is type(value)


def test_notebooks_found_by_prefix_stem_and_in_order():
    every = runner.find_notebooks([])
    assert every == sorted(every) and every[0].name == "00_stack_tour.ipynb"
    assert runner.find_notebooks(["00"]) == [every[0]]
    assert runner.find_notebooks(["00_stack_tour"]) == [every[0]]


def test_unknown_notebook_lists_the_lessons():
    with pytest.raises(FileNotFoundError, match="00_stack_tour"):
        runner.find_notebooks(["99_nope"])


def test_artifact_names_strip_versions():
    assert _artifact_name("kafka-clients-3.9.1.jar") == "kafka-clients"
    assert _artifact_name("delta-spark_4.1_2.13-4.3.1.jar") == "delta-spark_4.1_2.13"
    assert _artifact_name("spark-sql-kafka-0-10_2.13-4.1.1.jar") == "spark-sql-kafka-0-10_2.13"
    assert _artifact_name("zstd-jni-1.5.7-3.jar") == "zstd-jni"


def test_events_are_seeded_ordered_and_in_the_guide_schema():
    first, again, other = user_events(300, seed=7), user_events(300, seed=7), user_events(300, seed=8)
    assert first == again and first != other
    assert set(first[0]) == {"event_id", "user_id", "session_id", "event_type", "revenue", "timestamp"}
    assert [e["timestamp"] for e in first] == sorted(e["timestamp"] for e in first)
    assert len({e["event_id"] for e in first}) == 300
    assert set(Counter(e["event_type"] for e in first)) == {"view", "click", "purchase"}
    assert all((e["revenue"] > 0) == (e["event_type"] == "purchase") for e in first)
    assert first[0]["timestamp"] == "2024-01-15T09:00:00.782Z"


def test_wait_until_returns_the_first_truthy_value_and_times_out():
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 2 and "ready", 5, "a counter", interval_s=0.01) == "ready"
    with pytest.raises(TimeoutError, match="waiting for never"):
        wait_until(lambda: None, 0.05, "never", interval_s=0.01)
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, 5, "a bug", interval_s=0.01)
