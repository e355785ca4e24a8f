"""Reference solutions for lesson 16 (instructors): graded by `check(..., solutions=True)`."""

from datetime import timedelta

# A run's logical date is the start of its interval: the downstream's are at 03:00, the upstream's at 00:00 the same
# day. The sensor waits for (its logical date - execution_delta), so the delta is the gap between the schedules.
wait_for_the_same_days_upstream = timedelta(hours=3)

# The missing destination added, retries as an integer in 0..5 (strict: '3' is a string), schedule left at its
# default @daily; a new source/destination pair, so no duplicate DAG id.
an_entry_the_factory_accepts = ("{source: refunds, destination: refunds_clean, transformations: [drop_test_rows], "
                                "retries: 3}")
