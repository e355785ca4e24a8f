"""The guide's ``process_cdc_event``, corrected: one pure function for every record Debezium writes.

A Debezium PostgreSQL connector writes, per captured table's topic:

* the change envelope ``{"before", "after", "source", "op", "ts_ms", ...}`` with ``op`` one of
  ``c`` (insert), ``u`` (update), ``d`` (delete), ``r`` (a row of the initial snapshot) and
  ``t`` (``TRUNCATE``, when ``skipped.operations`` does not skip it); logical decoding messages
  (``pg_logical_emit_message``) arrive as ``op = m`` on ``<prefix>.message``;
* that envelope inside ``{"schema": ..., "payload": ...}`` when the JSON converter runs with
  ``schemas.enable=true`` (the schema names each column's type);
* after every delete, a **tombstone**: the key with a ``None`` value, so that log compaction
  can forget the key (the guide's function crashes on it: ``None.get``);
* with the ``ExtractNewRecordState`` SMT ("unwrap"), just the row: ``op`` is gone unless the SMT
  adds it (``add.fields=op`` gives ``__op``), and a delete becomes a tombstone (the default) or
  the old row with ``__deleted = "true"`` (``delete.handling.mode=rewrite``).

Guarantee: :func:`process_cdc_event` returns a :class:`Change` for each of these shapes and
raises :class:`CdcEventError` — naming what it expected and what it found — for anything else.
It never returns ``None`` (the guide's version returns ``None`` for ``t``, ``m``, a tombstone
and every unwrapped row, and the caller silently drops them).

Pure: no Kafka, no Spark; the replica (:mod:`.cdc_replica`) and the unit tests call it alike.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

UNAVAILABLE = "__debezium_unavailable_value"
"""What Debezium puts in ``after`` for a TOASTed column an update did not change: PostgreSQL does
not send the unchanged out-of-line value, so a replica must keep the value it has."""

ACTIONS = {"c": "insert", "u": "update", "d": "delete", "r": "snapshot", "t": "truncate", "m": "message"}
ENVELOPE_KEYS = frozenset({"op", "source"})


class CdcEventError(ValueError):
    """A record that is not one of the shapes Debezium writes (see the module docstring)."""


@dataclass(frozen=True)
class Change:
    """One record from a change topic, in the shape the replica applies.

    ``row`` is the row to keep (``after``; for a delete, the key columns), ``before`` what the
    source sent as the old row (``None`` for inserts; with ``REPLICA IDENTITY DEFAULT`` only
    the key columns of an update's or delete's old row). ``lsn`` orders changes: the WAL
    position of the change (the snapshot's position for ``r`` rows).
    """

    action: str  # insert, update, delete, snapshot, truncate, message, tombstone, transaction
    table: str | None = None  # schema.table (None for a tombstone, a message, an unwrapped row)
    key: dict[str, Any] | None = None
    row: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    lsn: int | None = None
    tx_id: int | None = None
    source_ts_ms: int | None = None
    columns: dict[str, str] | None = None  # column -> Kafka Connect type, when the record had a schema
    unavailable: frozenset[str] = field(default_factory=frozenset)  # unchanged TOAST columns
    message: tuple[str, bytes] | None = None  # (prefix, content) of a logical decoding message


def _payload(value: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The record without the JSON converter's ``{"schema", "payload"}`` wrapper, and the schema."""
    if set(value) == {"schema", "payload"}:
        if not isinstance(value["payload"], dict):
            if value["payload"] is None:  # a tombstone written with schemas enabled
                return {}, value["schema"]
            raise CdcEventError(f"expected a JSON object as 'payload', found {type(value['payload']).__name__}")
        return value["payload"], value["schema"]
    return value, None


def _row_columns(schema: dict[str, Any] | None, part: str) -> dict[str, str] | None:
    """Column -> Connect type of the ``before``/``after`` struct (or of an unwrapped row)."""
    if schema is None:
        return None
    fields = schema.get("fields", [])
    struct = next((f for f in fields if f.get("field") == part), None) if part else schema
    if struct is None:
        return None
    return {f["field"]: f.get("name") or f["type"] for f in struct.get("fields", [])}


def _key(key: Any) -> dict[str, Any] | None:
    if key is None:
        return None
    payload, _ = _payload(key) if isinstance(key, dict) else (key, None)
    if not isinstance(payload, dict):
        raise CdcEventError(f"expected the record key to be a JSON object of key columns, found {key!r}")
    return payload


def _envelope(payload: dict[str, Any], schema: dict[str, Any] | None, key: dict | None) -> Change:
    op = payload.get("op")
    if op not in ACTIONS:
        raise CdcEventError(
            f"expected 'op' to be one of {sorted(ACTIONS)} in a Debezium change envelope, found {op!r}. "
            "If your connector uses provide.transaction.metadata, read its transaction topic separately.")
    source = payload.get("source") or {}
    table = f"{source['schema']}.{source['table']}" if source.get("table") else None
    common: dict[str, Any] = {"table": table, "key": key, "lsn": source.get("lsn"), "tx_id": source.get("txId"),
              "source_ts_ms": source.get("ts_ms")}
    action = ACTIONS[op]
    if action == "message":
        message = payload.get("message") or {}
        return Change("message", **common, message=(message.get("prefix", ""),
                                                    base64.b64decode(message.get("content") or "")))
    if action == "truncate":
        return Change("truncate", **common)
    before, after = payload.get("before"), payload.get("after")
    if action == "delete":
        if before is None:
            raise CdcEventError(f"expected 'before' (the deleted row's key at least) in a delete of {table}, "
                                "found null")
        return Change("delete", **common, row=key or before, before=before, columns=_row_columns(schema, "before"))
    if after is None:
        raise CdcEventError(f"expected 'after' (the new row) in an {action} of {table}, found null")
    unavailable = frozenset(c for c, v in after.items() if v == UNAVAILABLE)
    return Change(action, **common, row=after, before=before, columns=_row_columns(schema, "after"),
                  unavailable=unavailable)


def _unwrapped(payload: dict[str, Any], schema: dict[str, Any] | None, key: dict | None) -> Change:
    """A row from ``ExtractNewRecordState``: only ``__op`` (``add.fields=op``) says what happened."""
    op = payload.get("__op")
    if op is None:
        raise CdcEventError(
            "expected a Debezium change envelope (with 'op' and 'source') or an unwrapped row with '__op'; "
            f"found a row with columns {sorted(payload)} and no operation. The ExtractNewRecordState SMT drops "
            "'op': configure it with add.fields=op (and delete.handling.mode=rewrite to keep deletes).")
    if op not in ACTIONS:
        raise CdcEventError(f"expected '__op' to be one of {sorted(ACTIONS)}, found {op!r}")
    row = {c: v for c, v in payload.items() if not c.startswith("__")}
    columns = _row_columns(schema, "")
    if columns is not None:
        columns = {c: t for c, t in columns.items() if not c.startswith("__")}
    table = f"{payload['__schema']}.{payload['__table']}" if "__table" in payload and "__schema" in payload else None
    deleted = str(payload.get("__deleted", "false")).lower() == "true" or op == "d"
    return Change("delete" if deleted else ACTIONS[op], table=table, key=key, row=key or row if deleted else row,
                  before=row if deleted else None, lsn=payload.get("__lsn"), source_ts_ms=payload.get("__source_ts_ms"),
                  columns=columns, unavailable=frozenset(c for c, v in row.items() if v == UNAVAILABLE))


def process_cdc_event(value: dict[str, Any] | None, key: Any = None) -> Change:
    """What one Debezium record says happened (see the module docstring for every shape).

    ``value`` and ``key`` are the record's value and key, JSON-decoded (``None`` stays ``None``).
    """
    if value is None:
        if key is None:
            raise CdcEventError("expected a key with a null value (a delete's tombstone), found neither key nor value")
        return Change("tombstone", key=_key(key))
    if not isinstance(value, dict):
        raise CdcEventError(f"expected a JSON object as the record value, found {type(value).__name__}: {value!r:.80}")
    payload, schema = _payload(value)
    if not payload:
        return Change("tombstone", key=_key(key))
    if payload.get("status") in ("BEGIN", "END") and "id" in payload:  # provide.transaction.metadata
        return Change("transaction", key=_key(key), message=(payload["status"], str(payload["id"]).encode()))
    if payload.keys() >= ENVELOPE_KEYS:
        return _envelope(payload, schema, _key(key))
    return _unwrapped(payload, schema, _key(key))
