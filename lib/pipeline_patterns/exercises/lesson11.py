"""Lesson 11's exercises: a retry policy that saves the flaky orders without blocking, and routing errors.

No Kafka: the records are lesson 11's seeded orders and poison (``orders.mixed``) as consumer records, the
dependency is its ``RiskService`` (deterministic by seed), sleeps are recorded instead of slept. The retry
policy goes through the processor's own decision, ``dlq_classify.decide``. The routing check is a small pure
model of the rule the lesson states (terminal errors to the DLQ at once, retriable ones retried, anything else
is a bug that stops the processor), fed with errors raised by the library's own validation and dependency.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from pipeline_patterns.errors import dlq_classify, orders
from pipeline_patterns.errors.dlq_headers import Headers
from pipeline_patterns.errors.dlq_retry import RetriesExhausted, RetryPolicy, call_with_retries
from pipeline_patterns.errors.fakes.risk_service import RiskService
from pipeline_patterns.exercises import Verdict, exercise, right, wrong

SEED = 7
BLOCKING_BUDGET_S = 0.05   # the longest a record may hold its partition in backoff


class InputRecord(NamedTuple):
    """What ``decide`` reads of a kafka-python ``ConsumerRecord``."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: Headers


def input_records(n_valid: int = 600, poison_per_kind: int = 5) -> list[tuple[InputRecord, str]]:
    """Seeded orders and poison as records of one partition, each with its kind (``valid`` or a poison kind)."""
    return [(InputRecord("orders", 0, offset, s.key, s.value, []), s.kind)
            for offset, s in enumerate(orders.mixed(n_valid, poison_per_kind, seed=SEED))]


def risk_service() -> RiskService:
    """Down for 3 % of the orders; 20 % answer after one or two timeouts."""
    return RiskService(SEED, down_share=0.03, flaky_share=0.20)


@exercise("11.retry_policy", "a retry policy that saves every flaky order and never blocks a partition long")
def retry_policy(your_policy: object) -> Verdict:
    if not isinstance(your_policy, RetryPolicy):
        return wrong(f"expected a RetryPolicy(max_retries=..., backoff_s=..., max_backoff_s=...), "
                     f"found {type(your_policy).__name__}")
    service, fixed_now, records = risk_service(), datetime(2026, 1, 1, tzinfo=UTC), input_records()
    flaky = sum(1 for r, kind in records if kind == "valid" and (service.planned_failures(r.key.decode()) or 0) > 0)
    lost: list[str] = []      # orders dead-lettered although the service would have answered them
    blocked: list[float] = []
    for record, kind in records:
        slept: list[float] = []
        policy = dataclasses.replace(your_policy, sleep=slept.append)
        decision = dlq_classify.decide(record, service, policy, now=lambda: fixed_now)
        blocked.append(sum(slept))
        if kind == "valid" and decision.dead and service.planned_failures(record.key.decode()) is not None:
            lost.append(record.key.decode())
    if lost:
        return wrong(f"{len(lost)} of the {flaky} orders the risk service answers after one or two timeouts were "
                     f"dead-lettered (e.g. {lost[0]}): give up only after enough retries for the slowest of them")
    if max(blocked) > BLOCKING_BUDGET_S:
        return wrong(f"an order the service never answers held its partition for {max(blocked) * 1000:.0f} ms of "
                     f"backoff before its dead letter (at most {BLOCKING_BUDGET_S * 1000:.0f} ms wanted): every "
                     "record behind it waits that long. Fewer retries, or shorter waits between them")
    return right(f"all {flaky} flaky orders processed; a dead order blocks its partition {max(blocked) * 1000:.0f} "
                 f"ms at most (of {BLOCKING_BUDGET_S * 1000:.0f} ms allowed)")


# -- routing ---------------------------------------------------------------------------------------

ROUTES = ("retry", "dead_letter", "stop")
MAX_RETRIES = 3


def enrich(order: dict, risk_score: int) -> bytes:
    """Our own processing step, with two bugs: a key misspelt for EUR orders, a bad int() for shipped ones."""
    if order["currency"] == "EUR" and order["quantity"] > 4:
        return str(order["ammount"]).encode()  # the bug: KeyError
    if order["status"] == "shipped" and order["quantity"] > 4:
        return str(int(f"{order['amount']}")).encode()  # the bug: ValueError (int('12.5'))
    return orders.transform(order, risk_score)


class Failure(NamedTuple):
    kind: str                          # "poison", "timeout" or "bug": what the error really is
    error: Exception
    lookup: Callable[[], int] | None   # for a timeout: the dependency call once more


def failures() -> list[Failure]:
    """Every error lesson 11's processor meets on the seeded input, raised by the code that raises it."""
    service, found = risk_service(), list[Failure]()
    for record, _ in input_records():
        try:
            order = orders.validate(record.value)
        except orders.InvalidRecord as exc:
            found.append(Failure("poison", exc, None))
            continue
        try:
            score = service(order["order_id"])
        except TimeoutError as exc:
            found.append(Failure("timeout", exc, functools.partial(service, order["order_id"])))
            continue
        try:
            enrich(order, score)
        except (KeyError, ValueError) as exc:
            found.append(Failure("bug", exc, None))
    return found


def answers_on_retry(lookup: Callable[[], int]) -> bool:
    """Whether the dependency answers within the lesson's retries (through the DLQ's own retry loop)."""
    try:
        call_with_retries(lookup, RetryPolicy(max_retries=MAX_RETRIES, sleep=lambda s: None))
        return True
    except RetriesExhausted:
        return False


def described(failure: Failure) -> str:
    reason = f" ({failure.error.reason})" if isinstance(failure.error, orders.InvalidRecord) else ""
    return f"{type(failure.error).__name__}{reason}: {str(failure.error)[:60]}"


@exercise("11.route_the_error", "each error to its route: retry, dead-letter, or stop the processor")
def route_the_error(your_route: Callable[[BaseException], str]) -> Verdict:
    found = failures()
    routes = [(f, your_route(f.error)) for f in found]
    unknown = [route for _, route in routes if route not in ROUTES]
    if unknown:
        return wrong(f"expected one of {ROUTES} for every error, found {unknown[0]!r}")
    by = Counter((f.kind, route) for f, route in routes)
    example = {(f.kind, route): described(f) for f, route in reversed(routes)}
    kinds = Counter(f.kind for f in found)
    if by["poison", "retry"]:
        return wrong(f"{by['poison', 'retry']} poison records were retried, e.g. {example['poison', 'retry']}: "
                     f"the same bytes fail the same way every time, so each one blocks its partition through "
                     f"{MAX_RETRIES} backoffs and still ends dead")
    if by["poison", "stop"]:
        return wrong(f"a poison record stopped the processor ({example['poison', 'stop']}): a restart reads it "
                     "again and stops again, so one bad record halts its partition for good")
    if by["timeout", "retry"] < kinds["timeout"]:
        saved = sum(answers_on_retry(f.lookup) for f, route in routes
                    if f.kind == "timeout" and route != "retry" and f.lookup is not None)
        what = "went to the DLQ" if by["timeout", "dead_letter"] else "stopped the processor"
        return wrong(f"{kinds['timeout'] - by['timeout', 'retry']} orders whose risk lookup timed out {what} "
                     f"at once (e.g. {example.get(('timeout', 'dead_letter')) or example['timeout', 'stop']}); "
                     f"{saved} of them get an answer on a retry")
    if by["bug", "stop"] < kinds["bug"]:
        route = "dead-lettered" if by["bug", "dead_letter"] else "retried"
        bug = example.get(("bug", "dead_letter")) or example["bug", "retry"]
        return wrong(f"{kinds['bug'] - by['bug', 'stop']} valid orders were {route} because of an error in our own "
                     f"enrichment code ({bug}) — not in the record, not in the dependency: a bug fails every order "
                     "it touches, and the DLQ would fill with good data. Tell it apart from a validation error")
    return right(f"{kinds['poison']} poison records dead-lettered at once, {kinds['timeout']} timeouts retried, "
                 f"and the processor stops on the {kinds['bug']} orders our buggy code fails")
