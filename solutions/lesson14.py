"""Reference solutions for lesson 14 (instructors): graded by `check(..., solutions=True)`."""

import hashlib

from pipeline_patterns.ingestion.bulk.rules import IntRule, TextRule, TimestampRule


def know_a_file_by_its_bytes(path, content):
    # A file is its bytes: the SHA-256 of the content, whatever path it was staged under (the kit's ledger does this).
    return hashlib.sha256(content).hexdigest()


# The contract, column by column; note has none (free text, NULL allowed). Every rule refuses a value PostgreSQL
# could not cast, so the good rows load and each broken one is rejected with its column's reason.
rules_for_the_payments_export = {
    "payment_id": IntRule(0, 10**12),
    "account_id": IntRule(1, 9_999),
    "amount_cents": IntRule(1, 5_000_000),
    "currency": TextRule("[A-Z]{3}", "three capital letters"),
    "score": TextRule(r"-?[0-9]+(\.[0-9]+)?", "a decimal number"),
    "created_at": TimestampRule(),
}
