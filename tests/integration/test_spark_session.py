from __future__ import annotations

import pytest

from pipeline_patterns import kafka_client, postgres
from pipeline_patterns.config import get_settings
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark():
    session = get_spark("integration-tests")
    yield session
    session.stop()


def test_session_uses_local_jars_and_never_downloads(spark):
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.jars.packages", None) is None
    jars = conf.get("spark.jars").split(",")
    assert any("delta-spark_" in j for j in jars) and any("spark-sql-kafka" in j for j in jars)
    assert conf.get("spark.sql.shuffle.partitions") == "2"  # small-machine defaults (spark.DEFAULT_CONF)
    assert conf.get("spark.databricks.delta.snapshotPartitions") == "1"
    assert conf.get("spark.master") == get_settings().spark_master


def test_kafka_to_delta_to_postgres(spark, unique, tmp_path):
    topic, table = f"spark_it_{unique}", f"spark_it_{unique}"
    kafka_client.create_topic(topic, partitions=2)
    assert kafka_client.produce_json(topic, [{"n": n} for n in range(25)]) == 25
    df = (spark.read.format("kafka").option("kafka.bootstrap.servers", get_settings().kafka_bootstrap_servers)
          .option("subscribe", topic).load()
          .selectExpr("CAST(get_json_object(CAST(value AS STRING), '$.n') AS INT) AS n"))
    df.write.format("delta").save(str(tmp_path / "delta"))
    from_delta = spark.read.format("delta").load(str(tmp_path / "delta"))
    assert sorted(r.n for r in from_delta.collect()) == list(range(25))
    s = get_settings()
    from_delta.write.jdbc(s.jdbc_url, table, mode="overwrite", properties=s.jdbc_properties())
    from psycopg import sql

    with postgres.connect(autocommit=True) as conn:
        total = conn.execute(sql.SQL("SELECT count(*), sum(n) FROM {}").format(sql.Identifier(table))).fetchone()
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
    assert total == (25, sum(range(25)))
