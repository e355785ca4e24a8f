"""Spark's side of lesson 14: Parquet staged by Spark loads through the warehouse pattern, and the JDBC writer."""

from __future__ import annotations

import pytest

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk import measure, rows, spark_jdbc, staging, warehouse
from pipeline_patterns.ingestion.bulk.checks import table_answer
from pipeline_patterns.ingestion.bulk.tables import FLIGHTS, drop_table
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark():
    return get_spark("integration-tests")


@pytest.fixture
def names(unique):
    made = {k: f"bulk_sp_{k}_{unique}" for k in ("target", "loads", "ref", "jdbc", "rewrite")}
    yield made
    with postgres.connect(autocommit=True) as conn:
        for t in made.values():
            conn.execute(drop_table(t))


def test_spark_stages_parquet_that_loads_once(spark, names, tmp_path):
    sample = rows.flights(1_000)
    files = staging.stage(spark_jdbc.spark_frame(spark, sample), tmp_path / "stage", files=2)
    assert len(files) == 2 and sum(staging.fingerprint(f).rows for f in files) == 1_000
    warehouse.create_target(names["target"], FLIGHTS, names["loads"])
    first = warehouse.load_staged(files, names["target"], FLIGHTS, names["loads"])
    again = warehouse.load_staged(files, names["target"], FLIGHTS, names["loads"])
    assert (first.rows_loaded, again.rows_loaded, again.rows_in_target) == (1_000, 0, 1_000)
    assert table_answer(names["target"], "flight_id") == (1_000, sum(range(1_000)))
    reference = measure.measure("copy_binary", sample, names["ref"], keep=True)
    with postgres.connect() as conn:
        assert measure.table_digest(conn, names["target"], FLIGHTS) == reference.digest


@pytest.mark.parametrize("label", list(spark_jdbc.CONFIGS))
def test_the_jdbc_writer_lands_the_same_rows(spark, names, label):
    sample = rows.synthetic(1_500, seed=9)
    reference = measure.measure("copy_binary", sample, names["ref"])
    run = spark_jdbc.measure_jdbc(spark_jdbc.spark_frame(spark, sample), sample, names["jdbc"], label)
    assert (run.loader, run.rows, run.digest) == (label, 1_500, reference.digest)


def test_bad_jdbc_settings_are_refused_before_spark_runs(spark):
    with pytest.raises(ValueError, match="batchsize and numPartitions must be at least 1, got 0 and 2"):
        spark_jdbc.jdbc_write(None, "t", batchsize=0)
