"""Lesson 02's exercises: executors a cluster can place, and a memory split that protects a cache."""

from __future__ import annotations

from collections.abc import Mapping

from pipeline_patterns.batch import sizing
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

CLUSTER = sizing.Workers(count=3, cores=4, memory_mb=6 * 1024)  # three standalone workers of 4 cores and 6 GiB
DATA_GB = 40  # the guide's second row: 10-20 executors of 8-16 GB and 4-8 cores
MIN_MEMORY_SHARE = 0.75  # of the workers' memory the executors must ask for
MIN_CORES = 2  # the guide's table never goes below 2 cores per executor

EXECUTOR_HEAP_MB = 2048  # one executor on the kit's 2 GiB worker
CACHE_MB = 600  # the cached table that must survive the shuffles
MIN_EXECUTION_MB = 400  # what the shuffles, joins and sorts must always have
MIN_USER_MB = 300  # room for the application's own objects (UDF state, metadata)
FRACTION, STORAGE_FRACTION = "spark.memory.fraction", "spark.memory.storageFraction"


@exercise("02.executors_that_fit", "executors that a 3-worker cluster places in full, using all its cores and memory")
def executors_that_fit(your_executors: object) -> Verdict:
    if not isinstance(your_executors, sizing.ExecutorRequest):
        return wrong(f"expected a sizing.ExecutorRequest(instances=..., memory_mb=..., cores=...), "
                     f"found {type(your_executors).__name__}")
    asked = your_executors
    if min(asked.instances, asked.memory_mb, asked.cores) < 1:
        return wrong(f"expected at least one executor with some memory and a core, found {asked}")
    placed = sizing.placeable_executors(asked, CLUSTER)
    if placed < asked.instances:
        return wrong(f"the cluster places {placed} of your {asked.instances} executors (each {asked.cores} cores, "
                     f"{asked.memory_mb} MB) and the rest wait for ever: a worker offers {CLUSTER.cores} cores and "
                     f"{CLUSTER.memory_mb} MB, and an executor needs all of its cores and memory on one worker")
    if asked.cores < MIN_CORES:
        return wrong(f"{asked.cores} core per executor: tasks in one executor share its broadcasts and cached blocks, "
                     f"so the guide's table never goes below {MIN_CORES} cores per executor")
    cluster_cores, cluster_mb = CLUSTER.count * CLUSTER.cores, CLUSTER.count * CLUSTER.memory_mb
    if asked.instances * asked.cores < cluster_cores:
        return wrong(f"your executors use {asked.instances * asked.cores} of the cluster's {cluster_cores} cores: "
                     "the idle ones run no task")
    if asked.instances * asked.memory_mb < MIN_MEMORY_SHARE * cluster_mb:
        return wrong(f"your executors ask for {asked.instances * asked.memory_mb} of the workers' {cluster_mb} MB "
                     f"(at least {MIN_MEMORY_SHARE:.0%} wanted): memory no executor asks for sits idle")
    return right(f"all {placed} executors placed, {asked.instances * asked.cores} of {cluster_cores} cores and "
                 f"{asked.instances * asked.memory_mb} of {cluster_mb} MB in use")


def memory_fractions(settings: object) -> tuple[float, float]:
    """The two settings' values as Spark reads them (a string or a number), defaults where absent."""
    if not isinstance(settings, Mapping):
        raise TypeError(f"expected a dict of Spark settings, found {type(settings).__name__}")
    unknown = sorted(set(settings) - {FRACTION, STORAGE_FRACTION})
    if unknown:
        raise ValueError(f"expected only {FRACTION} and {STORAGE_FRACTION}, found {unknown}")
    return float(str(settings.get(FRACTION, 0.6))), float(str(settings.get(STORAGE_FRACTION, 0.5)))


@exercise("02.protect_the_cache", "memory fractions that protect a 600 MB cache and leave execution 400 MB")
def protect_the_cache(your_settings: object) -> Verdict:
    fraction, storage_fraction = memory_fractions(your_settings)
    split = sizing.unified_memory(EXECUTOR_HEAP_MB, fraction, storage_fraction)
    if split.storage_protected < CACHE_MB:
        evictable = CACHE_MB - split.storage_protected
        return wrong(f"execution can evict cached blocks down to {split.storage_protected} MB, so {evictable} MB of "
                     f"the {CACHE_MB} MB cache can be evicted (unified memory {split.unified} MB, "
                     f"{storage_fraction:g} of it protected)")
    if split.execution_at_least < MIN_EXECUTION_MB:
        return wrong(f"with {split.storage_protected} MB protected for the cache, shuffles, joins and sorts are "
                     f"sure of only {split.execution_at_least} MB (at least {MIN_EXECUTION_MB} MB wanted): they spill "
                     "to disk")
    if split.user < MIN_USER_MB:
        return wrong(f"user memory is {split.user} MB (at least {MIN_USER_MB} MB wanted): the application's own "
                     "objects live outside the unified region, and an OutOfMemoryError there is not a spill")
    return right(f"{split.storage_protected} MB protected for the cache, {split.execution_at_least} MB sure for "
                 f"execution, {split.user} MB user memory")
