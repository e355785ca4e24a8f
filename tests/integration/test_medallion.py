"""Medallion on real Spark + Delta: bronze -> silver -> gold, incremental and idempotent.

One scenario runs once per module in a temporary lake (seed 42, 600 events, 450 flights):
three deliveries, a rerun of every stage with no new input, a re-delivery of
``events_002.json`` and ``flights_002.json``, then silver once more from a state file
rewound one version (a crash after silver's writes, before its state write). Each test checks one claim of it, with
exact counts; the plain-Python reference (``medallion.rules.reference``) gives the
expected silver and quarantine independently of Spark.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from pipeline_patterns.architectures.medallion import checks
from pipeline_patterns.architectures.medallion import rules as r
from pipeline_patterns.architectures.medallion.bronze import ingest_files
from pipeline_patterns.architectures.medallion.checks import rewritten_partitions
from pipeline_patterns.architectures.medallion.datasets import EVENTS, FLIGHTS
from pipeline_patterns.architectures.medallion.fakes import ingestions, land, landing_files
from pipeline_patterns.architectures.medallion.gold import silver_to_gold
from pipeline_patterns.architectures.medallion.lake import Lake, read_changes
from pipeline_patterns.architectures.medallion.pitfalls import (
    overwrite_all_partitions,
    plain_read_commit_version,
    stale_winners,
)
from pipeline_patterns.architectures.medallion.silver import SilverRun, bronze_to_silver
from pipeline_patterns.architectures.medallion.stages import for_each_dataset, run_stages
from pipeline_patterns.architectures.medallion.state import write_state
from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark

pytestmark = pytest.mark.integration
DATASETS = (EVENTS, FLIGHTS)
RULES = {"events": (r.EVENT_RULES, r.event_key), "flights": (r.FLIGHT_RULES, r.flight_key)}


@dataclass
class Scenario:
    lake: Lake
    files: list
    runs: dict = field(default_factory=dict)  # (step, dataset) -> (BronzeRun, SilverRun, GoldRun)
    partitions: dict = field(default_factory=dict)  # (when, dataset) -> partition -> files
    snapshots: dict = field(default_factory=dict)  # (when, dataset) -> layer -> TableState


@pytest.fixture(scope="module")
def spark():
    session = get_spark("test-medallion")
    previous = {key: session.conf.get(key, None) for key in SMALL_TABLES_CONF}
    for key, value in SMALL_TABLES_CONF.items():
        session.conf.set(key, value)
    yield session
    for key, value in previous.items():  # leave the shared session as we found it
        session.conf.unset(key) if value is None else session.conf.set(key, value)


@pytest.fixture(scope="module")
def scenario(spark, tmp_path_factory) -> Scenario:
    lake = Lake(tmp_path_factory.mktemp("medallion"))
    s = Scenario(lake, landing_files(n_events=600, n_flights=450, seed=42))
    for delivery in (1, 2, 3):
        land(s.files, lake.root / "landing", delivery)
        if delivery == 3:
            for ds in DATASETS:
                s.partitions["before", ds.name] = checks.partition_files(spark, lake.table("gold", ds), ds.partition)
        # the two datasets side by side, as the lesson runs them (threads sharing the state file)
        for name, stage_runs in for_each_dataset(DATASETS, lambda ds: run_stages(spark, lake, ds)).items():
            s.runs[delivery, name] = stage_runs
    for ds in DATASETS:
        s.partitions["after", ds.name] = checks.partition_files(spark, lake.table("gold", ds), ds.partition)
        s.snapshots["before rerun", ds.name] = checks.snapshot(spark, lake, ds)
        s.runs["rerun", ds.name] = run_stages(spark, lake, ds)
        s.snapshots["after rerun", ds.name] = checks.snapshot(spark, lake, ds)
        resend = lake.landing(ds) / f"{ds.name}_002.json"
        s.runs["re-delivery", ds.name] = (ingest_files(spark, [resend], lake.table("bronze", ds), ds.name),
                                          bronze_to_silver(spark, lake, ds), silver_to_gold(spark, lake, ds))
        s.snapshots["after re-delivery", ds.name] = checks.snapshot(spark, lake, ds)
        # A crash after silver's writes but before its state file: the next run repeats the same versions.
        write_state(lake.state_file, f"silver_{ds.name}", s.runs["re-delivery", ds.name][1].bronze_versions[0] - 1)
        s.runs["replay", ds.name] = (None, bronze_to_silver(spark, lake, ds), None)
        s.snapshots["after replay", ds.name] = checks.snapshot(spark, lake, ds)
    return s


def expected(s: Scenario, dataset: str) -> r.Reference:
    """The reference over what bronze received: three deliveries, then file 002 again."""
    batches = ingestions(s.files, dataset)
    return r.reference([*batches, batches[1]], *RULES[dataset])


def silver_runs(s: Scenario, dataset: str) -> list[SilverRun]:
    return [s.runs[step, dataset][1] for step in (1, 2, 3, "rerun", "re-delivery")]


def test_bronze_is_append_only_with_a_change_feed_and_took_the_new_column(spark, scenario):
    for ds in DATASETS:
        bronze = DeltaTable.forPath(spark, scenario.lake.table("bronze", ds))
        properties = bronze.detail().first()["properties"]
        assert properties == {"delta.enableChangeDataFeed": "true", "delta.appendOnly": "true"}
        assert {row["operation"] for row in bronze.history().collect()} == {"WRITE"}  # appends only
    columns = spark.read.format("delta").load(scenario.lake.table("bronze", EVENTS)).columns
    assert columns[-1] == "device" and {"_ingested_at", "_source_file"} <= set(columns)  # mergeSchema


def test_silver_reads_only_the_bronze_versions_it_has_not_processed(scenario):
    for ds in DATASETS:
        bronze = [scenario.runs[step, ds.name][0] for step in (1, 2, 3, "rerun", "re-delivery")]
        silver = silver_runs(scenario, ds.name)
        assert [b.version for b in bronze] == [0, 1, 2, None, 3]
        assert [s.bronze_versions for s in silver] == [(0, 0), (1, 1), (2, 2), None, (3, 3)]
        assert [s.rows for s in silver] == [b.rows for b in bronze]  # each bronze row read exactly once
    assert [b.rows for b, _, _ in (scenario.runs[k, "events"] for k in (1, 2, 3))] == [271, 137, 246]
    assert [b.rows for b, _, _ in (scenario.runs[k, "flights"] for k in (1, 2, 3))] == [155, 154, 167]


def test_each_silver_run_counts_exactly(scenario):
    def counts(dataset):
        return [(s.rejected, s.inserted, s.updated, s.duplicates_removed) for s in silver_runs(scenario, dataset)]

    assert counts("events") == [(17, 254, 0, 0), (17, 118, 2, 2), (14, 228, 0, 4), (0, 0, 0, 0), (17, 0, 0, 120)]
    assert counts("flights") == [(9, 146, 0, 0), (17, 134, 0, 3), (15, 152, 0, 0), (0, 0, 0, 0), (17, 0, 0, 137)]


def test_quarantine_keeps_every_rejected_row_with_its_reason(spark, scenario):
    got = {ds.name: checks.reject_counts(spark, scenario.lake, ds) for ds in DATASETS}
    # events_002 and flights_002 were delivered twice: their bad rows are quarantined twice
    assert got["events"] == {"bad_timestamp": 9, "missing_event_id": 6, "missing_session_id": 8,
                             "missing_user_id": 11, "negative_revenue": 4, "purchase_without_revenue": 5,
                             "revenue_not_numeric": 10, "unknown_event_type": 12}
    assert got["flights"] == {"bad_flight_date": 10, "dep_delay_missing": 27, "dep_delay_not_numeric": 8,
                              "dep_delay_out_of_range": 8, "missing_key": 5}
    for ds in DATASETS:
        assert got[ds.name] == dict(expected(scenario, ds.name).rejects)
    quarantine = spark.read.format("delta").load(scenario.lake.table("quarantine", EVENTS))
    assert {"reason", "reasons", "_bronze_version", "_source_file", "device"} <= set(quarantine.columns)
    assert quarantine.filter(F.col("reasons")[0] != F.col("reason")).count() == 0


def test_silver_equals_the_reference_key_by_key(spark, scenario):
    def silver(ds):
        table = scenario.lake.table("silver", ds)
        return {row[ds.key]: row for row in spark.read.format("delta").load(table).collect()}

    events = silver(EVENTS)
    ref = expected(scenario, "events").silver
    assert events.keys() == ref.keys() and len(events) == 600
    for key, raw in ref.items():
        row = events[key]
        assert (row["user_id"], row["event_type"], row["revenue"], row["device"]) == (
            raw["user_id"], raw["event_type"], r.as_decimal(r.text(raw, "revenue")), raw.get("device"))
    flights = silver(FLIGHTS)
    ref = expected(scenario, "flights").silver
    assert flights.keys() == ref.keys() and len(flights) == 432
    assert all(flights[k]["dep_delay"] == r.as_float(r.text(raw, "dep_delay")) for k, raw in ref.items())


def test_dedupe_keeps_the_latest_ingestion_then_the_later_file(spark, scenario):
    by_name = {f.name: {e["event_id"]: e for e in f.records if e["event_id"]}
               for f in scenario.files if f.dataset == "events"}
    silver = spark.read.format("delta").load(scenario.lake.table("silver", EVENTS))
    rows = {row["event_id"]: row for row in silver.collect()}
    resent = by_name["events_001.json"].keys() & by_name["events_002.json"].keys()
    corrected = by_name["events_003.json"].keys() & by_name["events_004.json"].keys()
    assert len(resent) == 2 and len(corrected) == 2
    for event_id in resent:  # a later ingestion: events_002's copy, with the device it added
        assert rows[event_id]["device"] == by_name["events_002.json"][event_id]["device"]
        assert rows[event_id]["_source_file"].endswith("events_002.json")
    for event_id in corrected:  # the same ingestion (one batch): the greater file name, events_004
        assert rows[event_id]["device"] == by_name["events_004.json"][event_id]["device"]
        assert rows[event_id]["_source_file"].endswith("events_004.json")
    assert stale_winners(spark, scenario.lake.table("bronze", EVENTS), "event_id")[
        "row_number, latest ingestion wins"] == 0


def test_rerun_with_no_new_input_commits_nothing_and_changes_no_checksum(scenario):
    for ds in DATASETS:
        bronze, silver, gold = scenario.runs["rerun", ds.name]
        assert (bronze.version, silver.bronze_versions, gold.affected) == (None, None, ())
        before, after = scenario.snapshots["before rerun", ds.name], scenario.snapshots["after rerun", ds.name]
        assert before == after  # same Delta version and same checksum, layer by layer
        assert all(state.version is not None and state.checksum.rows > 0 for state in before.values())


def test_re_delivered_file_is_recorded_in_bronze_but_changes_no_silver_row(scenario):
    sizes = {f.name: len(f.records) for f in scenario.files}
    for ds in DATASETS:
        before, after = scenario.snapshots["after rerun", ds.name], scenario.snapshots["after re-delivery", ds.name]
        assert after["bronze"].checksum.rows == before["bronze"].checksum.rows + sizes[f"{ds.name}_002.json"]
        assert after["silver"] == before["silver"]  # no new version, same rows
        assert after["gold"] == before["gold"]
        assert after["quarantine"].version == before["quarantine"].version + 1
        assert scenario.runs["re-delivery", ds.name][2].affected == ()


def test_replaying_versions_after_a_lost_state_write_changes_nothing(scenario):
    for ds in DATASETS:
        replay = scenario.runs["replay", ds.name][1]
        assert replay.bronze_versions == (3, 3) and (replay.inserted, replay.updated) == (0, 0)
        assert replay.rejected == scenario.runs["re-delivery", ds.name][1].rejected > 0
        # the MERGE had nothing to apply and Delta skipped the repeated quarantine append (txnAppId/txnVersion)
        assert scenario.snapshots["after replay", ds.name] == scenario.snapshots["after re-delivery", ds.name]


def test_checksum_ignores_row_order_and_volatile_columns_but_not_values(spark, tmp_path):
    rows = [("a", 1, "2024-01-01"), ("b", 2, "2024-01-02"), ("c", 3, "2024-01-03")]
    tables = {"original": rows, "reordered": rows[::-1], "changed": [rows[0], rows[1], ("c", 4, "2024-01-03")]}
    sums = {}
    for name, data in tables.items():
        df = spark.createDataFrame(data, "k string, v int, _ingested_at string")
        if name == "reordered":
            df = df.withColumn("_ingested_at", F.lit("2030-01-01"))
        df.write.format("delta").save(str(tmp_path / name))
        sums[name] = checks.checksum(spark, str(tmp_path / name))
    assert sums["original"] == sums["reordered"] and sums["original"].rows == 3
    assert sums["changed"] != sums["original"] and sums["changed"].rows == 3


def test_snapshot_checksums_every_layer_in_one_job_exactly_as_checksum_does_per_table(spark, scenario):
    for ds in DATASETS:
        for layer, state in checks.snapshot(spark, scenario.lake, ds).items():
            path = scenario.lake.table(layer, ds)
            assert state.checksum == (checks.checksum(spark, path) if state.version is not None else None), layer


def test_gold_rewrites_only_the_partitions_the_delivery_touched(scenario):
    events_gold = scenario.runs[3, "events"][2]
    flights_gold = scenario.runs[3, "flights"][2]
    assert events_gold.affected == ("2024-01-17", "2024-01-18", "2024-01-19")  # late day-3 events + new days
    assert flights_gold.affected == ("2013-02", "2013-03")  # late February flights + March
    for run, ds in ((events_gold, EVENTS), (flights_gold, FLIGHTS)):
        before, after = scenario.partitions["before", ds.name], scenario.partitions["after", ds.name]
        assert rewritten_partitions(before, after) == set(run.affected)
        untouched = set(before) - set(run.affected)
        assert untouched and all(before[p] == after[p] for p in untouched)  # the very same files
    assert [scenario.runs[k, "events"][2].affected for k in (1, 2)] == [("2024-01-15", "2024-01-16"),
                                                                        ("2024-01-16", "2024-01-17")]


def test_gold_equals_aggregates_of_the_reference_silver(spark, scenario):
    daily = defaultdict(lambda: [0, set(), Decimal("0.00"), ""])
    for raw in expected(scenario, "events").silver.values():
        row = daily[raw["timestamp"][:10], raw["user_id"]]
        row[0] += 1
        row[1].add(raw["session_id"])
        row[2] += r.as_decimal(r.text(raw, "revenue")) if raw["event_type"] == "purchase" else 0
        row[3] = max(row[3], raw["timestamp"])
    gold = spark.read.format("delta").load(scenario.lake.table("gold", EVENTS))
    last = F.date_format("last_activity", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
    rows = gold.select(F.col("event_date").cast("string").alias("d"), "user_id", "total_events", "sessions",
                       "revenue", last.alias("last")).collect()
    got = {(row["d"], row["user_id"]): [row["total_events"], row["sessions"], row["revenue"], row["last"]]
           for row in rows}
    assert got == {k: [n, len(sessions), revenue, last] for k, (n, sessions, revenue, last) in daily.items()}

    monthly = defaultdict(list)
    for raw in expected(scenario, "flights").silver.values():
        monthly[f"2013-{raw['month']:02d}", raw["carrier"]].append(float(raw["dep_delay"]))
    gold = spark.read.format("delta").load(scenario.lake.table("gold", FLIGHTS))
    got = {(row["month"], row["carrier"]): (row["flights"], row["on_time_flights"], row["on_time_share"],
                                           row["mean_dep_delay"]) for row in gold.collect()}
    on_time = {k: sum(d <= 15 for d in v) for k, v in monthly.items()}
    assert got == {k: (len(v), on_time[k], on_time[k] / len(v), sum(v) / len(v)) for k, v in monthly.items()}


def test_bronze_rows_equal_silver_plus_quarantine_plus_duplicates_removed(spark, scenario):
    got = {ds.name: checks.accounting(spark, scenario.lake, ds) for ds in DATASETS}
    assert got["events"] == checks.MedallionAccounting(bronze=791, silver=600, quarantine=65, duplicates_removed=126)
    assert got["flights"] == checks.MedallionAccounting(bronze=630, silver=432, quarantine=58, duplicates_removed=140)
    for ds in DATASETS:
        assert got[ds.name].balanced
        assert got[ds.name].duplicates_removed == sum(s.duplicates_removed for s in silver_runs(scenario, ds.name))
        assert got[ds.name].duplicates_removed == expected(scenario, ds.name).duplicates_removed


def test_the_guides_pitfalls_happen_as_described(spark, scenario, tmp_path):
    error = plain_read_commit_version(spark, scenario.lake.table("bronze", EVENTS))
    assert error is not None and error.getCondition() == "UNRESOLVED_COLUMN.WITH_SUGGESTION"
    assert "_commit_version" in str(error)
    changes = read_changes(spark, scenario.lake.table("bronze", EVENTS), 0, 0)
    assert {"_change_type", "_commit_version", "_commit_timestamp"} <= set(changes.columns)
    before, after = overwrite_all_partitions(spark, scenario.lake, EVENTS, ["2024-01-19"], tmp_path / "scratch")
    assert (before, after) == (5, 1)  # the guide's overwrite left one of five partitions
    gold = spark.read.format("delta").load(scenario.lake.table("gold", EVENTS))
    assert gold.select("event_date").distinct().count() == 5  # the real gold, untouched by the demo
