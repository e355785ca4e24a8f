"""acks=all + RF=3 + min.insync.replicas=2 under broker kills, on the real three-broker stack."""

from __future__ import annotations

import pytest

from pipeline_patterns.stack import Stack
from pipeline_patterns.streaming.durability import kill_brokers_while_producing

pytestmark = pytest.mark.reliability


@pytest.fixture
def three_brokers():
    """The three-broker layout; the single-broker stack comes back whatever happens.

    The restore is in a ``finally`` around the switch too: a failed ``up(brokers=3)``
    never reaches a fixture's teardown, and the tests after this one need the stack.
    """
    stack = Stack()
    try:
        layout = stack.saved_layout()
        if layout is None or layout.brokers != 3:
            stack.down()
        stack.up(brokers=3)
        yield stack
    finally:
        stack.down()
        stack.up()


def test_acknowledged_records_survive_and_too_few_replicas_refuse_writes(three_brokers, unique):
    report = kill_brokers_while_producing(three_brokers, f"durability_{unique}", per_phase=2000)
    print(report)
    # All acknowledged with three brokers, and with one of three killed.
    assert report.acknowledged_all_up == 2000
    assert report.acknowledged_one_down == 2000
    # With one broker down: acknowledged = readable, nothing lost, nothing twice.
    assert report.readable_one_down == 4000
    assert report.lost_one_down == 0 and report.duplicates_one_down == 0
    # Two of three down: every write refused with NotEnoughReplicas, none acknowledged.
    assert report.refused_two_down == {"NotEnoughReplicasError": 100}
    assert report.acknowledged_two_down == 0
    # After the brokers return: zero acknowledged records lost, none duplicated.
    assert report.lost_after_restart == 0 and report.duplicates_after_restart == 0
