"""Lesson 14's exercises: the ledger's identity of a staged file, and validation rules for a payments export."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from pipeline_patterns.exercises import Verdict, exercise, right, wrong
from pipeline_patterns.ingestion.bulk.ledger import LedgerEntry, StagedFile, held, plan_load
from pipeline_patterns.ingestion.bulk.rows import CURRENCIES, NOTES
from pipeline_patterns.ingestion.bulk.rules import IntRule, Rule, TextRule, TimestampRule, reason
from pipeline_patterns.ingestion.bulk.tables import SYNTHETIC

# ---- 1 · the ledger ----------------------------------------------------------------------------------------------

FileIdentity = Callable[[str, bytes], str]   # (path, bytes) -> what the ledger knows the file by
ROWS_PER_FILE = 500


def staged_versions(seed: int = 14) -> dict[str, list[tuple[str, bytes]]]:
    """Two days' Parquet parts, each staged the guide's way: under a fresh uuid path, Spark's part names.

    ``a_again`` is day A's bytes staged once more (a retried task); ``b`` has A's part names and sizes,
    and lists one of its parts twice."""
    rng = random.Random(seed)
    day_a, day_b = rng.randbytes(4_096), rng.randbytes(4_096)
    parts = [("part-00000.snappy.parquet", 0), ("part-00001.snappy.parquet", 2_048)]

    def staged(prefix: str, data: bytes) -> list[tuple[str, bytes]]:
        return [(f"s3://lake/stage/{prefix}/{name}", data[at:at + 2_048]) for name, at in parts]

    b = staged("9c41e07d", day_b)
    return {"a": staged("3f2a5b10", day_a), "a_again": staged("e81d44c2", day_a), "b": [*b, b[0]]}


def rows_after_loads(your_identity: FileIdentity, loads: list[list[tuple[str, bytes]]]) -> list[int]:
    """Rows in the target after each append, with the kit's ledger deciding from the files' identities."""
    history: list[LedgerEntry] = []
    rows_held = []
    for number, files in enumerate(loads):
        staged = []
        for path, content in files:
            identity = your_identity(path, content)
            if not isinstance(identity, str):
                raise TypeError(f"expected a str (the ledger's file_sha256 column is text), found "
                                f"{type(identity).__name__}")
            staged.append(StagedFile(path, identity, ROWS_PER_FILE))
        plan = plan_load("append", staged, history)
        history += [LedgerEntry(len(history) + 1, f"load-{number}", f.sha256, f.name, "append", f.rows)
                    for f in plan.load]
        rows_held.append(sum(e.rows for e in held(history)))
    return rows_held


@exercise("14.know_a_file_by_its_bytes", "a file identity under which a load never appends the same rows twice")
def know_a_file_by_its_bytes(your_identity: FileIdentity) -> Verdict:
    versions = staged_versions()
    a_rows, b_rows = 2 * ROWS_PER_FILE, 2 * ROWS_PER_FILE
    first, retried, next_day = rows_after_loads(your_identity, [versions["a"], versions["a_again"], versions["b"]])
    if first != a_rows:
        return wrong(f"day A's 2 files (different bytes) loaded into an empty target gave {first:,} rows instead of "
                     f"{a_rows:,}: the ledger took them for one file. Wanted: different bytes, different identity")
    if retried != a_rows:
        return wrong(f"day A's 2 files were staged again under a fresh path (a retried task) with the same bytes, and "
                     f"the target went from {first:,} to {retried:,} rows: the ledger took them for new files. "
                     "Wanted: the same rows, wherever they are staged, are loaded once")
    if next_day != a_rows + b_rows:
        return wrong(f"day B's files (new rows, but A's part names and sizes, one part listed twice) left the target "
                     f"at {next_day:,} rows instead of {a_rows + b_rows:,}: the ledger took a new file for one it "
                     "holds, or the twice-listed part for two files. Wanted: different bytes, different identity")
    return right(f"a retried load of the same bytes under a new path added nothing; day B added its "
                 f"{b_rows:,} rows once: {next_day:,} rows in the target")


# ---- 2 · validation rules ----------------------------------------------------------------------------------------

GOOD_ROWS = 200
BROKEN = (  # (column, value): each breaks the contract (or the cast) in that column only
    ("payment_id", "n/a"), ("account_id", "0"), ("account_id", "10000"), ("account_id", "12.0"),
    ("account_id", "3000000000"), ("account_id", None), ("amount_cents", "0"), ("amount_cents", "-500"),
    ("amount_cents", "12.50"), ("amount_cents", "5000001"),
    ("currency", "usd"), ("currency", "EURO"), ("currency", "€"), ("score", "high"), ("score", "0,75"),
    ("score", "1.2.3"), ("created_at", "2024-02-30 10:00:00+00"), ("created_at", "2024-03-01 10:00:00"),
)


def payments_export(seed: int = 14) -> tuple[list[list[str | None]], list[tuple[int, list[str | None], str]]]:
    """Seeded text records of the payments table (as a CSV gives them) that keep the contract — the limits of
    each range among them — and one broken copy per entry of ``BROKEN`` with the column it breaks."""
    rng = random.Random(seed)
    good = []
    for i in range(GOOD_ROWS):
        day = date(2024, 1, 1) + timedelta(days=rng.randrange(366))  # 2024: 29 February is a day
        score = None if rng.random() < 0.1 else f"{rng.gauss(0.5, 0.3):.4f}"
        account = rng.choice((1, 9_999, rng.randrange(1, 10_000)))  # the limits of each range are in the contract
        amount = rng.choice((1, 5_000_000, rng.randrange(1, 5_000_000)))
        currency, note = rng.choice((*CURRENCIES, "CHF", "JPY")), rng.choice(NOTES)
        clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        good.append([str(i), str(account), str(amount), currency, note, score, f"{day} {clock}+00"])
    broken: list[tuple[int, list[str | None], str]] = []
    for column, value in BROKEN:
        record = list(rng.choice(good))
        record[SYNTHETIC.names.index(column)] = value
        broken.append((GOOD_ROWS + len(broken) + 2, record, column))  # its line in the file (line 1: header)
    return good, broken


def reasons(rules: Mapping[str, Rule], record: list[str | None]) -> list[str]:
    """Every rule a record breaks, by the kit's ``reason``; columns without a rule are not checked."""
    return [r for column, value in zip(SYNTHETIC.columns, record, strict=True)
            if column.name in rules and (r := reason(column, rules[column.name], value))]


@exercise("14.rules_for_the_payments_export", "validation rules that reject each broken row of a payments export")
def rules_for_the_payments_export(your_rules: Mapping[str, Rule]) -> Verdict:
    unknown = sorted(set(your_rules) - set(SYNTHETIC.names))
    if unknown:
        return wrong(f"the payments table has no column {unknown[0]!r}; its columns: {', '.join(SYNTHETIC.names)}")
    not_rules = sorted(c for c, r in your_rules.items() if not isinstance(r, IntRule | TextRule | TimestampRule))
    if not_rules:
        return wrong(f"the rule for {not_rules[0]} is a {type(your_rules[not_rules[0]]).__name__}; expected an "
                     "IntRule, TextRule or TimestampRule")
    good, broken = payments_export()
    for line, record in enumerate(good, start=2):
        if refused := reasons(your_rules, record):
            value = record[SYNTHETIC.names.index(refused[0].split(":")[0])]
            return wrong(f"line {line} keeps the contract but your rules reject it ({refused[0]}; the value is "
                         f"{value!r}): a rule is stricter than the contract")
    for line, record, column in broken:
        value = record[SYNTHETIC.names.index(column)]
        found = reasons(your_rules, record)
        if not found:
            return wrong(f"line {line} has {column} = {value!r}, which breaks the contract (or PostgreSQL's cast), "
                         f"and your rules let it through: it would reach the target, or fail the whole load")
        if not found[0].startswith(f"{column}:"):
            return wrong(f"line {line} is rejected, but for {found[0]!r}: only its {column} ({value!r}) is broken")
    return right(f"all {len(good)} good rows pass, and each of the {len(broken)} broken ones is rejected with a "
                 "reason naming its column")
