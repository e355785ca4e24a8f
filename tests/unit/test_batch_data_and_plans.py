"""Lessons 02-03's pure parts: the flights copies, plan reading, the master's JSON."""

from __future__ import annotations

import pytest

from pipeline_patterns.batch import flights, memory, plans
from pipeline_patterns.batch.sizing import Workers

SORT_MERGE_PLAN = """ResultQueryStage 3
+- HashAggregate(keys=[], functions=[count(1)], output=[n#57L])
   +- ShuffleQueryStage 2
      +- Exchange SinglePartition, ENSURE_REQUIREMENTS, [plan_id=173]
         +- *(3) HashAggregate(keys=[], functions=[partial_count(1)], output=[count#85L])
            +- Project [carrier#10]
               +- SortMergeJoin [carrier#10], [carrier#21], Inner
                  :- Sort [carrier#10 ASC NULLS FIRST], false, 0
                  :  +- ShuffleQueryStage 0
                  :     +- Exchange hashpartitioning(carrier#10, 2), ENSURE_REQUIREMENTS, [plan_id=135]
                  :        +- Filter isnotnull(carrier#10)
                  :           +- FileScan parquet [carrier#10] Batched: true, DataFilters: [isnotnull(carrier#10)]
                  +- Sort [carrier#21 ASC NULLS FIRST], false, 0
                     +- ShuffleQueryStage 1
                        +- Exchange hashpartitioning(carrier#21, 2), ENSURE_REQUIREMENTS, [plan_id=136]
                           +- BroadcastExchange HashedRelationBroadcastMode(List(input[0, string, false]),false)
                              +- FileScan parquet [carrier#21,name#22] Batched: true
"""


def test_operators_are_read_in_order_without_codegen_prefixes():
    assert plans.operators(SORT_MERGE_PLAN) == [
        "ResultQueryStage", "HashAggregate", "ShuffleQueryStage", "Exchange", "HashAggregate", "Project",
        "SortMergeJoin", "Sort", "ShuffleQueryStage", "Exchange", "Filter", "FileScan", "Sort",
        "ShuffleQueryStage", "Exchange", "BroadcastExchange", "FileScan"]


def test_exchanges_count_shuffles_not_broadcasts():
    assert plans.exchanges(SORT_MERGE_PLAN) == 3


def test_aqe_separators_are_not_operators():
    text = "AdaptiveSparkPlan isFinalPlan=true\n+- == Final Plan ==\n   +- Project [a#1]\n+- == Initial Plan ==\n"
    assert plans.operators(text) == ["AdaptiveSparkPlan", "Project"]


@pytest.fixture(scope="module")
def base():
    return flights.pandas_tables()["flights"]


def test_copy_zero_is_the_real_table_with_a_skewed_key(base):
    spec = flights.FlightsSpec(scale=2, seed=5, hot_share=0.5, n_keys=100)
    copy = flights.scaled_copy(base, spec, 0)
    assert len(copy) == flights.FLIGHTS_ROWS
    assert copy.drop(columns="skew_key").equals(base)
    hot = (copy["skew_key"] == flights.HOT_KEY).mean()
    assert 0.49 < hot < 0.51
    assert set(copy.loc[copy["skew_key"] != flights.HOT_KEY, "skew_key"]) == set(range(1, 101))


def test_later_copies_have_new_ids_and_delays_shifted_by_at_most_five_minutes(base):
    spec = flights.FlightsSpec(scale=2, seed=5)
    first, second = flights.scaled_copy(base, spec, 0), flights.scaled_copy(base, spec, 1)
    assert second["flight_id"].min() == flights.FLIGHTS_ROWS and second["flight_id"].is_unique
    shift = (second["dep_delay"] - first["dep_delay"]).dropna()
    assert shift.between(-5, 5).all() and shift.nunique() == 11
    assert ((second["arr_delay"] - first["arr_delay"]).dropna() == shift.loc[
        (second["arr_delay"] - first["arr_delay"]).dropna().index]).all()


def test_the_same_spec_gives_the_same_rows_and_another_seed_other_rows(base):
    spec = flights.FlightsSpec(scale=2, seed=5)
    assert flights.scaled_copy(base, spec, 1).equals(flights.scaled_copy(base, spec, 1))
    other = flights.scaled_copy(base, flights.FlightsSpec(scale=2, seed=6), 1)
    assert not other["skew_key"].equals(flights.scaled_copy(base, spec, 1)["skew_key"])


def test_key_dim_has_one_row_per_key_the_hot_one_included():
    dim = flights.key_dim(flights.FlightsSpec(n_keys=10))
    assert list(dim["skew_key"]) == list(range(11)) and dim["key_label"][0] == "key-0"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scale": 0}, "scale must be 1..200"),
    ({"hot_share": 1.0}, "hot_share is the hot key's share"),
    ({"n_keys": 0}, "n_keys must be at least 1"),
])
def test_a_bad_spec_says_what_it_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        flights.FlightsSpec(**kwargs)


MASTER_JSON = {
    "workers": [{"id": "worker-1", "state": "ALIVE", "cores": 2, "memory": 2048},
                {"id": "worker-0", "state": "DEAD", "cores": 8, "memory": 16384}],
    "activeapps": [{"id": "app-1", "name": "lesson", "state": "WAITING", "cores": 0, "memoryperexecutor": 8192}],
}


def test_workers_counts_only_alive_ones():
    assert memory.workers(MASTER_JSON) == Workers(count=1, cores=2, memory_mb=2048)


def test_an_application_is_read_from_the_masters_json_or_is_absent():
    app = memory.application_on_master(MASTER_JSON, "lesson")
    assert (app.app_id, app.state, app.cores_granted, app.memory_per_executor_mb) == ("app-1", "WAITING", 0, 8192)
    assert memory.application_on_master(MASTER_JSON, "other") is None


def test_no_alive_worker_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no ALIVE worker"):
        memory.workers({"workers": [{"state": "DEAD", "cores": 2, "memory": 1024}]})
