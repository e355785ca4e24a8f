"""The DLQ loses nothing under poison input and kill -9: every input position ends in exactly
one of output and DLQ. Poison comes from hypothesis; the processor is a real OS process,
killed at seeded progress points read from the group's committed offsets.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import dlq_audit, dlq_classify, dlq_processor, orders
from pipeline_patterns.errors.fakes.order_feed import produce_samples
from pipeline_patterns.errors.fakes.risk_service import RiskService
from pipeline_patterns.faults import CRASH_ENV, ProcessorRun

pytestmark = pytest.mark.reliability

SEED, DOWN, FLAKY = 42, 0.02, 0.04
DRAWN_PER_KIND = 6
"""Distinct hypothesis values per poison kind; each is produced several times to reach the count."""

ORDER = st.fixed_dictionaries({
    "order_id": st.text(min_size=1, max_size=orders.MAX_ID_LENGTH),
    "user_id": st.text(min_size=1, max_size=orders.MAX_ID_LENGTH),
    "amount": st.floats(min_value=0.01, max_value=orders.MAX_AMOUNT) | st.integers(1, orders.MAX_AMOUNT),
    "currency": st.sampled_from(orders.CURRENCIES),
    "quantity": st.integers(1, orders.MAX_QUANTITY),
    "status": st.sampled_from(orders.STATUSES),
})
NOT_UTF8 = st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"])
WRONG = {  # a value of the wrong JSON type for each field
    "order_id": st.integers() | st.booleans() | st.none() | st.lists(st.text(), max_size=2),
    "user_id": st.floats(allow_nan=False, allow_infinity=False) | st.none() | st.dictionaries(st.text(), st.text()),
    "amount": st.text() | st.booleans() | st.none() | st.lists(st.integers(), max_size=2),
    "currency": st.integers() | st.booleans() | st.none(),
    "quantity": st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.text() | st.none(),
    "status": st.integers() | st.none() | st.lists(st.text(), max_size=2),
}


def dump(order: dict, ascii_only: bool = True) -> bytes:
    return json.dumps(order, ensure_ascii=ascii_only).encode()


@st.composite
def invalid_utf8(draw) -> bytes:
    raw = dump(draw(ORDER), ascii_only=draw(st.booleans()))
    at = draw(st.integers(0, len(raw)))
    return raw[:at] + draw(NOT_UTF8) + raw[at:]


@st.composite
def truncated_json(draw) -> bytes:
    raw = dump(draw(ORDER))  # ASCII, so a cut never splits a UTF-8 sequence
    return raw[:draw(st.integers(0, len(raw) - 1))]


@st.composite
def wrong_type(draw) -> bytes:
    order = draw(ORDER)
    name = draw(st.sampled_from(list(orders.FIELDS)))
    return dump({**order, name: draw(WRONG[name])}, ascii_only=draw(st.booleans()))


@st.composite
def missing_field(draw) -> bytes:
    order = draw(ORDER)
    dropped = draw(st.sets(st.sampled_from(list(orders.FIELDS)), min_size=1))
    return dump({k: v for k, v in order.items() if k not in dropped}, ascii_only=draw(st.booleans()))


@st.composite
def not_allowed(draw) -> bytes:
    order = draw(ORDER)
    name = draw(st.sampled_from(["currency", "status"]))
    allowed = orders.CURRENCIES if name == "currency" else orders.STATUSES
    return dump({**order, name: draw(st.text(max_size=12).filter(lambda v: v not in allowed))})


@st.composite
def huge_value(draw) -> bytes:
    order = draw(ORDER)
    kind = draw(st.sampled_from(["amount", "quantity", "digits"]))
    if kind == "amount":
        return dump({**order, "amount": draw(st.integers(orders.MAX_AMOUNT + 1, 10**300)
                                            | st.floats(min_value=orders.MAX_AMOUNT, exclude_min=True))})
    if kind == "quantity":
        return dump({**order, "quantity": draw(st.integers(orders.MAX_QUANTITY + 1, 10**300))})
    digits = draw(st.integers(4301, 6000))  # beyond Python's int-parsing limit
    return dump({**order, "quantity": 0}).replace(b'"quantity": 0', b'"quantity": ' + b"7" * digits)


POISON = {"invalid_utf8": invalid_utf8(), "truncated_json": truncated_json(), "wrong_type": wrong_type(),
          "missing_field": missing_field(), "not_allowed": not_allowed(), "huge_value": huge_value()}


def dataset(poison: dict[str, list[bytes]], n_valid: int, per_kind: int, seed: int) -> list[orders.Sample]:
    """Seeded valid orders plus each drawn poison value repeated to ``per_kind`` records, shuffled."""
    rng = random.Random(seed)
    samples = [orders.Sample(f"o-{i:07d}".encode(), dump(orders.valid_order(rng, i)), "valid") for i in range(n_valid)]
    for kind, values in poison.items():
        samples += [orders.Sample(f"p-{kind}-{i}".encode(), values[i % len(values)], kind) for i in range(per_kind)]
    rng.shuffle(samples)
    return samples


def setup_topics(samples: list[orders.Sample]) -> tuple[str, str, str, str]:
    suffix = uuid.uuid4().hex[:10]
    names = (f"dlqk_in_{suffix}", f"dlqk_out_{suffix}", f"dlqk_dead_{suffix}")
    for name in names:
        kafka_client.create_topic(name, partitions=3)
    assert len(produce_samples(names[0], samples)) == len(samples)
    return (*names, f"dlqk_group_{suffix}")


def processor_cmd(inp: str, out: str, dead: str, group: str, **options) -> list[str]:
    return dlq_processor.command(inp, out, dead, group, max_poll_records=50, seed=SEED, down_share=DOWN,
                                 flaky_share=FLAKY, **options)


@settings(max_examples=1, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_record_lands_in_output_or_dlq_exactly_once_under_kill_9(data, full_size, tmp_path):
    poison = {kind: data.draw(st.lists(strategy, min_size=DRAWN_PER_KIND, max_size=DRAWN_PER_KIND), label=kind)
              for kind, strategy in POISON.items()}
    # Hypothesis tries the simplest example first (all values minimal); this costly test wants varied poison.
    assume(all(len(set(values)) == DRAWN_PER_KIND for values in poison.values()))
    # --full: 100,000 records and 10 kills (1 ms backoff keeps it to minutes); CI: 2,300 records, 3 kills.
    n_valid, per_kind, kills, backoff_ms = (94_000, 1_000, 10, 1) if full_size else (2_000, 50, 3, 10)
    samples = dataset(poison, n_valid, per_kind, SEED)
    service = RiskService(SEED, down_share=DOWN, flaky_share=FLAKY)
    expected = Counter(orders.POISON_KINDS[s.kind] for s in samples if s.kind != "valid")
    expected[dlq_classify.DEPENDENCY_TIMEOUT] = sum(1 for s in samples if s.kind == "valid"
                                           and service.planned_failures(s.key.decode()) is None)
    inp, out, dead, group = setup_topics(samples)

    kill_at = dlq_processor.kill_points(len(samples), kills, SEED)
    cmd = processor_cmd(inp, out, dead, group, backoff_ms=backoff_ms)
    run, landed = dlq_processor.run_with_kills(cmd, group, kill_at, log=tmp_path / "processor.log")

    acc = dlq_audit.account(inp, out, dead)
    print(f"\n{len(samples)} records, {len(landed)} kill -9 at committed progress {landed}, {run.starts} starts: "
          f"{acc.rows()}")
    assert len(landed) == kills  # every kill hit a running processor mid-input
    assert acc.missing == [] and acc.in_both == [] and acc.strays == 0
    assert acc.consumed == len(samples) == acc.processed + acc.dead
    assert acc.dead_lettered == expected
    assert acc.processed == n_valid - expected[dlq_classify.DEPENDENCY_TIMEOUT]
    assert dlq_audit.committed_total(group) == len(samples)


def test_committing_before_the_acks_loses_records_and_the_audit_sees_it(tmp_path):
    """Counterfactual: the guide's order (send, commit, then flush) with a crash after the commit."""
    samples = orders.mixed(1_000, 20, seed=SEED)
    inp, out, dead, group = setup_topics(samples)
    run = ProcessorRun(processor_cmd(inp, out, dead, group, commit_before_ack=True, linger_ms=200),
                       log=tmp_path / "processor.log")
    run.start({CRASH_ENV: "after-commit-before-ack:4"})
    run.wait(timeout_s=120)
    run.start()
    run.wait(timeout_s=120)
    acc = dlq_audit.account(inp, out, dead)
    print(f"\ncommit before ack: {len(acc.missing)} of {acc.consumed} records lost: {acc.rows()}")
    assert dlq_audit.committed_total(group) == len(samples)  # the group says: all done
    assert len(acc.missing) > 0 and not acc.balanced      # the independent read says: some never written
