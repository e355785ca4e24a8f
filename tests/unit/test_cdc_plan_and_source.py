"""The replica's per-batch plan (position rule, deletes, truncates, TOAST), the shop workload and
the corrected connector config — pure logic, no services."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline_patterns.config import Settings
from pipeline_patterns.ingestion import cdc_source as src
from pipeline_patterns.ingestion.cdc_events import UNAVAILABLE, Change
from pipeline_patterns.ingestion.cdc_plan import naive_rows, plan_table
from pipeline_patterns.ingestion.debezium import Capture, connector_config
from pipeline_patterns.ingestion.pitfalls import GUIDE_CONNECTOR_CONFIG

T = "shop.customers"
COLS = {"id": "int32", "name": "string", "notes": "string"}


def change(action, lsn, cid, name="a", notes="n", unavailable=()):
    row = {"id": cid} if action == "delete" else {"id": cid, "name": name, "notes": notes}
    return Change(action, T, {"id": cid}, row, lsn=lsn, columns=COLS, unavailable=frozenset(unavailable),
                  source_ts_ms=lsn)


def test_the_plan_keeps_the_latest_change_per_key_by_position_not_by_arrival():
    late_old = change("update", 10, 1, name="old")
    new = change("update", 20, 1, name="new")
    plan = plan_table(T, ("id",), [(new, 5), (late_old, 6)])  # the older change arrived last (a replay)
    assert [(r["id"], r["name"], r["_lsn"]) for r in plan.rows] == [(1, "new", 20)]
    naive = naive_rows(T, ("id",), [(new, 5), (late_old, 6)])
    assert [r["name"] for r in naive.rows] == ["old"]  # the counterfactual: arrival order wins


def test_a_delete_is_kept_as_a_marked_row_with_its_position():
    plan = plan_table(T, ("id",), [(change("insert", 10, 1), 0), (change("delete", 11, 1), 1)])
    assert plan.rows == [{"id": 1, "_lsn": 11, "_deleted": True, "_unavailable": [], "_source_ts_ms": 11}]


def test_a_truncate_overrides_older_changes_of_the_batch_and_keeps_newer_ones():
    changes = [(change("insert", 10, 1), 0), (Change("truncate", T, lsn=15), 1), (change("insert", 20, 2), 2)]
    plan = plan_table(T, ("id",), changes)
    assert plan.truncate_at == 15 and plan.changes == 3
    assert [(r["id"], r["_lsn"], r["_deleted"]) for r in plan.rows] == [(1, 15, True), (2, 20, False)]


def test_an_unchanged_toast_value_is_taken_from_an_earlier_change_of_the_same_batch():
    insert = change("insert", 10, 1, notes="long text")
    update = change("update", 11, 1, name="b", notes=UNAVAILABLE, unavailable=("notes",))
    (row,) = plan_table(T, ("id",), [(insert, 0), (update, 1)]).rows
    assert (row["name"], row["notes"], row["_unavailable"]) == ("b", "long text", [])
    (alone,) = plan_table(T, ("id",), [(update, 1)]).rows  # the replica's value must be kept by the MERGE
    assert alone["_unavailable"] == ["notes"]


def test_columns_are_collected_in_order_and_other_tables_and_messages_are_ignored():
    other = Change("insert", "shop.orders", {"id": 9}, {"id": 9}, lsn=1, columns={"id": "int32"})
    message = Change("message", None, lsn=2, message=("shop", b"x"))
    wider = Change("insert", T, {"id": 3}, {"id": 3, "name": "c", "notes": "n", "tier": "gold"}, lsn=3,
                   columns={**COLS, "tier": "string"})
    plan = plan_table(T, ("id",), [(other, 0), (message, 0), (change("insert", 1, 1), 0), (wider, 1)])
    assert list(plan.columns) == ["id", "name", "notes", "tier"] and plan.changes == 2
    with pytest.raises(ValueError, match="key columns"):
        plan_table(T, ("id", "line_no"), [(change("insert", 1, 1), 0)])


def test_the_workload_holds_every_kind_of_change_and_is_seeded():
    spec = src.ShopSpec(seed=42)
    txs = src.changes(spec)
    kinds = Counter(op.kind for tx in txs for op in tx)
    assert set(kinds) == {"insert", "update", "delete", "truncate", "add_column", "message"}
    assert any(len({op.table for op in tx}) > 1 for tx in txs)  # transactions across tables
    assert any(op.kind == "update" and "id" in op.values for tx in txs for op in tx)  # a primary key update
    toasted = [op for tx in src.initial_rows(spec) + txs for op in tx
               if op.kind == "insert" and op.table == "customers" and len(op.values["notes"]) == src.TOAST_CHARS]
    assert len(toasted) == spec.n_customers // 4
    assert src.changes(spec) == txs and src.changes(src.ShopSpec(seed=7)) != txs
    with pytest.raises(ValueError, match="n_customers >= 8"):
        src.ShopSpec(n_customers=3)


def test_the_connector_config_fixes_the_guides_and_holds_no_password():
    settings = Settings(_env_file=None, CDC_PASSWORD="s3cret", PGPASSWORD="other")
    config = connector_config(Capture.new(src.TABLES, "abc"), settings)
    assert "database.server.name" in GUIDE_CONNECTOR_CONFIG and "database.server.name" not in config
    assert config["topic.prefix"] == "cdcabc" and config["database.password"] == "${env:CDC_PASSWORD}"
    assert config["database.user"] == "pipelines_cdc" and config["skipped.operations"] == "none"
    assert config["table.include.list"] == "shop_abc.customers,shop_abc.orders,shop_abc.order_lines"
    assert not any("s3cret" in v or "other" in v for v in config.values())


def test_a_key_changed_before_a_truncate_stays_deleted_at_the_truncates_position():
    changes = [(change("insert", 10, 1), 0), (Change("truncate", T, lsn=15), 1)]
    (row,) = plan_table(T, ("id",), changes).rows
    assert (row["id"], row["_lsn"], row["_deleted"]) == (1, 15, True)  # a replayed insert at 10 cannot win
