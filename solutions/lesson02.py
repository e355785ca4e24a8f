"""Reference solutions for lesson 02 (instructors): graded by `check(..., solutions=True)`."""

from pipeline_patterns.batch.sizing import ExecutorRequest

# One executor per worker, as large as the worker: 4 cores and all 6 GiB, three of them (what sizing.size_for
# fits the guide's 10 x 8 GB x 4 cores to). Six executors of 2 cores and 3 GiB pass too.
executors_that_fit = ExecutorRequest(instances=3, memory_mb=6 * 1024, cores=4)

# A larger unified region at the default half-and-half split: (2048 - 300) x 0.75 = 1311 MB, 655 protected for
# the cache, 656 always left to execution, 437 MB of user memory. (0.6 with storageFraction 0.6 passes too.)
protect_the_cache = {"spark.memory.fraction": 0.75, "spark.memory.storageFraction": 0.5}
