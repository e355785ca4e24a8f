"""Sessions on Spark (applyInPandasWithState and session_window) equal the reference, clicks out of order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline_patterns import kafka_client
from pipeline_patterns.spark import get_spark
from pipeline_patterns.streaming.bounded import run_bounded_together
from pipeline_patterns.streaming.session_queries import (
    builtin_sessions,
    clicks_stream,
    produce_clicks,
    read_sessions,
    stateful_sessions,
)
from pipeline_patterns.streaming.sessions import Click, click_stream, emitted_after_steps, sessionize

pytestmark = pytest.mark.integration
GAP, DELAY = timedelta(minutes=30), timedelta(minutes=10)


def test_both_engines_equal_the_reference_step_by_step(tmp_path, unique):
    spark = get_spark("test-sessions")
    steps, _ = click_stream(users=5, seed=11, step=timedelta(minutes=90), out_of_order=True)
    clicks = [c for step in steps for c in step]
    marker = Click("zz_end", max(c.event_time for c in clicks) + timedelta(days=1), "end")
    steps = [*steps, [marker]]
    topic = f"sessions_{unique}"
    kafka_client.create_topic(topic, partitions=2)
    emitted = {"state": [], "session_window": []}
    for number, step in enumerate(steps):
        produce_clicks(topic, step)
        stream = clicks_stream(spark, topic, DELAY)
        run_bounded_together({
            "state": (stateful_sessions(stream, GAP), str(tmp_path / "s_ck"), str(tmp_path / "s_out")),
            "session_window": (builtin_sessions(stream, GAP), str(tmp_path / "w_ck"), str(tmp_path / "w_out")),
        }, number)
        emitted["state"].append({s for s in read_sessions(str(tmp_path / "s_out")) if s.user_id != "zz_end"})
        emitted["session_window"].append(
            {s for s in read_sessions(str(tmp_path / "w_out")) if s.user_id != "zz_end"})
    expected = set(sessionize(clicks, GAP))
    assert emitted["state"][-1] == expected == emitted["session_window"][-1]
    for engine, per_step in emitted.items():
        model = [{s for s in e if s.user_id != "zz_end"} for e in emitted_after_steps(steps, GAP, DELAY, engine)]
        assert per_step == model, engine
