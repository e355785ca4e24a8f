"""The capstone's application events: payments for the shop's orders as JSON on Kafka, poison included.

A valid payment is ``{"payment_id": "pay-000001", "order_id": 17, "amount": "123.45", "currency": "EUR"}``
(the amount an exact decimal string). Poison comes at a parameterised rate in three kinds: bytes that are not
JSON, a wrong type (``order_id`` as text, ``amount`` as a number), and a payment for an order that never existed.
Some valid payments are sent twice (the application retried): same ``payment_id``, counted once.

:func:`payment_stream` labels every record with what it is (:attr:`Payment.kind`): the reference uses the labels,
the pipeline never sees them. :func:`validate` is the pipeline's shape check, pure; whether the order exists is
decided later, against the replica (:mod:`.pipeline`), because a payment may arrive before its order's change.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pipeline_patterns.errors.orders import (
    MALFORMED_JSON,
    MISSING_FIELD,
    NOT_ALLOWED,
    OUT_OF_RANGE,
    WRONG_TYPE,
    InvalidRecord,
)

VALID, RESENT, NOT_JSON, BAD_TYPE, UNKNOWN_ORDER = "valid", "resent", "not_json", "wrong_type", "unknown_order"
POISON = (NOT_JSON, BAD_TYPE, UNKNOWN_ORDER)
UNKNOWN_ORDER_REASON = "unknown_order"  # the DLQ reason the pipeline gives a payment whose order never existed
CURRENCY = "EUR"
GHOST_ORDERS = 10_000_000  # order ids of payments for orders that never existed
FIELDS = {"payment_id": str, "order_id": int, "amount": str, "currency": str}


@dataclass(frozen=True)
class Payment:
    raw: bytes          # what is sent to Kafka
    kind: str           # VALID, RESENT (a valid payment sent again) or one of POISON
    payment_id: str | None = None
    order_id: int | None = None
    amount: Decimal | None = None


def _valid(n: int, order_id: int, amount: Decimal) -> Payment:
    payment_id = f"pay-{n:06d}"
    body = {"payment_id": payment_id, "order_id": order_id, "amount": str(amount), "currency": CURRENCY}
    return Payment(json.dumps(body).encode(), VALID, payment_id, order_id, amount)


def _poison(kind: str, label: str, rng: random.Random, unknown_order_id: int) -> Payment:
    if kind == NOT_JSON:
        raw = rng.choice([b'{"payment_id": "pay-', b"\xff\xfe not utf-8", b"payment,17,12.50"])
    elif kind == BAD_TYPE:
        payment_id = f"bad-{label}"
        body = rng.choice([{"payment_id": payment_id, "order_id": "seventeen", "amount": "1.00", "currency": CURRENCY},
                           {"payment_id": payment_id, "order_id": 17, "amount": 12.5, "currency": CURRENCY}])
        raw = json.dumps(body).encode()
    else:
        body = {"payment_id": f"ghost-{label}", "order_id": unknown_order_id, "amount": "9.99", "currency": CURRENCY}
        raw = json.dumps(body).encode()
    return Payment(raw, kind)


def payment_stream(order_totals: dict[int, Decimal], *, paid_share: float = 0.6, poison_rate: float = 0.05,
                   resend_rate: float = 0.03, seed: int = 42, first_number: int = 1) -> list[Payment]:
    """Payments for a seeded ``paid_share`` of the orders (each paid in full), with poison at ``poison_rate``
    of the records and ``resend_rate`` of the valid ones sent twice. Payments are numbered from ``first_number``
    (streams for later orders continue the numbering); unknown orders get ids no shop order has (10,000,000 up)."""
    if not 0 <= poison_rate < 1 or not 0 <= paid_share <= 1:
        raise ValueError(f"expected 0 <= poison_rate < 1 and 0 <= paid_share <= 1, found {poison_rate}, {paid_share}")
    rng = random.Random(seed)
    paid = sorted(rng.sample(sorted(order_totals), round(len(order_totals) * paid_share)))
    stream: list[Payment] = []
    for n, order_id in enumerate(paid, start=first_number):
        k = 0
        while rng.random() < poison_rate:  # poison before payment n: labelled n-k, unique in every stream
            k += 1
            stream.append(_poison(rng.choice(POISON), f"{n:06d}-{k}", rng, GHOST_ORDERS + n))
        payment = _valid(n, order_id, order_totals[order_id])
        stream.append(payment)
        if rng.random() < resend_rate:
            stream.append(Payment(payment.raw, RESENT, payment.payment_id, order_id, payment.amount))
    return stream


def validate(raw: bytes | None) -> dict:
    """The payment in ``raw`` (amount as a Decimal), or :class:`InvalidRecord` saying what was expected and found."""
    if raw is None:
        raise InvalidRecord(MALFORMED_JSON, "no value (a tombstone); expected a JSON payment")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRecord(MALFORMED_JSON, f"not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidRecord(WRONG_TYPE, f"expected a JSON object, found {type(body).__name__}")
    missing = [name for name in FIELDS if name not in body]
    if missing:
        raise InvalidRecord(MISSING_FIELD, f"missing required field(s): {', '.join(missing)}")
    for name, kind in FIELDS.items():
        if isinstance(body[name], bool) or not isinstance(body[name], kind):
            raise InvalidRecord(WRONG_TYPE, f"{name}: expected {kind.__name__}, found {type(body[name]).__name__}")
    if body["currency"] != CURRENCY:
        raise InvalidRecord(NOT_ALLOWED, f"currency: expected {CURRENCY!r}, found {body['currency']!r:.20}")
    try:
        amount = Decimal(body["amount"])
    except InvalidOperation:
        raise InvalidRecord(WRONG_TYPE, f"amount: expected a decimal string, found {body['amount']!r:.20}") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidRecord(OUT_OF_RANGE, f"amount: expected a positive amount, found {body['amount']!r:.20}")
    return {**body, "amount": amount}
