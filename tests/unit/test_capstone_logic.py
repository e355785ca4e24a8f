"""The capstone's pure parts: the payments stream and its validation, the reference's gold."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from pipeline_patterns.capstone import payments, reference
from pipeline_patterns.errors.orders import MALFORMED_JSON, WRONG_TYPE, InvalidRecord

TOTALS = {i: Decimal(f"{i}.50") for i in range(1, 201)}


def test_the_stream_is_seeded_and_holds_every_kind():
    stream = payments.payment_stream(TOTALS, poison_rate=0.1, seed=3)
    assert stream == payments.payment_stream(TOTALS, poison_rate=0.1, seed=3)
    kinds = Counter(p.kind for p in stream)
    assert set(kinds) == {payments.VALID, payments.RESENT, *payments.POISON}
    assert kinds[payments.VALID] == 120  # 60 % of 200 orders, each paid once
    assert all(p.amount == TOTALS[p.order_id] for p in stream if p.kind == payments.VALID)


def test_validation_accepts_exactly_the_well_formed_records():
    for p in payments.payment_stream(TOTALS, poison_rate=0.2, seed=5):
        if p.kind in (payments.VALID, payments.RESENT, payments.UNKNOWN_ORDER):  # an unknown order is well formed
            assert payments.validate(p.raw)["order_id"] > 0
        else:
            with pytest.raises(InvalidRecord) as caught:
                payments.validate(p.raw)
            assert caught.value.reason in (MALFORMED_JSON, WRONG_TYPE)


@pytest.mark.parametrize(("raw", "reason", "says"), [
    (b"\xff", MALFORMED_JSON, "not UTF-8 JSON"),
    (b'{"payment_id": "p", "order_id": "7", "amount": "1.00", "currency": "EUR"}', WRONG_TYPE,
     "order_id: expected int, found str"),
    (b'{"payment_id": "p", "order_id": 7, "amount": 1.0, "currency": "EUR"}', WRONG_TYPE,
     "amount: expected str, found float"),
    (b'{"payment_id": "p", "order_id": 7, "amount": "-1", "currency": "EUR"}', "out_of_range", "positive"),
])
def test_a_bad_payment_says_what_was_expected_and_found(raw, reason, says):
    with pytest.raises(InvalidRecord, match=says) as caught:
        payments.validate(raw)
    assert caught.value.reason == reason


def test_reference_gold_counts_a_resent_payment_once_and_ignores_poison():
    orders = [reference.SourceOrder(1, 10, Decimal("5.00"), date(2024, 1, 15)),
              reference.SourceOrder(2, 10, Decimal("7.00"), date(2024, 1, 15)),
              reference.SourceOrder(3, 11, Decimal("1.25"), date(2024, 1, 16))]
    paid = payments._valid(1, 1, Decimal("5.00"))
    stream = [paid, payments.Payment(paid.raw, payments.RESENT, paid.payment_id, 1, paid.amount),
              payments.Payment(b"{", payments.NOT_JSON)]
    assert reference.gold(orders, stream) == {
        (10, date(2024, 1, 15)): (2, Decimal("12.00"), 1, Decimal("5.00"), 1),
        (11, date(2024, 1, 16)): (1, Decimal("1.25"), 0, Decimal("0"), 1)}
    assert reference.dead_letter_expected(stream) == 1 and reference.valid_records(stream) == 2


@pytest.mark.parametrize("hours", [0.0, 1.0, 167.9, float("nan"), -5.0])
def test_the_vacuum_guard_refuses_a_retention_a_running_reader_could_need(hours):
    from pipeline_patterns.capstone import maintenance

    with pytest.raises(maintenance.UnsafeRetention, match=r"at least 168 hours, found .*running reader"):
        maintenance.check_retention(hours)


@pytest.mark.parametrize("hours", [168.0, 240.0])
def test_the_vacuum_guard_lets_a_safe_retention_through(hours):
    from pipeline_patterns.capstone import maintenance

    assert maintenance.check_retention(hours) == hours


def test_the_fault_plan_is_seeded_holds_every_kind_and_spreads_over_the_chunks():
    from pipeline_patterns.capstone.chaos import FAULTS, plan_faults

    plan = plan_faults(faults=4, chunks=6, seed=42, max_delay_s=3.0)
    assert plan == plan_faults(faults=4, chunks=6, seed=42, max_delay_s=3.0)
    assert plan != plan_faults(faults=4, chunks=6, seed=7, max_delay_s=3.0)
    assert sorted(p.kind for p in plan) == sorted(FAULTS)
    chunks = [p.after_chunk for p in plan]
    assert chunks == sorted(chunks) and len(set(chunks)) == 4 and all(0 <= c < 6 for c in chunks)
    assert all(0 <= p.delay_s <= 3.0 for p in plan) and len({p.delay_s for p in plan}) == 4


def test_more_faults_than_chunks_land_after_the_last_chunk():
    from pipeline_patterns.capstone.chaos import FAULTS, plan_faults

    plan = plan_faults(faults=12, chunks=8, seed=11)
    assert Counter(p.kind for p in plan) == {kind: 3 for kind in FAULTS}
    assert Counter(p.after_chunk for p in plan) == {**{c: 1 for c in range(7)}, 7: 5}


def test_the_barrier_waits_for_every_payments_partition_up_to_the_mark():
    from pipeline_patterns.capstone.barrier import behind

    mark = {"payments_x:0": 40, "payments_x:1": 35, "payments_x:2": 0}  # partition 2 has no record yet
    assert behind(mark, {"payments_x:0": 40, "payments_x:1": 35}) == {}
    assert behind(mark, {"payments_x:0": 41, "payments_x:1": 60, "orders:0": 9}) == {}
    # the source's marker may be served while a bounded batch left older payments in one partition
    assert behind(mark, {"payments_x:0": 40, "payments_x:1": 30}) == {"payments_x:1": 5}
    assert behind(mark, {}) == {"payments_x:0": 40, "payments_x:1": 35}
