"""The order events lesson 11 validates, the poison it meets, and a repair for re-drives.

Validation is pure: :func:`validate` takes the record's raw value (``bytes``, as Kafka
delivers it) and returns the order or raises :class:`InvalidRecord` with a *reason code*,
so the rejected side is data that lessons and tests can count. Every reason here is
terminal: retrying the same bytes gives the same answer, so the record goes to the
dead letter queue at once.

Python's ``json`` accepts ``NaN``/``Infinity`` (not JSON) and turns ``1e999`` into
``inf``; both are rejected here, as are integers longer than Python's 4300-digit limit.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

INVALID_UTF8 = "invalid_utf8"
MALFORMED_JSON = "malformed_json"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
NOT_ALLOWED = "not_allowed"
OUT_OF_RANGE = "out_of_range"
TERMINAL_REASONS = (INVALID_UTF8, MALFORMED_JSON, MISSING_FIELD, WRONG_TYPE, NOT_ALLOWED, OUT_OF_RANGE)

CURRENCIES = ("EUR", "USD", "GBP")
STATUSES = ("created", "paid", "shipped", "cancelled")
MAX_AMOUNT = 100_000
MAX_QUANTITY = 1_000
MAX_ID_LENGTH = 64
FIELDS: dict[str, tuple[type, ...]] = {
    "order_id": (str,), "user_id": (str,), "amount": (int, float), "currency": (str,),
    "quantity": (int,), "status": (str,),
}


class InvalidRecord(ValueError):
    """A record that can never be processed; ``reason`` is one of :data:`TERMINAL_REASONS`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _reject_constant(name: str) -> None:
    raise InvalidRecord(MALFORMED_JSON, f"{name} is not JSON (Python's json accepts it, other readers do not)")


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _short(number: int | float) -> str:
    text = repr(number)
    return text if len(text) <= 24 else f"{text[:12]}…({len(text)} digits)"


def validate(value: bytes | None) -> dict:
    """The order in ``value``, or :class:`InvalidRecord` saying what was expected and found."""
    if value is None:
        raise InvalidRecord(MALFORMED_JSON, "no value (a tombstone); expected a JSON order")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord(INVALID_UTF8, f"not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        order = json.loads(text, parse_constant=_reject_constant)
    except InvalidRecord:
        raise  # NaN / Infinity, from _reject_constant
    except json.JSONDecodeError as exc:
        raise InvalidRecord(MALFORMED_JSON, f"not JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise InvalidRecord(MALFORMED_JSON, "JSON nested too deeply to parse") from None
    except ValueError as exc:  # int longer than sys.get_int_max_str_digits()
        raise InvalidRecord(OUT_OF_RANGE, f"huge number: {str(exc)[:80]}") from None
    if not isinstance(order, dict):
        raise InvalidRecord(WRONG_TYPE, f"expected a JSON object, found {_type_name(order)}")
    missing = [name for name in FIELDS if name not in order]
    if missing:
        raise InvalidRecord(MISSING_FIELD, f"missing required field(s): {', '.join(missing)}")
    for name, types in FIELDS.items():
        field_value = order[name]
        if isinstance(field_value, bool) or not isinstance(field_value, types):  # bool is an int in Python
            expected = " or ".join(t.__name__ for t in types)
            raise InvalidRecord(WRONG_TYPE, f"{name}: expected {expected}, found {_type_name(field_value)}")
    if order["currency"] not in CURRENCIES:
        raise InvalidRecord(NOT_ALLOWED, f"currency: expected one of {CURRENCIES}, found {order['currency']!r:.40}")
    if order["status"] not in STATUSES:
        raise InvalidRecord(NOT_ALLOWED, f"status: expected one of {STATUSES}, found {order['status']!r:.40}")
    amount = order["amount"]  # an int may be far beyond float range: compare, never float() it
    if (isinstance(amount, float) and not math.isfinite(amount)) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidRecord(OUT_OF_RANGE, f"amount: expected 0 < amount <= {MAX_AMOUNT}, found {_short(amount)}")
    if not 1 <= order["quantity"] <= MAX_QUANTITY:
        raise InvalidRecord(OUT_OF_RANGE, f"quantity: expected 1..{MAX_QUANTITY}, found {_short(order['quantity'])}")
    for name in ("order_id", "user_id"):
        if not 1 <= len(order[name]) <= MAX_ID_LENGTH:
            raise InvalidRecord(OUT_OF_RANGE, f"{name}: expected 1..{MAX_ID_LENGTH} characters, "
                                              f"found {len(order[name])}")
    return order


def transform(order: dict, risk_score: int) -> bytes:
    """The processed record: the order with its amount in cents and the dependency's risk score."""
    return json.dumps({**order, "amount_cents": round(order["amount"] * 100), "risk_score": risk_score},
                      sort_keys=True).encode()


def repair(value: bytes | None) -> bytes | None:
    """A fix for re-drives: valid bytes unchanged, two known producer mistakes fixed, else None.

    Fixes an amount sent as a decimal string (``"12.50"``) and a lower-case currency;
    everything else (bytes that are not UTF-8 JSON, missing fields, …) is left in the DLQ.
    """
    try:
        validate(value)
        return value
    except InvalidRecord:
        pass
    if value is None:
        return None
    try:
        order = json.loads(value.decode("utf-8"), parse_constant=_reject_constant)
    except (AttributeError, ValueError, RecursionError):
        return None
    if not isinstance(order, dict):
        return None
    if isinstance(order.get("amount"), str):
        try:
            order["amount"] = float(order["amount"])
        except ValueError:
            return None
    if isinstance(order.get("currency"), str):
        order["currency"] = order["currency"].upper()
    fixed = json.dumps(order, sort_keys=True).encode()
    try:
        validate(fixed)
    except InvalidRecord:
        return None
    return fixed


# --- seeded data for the lesson and the tests ---------------------------------------------

POISON_KINDS = {  # kind -> the reason validate() must give
    "invalid_utf8": INVALID_UTF8, "truncated_json": MALFORMED_JSON, "wrong_type": WRONG_TYPE,
    "missing_field": MISSING_FIELD, "not_allowed": NOT_ALLOWED, "huge_value": OUT_OF_RANGE,
}


@dataclass(frozen=True)
class Sample:
    key: bytes
    value: bytes
    kind: str
    """``"valid"`` or one of :data:`POISON_KINDS`."""


def valid_order(rng: random.Random, i: int) -> dict:
    return {"order_id": f"o-{i:07d}", "user_id": f"u-{rng.randrange(500):04d}",
            "amount": round(rng.uniform(1, 500), 2), "currency": rng.choice(CURRENCIES),
            "quantity": rng.randint(1, 5), "status": rng.choice(STATUSES)}


def _dump(order: dict) -> bytes:
    return json.dumps(order).encode()


def poison(kind: str, rng: random.Random, i: int) -> bytes:
    """One poison record of ``kind``, seeded; a few of them (string amounts, lower-case currency) repairable."""
    order = valid_order(rng, i)
    if kind == "invalid_utf8":
        return rng.choice([b"\xff\xfe", _dump(order)[:20] + b"\xc3\x28", "caf\u00e9".encode("latin-1")])
    if kind == "truncated_json":
        raw = _dump(order)
        return raw[:rng.randrange(len(raw))]
    if kind == "wrong_type":
        name, bad = rng.choice([("amount", f"{order['amount']:.2f}"), ("quantity", 2.5), ("quantity", True),
                                ("status", 3), ("user_id", None)])
        return _dump({**order, name: bad})
    if kind == "missing_field":
        dropped = rng.sample(list(FIELDS), rng.randint(1, 2))
        return _dump({k: v for k, v in order.items() if k not in dropped})
    if kind == "not_allowed":
        name, bad = rng.choice([("currency", order["currency"].lower()), ("currency", "XBT"),
                                ("status", "refunded")])
        return _dump({**order, name: bad})
    if kind == "huge_value":
        return rng.choice([_dump({**order, "amount": 10**12}), _dump({**order, "quantity": 2**40}),
                           _dump(order).replace(b'"quantity": ', b'"quantity": ' + b"9" * 5000 + b", \"q\": "),
                           _dump(order).replace(b'"amount": ', b'"amount": 1e999, "a": ')])
    raise ValueError(f"unknown poison kind {kind!r}; expected one of {sorted(POISON_KINDS)}")


def mixed(n_valid: int, poison_per_kind: int, seed: int = 42) -> list[Sample]:
    """``n_valid`` valid orders and ``poison_per_kind`` records of each poison kind, shuffled."""
    rng = random.Random(seed)
    samples = [Sample(f"o-{i:07d}".encode(), _dump(valid_order(rng, i)), "valid") for i in range(n_valid)]
    for kind in POISON_KINDS:
        samples += [Sample(f"p-{kind}-{i}".encode(), poison(kind, rng, n_valid + i), kind)
                    for i in range(poison_per_kind)]
    rng.shuffle(samples)
    return samples
