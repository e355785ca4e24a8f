"""Lesson 03's exercises: a broadcast threshold the driver can afford, and salts that even out the hot key."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from functools import cache

from pipeline_patterns.batch import flights, joins, sizing, skew
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

MiB = 1024 * 1024
FLIGHTS_SCALE_20 = 20 * 8_279_904  # flights at scale 20: 20 x the 8.3 MB estimate section 1 reads for one copy
WEATHER_ALL_AIRPORTS = 40 * MiB  # a weather dimension for every US airport: to be broadcast
FLIGHTS_2014 = 150 * MiB  # another year of flights: two facts, never broadcast
EXPANSION = 11  # the driver builds ~11x the estimate (section 3, one copy of flights)
MAX_DRIVER_MB = 8 * 1024  # what the driver's machine can give it
THRESHOLD, DRIVER_MEMORY = "spark.sql.autoBroadcastJoinThreshold", "spark.driver.memory"
SHUFFLE_PARTITIONS = 200

MAX_TASK_OVER_MEAN = 1.5  # the largest join task may read at most 1.5x the mean task
MAX_EXTRA_SHARE = 0.001  # the salted dimension may add at most 0.1% to the join's rows
SPARK_HASH_SEED = 42  # Spark's HashPartitioning: Murmur3 over the keys, seed 42, pmod partitions
_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": MiB, "mb": MiB, "g": 1024 * MiB, "gb": 1024 * MiB}


def size_bytes(value: object, default_unit: str) -> int:
    """A Spark size setting in bytes: ``"100m"``, ``"4g"``, or a bare number in ``default_unit``."""
    match = re.fullmatch(r"\s*(-?\d+)\s*([kmg]?b?)\s*", str(value).lower())
    if match is None:
        raise ValueError(f"expected a Spark size such as '10m' or '2g', found {value!r}")
    number, unit = int(match.group(1)), match.group(2) or default_unit
    return number * _UNITS[unit]


def describe(threshold: int) -> str:
    return "-1 (automatic broadcasts off)" if threshold < 0 else f"{threshold / MiB:,.1f} MiB"


@exercise("03.a_threshold_the_driver_can_afford", "a broadcast threshold and a driver memory that go together")
def a_threshold_the_driver_can_afford(your_settings: object) -> Verdict:
    if not isinstance(your_settings, Mapping):
        return wrong(f"expected a dict of the two Spark settings, found {type(your_settings).__name__}")
    threshold = size_bytes(your_settings.get(THRESHOLD, "10m"), "b")
    driver_mb = size_bytes(your_settings.get(DRIVER_MEMORY, "1g"), "m") // MiB
    weather = joins.planned_strategy(FLIGHTS_SCALE_20, WEATHER_ALL_AIRPORTS, threshold, SHUFFLE_PARTITIONS)
    if weather != "BroadcastHashJoin":
        return wrong(f"at a threshold of {describe(threshold)} the weather dimension (estimated "
                     f"{WEATHER_ALL_AIRPORTS / MiB:,.1f} MiB) is joined by {weather}: all "
                     f"{FLIGHTS_SCALE_20 / MiB:,.1f} MiB of flights are shuffled to meet it")
    facts = joins.planned_strategy(FLIGHTS_SCALE_20, FLIGHTS_2014, threshold, SHUFFLE_PARTITIONS)
    if facts == "BroadcastHashJoin":
        return wrong(f"at a threshold of {describe(threshold)} the join of two years of flights broadcasts the "
                     f"{FLIGHTS_2014 / MiB:,.1f} MiB one: the driver would collect a fact table")
    if driver_mb > MAX_DRIVER_MB:
        return wrong(f"{DRIVER_MEMORY} of {driver_mb} MiB is more than the {MAX_DRIVER_MB} MiB the driver's machine "
                     "can give it")
    unified_mb = sizing.unified_memory(driver_mb).unified
    built_mb = threshold * EXPANSION / MiB
    if built_mb > unified_mb:
        return wrong(f"a table estimated at your threshold builds about {built_mb:,.0f} MiB in the driver "
                     f"({EXPANSION}x its estimate), and a {driver_mb} MiB driver has {unified_mb} MiB of unified "
                     "memory (lesson 02's model): the broadcast that the threshold allows would not fit")
    return right(f"weather broadcast, the two facts shuffled, and a table at the threshold ({built_mb:,.0f} MiB "
                 f"built) fits the driver's {unified_mb} MiB of unified memory")


def spark_murmur3_long(value: int, seed: int) -> int:
    """Spark's ``Murmur3_x86_32.hashLong`` (unsigned 32-bit result), which hash-partitions a bigint column."""
    def mix(h: int, k: int) -> int:
        k = (k * 0xCC9E2D51) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        h ^= (k * 0x1B873593) & 0xFFFFFFFF
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        return (h * 5 + 0xE6546B64) & 0xFFFFFFFF

    value &= 0xFFFFFFFFFFFFFFFF
    h = mix(mix(seed & 0xFFFFFFFF, value & 0xFFFFFFFF), value >> 32) ^ 8
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def shuffle_partition(columns: tuple[int, ...], partitions: int) -> int:
    """The partition Spark's hash partitioning gives a row with these bigint join keys."""
    h = SPARK_HASH_SEED
    for value in columns:
        h = spark_murmur3_long(value, h)
    signed = h - (1 << 32) if h & 0x80000000 else h
    return signed % partitions  # Python's % is Spark's pmod


@cache
def skewed_flights() -> tuple[dict[int, int], tuple[int, ...]]:
    """Section 5's rows (scale 1, seed 42, half on the hot key): rows per other key, and the hot rows' flight ids."""
    import numpy as np
    import pandas as pd

    ids = pd.DataFrame({"flight_id": np.arange(flights.FLIGHTS_ROWS, dtype="int64")})
    rows = flights.scaled_copy(ids, flights.FlightsSpec(), 0)  # the lake's own skew_key, without the flights
    keys, flight_ids = rows["skew_key"].to_numpy(), rows["flight_id"].to_numpy()
    hot = keys == flights.HOT_KEY
    other_keys, counts = np.unique(keys[~hot], return_counts=True)
    return dict(zip(other_keys.tolist(), counts.tolist(), strict=True)), tuple(flight_ids[hot].tolist())


def join_task_records(n_salts: int) -> list[int]:
    """Records each of the 8 join tasks reads for the salted join (flights rows plus key_dim rows)."""
    others, hot_ids = skewed_flights()
    hot = {flights.HOT_KEY}
    groups: Counter = Counter({(key, 0): count for key, count in others.items()})
    for flight_id in hot_ids:
        groups[(flights.HOT_KEY, skew.row_salt(flights.HOT_KEY, flight_id, hot, n_salts))] += 1
    for pair in skew.dimension_salts(range(flights.FlightsSpec().n_keys + 1), hot, n_salts):
        groups[pair] += 1
    tasks = [0] * skew.SKEW_PARTITIONS
    for pair, count in groups.items():
        tasks[shuffle_partition(pair, skew.SKEW_PARTITIONS)] += count
    return tasks


@exercise("03.salts_that_even_out_the_hot_key", "a number of salts that evens out the hot key's join tasks")
def salts_that_even_out_the_hot_key(your_n_salts: object) -> Verdict:
    if isinstance(your_n_salts, bool) or not isinstance(your_n_salts, int) or your_n_salts < 1:
        return wrong(f"expected a whole number of salts, 1 or more, found {your_n_salts!r}")
    extra = your_n_salts - 1
    if extra > MAX_EXTRA_SHARE * flights.FLIGHTS_ROWS:  # before the tasks: a huge count would not fit in memory
        return wrong(f"{your_n_salts} salts repeat the hot key's dimension row {your_n_salts} times: {extra:,} extra "
                     f"rows to shuffle, more than {MAX_EXTRA_SHARE:.1%} of the join's "
                     f"{flights.FLIGHTS_ROWS:,} flights")
    tasks = join_task_records(your_n_salts)
    ratio = max(tasks) / (sum(tasks) / len(tasks))
    if ratio > MAX_TASK_OVER_MEAN:
        return wrong(f"with {your_n_salts} salts the largest of the {len(tasks)} join tasks reads {max(tasks):,} "
                     f"records, {ratio:.2f}x the mean (at most {MAX_TASK_OVER_MEAN}x wanted): the hot key's "
                     f"(key, salt) pairs are hashed to partitions, and a few pairs collide on the same ones")
    return right(f"largest join task {max(tasks):,} records, {ratio:.2f}x the mean of {len(tasks)} tasks")
