"""Lesson 16's sensors on the real scheduler: the poke sensor keeps its one-slot pool while it waits, the reschedule
sensor gives it back, the deferrable one waits on the triggerer, a wrong ``execution_delta`` times out and fails its
run, and the upstream's Asset event triggers the Asset-scheduled DAG. Also: ``.expand()`` maps one copy per table.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from pipeline_patterns.orchestration import dependency_experiments as dx
from pipeline_patterns.orchestration import lesson_airflow, shop_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.orchestration]


@pytest.fixture(scope="module")
def shop(airflow):
    schema = f"l16_{uuid.uuid4().hex[:10]}"
    shop_pipeline.create(schema)
    client = lesson_airflow.ready([*dx.DOWNSTREAM, shop_pipeline.UPSTREAM_DAG, "fan_out_tables"])
    lesson_airflow.ready([dx.ASSET_DAG], fresh=False)
    dx.ensure_pools(client)
    try:
        yield client, schema
    finally:
        shop_pipeline.drop(schema)


def test_poke_holds_the_slot_reschedule_frees_it_and_a_wrong_delta_times_out(shop):
    client, schema = shop
    day = date(2024, 3, 20)
    race = dx.sensor_race(client, schema, day)
    assert {d: race.sensor_states_while_waiting[d] for d in dx.WAITING} == dx.WAITING
    poke, resched = race.tasks["complex_pipeline_poke"], race.tasks["complex_pipeline_reschedule"]
    assert race.poke_other_work_while_waiting == "scheduled"
    assert poke["other_work"].start_date >= poke[dx.SENSOR].end_date
    # other_work ran in the pool's one slot after the reschedule sensor had first taken it, before the upstream ran
    assert race.sensor_first_start["complex_pipeline_reschedule"] <= resched["other_work"].start_date
    assert resched["other_work"].end_date <= race.upstream_triggered_at
    assert {d: race.runs[d].state for d in dx.DOWNSTREAM} == {
        "complex_pipeline_poke": "success", "complex_pipeline_reschedule": "success",
        "complex_pipeline_wrong_delta": "failed", "complex_pipeline": "success"}
    assert race.tasks["complex_pipeline_wrong_delta"][dx.SENSOR].state == "failed"
    assert (race.runs[dx.ASSET_DAG].run_type, race.runs[dx.ASSET_DAG].state) == ("asset_triggered", "success")
    assert {p for d, p in shop_pipeline.reporting(schema) if d == day} == {
        "complex_pipeline_poke", "complex_pipeline_reschedule", "complex_pipeline", dx.ASSET_DAG}


def test_fan_out_maps_one_copy_per_table(shop):
    client, schema = shop
    expected = shop_pipeline.create_sources(schema, 30, seed=7)
    run = client.trigger("fan_out_tables", conf={"schema": schema}, run_id=f"fan__{uuid.uuid4().hex[:8]}")
    run = client.wait_for_runs("fan_out_tables", [run.run_id])[0]
    mapped = [t for t in client.task_instances("fan_out_tables", run.run_id) if t.task_id == "copy_table"]
    assert run.state == "success" and sorted((t.map_index, t.state) for t in mapped) == [
        (0, "success"), (1, "success"), (2, "success")]
    assert client.xcom("fan_out_tables", run.run_id, "summarize") == expected
