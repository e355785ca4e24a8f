"""Lesson 14's pure pieces: rate maths, the SQL the loaders run, the rows each loader gets, staged files."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

import pytest

from pipeline_patterns.ingestion.bulk import rows, staging
from pipeline_patterns.ingestion.bulk.rates import LoadRun, copy_speedup, extrapolated_seconds, rate_rows
from pipeline_patterns.ingestion.bulk.tables import (
    FLIGHTS,
    Column,
    TableSpec,
    checked_name,
    copy_from_stdin,
    create_table,
    insert_values,
)

RUNS = [LoadRun("flights", "row_by_row", 2_000, 0.5), LoadRun("flights", "copy_binary", 20_000, 0.025),
        LoadRun("synthetic", "copy_binary", 10_000, 0.02)]
TINY = TableSpec("tiny", (Column("id", "bigint", False), Column("name", "text")), key="id")


def test_rows_per_second_and_the_ratio_to_copy():
    assert RUNS[0].rows_per_s == 4_000 and RUNS[1].rows_per_s == 800_000
    assert copy_speedup(RUNS, RUNS[0], "copy_binary") == 200
    assert extrapolated_seconds(RUNS[0], 336_776) == pytest.approx(84.194)


def test_the_rate_table_labels_extrapolations():
    table = rate_rows(RUNS, "copy_binary")
    assert table[0] == {"dataset": "flights", "loader": "row_by_row", "rows": 2_000, "seconds": 0.5,
                        "rows_per_s": 4_000, "copy_binary_x": 200.0, "table_s": 5.0, "extrapolated": True}
    assert table[1]["extrapolated"] is False and table[1]["copy_binary_x"] == 1.0
    assert table[2]["table_s"] == 0.0 and table[2]["extrapolated"] is False
    whole = rate_rows(RUNS, "copy_binary", {"flights": 336_776})
    assert [r["table_s"] for r in whole] == [84.2, 0.4, 0.0]
    assert [r["extrapolated"] for r in whole] == [True, False, False]


def test_a_ratio_needs_exactly_one_reference_run():
    with pytest.raises(ValueError, match="expected one 'copy_text' run on 'flights'"):
        copy_speedup(RUNS, RUNS[0], "copy_text")
    with pytest.raises(ValueError, match="a load takes a positive time"):
        _ = LoadRun("x", "y", 1, 0.0).rows_per_s


def test_identifiers_are_quoted_and_values_never_inlined():
    assert create_table("Flights 2013", TINY, unlogged=True, primary_key=True).as_string() == (
        'CREATE UNLOGGED TABLE "Flights 2013" ("id" bigint NOT NULL, "name" text, PRIMARY KEY ("id"))')
    assert create_table('x"; DROP TABLE y; --', TINY, not_null=False, types=["text", "text"],
                        if_not_exists=True).as_string() == (
        'CREATE TABLE IF NOT EXISTS "x""; DROP TABLE y; --" ("id" text, "name" text)')
    assert copy_from_stdin("t", ["id", "name"], "binary").as_string() == (
        'COPY "t" ("id", "name") FROM STDIN (FORMAT binary)')
    assert copy_from_stdin("t", ["id"], "csv_header").as_string().endswith("(FORMAT csv, HEADER match)")
    with pytest.raises(ValueError, match="COPY format must be one of"):
        copy_from_stdin("t", ["id"], "parquet")


def test_multi_row_values_number_every_parameter_once():
    assert insert_values("t", TINY, 2).as_string() == 'INSERT INTO "t" ("id", "name") VALUES ($1, $2), ($3, $4)'
    with pytest.raises(ValueError, match=r"use at most 32767 rows per statement"):
        insert_values("t", TINY, 40_000)


def test_a_name_postgresql_would_cut_is_refused():
    assert checked_name("a" * 63) == "a" * 63
    with pytest.raises(ValueError, match=r"1\.\.63 bytes"):
        checked_name("é" * 32)


def test_every_container_holds_the_same_values():
    sample = rows.flights(900)
    first = sample.tuples[0]
    assert first == (0, 2013, 1, 1, 517, 515, 2, 830, 819, 11, "UA", 1545, "N14228", "EWR", "IAH", 227, 1400, 5, 15,
                     datetime(2013, 1, 1, 10, tzinfo=UTC))
    cancelled = [t for t in sample.tuples if t[4] is None]  # a NaN dep_time in pandas is None, not nan
    assert cancelled and all(t[6] is None for t in cancelled)
    assert all(type(v) is int for t in sample.tuples for v in (t[0], t[5]))
    assert sample.arrow.num_rows == 900 and sample.arrow.schema.field("dep_time").type.bit_width == 32


def test_the_synthetic_table_is_seeded_and_awkward():
    one, again, other = rows.synthetic(2_000, seed=3), rows.synthetic(2_000, seed=3), rows.synthetic(2_000, seed=4)
    assert one.tuples == again.tuples and one.tuples != other.tuples
    notes = {t[4] for t in one.tuples}
    assert notes == set(rows.NOTES)  # '' and None both present, and every awkward string
    assert any(t[5] is None for t in one.tuples) and not any(isinstance(t[5], float) and math.isnan(t[5])
                                                              for t in one.tuples)
    with pytest.raises(ValueError, match="at least one row"):
        rows.synthetic(0)
    with pytest.raises(ValueError, match=r"has 5 rows, rows 0..6 were asked for"):
        rows.synthetic(5).head(6)
    assert [t[0] for t in rows.synthetic(5).slice(2, 4).tuples] == [2, 3]


def test_staged_files_need_sparks_success_marker(tmp_path):
    files = staging.write_parquet(rows.flights(100).arrow, tmp_path / "stage", [(0, 60), (60, 100)])
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet"]
    print_ = staging.fingerprint(files[0])
    assert print_.rows == 60 and print_.sha256 == hashlib.sha256(files[0].read_bytes()).hexdigest()
    (tmp_path / "stage" / "_SUCCESS").unlink()
    with pytest.raises(staging.StagingIncomplete, match="no _SUCCESS marker"):
        staging.staged_files(tmp_path / "stage")


def test_a_staged_file_is_read_with_the_targets_types_or_a_clear_error(tmp_path):
    files = staging.write_parquet(rows.flights(10).arrow.drop_columns(["carrier"]), tmp_path / "s", [(0, 10)])
    with pytest.raises(ValueError, match=r"lacks the columns \['carrier'\]"):
        staging.read_typed(files[0], FLIGHTS)
    good = staging.write_parquet(rows.flights(10).arrow, tmp_path / "g", [(0, 10)])
    typed = staging.read_typed(good[0], FLIGHTS)
    assert typed.column_names == FLIGHTS.names and typed.schema.field("carrier").nullable
