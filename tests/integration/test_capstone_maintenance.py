"""Lesson 17's lake upkeep on real Delta: ``OPTIMIZE`` compacts, and the VACUUM guard is what keeps a reader alive.

A reader that pinned a version (the daily close reads silver ``versionAsOf`` the version it started with; a
micro-batch reads the snapshot it began with) needs that version's files. After a compaction those files are no
longer in the newest version, and ``VACUUM ... RETAIN 0 HOURS`` deletes them: the pinned read fails. The guard
refuses that retention before anything is touched, and the read goes on working.
"""

from __future__ import annotations

import pytest

from pipeline_patterns.capstone import maintenance
from pipeline_patterns.spark import SMALL_TABLES_CONF, get_spark, temporary_conf

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark():
    """This process's session with the small-table settings for this module only (a session outlives modules)."""
    session = get_spark("capstone-maintenance-test")
    with temporary_conf(session, SMALL_TABLES_CONF):
        yield session


def table_of_four_appends(spark, path: str) -> int:
    for i in range(4):
        spark.range(i * 10, i * 10 + 10).coalesce(1).write.format("delta").mode("append").save(path)
    return 3  # the version of the last append


def test_optimize_compacts_four_appends_into_one_file(spark, tmp_path):
    path = str(tmp_path / "bronze")
    table_of_four_appends(spark, path)
    assert maintenance.compact(spark, path) == {"table": "bronze", "files_before": 4, "files_after": 1}
    assert sorted(r.id for r in spark.read.format("delta").load(path).collect()) == list(range(40))


def test_vacuum_without_retention_breaks_a_pinned_reader_and_the_guard_refuses_it(spark, tmp_path):
    guarded, unguarded = str(tmp_path / "guarded"), str(tmp_path / "unguarded")
    for path in (guarded, unguarded):
        pinned = table_of_four_appends(spark, path)
        maintenance.compact(spark, path)

    # the guide-style cleanup: Delta's check turned off, everything not in the newest version deleted at once
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(f"VACUUM delta.`{unguarded}` RETAIN 0 HOURS")
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    with pytest.raises(Exception, match=r"(?i)(FileNotFound|does not exist|FAILED_READ_FILE)"):
        spark.read.format("delta").option("versionAsOf", pinned).load(unguarded).collect()

    # the guard: refused before anything is deleted; the pinned reader still reads its 40 rows
    with pytest.raises(maintenance.UnsafeRetention, match="at least 168 hours, found 0"):
        maintenance.vacuum(spark, guarded, 0)
    assert maintenance.vacuum(spark, guarded) == {"table": "guarded", "retention_hours": 168.0, "deleted": 0}
    assert spark.read.format("delta").option("versionAsOf", pinned).load(guarded).count() == 40
