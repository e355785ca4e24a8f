"""Sizing a Spark application for the machine it runs on: the guide's table as a rule, and Spark's memory model.

The guide sizes executors from the data alone (its table: under 10 GB, 2-4 executors of 4-8 GB
and 2-4 cores; 10-100 GB, 10-20 of 8-16 GB and 4-8 cores; above, 50+ of 16-32 GB and 4-8 cores)
and its session asks for 8 GB executors with 4 cores. A cluster places an executor only on a
worker that has all of its cores and memory free: on a standalone cluster an application whose
executor is larger than every worker gets **no executor at all** and waits, with no error.

* :func:`guide_request` — the table's ask for a data size (the lower end of each row);
* :func:`placeable_executors` — how many executors of a size the workers can host (0: it waits);
* :func:`size_for` — the guide's ask fitted to the workers, with a note for every change;
* :func:`unified_memory` — where an executor's heap goes under Spark's unified memory model.

Guarantee: :func:`size_for` never returns an executor that :func:`placeable_executors` cannot
place on the given workers, and raises a clear error when no worker can hold Spark's minimum
heap. Figures follow Spark's documentation ("Memory Management Overview", the
``spark.memory.*`` and ``spark.executor.memoryOverhead*`` settings).
"""

from __future__ import annotations

from dataclasses import dataclass

RESERVED_MB = 300
"""Memory Spark sets aside from every heap before dividing it (``RESERVED_SYSTEM_MEMORY_BYTES``)."""
MIN_HEAP_MB = RESERVED_MB * 3 // 2
"""Spark refuses a heap under 1.5 x the reserved memory (450 MB)."""
MIN_OVERHEAD_MB = 384
"""The smallest ``spark.executor.memoryOverhead`` Spark asks a YARN or Kubernetes container for."""


@dataclass(frozen=True)
class Workers:
    """What a cluster offers: ``count`` workers, each with ``cores`` and ``memory_mb`` for executors."""

    count: int
    cores: int
    memory_mb: int


@dataclass(frozen=True)
class ExecutorRequest:
    """An application's executors: how many, and the memory (heap) and cores of each."""

    instances: int
    memory_mb: int
    cores: int

    def conf(self) -> dict[str, str]:
        """The Spark settings that ask for these executors."""
        return {"spark.executor.instances": str(self.instances), "spark.executor.memory": f"{self.memory_mb}m",
                "spark.executor.cores": str(self.cores)}


@dataclass(frozen=True)
class GuideRow:
    """One row of the guide's table: data sizes up to ``up_to_gb`` (None: no upper bound)."""

    up_to_gb: float | None
    executors: tuple[int, int | None]  # (at least, at most); None: "50+"
    memory_gb: tuple[int, int]
    cores: tuple[int, int]


GUIDE_TABLE = (
    GuideRow(10, (2, 4), (4, 8), (2, 4)),
    GuideRow(100, (10, 20), (8, 16), (4, 8)),
    GuideRow(None, (50, None), (16, 32), (4, 8)),
)


def guide_row(data_gb: float) -> GuideRow:
    """The row of the guide's table for ``data_gb`` of input."""
    if data_gb < 0:
        raise ValueError(f"data size must be 0 GB or more, got {data_gb}")
    return next(row for row in GUIDE_TABLE if row.up_to_gb is None or data_gb < row.up_to_gb)


def guide_request(data_gb: float) -> ExecutorRequest:
    """What the guide's table asks for ``data_gb`` of input: the lower end of its row."""
    row = guide_row(data_gb)
    return ExecutorRequest(row.executors[0], row.memory_gb[0] * 1024, row.cores[0])


def placeable_executors(request: ExecutorRequest, workers: Workers) -> int:
    """How many of ``request``'s executors the workers can host; 0 means the application waits.

    An executor runs on one worker and needs all of its cores and its memory there (a standalone
    worker counts ``spark.executor.memory``; YARN and Kubernetes add :func:`overhead_mb`). A
    worker hosts as many executors as its free cores and memory both allow.
    """
    per_worker = min(workers.cores // request.cores, workers.memory_mb // request.memory_mb)
    return min(request.instances, per_worker * workers.count)


@dataclass(frozen=True)
class Sizing:
    """The guide's ask, how many of its executors the workers could host, what fits, and why."""

    guide: ExecutorRequest
    guide_placeable: int
    fitted: ExecutorRequest
    notes: tuple[str, ...]


def size_for(data_gb: float, workers: Workers) -> Sizing:
    """The guide's executors for ``data_gb``, shrunk to what ``workers`` can host.

    Cores per executor are capped at a worker's cores, memory per executor at a worker's memory
    divided by the executors it then holds (the cores allow ``cores // executor cores`` of them),
    and the number of executors at what the workers can place. Raises ``ValueError`` when a worker
    cannot hold Spark's minimum heap (450 MB) on one core.
    """
    if workers.count < 1 or workers.cores < 1 or workers.memory_mb < MIN_HEAP_MB:
        raise ValueError(f"no worker can run an executor: expected at least 1 worker with 1 core and "
                         f"{MIN_HEAP_MB} MB, found {workers.count} x ({workers.cores} cores, {workers.memory_mb} MB); "
                         "give the worker more memory (SPARK_WORKER_MEMORY) or cores (SPARK_WORKER_CORES)")
    guide = guide_request(data_gb)
    notes = []
    cores = min(guide.cores, workers.cores)
    if cores < guide.cores:
        notes.append(f"cores per executor {guide.cores} -> {cores}: a worker has {workers.cores}")
    per_worker = workers.cores // cores
    memory_mb = min(guide.memory_mb, workers.memory_mb // per_worker)
    if memory_mb < MIN_HEAP_MB:  # fewer, larger executors per worker
        per_worker = max(1, workers.memory_mb // MIN_HEAP_MB)
        memory_mb = workers.memory_mb // per_worker
    if memory_mb < guide.memory_mb:
        notes.append(f"memory per executor {guide.memory_mb} MB -> {memory_mb} MB: a worker has "
                     f"{workers.memory_mb} MB for {per_worker} executor(s)")
    fitted = ExecutorRequest(guide.instances, memory_mb, cores)
    instances = placeable_executors(fitted, workers)
    if instances < guide.instances:
        notes.append(f"executors {guide.instances} -> {instances}: {workers.count} worker(s) hold "
                     f"{instances // workers.count} each")
    return Sizing(guide, placeable_executors(guide, workers), ExecutorRequest(instances, memory_mb, cores),
                  tuple(notes))


def overhead_mb(executor_memory_mb: int, factor: float = 0.10) -> int:
    """``spark.executor.memoryOverhead``'s default: off-heap room a YARN or Kubernetes container adds."""
    return max(MIN_OVERHEAD_MB, int(executor_memory_mb * factor))


@dataclass(frozen=True)
class UnifiedMemory:
    """One heap under Spark's unified memory model, in MB.

    ``reserved`` is Spark's own; ``user`` holds the application's objects (UDF state, metadata);
    ``unified`` is shared by execution (shuffles, joins, sorts, aggregations) and storage (cached
    blocks). Execution can take storage's part by evicting cached blocks down to
    ``storage_protected``; storage can use free execution memory but never evicts it.
    """

    heap: int
    reserved: int
    user: int
    unified: int
    storage_protected: int

    @property
    def execution_at_least(self) -> int:
        """What execution always has, even when storage holds its protected part."""
        return self.unified - self.storage_protected


def unified_memory(heap_mb: int, memory_fraction: float = 0.6, storage_fraction: float = 0.5) -> UnifiedMemory:
    """Split a heap the way Spark does (``spark.memory.fraction``, ``spark.memory.storageFraction``).

    ``heap_mb`` is what the JVM reports as its maximum (``Runtime.maxMemory``), a little under
    ``-Xmx``. Raises ``ValueError`` for a heap Spark would refuse.
    """
    if heap_mb < MIN_HEAP_MB:
        raise ValueError(f"Spark needs a heap of at least {MIN_HEAP_MB} MB (1.5 x its {RESERVED_MB} MB reserve), "
                         f"got {heap_mb} MB; raise spark.driver.memory or spark.executor.memory")
    if not (0 < memory_fraction < 1 and 0 <= storage_fraction <= 1):
        raise ValueError(f"expected 0 < memory_fraction < 1 and 0 <= storage_fraction <= 1, "
                         f"got {memory_fraction} and {storage_fraction}")
    usable = heap_mb - RESERVED_MB
    unified = int(usable * memory_fraction)
    return UnifiedMemory(heap_mb, RESERVED_MB, usable - unified, unified, int(unified * storage_fraction))
