"""Reference solutions for lesson 11 (instructors): graded by `check(..., solutions=True)`."""

from pipeline_patterns.errors import orders
from pipeline_patterns.errors.dlq_retry import RetryPolicy

# Two retries answer every order the service answers after one or two timeouts; the waits before them,
# 10 + 20 ms, keep a dead order's head-of-line blocking at 30 ms (three retries would be 70 ms).
retry_policy = RetryPolicy(max_retries=2, backoff_s=0.01)


def route_the_error(error):
    # Validation's InvalidRecord is terminal (the same bytes fail the same way): dead-letter at once.
    # A timeout of the dependency is transient: retry. Anything else is our bug: stop, fix, restart —
    # dead-lettering it would fill the DLQ with good orders. (InvalidRecord is a ValueError, so test it first,
    # and by its own type: our code raises ValueErrors too.)
    if isinstance(error, orders.InvalidRecord):
        return "dead_letter"
    if isinstance(error, TimeoutError):
        return "retry"
    return "stop"
