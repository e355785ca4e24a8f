"""The medallion stages of one dataset in order: bronze, silver, gold, each from where it left off.

Each stage keeps its own guarantee (:mod:`.bronze`, :mod:`.silver`, :mod:`.gold`); running
them again with no new landed file commits nothing in any layer.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from pipeline_patterns.architectures.medallion.bronze import BronzeRun, ingest_new_files
from pipeline_patterns.architectures.medallion.datasets import DatasetSpec
from pipeline_patterns.architectures.medallion.gold import GoldRun, silver_to_gold
from pipeline_patterns.architectures.medallion.lake import Lake
from pipeline_patterns.architectures.medallion.silver import SilverRun, bronze_to_silver


def run_stages(spark: SparkSession, lake: Lake, ds: DatasetSpec) -> tuple[BronzeRun, SilverRun, GoldRun]:
    """Bronze, silver and gold for one dataset, in order, each from where it left off."""
    return ingest_new_files(spark, lake, ds), bronze_to_silver(spark, lake, ds), silver_to_gold(spark, lake, ds)
