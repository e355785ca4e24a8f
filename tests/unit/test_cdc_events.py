"""process_cdc_event on every record shape Debezium 3.6 wrote for the shop workload.

The fixtures (tests/fixtures/debezium/events.json) are records the running connector produced,
recorded by tests/fixtures/debezium/record.py; the guide's function is run on them too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_patterns.ingestion.cdc_events import UNAVAILABLE, CdcEventError, process_cdc_event
from pipeline_patterns.ingestion.pitfalls import guide_process_cdc_event

FIXTURES = json.loads((Path(__file__).parents[1] / "fixtures" / "debezium" / "events.json").read_text())


def event(name: str):
    record = FIXTURES[name]
    return process_cdc_event(record["value"], record["key"])


def test_the_snapshot_insert_and_update_carry_the_row_its_position_and_column_types():
    snapshot, insert, update = event("snapshot"), event("insert"), event("update_full_identity")
    assert (snapshot.action, insert.action, update.action) == ("snapshot", "insert", "update")
    assert snapshot.table.endswith(".customers") and snapshot.row["id"] == 1 and snapshot.before is None
    assert snapshot.columns == {"id": "int32", "name": "string", "email": "string", "notes": "string",
                                "active": "boolean", "signed_up": "io.debezium.time.ZonedTimestamp",
                                "balance": "string"}
    assert insert.key == {"id": insert.row["id"]} and insert.lsn > snapshot.lsn > 0
    assert update.row["status"] in ("paid", "shipped") and update.lsn > insert.lsn


def test_replica_identity_full_sends_the_old_row_default_only_the_key_and_placeholders():
    full, default = event("delete_full_identity"), event("delete_default_identity")
    assert full.action == default.action == "delete"
    assert full.before["status"] and full.before["total"] not in (None, "0.00")  # the whole old row
    # DEFAULT: the key, nullable columns null, NOT NULL columns filled with Debezium's defaults
    assert default.before["id"] == 1 and default.before["email"] is None and default.before["notes"] is None
    assert (default.before["name"], default.before["balance"]) == ("", "0.00")
    assert default.row == {"id": 1}  # what the replica deletes: the key


def test_an_update_that_left_a_toasted_column_unchanged_names_it_unavailable():
    change = event("update_unchanged_toast")
    assert change.unavailable == frozenset({"notes"}) and change.row["notes"] == UNAVAILABLE
    assert event("update_full_identity").unavailable == frozenset()


def test_a_primary_key_update_is_a_delete_of_the_old_key_and_an_insert_of_the_new_one():
    gone, new = event("primary_key_update_delete"), event("primary_key_update_insert")
    assert (gone.action, new.action) == ("delete", "insert")
    assert gone.row == {"id": 2} and new.row["id"] == 108 and new.lsn == gone.lsn  # one WAL record


def test_tombstones_truncates_and_messages_are_changes_not_none():
    tombstone, plain = event("tombstone"), event("plain_tombstone")
    assert (tombstone.action, tombstone.key) == ("tombstone", {"id": 1})
    assert (plain.action, plain.key) == ("tombstone", {"id": 2})
    truncate = event("truncate")
    assert truncate.action == "truncate" and truncate.table.endswith(".order_lines") and truncate.lsn > 0
    message = event("message")
    assert message.action == "message" and message.message == ("shop", b"end of day")


def test_the_envelope_without_the_schema_wrapper_decodes_to_the_same_change_without_types():
    plain, wrapped = event("plain_update"), event("update_full_identity")
    assert plain.action == "update" and plain.columns is None and wrapped.columns is not None
    assert set(plain.row) == set(wrapped.row) and plain.table == wrapped.table


def test_unwrapped_rows_with_op_are_decoded_and_a_rewritten_delete_is_a_delete():
    insert, update, delete = (event(n) for n in ("unwrapped_insert_with_op", "unwrapped_update_with_op",
                                                    "unwrapped_delete_rewritten"))
    assert (insert.action, update.action, delete.action) == ("insert", "update", "delete")
    assert "__op" not in insert.row and insert.table.endswith(".customers") and insert.lsn > 0
    assert delete.row == {"id": 2} and delete.before["id"] == 2
    assert event("unwrapped_delete_tombstone").action == "tombstone"


def test_an_unwrapped_row_without_op_is_a_clear_error_not_a_silent_none():
    record = FIXTURES["unwrapped_row_without_op"]
    with pytest.raises(CdcEventError, match=r"add\.fields=op"):
        process_cdc_event(record["value"], record["key"])


@pytest.mark.parametrize("value", [["not", "an", "object"], {"op": "x", "source": {}}, {"payload": 1, "schema": {}}])
def test_unknown_shapes_say_what_was_expected_and_found(value):
    with pytest.raises(CdcEventError, match="expected"):
        process_cdc_event(value, {"id": 1})
    with pytest.raises(CdcEventError, match="expected a key"):
        process_cdc_event(None, None)


def test_the_guides_function_loses_every_shape_but_the_four_it_knows():
    """Pitfall: the guide's process_cdc_event returns None (or crashes) on the other shapes."""
    lost = {}
    for name, record in FIXTURES.items():
        try:
            lost[name] = guide_process_cdc_event(record["value"]) is None
        except AttributeError:  # None.get on a tombstone
            lost[name] = True
    assert {n for n, is_lost in lost.items() if is_lost} == {
        "snapshot", "insert", "update_full_identity", "update_unchanged_toast", "delete_default_identity",
        "delete_full_identity", "primary_key_update_delete", "primary_key_update_insert",  # schema wrapper: no op
        "tombstone", "plain_tombstone", "truncate", "message", "unwrapped_insert_with_op",
        "unwrapped_update_with_op", "unwrapped_delete_rewritten", "unwrapped_row_without_op",
        "unwrapped_delete_tombstone"}
    assert lost["plain_update"] is False  # the one shape it handles: no wrapper, no SMT
