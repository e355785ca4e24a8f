"""The warehouse load on the real PostgreSQL: ledger no-ops, atomic overwrite under a reader, validation."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk import pitfalls, rows, staging, warehouse
from pipeline_patterns.ingestion.bulk.checks import TableReader, table_answer
from pipeline_patterns.ingestion.bulk.ledger import read_history
from pipeline_patterns.ingestion.bulk.tables import FLIGHTS, drop_table

pytestmark = pytest.mark.integration

N = 600
A_ANSWER = (N, sum(range(N)))             # flights 0..599
B_ANSWER = (N, sum(range(N, 2 * N)))      # flights 600..1199


@pytest.fixture
def wh(unique, tmp_path):
    """A target and its ledger (dropped after the test) and two staged versions of 600 flights, 2 files each."""
    target, ledger = f"bulk_wh_{unique}", f"bulk_wh_{unique}_loads"
    warehouse.create_target(target, FLIGHTS, ledger)
    both = rows.flights(2 * N).arrow
    a = staging.write_parquet(both.slice(0, N), tmp_path / "a", [(0, 250), (250, N)])
    b = staging.write_parquet(both.slice(N, N), tmp_path / "b", [(0, 300), (300, N)])
    yield target, ledger, a, b, tmp_path
    with postgres.connect(autocommit=True) as conn:
        conn.execute(drop_table(target))
        conn.execute(drop_table(ledger))
        leftovers = conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE %s",
                                 (f"{target[:40]}_stage_%",)).fetchall()
        for (name,) in leftovers:
            conn.execute(drop_table(name))


def test_appending_the_same_files_again_is_a_no_op(wh):
    target, ledger, a, _, _ = wh
    first = warehouse.load_staged(a, target, FLIGHTS, ledger)
    again = warehouse.load_staged(a, target, FLIGHTS, ledger)
    assert (first.loaded, first.rows_loaded, first.rows_in_target) == (
        ("part-00000.parquet", "part-00001.parquet"), N, N)
    assert (again.loaded, again.skipped, again.rows_loaded, again.rows_in_target) == (
        (), ("part-00000.parquet", "part-00001.parquet"), 0, N)
    assert table_answer(target, "flight_id") == A_ANSWER
    with postgres.connect() as conn:
        assert [(e.name, e.mode, e.rows) for e in read_history(conn, ledger, target)] == [
            ("part-00000.parquet", "append", 250), ("part-00001.parquet", "append", 350)]


def test_the_guides_append_loads_the_same_files_twice(wh):
    target, _, a, _, _ = wh
    with postgres.connect(autocommit=True) as conn:  # the guide's table has no key to stop it
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(target), sql.Identifier(f"{target}_pkey")))
    pitfalls.guide_append(a, target, FLIGHTS)
    pitfalls.guide_append(a, target, FLIGHTS)
    assert table_answer(target, "flight_id") == (2 * N, 2 * A_ANSWER[1])


def test_overwrite_replaces_and_overwriting_with_the_same_files_is_a_no_op(wh):
    target, ledger, a, b, _ = wh
    reports = [warehouse.load_staged(files, target, FLIGHTS, ledger, "overwrite") for files in (a, b, b, a)]
    assert [r.rows_loaded for r in reports] == [N, N, 0, N]
    assert [r.rows_in_target for r in reports] == [N] * 4
    assert table_answer(target, "flight_id") == A_ANSWER


def test_overwrite_is_atomic_for_a_concurrent_reader(wh):
    target, ledger, a, b, _ = wh
    warehouse.load_staged(a, target, FLIGHTS, ledger)
    with TableReader(target, "flight_id") as reader:
        for files in (b, a, b):
            warehouse.load_staged(files, target, FLIGHTS, ledger, "overwrite", pause=reader.look)
    # At every point inside each load, the reader saw the version before it, whole.
    points = ["staged part-00000.parquet", "staged part-00001.parquet", "cleared", "published"]
    assert reader.looks == ([(p, A_ANSWER) for p in points] + [(p, B_ANSWER) for p in points]
                            + [(p, A_ANSWER) for p in points])
    assert reader.errors == [] and set(reader.seen()) == {A_ANSWER, B_ANSWER}
    assert table_answer(target, "flight_id") == B_ANSWER


def test_the_guides_overwrite_shows_a_reader_an_empty_then_a_half_table(wh):
    target, ledger, a, b, _ = wh
    warehouse.load_staged(a, target, FLIGHTS, ledger)
    with TableReader(target, "flight_id") as reader:
        pitfalls.guide_overwrite(b, target, FLIGHTS, pause=reader.look)
    assert reader.looks == [("truncated", (0, 0)), ("copied part-00000.parquet", (300, sum(range(N, N + 300)))),
                            ("copied part-00001.parquet", B_ANSWER)]


def test_two_loaders_of_the_same_files_at_once_load_them_once(wh):
    target, ledger, a, _, _ = wh
    reports: list = []
    threads = [threading.Thread(target=lambda: reports.append(warehouse.load_staged(a, target, FLIGHTS, ledger)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.rows_loaded for r in reports) == [0, N]
    assert table_answer(target, "flight_id") == A_ANSWER


def test_invalid_staged_rows_are_refused_and_nothing_changes(wh):
    target, ledger, a, _, tmp_path = wh
    warehouse.load_staged(a, target, FLIGHTS, ledger)
    broken = rows.flights(2 * N).arrow.slice(N, 10)
    broken = broken.set_column(FLIGHTS.names.index("carrier"), "carrier", pa.array([None] * 3 + ["UA"] * 7))
    files = staging.write_parquet(broken, tmp_path / "broken", [(0, 10)])
    dup = staging.write_parquet(rows.flights(5).arrow, tmp_path / "dup", [(0, 5)])
    with pytest.raises(warehouse.StagedLoadRejected, match=r"not published, nothing changed — 3 rows with no carrier"):
        warehouse.load_staged(files, target, FLIGHTS, ledger)
    with pytest.raises(warehouse.StagedLoadRejected, match=r"5 staged rows have a flight_id the target holds already"):
        warehouse.load_staged(dup, target, FLIGHTS, ledger)
    assert table_answer(target, "flight_id") == A_ANSWER
    with postgres.connect() as conn:
        assert len(read_history(conn, ledger, target)) == 2
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE %s",
                            (f"{target[:40]}_stage_%",)).fetchone() == (0,)


def test_a_half_written_stage_is_refused(wh, tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(staging.StagingIncomplete, match="did not finish"):
        staging.staged_files(tmp_path / "half")
