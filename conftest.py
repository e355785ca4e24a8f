"""Start the native stack for tests that need it; stop it after only if we started it.

Integration, reliability and notebook tests need the real services. The check runs
once after collection, so ``pytest tests/unit`` never touches the stack.
"""

from __future__ import annotations

import pytest

NEEDS_STACK = ("tests/integration", "tests/reliability", "tests/notebooks", "tests/seeds")
_started_by_tests = False


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", default=False,
                     help="reliability tests at the issue's full size (100,000 events, 10 kills) instead of CI size")


@pytest.fixture
def full_size(request: pytest.FixtureRequest) -> bool:
    """True under ``pytest --full``: the reliability suite runs at its full size."""
    return request.config.getoption("--full")


def pytest_collection_finish(session: pytest.Session) -> None:
    global _started_by_tests
    if session.config.option.collectonly:
        return
    needs = any(any(part in item.nodeid for part in NEEDS_STACK) for item in session.items)
    if not needs:
        return
    from pipeline_patterns.stack import Stack
    from pipeline_patterns.stack.processes import ProcessState

    stack = Stack()
    was_running = all(row["state"] == ProcessState.RUNNING.value for row in stack.status())
    layout = stack.saved_layout()
    if layout:  # keep the layout a user (or an earlier test) chose; tests that need another switch
        stack.up(brokers=layout.brokers, spark_cluster=layout.spark_cluster, airflow=layout.airflow)
    else:
        stack.up()
    _started_by_tests = not was_running


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    try:
        session.config.stash[CLOSED_AT_END] = _close_what_tests_left_open()
    finally:  # a stack the tests started is stopped whatever the cleanup met
        if _started_by_tests:
            from pipeline_patterns.stack import Stack

            Stack().down()


CLOSED_AT_END = pytest.StashKey[list[str]]()


def _close_what_tests_left_open() -> list[str]:
    """Close the Kafka clients a test left open and this process's Spark gateway, while the stack still runs.

    Left to the interpreter's exit, they hang it: a kafka-python client's I/O thread (a daemon) keeps logging
    failed reconnects once the stack is down, the exit freezes it holding the logging lock, and py4j's
    finalizer then waits for that lock forever (CI saw "722 passed" and then no exit until its time limit).
    """
    import gc
    import sys

    closed = []
    if "kafka" in sys.modules:
        from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

        kinds = (KafkaAdminClient, KafkaConsumer, KafkaProducer)
        for client in [o for o in gc.get_objects() if type(o) in kinds]:  # type(): a dead weak proxy is skipped
            if not getattr(client, "_closed", True):
                closed.append(type(client).__name__)
                client.close(**({"timeout": 5} if isinstance(client, KafkaProducer) else {}))
        from kafka.net.selector import NetworkSelector

        # a client that was never closed and is gone leaves its selector's I/O thread running
        for selector in [o for o in gc.get_objects() if type(o) is NetworkSelector]:
            if selector._io_thread is not None:
                closed.append("Kafka I/O thread")
                selector.stop(timeout_ms=5000)
    if "pyspark" in sys.modules:
        from pyspark import SparkContext

        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        if SparkContext._gateway is not None:
            SparkContext._gateway.shutdown()
            SparkContext._gateway = SparkContext._jvm = None
            closed.append("the Spark gateway")
    return closed


LEFT_BEHIND = pytest.StashKey[list[str]]()


@pytest.fixture(scope="module", autouse=True)
def _module_leaves_the_stack_as_it_found_it(request: pytest.FixtureRequest):
    """Snapshot the stack's topics, tables, views, publications, slots and connectors before each
    module that uses the stack; after it, drop what the module left and wait until the stack is
    back to the snapshot (a failure here fails the module). With unique names in every test, this
    is what lets `make test` run twice in a row on one stack: the second run finds what the first found.
    """
    if not any(part in request.node.nodeid for part in NEEDS_STACK):
        yield
        return
    from pipeline_patterns.poll import wait_until
    from pipeline_patterns.stack import resources

    before = resources.snapshot()
    yield
    left = resources.snapshot() - before
    if left:
        request.config.stash.setdefault(LEFT_BEHIND, []).append(f"{request.node.nodeid}: {left.describe()}")
        resources.drop(left)
        wait_until(lambda: not (resources.snapshot() - before), 60,
                   f"the stack back to its state before {request.node.nodeid}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    closed = config.stash.get(CLOSED_AT_END, [])
    if closed:
        from collections import Counter

        terminalreporter.write_line("closed at the end of the session (left open by the tests): " + ", ".join(
            f"{n} {name}(s)" if name.startswith("Kafka") else name for name, n in Counter(closed).items()))
    left = config.stash.get(LEFT_BEHIND, [])
    if left:
        terminalreporter.section("dropped after their module (created by the tests, left behind)")
        for line in left:
            terminalreporter.write_line(line)
