"""The load ledger: which staged files a table already holds, so that loading one again is a no-op.

A file is known by the SHA-256 of its bytes, not its path: the guide stages every load under a
fresh ``uuid4()`` path, so a path never repeats while the same rows do. Each load writes one
ledger row per file, in the transaction that publishes the rows.

What a table holds is the files loaded since (and with) its last ``overwrite``. :func:`plan_load`
decides, purely, from that history:

* ``append`` loads the files the table does not hold yet and skips the others;
* ``overwrite`` is skipped when the table holds exactly these files already, and otherwise
  replaces the table's rows with all of them (so overwrite A, overwrite B, overwrite A loads A again);
* two files with the same bytes in one call are one file.

Guarantee (with :mod:`.warehouse` taking a lock on the target before it reads the ledger): a
file's rows are in the target at most once per append, whatever retries or concurrent loaders do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from pipeline_patterns.ingestion.bulk.tables import checked_name

MODES = ("append", "overwrite")


@dataclass(frozen=True)
class StagedFile:
    """A staged file: its name (for people), the SHA-256 of its bytes (its identity) and its rows."""

    name: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class LedgerEntry:
    """One file of one load, as the ledger recorded it (``entry`` orders the history)."""

    entry: int
    load_id: str
    sha256: str
    name: str
    mode: str
    rows: int


@dataclass(frozen=True)
class LoadPlan:
    load: tuple[StagedFile, ...]
    skip: tuple[StagedFile, ...]
    replace: bool
    why: str


def held(history: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """The entries whose rows the table holds now: everything since (and with) the last overwrite."""
    ordered = sorted(history, key=lambda e: e.entry)
    overwrites = [e for e in ordered if e.mode == "overwrite"]
    if not overwrites:
        return ordered
    last = overwrites[-1].load_id
    first = min(e.entry for e in ordered if e.load_id == last)
    return [e for e in ordered if e.entry >= first]


def plan_load(mode: str, files: Sequence[StagedFile], history: Sequence[LedgerEntry]) -> LoadPlan:
    """What a load of ``files`` in ``mode`` must do, given the target's ledger ``history``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not files:
        raise ValueError("no files to load: stage at least one file (an empty overwrite would empty the table)")
    unique: dict[str, StagedFile] = {}
    for f in files:
        unique.setdefault(f.sha256, f)
    twins = tuple(f for f in files if unique[f.sha256] is not f)
    holding = {e.sha256 for e in held(history)}
    if mode == "append":
        new = tuple(f for f in unique.values() if f.sha256 not in holding)
        old = tuple(f for f in unique.values() if f.sha256 in holding)
        why = f"{len(new)} new file(s); {len(old)} already loaded, {len(twins)} duplicate(s) in this call"
        return LoadPlan(new, old + twins, False, why)
    if holding and set(unique) == holding:
        return LoadPlan((), tuple(files), False, "the table already holds exactly these files: nothing to do")
    return LoadPlan(tuple(unique.values()), twins, True,
                    f"replace the table's rows with {len(unique)} file(s) ({len(twins)} duplicate(s) in this call)")


def create_ledger(ledger: str) -> sql.Composed:
    return sql.SQL("""CREATE TABLE IF NOT EXISTS {} (
        entry bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        load_id uuid NOT NULL, target text NOT NULL, file_sha256 text NOT NULL, file_name text NOT NULL,
        mode text NOT NULL CHECK (mode IN ('append', 'overwrite')), rows bigint NOT NULL,
        loaded_at timestamptz NOT NULL DEFAULT now())""").format(sql.Identifier(checked_name(ledger)))


def read_history(conn: psycopg.Connection, ledger: str, target: str) -> list[LedgerEntry]:
    cur = conn.execute(sql.SQL("SELECT entry, load_id::text, file_sha256, file_name, mode, rows FROM {} "
                               "WHERE target = %s ORDER BY entry").format(sql.Identifier(ledger)), (target,))
    return [LedgerEntry(*row) for row in cur.fetchall()]


def record(conn: psycopg.Connection, ledger: str, target: str, load_id: str, mode: str,
           files: Sequence[StagedFile]) -> None:
    with conn.cursor() as cur:
        cur.executemany(sql.SQL("INSERT INTO {} (load_id, target, file_sha256, file_name, mode, rows) "
                                "VALUES (%s, %s, %s, %s, %s, %s)").format(sql.Identifier(ledger)),
                        [(load_id, target, f.sha256, f.name, mode, f.rows) for f in files])
