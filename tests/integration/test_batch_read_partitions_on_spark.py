"""Spark's own read partitions equal the kit's reproduction of its planning (batch/read_partitions.py)."""

from __future__ import annotations

import pytest

from pipeline_patterns.batch.read_partitions import MB, guide_partitions, spark_read_partitions
from pipeline_patterns.spark import get_spark

pytestmark = pytest.mark.integration
KB = 1024


@pytest.fixture(scope="module")
def spark():
    return get_spark("integration-tests")


def write_csv_files(folder, sizes: list[int]) -> list[int]:
    """CSV files of exactly ``sizes`` bytes (lines of 64 bytes; the last line pads), return their sizes."""
    folder.mkdir()
    for i, size in enumerate(sizes):
        line = f"{i:08d},".ljust(63, "x") + "\n"
        body = line * (size // 64)
        body += f"{i:08d},".ljust(size - len(body) - 1, "y") + "\n" if size - len(body) > 9 else ""
        (folder / f"part-{i:03d}.csv").write_text(body)
    return [(folder / f"part-{i:03d}.csv").stat().st_size for i in range(len(sizes))]


@pytest.mark.parametrize(("case", "sizes", "max_partition_bytes", "open_cost"), [
    ("ten small files", [100 * KB] * 10, None, None),
    ("mixed, 1 MB splits", [3 * MB, 50 * KB, 2 * MB + 512 * KB, 50 * KB], MB, 64 * KB),
    ("one file cut in pieces", [5 * MB + 100 * KB], MB, 64 * KB),
    ("many tiny files", [10 * KB] * 40, 256 * KB, 16 * KB),
])
def test_spark_reads_into_the_partitions_the_kit_plans(spark, tmp_path, case, sizes, max_partition_bytes, open_cost):
    on_disk = write_csv_files(tmp_path / "files", sizes)
    settings = {"spark.sql.files.maxPartitionBytes": max_partition_bytes, "spark.sql.files.openCostInBytes": open_cost}
    previous = {key: spark.conf.get(key) for key in settings}
    try:
        for key, value in settings.items():
            if value is not None:
                spark.conf.set(key, str(value))
        actual = spark.read.csv(str(tmp_path / "files")).rdd.getNumPartitions()
    finally:
        for key, value in previous.items():
            spark.conf.set(key, value)
    parallelism = spark.sparkContext.defaultParallelism
    planned = spark_read_partitions(on_disk, parallelism, **{k: v for k, v in (
        ("max_partition_bytes", max_partition_bytes), ("open_cost", open_cost)) if v is not None})
    assert actual == len(planned), (case, actual, [[p.length for p in part] for part in planned])
    print(f"\n{case}: Spark {actual} partitions, planned {len(planned)}, "
          f"guide's size/200 MB: {guide_partitions(sum(on_disk) / MB)}")
