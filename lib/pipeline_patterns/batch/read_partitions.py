"""How many partitions Spark reads a set of files into, next to the guide's rule of thumb.

The guide computes ``num_partitions = total_data_size_mb / 200``. Spark decides by itself when it
reads files, from their on-disk sizes, three settings and the session's parallelism:

1. ``maxSplitBytes = min(spark.sql.files.maxPartitionBytes, max(spark.sql.files.openCostInBytes,
   bytesPerCore))``, where ``bytesPerCore`` is the total of (file size + open cost) divided by
   ``spark.sql.files.minPartitionNum`` (default: the default parallelism, the cores of ``local[*]``);
2. every splittable file (Parquet, uncompressed JSON and CSV) is cut into pieces of at most
   ``maxSplitBytes``;
3. pieces are taken largest first and packed into partitions: a partition is closed when the next
   piece would take it over ``maxSplitBytes``, and each piece counts its size plus the open cost.

So a small input gets a few partitions set by the cores, not size / 200 MB: ten 100 KB files become
2 partitions on 2 cores and 5 on 8. (And the rule counts bytes on disk, not the rows' size in memory.)

Guarantee: :func:`spark_read_partitions` plans as Spark's ``FilePartition.getFilePartitions`` does
for the same file sizes and settings: the same number of partitions, holding pieces of the same
sizes (which of two equal-sized files goes first follows the listing order). An integration test
compares the count with ``rdd.getNumPartitions()`` of real reads.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024
MAX_PARTITION_BYTES = 128 * MB
"""``spark.sql.files.maxPartitionBytes``'s default."""
OPEN_COST_BYTES = 4 * MB
"""``spark.sql.files.openCostInBytes``'s default: what opening a file is counted as, in bytes."""


def guide_partitions(total_mb: float, mb_per_partition: float = 200) -> int:
    """The guide's rule: ``total_data_size_mb / 200`` (at least one partition)."""
    return max(1, round(total_mb / mb_per_partition))


def max_split_bytes(file_sizes: list[int], parallelism: int, max_partition_bytes: int = MAX_PARTITION_BYTES,
                    open_cost: int = OPEN_COST_BYTES) -> int:
    """Spark's largest piece of a file per partition for this input (``FilePartition.maxSplitBytes``)."""
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, got {parallelism}")
    bytes_per_core = sum(size + open_cost for size in file_sizes) // parallelism
    return min(max_partition_bytes, max(open_cost, bytes_per_core))


@dataclass(frozen=True)
class Piece:
    """Part of one file: ``file`` is its index in the input, ``length`` its bytes."""

    file: int
    start: int
    length: int


def spark_read_partitions(file_sizes: list[int], parallelism: int, max_partition_bytes: int = MAX_PARTITION_BYTES,
                          open_cost: int = OPEN_COST_BYTES, splittable: bool = True) -> list[list[Piece]]:
    """The partitions Spark reads files of ``file_sizes`` bytes into: the pieces of each, in order."""
    split = max_split_bytes(file_sizes, parallelism, max_partition_bytes, open_cost)
    pieces = []
    for index, size in enumerate(file_sizes):
        if splittable:
            pieces += [Piece(index, start, min(split, size - start)) for start in range(0, size, split)]
        else:
            pieces.append(Piece(index, 0, size))
    pieces.sort(key=lambda p: p.length, reverse=True)  # Python's sort is stable, like Scala's sortBy
    partitions: list[list[Piece]] = []
    current: list[Piece] = []
    current_size = 0
    for piece in pieces:
        if current and current_size + piece.length > split:
            partitions.append(current)
            current, current_size = [], 0
        current.append(piece)
        current_size += piece.length + open_cost
    if current:
        partitions.append(current)
    return partitions
