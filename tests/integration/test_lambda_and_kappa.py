"""Lambda and Kappa on the real Kafka, Spark/Delta and PostgreSQL, with exact expected answers.

Every topic, table, view and consumer group has a uuid in its name and is dropped at
teardown, so the module can run again (or beside another run) without seeing old data.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from kafka.errors import KafkaError

from pipeline_patterns import datagen, kafka_client
from pipeline_patterns.architectures.aggregation import cents, diff
from pipeline_patterns.architectures.event_log import create_event_log, produce_event_log
from pipeline_patterns.architectures.kappa.fakes import ConcurrentReader
from pipeline_patterns.architectures.kappa.log import create_log, offsets_found, partition_by_user, start_offsets
from pipeline_patterns.architectures.kappa.pitfalls import non_atomic_swap
from pipeline_patterns.architectures.kappa.reprocessing import replay
from pipeline_patterns.architectures.kappa.serving import drop_deployment, swap, table_answer, table_totals
from pipeline_patterns.architectures.kappa.versions import V1, V2, batch_compute
from pipeline_patterns.architectures.lambda_arch.batch_layer import batch_daily_view, publish_batch_view
from pipeline_patterns.architectures.lambda_arch.fakes import late_events, simulated_events
from pipeline_patterns.architectures.lambda_arch.serving import serving_answer, speed_view_totals
from pipeline_patterns.architectures.lambda_arch.simulation import LambdaPaths, recompute, simulate_day
from pipeline_patterns.architectures.lambda_arch.tables import LambdaTables, drop_serving_tables, ensure_serving_tables
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration

DAY = date(2024, 1, 15)
GO_LIVE_MS = int(datetime(2024, 1, 15, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def spark():
    return get_spark("test-lambda-kappa")


@pytest.fixture(scope="module")
def events():
    return simulated_events(1_200, seed=7, mean_gap_s=60)


@pytest.fixture(scope="module")
def late():
    return late_events(3, DAY, seed=7)


def _delete_topic(topic: str) -> None:
    admin = kafka_client.admin()
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()


def _delete_groups(prefix: str) -> None:
    admin = kafka_client.admin()
    try:
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(prefix)]
        if groups:
            admin.delete_groups(groups)
    except KafkaError as exc:  # a group still settling is not worth failing a passed test for
        print(f"consumer groups {prefix}* not deleted: {exc!r}")
    finally:
        admin.close()


@pytest.fixture(scope="module")
def lambda_run(spark, events, late, tmp_path_factory):
    suffix = uuid.uuid4().hex[:10]
    lake = tmp_path_factory.mktemp(f"lambda_lake_{suffix}")
    tables = LambdaTables(f"t_lambda_{suffix}")
    ensure_serving_tables(tables)
    topic = f"t_lambda_{suffix}"
    create_event_log(topic, partitions=3)  # the broker's 7-day retention would delete 2024's events
    paths = LambdaPaths(str(lake / "master"), str(lake / "batch"), str(lake / "ck"))
    try:
        # three events from 2024-01-15 09:00-11:00 arrive at 24:00, far behind the watermark
        steps = simulate_day(spark, events, topic, tables, paths, step_hours=[18, 24, 26, 40],
                             batch_after_hours=26, day=DAY, produce=produce_event_log,
                             late=late, late_arrival_hours=24)
        yield tables, paths, steps
    finally:
        drop_serving_tables(tables)
        _delete_topic(topic)


def test_the_merged_view_equals_a_recomputation_before_and_after_the_cutoff_moves(lambda_run, events, late):
    tables, _, steps = lambda_run
    # on-time events: exact at every step before the batch; everything: exact after it
    assert [s["diff_rows_on_time"] for s in steps[:2]] == [0, 0]
    assert [s["diff_rows"] for s in steps] == [0, steps[1]["diff_rows"], 0, 0] and steps[1]["diff_rows"] > 0
    assert [str(s["cutoff"]) for s in steps] == ["2024-01-15 00:00:00+00:00"] * 2 + ["2024-01-16 00:00:00+00:00"] * 2
    assert diff(recompute(events + late), serving_answer(tables)) == []


def test_late_events_are_missing_from_the_speed_view_until_the_batch_moves_the_cutoff(lambda_run, events, late):
    tables, _, steps = lambda_run
    late_cents = sum(cents(e["revenue"]) for e in late)
    assert [s["late_so_far"] for s in steps] == [0, 3, 3, 3]
    assert [(s["missing_events"], s["missing_cents"]) for s in steps] == [(0, 0), (3, late_cents), (0, 0), (0, 0)]
    assert steps[1]["dropped_by_watermark"] >= 1
    # the speed view itself never gets them: only the batch layer counts them
    assert speed_view_totals(tables) == (len(events), sum(cents(e["revenue"]) for e in events))


def test_the_boundary_event_counts_once_and_a_strict_bound_loses_the_first_minute(lambda_run, events, late):
    tables, _, _ = lambda_run
    lost = diff(recompute(events + late), serving_answer(tables, strict_speed_bound=True))
    first_minute = [e for e in events if "2024-01-16T00:00:00" <= e["timestamp"] < "2024-01-16T00:01:00"]
    assert sum(d["expected"][0] - d["actual"][0] for d in lost) == len(first_minute) >= 1


def test_rerunning_the_batch_for_a_date_is_idempotent_and_leaves_other_dates(spark, lambda_run, events, late):
    tables, paths, _ = lambda_run
    before = sorted(map(tuple, spark.read.format("delta").load(paths.batch_view).collect()))
    answer = serving_answer(tables)
    batch_daily_view(spark, paths.master, DAY, paths.batch_view)
    publish_batch_view(spark, paths.batch_view, DAY, tables)
    assert sorted(map(tuple, spark.read.format("delta").load(paths.batch_view).collect())) == before
    assert serving_answer(tables) == answer
    batch_rows = recompute([e for e in events + late if e["timestamp"] < "2024-01-16"])
    assert len(before) == len(batch_rows)


@pytest.fixture(scope="module")
def kappa_log(events, late):
    """The log holds the day's events and the late ones (a replay has no watermark to miss them)."""
    suffix = uuid.uuid4().hex[:10]
    topic, view = f"t_kappa_{suffix}", f"t_metrics_{suffix}"
    create_log(topic, partitions=4)
    backfill = datagen.user_events(100, seed=8, start=datetime(2023, 12, 1, tzinfo=UTC))
    produce_event_log(topic, backfill, partition_for=partition_by_user(4))
    produce_event_log(topic, events + late, partition_for=partition_by_user(3))
    try:
        yield topic, view, backfill
    finally:
        drop_deployment(view)
        drop_deployment(f"{view}_r")
        _delete_groups(f"kappa-{view}")
        _delete_topic(topic)


def test_replay_starts_at_the_end_of_a_partition_with_nothing_after_the_timestamp(kappa_log):
    topic, _, backfill = kappa_log
    found, start = offsets_found(topic, GO_LIVE_MS), start_offsets(topic, GO_LIVE_MS)
    in_partition_3 = sum(partition_by_user(4)(e) == 3 for e in backfill)
    assert found[3] is None and start[3] == in_partition_3
    partition_of = partition_by_user(4)
    assert [start[p] for p in (0, 1, 2)] == [sum(partition_of(e) == p for e in backfill) for p in (0, 1, 2)]


def test_v2_equals_an_independent_batch_and_replaying_twice_gives_the_same_table(kappa_log, events, late):
    topic, view, backfill = kappa_log
    first = replay(topic, V2, GO_LIVE_MS, view=view)
    table = table_answer(first.table)
    second = replay(topic, V2, GO_LIVE_MS, view=view)
    assert first.events == second.events == len(events) + len(late)
    assert table == batch_compute(events + late + backfill, V2, GO_LIVE_MS)
    assert second.table == first.table and table_answer(second.table) == table


def test_the_swap_is_atomic_for_a_concurrent_reader_and_the_naive_swap_is_not(kappa_log):
    topic, view, _ = kappa_log
    v1 = replay(topic, V1, GO_LIVE_MS, view=view)
    v2 = replay(topic, V2, GO_LIVE_MS, view=view)
    swap(view, v1.table)
    versions = {table_totals(v1.table), table_totals(v2.table)}
    assert len(versions) == 2
    with ConcurrentReader(view) as reader:
        for i in range(30):
            swap(view, v2.table if i % 2 == 0 else v1.table)
    print(f"\natomic swap: {len(reader.answers)} queries, {len(reader.errors)} errors")
    assert reader.answers and reader.errors == [] and set(reader.answers) <= versions
    with ConcurrentReader(view) as naive:
        for i in range(30):
            non_atomic_swap(view, v2.table if i % 2 == 0 else v1.table)
    print(f"drop + create: {len(naive.answers)} queries, {len(naive.errors)} errors")
    assert naive.errors and set(naive.errors) == {"UndefinedTable"}
    with pytest.raises(ValueError, match="serves now"):
        replay(topic, V1, GO_LIVE_MS, view=view)  # v1 is live after 30 swaps


def test_kappa_v2_reconciles_with_lambda_on_the_same_events(lambda_run, kappa_log):
    tables, _, _ = lambda_run
    topic, view, _ = kappa_log
    v2 = replay(topic, V2, GO_LIVE_MS, view=f"{view}_r")
    assert diff(serving_answer(tables), table_answer(v2.table)) == []
