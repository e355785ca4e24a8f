"""The DLQ's pure parts: classification of each poison type, headers, retries, repair."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_patterns import kafka_client
from pipeline_patterns.errors import dlq_classify, dlq_headers, dlq_retry, orders
from pipeline_patterns.errors.fakes.risk_service import RiskService
from pipeline_patterns.errors.orders import InvalidRecord

VALID = {"order_id": "o-1", "user_id": "u-1", "amount": 12.5, "currency": "EUR", "quantity": 2, "status": "paid"}
FIXED_NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def encoded(**changes) -> bytes:
    return json.dumps({**VALID, **changes}).encode()


def without(*names: str) -> bytes:
    return json.dumps({k: v for k, v in VALID.items() if k not in names}).encode()


def reason_of(value: bytes | None) -> str:
    with pytest.raises(InvalidRecord) as caught:
        orders.validate(value)
    return caught.value.reason


def test_a_valid_order_passes_and_extra_fields_are_allowed():
    assert orders.validate(encoded()) == VALID
    assert orders.validate(encoded(note="gift"))["note"] == "gift"


@pytest.mark.parametrize(("value", "reason"), [
    (b"\xff\xfe", "invalid_utf8"),
    ("café".encode("latin-1"), "invalid_utf8"),
    (encoded()[:25] + b"\xc3\x28", "invalid_utf8"),
    (encoded()[:-1], "malformed_json"),             # truncated
    (b"", "malformed_json"),
    (None, "malformed_json"),                      # a tombstone
    (b'{"amount": NaN}', "malformed_json"),        # Python's json accepts NaN; it is not JSON
    (b"[" * 100_000, "malformed_json"),            # nested too deeply (RecursionError)
    (b'["not", "an", "object"]', "wrong_type"),
    (without("currency"), "missing_field"),
    (without("order_id", "status"), "missing_field"),
    (encoded(amount="12.50"), "wrong_type"),
    (encoded(quantity=True), "wrong_type"),        # bool is an int in Python
    (encoded(quantity=2.0), "wrong_type"),
    (encoded(user_id=None), "wrong_type"),
    (encoded(currency="eur"), "not_allowed"),
    (encoded(status="refunded"), "not_allowed"),
    (encoded(amount=0), "out_of_range"),
    (encoded(amount=10**12), "out_of_range"),
    (encoded(quantity=2**40), "out_of_range"),
    (encoded(amount=10**400), "out_of_range"),      # beyond float range: no OverflowError
    (encoded().replace(b'"amount": 12.5', b'"amount": 1e999'), "out_of_range"),   # parsed as inf
    (encoded().replace(b'"quantity": 2', b'"quantity": ' + b"9" * 5000), "out_of_range"),  # > 4300 digits
    (encoded(order_id="x" * 65), "out_of_range"),
])
def test_each_poison_type_has_its_reason(value, reason):
    assert reason_of(value) == reason


def test_messages_say_what_was_expected_and_found():
    with pytest.raises(InvalidRecord, match=r"quantity: expected int, found bool"):
        orders.validate(encoded(quantity=True))
    with pytest.raises(InvalidRecord, match=r"missing required field\(s\): currency"):
        orders.validate(without("currency"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_an_order_or_a_classified_rejection(value):
    try:
        orders.validate(value)
    except InvalidRecord as exc:
        assert exc.reason in orders.TERMINAL_REASONS


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(orders.FIELDS)) | st.text(max_size=8), JSON_VALUES, max_size=8))
def test_any_json_object_is_an_order_or_a_classified_rejection(obj):
    try:
        order = orders.validate(json.dumps(obj).encode())
    except InvalidRecord as exc:
        assert exc.reason in orders.TERMINAL_REASONS
    else:
        assert orders.repair(json.dumps(obj).encode()) == json.dumps(obj).encode()
        assert json.loads(orders.transform(order, 5))["risk_score"] == 5


def test_seeded_poison_of_each_kind_gets_its_reason():
    rng = random.Random(7)
    found = Counter((kind, reason_of(orders.poison(kind, rng, i))) for kind in orders.POISON_KINDS for i in range(50))
    assert found == Counter({(kind, reason): 50 for kind, reason in orders.POISON_KINDS.items()})


def test_mixed_is_seeded_and_has_the_asked_counts():
    samples = orders.mixed(100, 3, seed=42)
    assert samples == orders.mixed(100, 3, seed=42) and samples != orders.mixed(100, 3, seed=43)
    assert Counter(s.kind for s in samples) == {"valid": 100, **{kind: 3 for kind in orders.POISON_KINDS}}
    assert len({s.key for s in samples}) == 118


def test_repair_fixes_two_known_mistakes_and_leaves_the_rest():
    assert orders.repair(encoded()) == encoded()  # valid bytes unchanged
    assert json.loads(orders.repair(encoded(amount="12.50")))["amount"] == 12.5
    assert json.loads(orders.repair(encoded(currency="usd")))["currency"] == "USD"
    for poison in (b"\xff", encoded()[:-3], without("status"), encoded(currency="XBT"), encoded(amount="lots"),
                   encoded(quantity=2**40), None):
        assert orders.repair(poison) is None


# --- headers ------------------------------------------------------------------------------

def test_dlq_headers_are_a_list_of_str_bytes_tuples_with_an_aware_utc_timestamp():
    headers = dlq_headers.dlq_headers(reason="wrong_type", error=InvalidRecord("wrong_type", "quantity: expected int"),
                              topic="orders", partition=2, offset=41, retries=0, failed_at=FIXED_NOW)
    assert isinstance(headers, list)
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    assert [k for k, _ in headers] == list(dlq_headers.DLQ_HEADER_NAMES)
    values = dict(headers)
    assert values["error_type"] == b"InvalidRecord" and values["error_message"] == b"quantity: expected int"
    assert (values["source_topic"], values["source_partition"], values["source_offset"]) == (b"orders", b"2", b"41")
    assert kafka_client.parse_source_position(values["source"]) == ("orders", 2, 41)
    failed_at = datetime.fromisoformat(values["failed_at"].decode())
    assert failed_at == FIXED_NOW and failed_at.utcoffset() == timedelta(0)


def test_dlq_headers_refuse_a_naive_timestamp_and_convert_other_zones_to_utc():
    naive = FIXED_NOW.replace(tzinfo=None)  # what datetime.utcnow() returns
    with pytest.raises(ValueError, match="timezone-aware"):
        dlq_headers.dlq_headers(reason="x", error=TimeoutError(), topic="t", partition=0, offset=0, retries=0,
                        failed_at=naive)
    paris = FIXED_NOW.astimezone(timezone(timedelta(hours=2)))
    headers = dlq_headers.dlq_headers(reason="x", error=TimeoutError(), topic="t", partition=0, offset=0, retries=0,
                              failed_at=paris)
    assert dict(headers)["failed_at"] == b"2024-05-01T12:00:00+00:00"


def test_retry_count_is_parsed_from_a_header_list():
    assert dlq_headers.retry_count([]) == 0 and dlq_headers.retry_count(None) == 0
    assert dlq_headers.retry_count([("source", b"t:0:1"), ("retry_count", b"3")]) == 3
    assert dlq_headers.retry_count([("retry_count", b"1"), ("retry_count", b"2")]) == 2  # repeated: the last wins
    for bad in (b"two", b"\xff", b"-1"):
        with pytest.raises(ValueError, match="retry_count"):
            dlq_headers.retry_count([("retry_count", bad)])


def test_the_guides_headers_get_fails_on_kafka_python_headers():
    headers = [("retry_count", b"2")]
    with pytest.raises(AttributeError):
        headers.get("retry_count", 0)  # the guide's line
    assert dlq_headers.retry_count(headers) == 2


# --- the dependency and retries -----------------------------------------------------------

def test_risk_service_is_deterministic_by_seed_across_instances():
    ids = [f"o-{i}" for i in range(2000)]
    a, b = RiskService(42, 0.05, 0.1), RiskService(42, 0.05, 0.1)
    plans = [a.planned_failures(i) for i in ids]
    assert plans == [b.planned_failures(i) for i in ids]
    assert plans != [RiskService(43, 0.05, 0.1).planned_failures(i) for i in ids]
    assert Counter(plans) == {0: 1715, 1: 88, 2: 98, None: 99}


def test_retries_back_off_exponentially_with_an_injected_sleep():
    slept: list[float] = []
    policy = dlq_retry.RetryPolicy(max_retries=3, backoff_s=0.01, max_backoff_s=0.2, sleep=slept.append)
    service = RiskService(42, down_share=1.0)
    with pytest.raises(dlq_retry.RetriesExhausted) as caught:
        dlq_retry.call_with_retries(lambda: service("o-1"), policy)
    assert caught.value.retries == 3 and isinstance(caught.value.error, TimeoutError)
    assert slept == [0.01, 0.02, 0.04] and service.calls["o-1"] == 4


def test_a_flaky_call_succeeds_after_its_planned_timeouts_and_other_errors_are_not_retried():
    service = RiskService(42, flaky_share=1.0)
    policy = dlq_retry.RetryPolicy(sleep=lambda s: None)
    score, retries = dlq_retry.call_with_retries(lambda: service("o-1"), policy)
    assert retries == service.planned_failures("o-1") >= 1 and 0 <= score < 100
    calls = []

    def broken():
        calls.append(1)
        raise KeyError("a bug, not a timeout")

    with pytest.raises(KeyError):
        dlq_retry.call_with_retries(broken, policy)
    assert len(calls) == 1


# --- one record ---------------------------------------------------------------------------

def record(value, offset=7, headers=()):
    """A stand-in with a ConsumerRecord's fields (no Kafka involved in deciding)."""
    return SimpleNamespace(topic="orders", partition=1, offset=offset, key=b"k", value=value, headers=list(headers))


def test_decide_sends_poison_to_the_dlq_with_the_original_bytes():
    raw = b'{"order_id": "o-1", "amount": tru'
    outcome = dlq_classify.decide(record(raw), RiskService(), dlq_retry.RetryPolicy(), now=lambda: FIXED_NOW)
    assert outcome.dead and outcome.value is raw and outcome.reason == "malformed_json"
    assert dlq_headers.header(outcome.headers, "source") == b"orders:1:7" \
        and dlq_headers.retry_count(outcome.headers) == 0


def test_decide_dead_letters_a_timeout_after_the_retry_limit_and_processes_a_flaky_one():
    policy = dlq_retry.RetryPolicy(max_retries=2, sleep=lambda s: None)
    down = dlq_classify.decide(record(encoded()), RiskService(down_share=1.0), policy, now=lambda: FIXED_NOW)
    assert down.dead and down.reason == "dependency_timeout" and dlq_headers.retry_count(down.headers) == 2
    assert dlq_headers.header(down.headers, "error_type") == b"TimeoutError"
    flaky = RiskService(flaky_share=1.0)
    done = dlq_classify.decide(record(encoded(), headers=[("redriven_from", b"orders:0:3")]), flaky, policy)
    assert not done.dead and dlq_headers.retry_count(done.headers) == flaky.planned_failures("o-1")
    assert dlq_headers.header(done.headers, "redriven_from") == b"orders:0:3"
    assert json.loads(done.value)["amount_cents"] == 1250
