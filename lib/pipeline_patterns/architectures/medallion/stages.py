"""The medallion stages of one dataset in order: bronze, silver, gold, each from where it left off.

Each stage keeps its own guarantee (:mod:`.bronze`, :mod:`.silver`, :mod:`.gold`); running
them again with no new landed file commits nothing in any layer.

:func:`for_each_dataset` runs one function per dataset side by side, a thread each, as a
scheduler runs independent pipelines. Spark takes jobs from several threads; on two cores
most of a small job's time is the driver planning it, so two datasets' stages overlap.
The datasets share nothing but the state file, whose writes are serialized (:mod:`.state`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pyspark.sql import SparkSession

from pipeline_patterns.architectures.medallion.bronze import BronzeRun, ingest_new_files
from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.gold import GoldRun, silver_to_gold
from pipeline_patterns.architectures.medallion.lake import Lake
from pipeline_patterns.architectures.medallion.silver import SilverRun, bronze_to_silver


def run_stages(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> tuple[BronzeRun, SilverRun, GoldRun]:
    """Bronze, silver and gold for one dataset, in order, each from where it left off."""
    return ingest_new_files(spark, lake, ds), bronze_to_silver(spark, lake, ds), silver_to_gold(spark, lake, ds)


T = TypeVar("T")


def for_each_dataset(datasets: tuple[DatasetSpec, ...], work: Callable[[DatasetSpec], T]) -> dict[str, T]:
    """``work(ds)`` for every dataset, side by side (a thread each); name -> result, in order.

    An exception in any dataset's work is raised here, after the others have finished.
    """
    with ThreadPoolExecutor(max_workers=len(datasets), thread_name_prefix="medallion") as pool:
        futures = [pool.submit(work, ds) for ds in datasets]
    return {ds.name: future.result() for ds, future in zip(datasets, futures, strict=True)}
