"""Every loader of lesson 14 on the real PostgreSQL: the same rows in, the same table out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from psycopg import sql

from pipeline_patterns import postgres
from pipeline_patterns.ingestion.bulk import loaders, measure, rows
from pipeline_patterns.ingestion.bulk.tables import drop_table

pytestmark = pytest.mark.integration


@pytest.fixture
def table(unique):
    """A factory of table names owned by one test, all dropped after it."""
    made: list[str] = []

    def name(part: str) -> str:
        made.append(f"bulk_{part}_{unique}")
        return made[-1]

    yield name
    with postgres.connect(autocommit=True) as conn:
        for t in made:
            conn.execute(drop_table(t))


def read_back(name: str, spec) -> list[tuple]:
    with postgres.connect() as conn:
        return conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
            sql.SQL(", ").join(map(sql.Identifier, spec.names)), sql.Identifier(name),
            sql.Identifier(spec.key))).fetchall()


@pytest.mark.parametrize("dataset", ["flights", "synthetic"])
def test_every_loader_lands_exactly_the_rows_it_was_given(table, dataset):
    # 1,250 flights hold cancelled flights (NULL times) and the synthetic rows every awkward note;
    # 1,250 rows also leave multi_values a last, shorter batch.
    sample = rows.flights(1_250) if dataset == "flights" else rows.synthetic(1_250, seed=5)
    assert any(None in t for t in sample.tuples)
    runs = {name: measure.measure(name, sample, table(name), keep=True) for name in loaders.LOADERS}
    for name in loaders.LOADERS:
        assert read_back(table(name), sample.spec) == sample.tuples, name
    assert len({run.digest for run in runs.values()}) == 1
    assert {run.rows for run in runs.values()} == {1_250}


def test_awkward_text_survives_every_copy_format(table):
    sample = rows.synthetic(400, seed=11)
    by_note = {t[4] for t in sample.tuples}
    assert {"", None, "\\N", "NULL", "new\nline", "tab\there", "back\\slash"} <= by_note
    for name in ("copy_text", "copy_binary", "copy_arrow_csv"):
        measure.measure(name, sample, table(name), keep=True)
        assert {r[4] for r in read_back(table(name), sample.spec)} == by_note, name


def test_a_loader_that_loses_a_row_gets_no_figure(table, monkeypatch):
    def lossy(conn, name, sample):
        loaders.copy_binary(conn, name, sample.head(len(sample) - 1))

    monkeypatch.setitem(loaders.LOADERS, "lossy", lossy)
    with pytest.raises(measure.LoadMismatch, match=r"expected 50 rows with key sum 1,225, found 49 rows"):
        measure.measure("lossy", rows.flights(50), table("lossy"))


def test_an_unknown_loader_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown loader 'bcp'; the loaders are \['row_by_row'"):
        loaders.loader("bcp")


def test_timestamps_keep_their_instant(table):
    sample = rows.flights(3)
    measure.measure("copy_text", sample, table("ts"), keep=True)
    assert [r[-1] for r in read_back(table("ts"), sample.spec)] == [datetime(2013, 1, 1, 10, tzinfo=UTC)] * 3
