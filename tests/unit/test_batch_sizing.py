"""The guide's sizing table as a rule, fitted to the workers there are, and Spark's unified memory split."""

from __future__ import annotations

import itertools

import pytest

from pipeline_patterns.batch.sizing import (
    ExecutorRequest,
    Workers,
    guide_request,
    overhead_mb,
    placeable_executors,
    size_for,
    unified_memory,
)

GUIDE_SESSION = ExecutorRequest(instances=2, memory_mb=8 * 1024, cores=4)  # the guide's 8g / 4 cores
LAPTOP_WORKER = Workers(count=1, cores=2, memory_mb=2048)  # what one worker offers on a workshop laptop


@pytest.mark.parametrize(("data_gb", "expected"), [
    (0.3, ExecutorRequest(2, 4096, 2)),
    (9.99, ExecutorRequest(2, 4096, 2)),
    (10, ExecutorRequest(10, 8192, 4)),  # rows are "< 10 GB", then "10-100 GB"
    (100, ExecutorRequest(50, 16384, 4)),
    (2_000, ExecutorRequest(50, 16384, 4)),
])
def test_the_guides_table_asks_the_lower_end_of_the_row_for_the_data_size(data_gb, expected):
    assert guide_request(data_gb) == expected


def test_a_negative_data_size_is_refused():
    with pytest.raises(ValueError, match="data size must be 0 GB or more, got -1"):
        guide_request(-1)


def test_the_guides_session_gets_no_executor_from_a_laptop_worker():
    assert placeable_executors(GUIDE_SESSION, LAPTOP_WORKER) == 0
    # one core or 1 GB short is as good as nothing: an executor needs all of both on one worker
    assert placeable_executors(ExecutorRequest(1, 2048, 3), LAPTOP_WORKER) == 0
    assert placeable_executors(ExecutorRequest(1, 2049, 2), LAPTOP_WORKER) == 0
    assert placeable_executors(ExecutorRequest(1, 2048, 2), LAPTOP_WORKER) == 1


def test_a_worker_hosts_as_many_executors_as_both_its_cores_and_memory_allow():
    workers = Workers(count=3, cores=8, memory_mb=20_000)
    assert placeable_executors(ExecutorRequest(100, 4096, 2), workers) == 3 * 4  # cores allow 4, memory 4
    assert placeable_executors(ExecutorRequest(100, 8192, 2), workers) == 3 * 2  # memory allows 2
    assert placeable_executors(ExecutorRequest(5, 1024, 1), workers) == 5  # never more than asked


def test_small_data_on_a_laptop_worker_is_fitted_to_one_executor_with_a_note_per_change():
    sizing = size_for(5, LAPTOP_WORKER)
    assert sizing.guide == ExecutorRequest(2, 4096, 2)
    assert sizing.guide_placeable == 0
    assert sizing.fitted == ExecutorRequest(1, 2048, 2)
    assert sizing.notes == (
        "memory per executor 4096 MB -> 2048 MB: a worker has 2048 MB for 1 executor(s)",
        "executors 2 -> 1: 1 worker(s) hold 1 each",
    )


def test_a_cluster_with_room_keeps_the_guides_executor_and_caps_their_number():
    sizing = size_for(50, Workers(count=3, cores=8, memory_mb=32_768))
    assert (sizing.guide, sizing.fitted) == (ExecutorRequest(10, 8192, 4), ExecutorRequest(6, 8192, 4))
    assert sizing.notes == ("executors 10 -> 6: 3 worker(s) hold 2 each",)


def test_a_worker_larger_than_the_ask_changes_nothing():
    sizing = size_for(5, Workers(count=2, cores=4, memory_mb=16_384))
    assert sizing.fitted == sizing.guide == ExecutorRequest(2, 4096, 2)
    assert sizing.guide_placeable == 2 and sizing.notes == ()


def test_every_fitted_request_can_be_placed_in_full():
    for count, cores, memory_mb, data_gb in itertools.product(
            (1, 2, 5), (1, 2, 3, 8), (450, 1000, 2048, 6000, 40_000), (1, 50, 500)):
        workers = Workers(count, cores, memory_mb)
        fitted = size_for(data_gb, workers).fitted
        assert fitted.instances >= 1 and fitted.memory_mb >= 450, (workers, data_gb, fitted)
        assert placeable_executors(fitted, workers) == fitted.instances, (workers, data_gb, fitted)


def test_a_worker_that_cannot_hold_sparks_minimum_heap_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expected at least 1 worker with 1 core and 450 MB, "
                                         r"found 1 x \(2 cores, 400 MB\).*SPARK_WORKER_MEMORY"):
        size_for(1, Workers(1, 2, 400))


def test_the_request_becomes_the_three_executor_settings():
    assert ExecutorRequest(1, 2048, 2).conf() == {
        "spark.executor.instances": "1", "spark.executor.memory": "2048m", "spark.executor.cores": "2"}


def test_the_unified_memory_split_of_a_one_gigabyte_heap():
    split = unified_memory(1024)
    # 1024 - 300 reserved = 724 usable; 60 % of it unified (434), the rest user memory (290);
    # half of unified is storage's protected part (217), the other half always execution's.
    assert (split.reserved, split.user, split.unified, split.storage_protected) == (300, 290, 434, 217)
    assert split.execution_at_least == 217
    assert unified_memory(1024, memory_fraction=0.8, storage_fraction=0.3).unified == 579


def test_a_heap_spark_would_refuse_is_a_clear_error():
    with pytest.raises(ValueError, match=r"at least 450 MB .* got 449 MB; raise spark\.driver\.memory"):
        unified_memory(449)
    with pytest.raises(ValueError, match="expected 0 < memory_fraction < 1"):
        unified_memory(1024, memory_fraction=1.0)


def test_the_container_overhead_is_ten_percent_and_at_least_384_mb():
    assert overhead_mb(8192) == 819
    assert overhead_mb(1024) == 384
