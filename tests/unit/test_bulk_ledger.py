"""The load ledger's decisions (pure): which staged files a load loads, skips or replaces."""

from __future__ import annotations

import pytest

from pipeline_patterns.ingestion.bulk.ledger import LedgerEntry, StagedFile, held, plan_load

A, B, C = (StagedFile(f"part-{i}.parquet", sha, 10 * (i + 1)) for i, sha in enumerate(("aa", "bb", "cc")))


def history(*loads: tuple[str, str, list[StagedFile]]) -> list[LedgerEntry]:
    """Ledger entries for loads given as (load_id, mode, files), numbered in order."""
    out: list[LedgerEntry] = []
    for load_id, mode, files in loads:
        out += [LedgerEntry(len(out) + 1, load_id, f.sha256, f.name, mode, f.rows) for f in files]
    return out


def names(files) -> list[str]:
    return [f.name for f in files]


def test_append_loads_new_files_and_skips_loaded_ones():
    plan = plan_load("append", [A, B], history(("l1", "append", [A])))
    assert (names(plan.load), names(plan.skip), plan.replace) == (["part-1.parquet"], ["part-0.parquet"], False)
    assert plan.why == "1 new file(s); 1 already loaded, 0 duplicate(s) in this call"


def test_appending_the_same_files_again_is_a_no_op():
    plan = plan_load("append", [A, B], history(("l1", "append", [A, B])))
    assert plan.load == () and names(plan.skip) == ["part-0.parquet", "part-1.parquet"]


def test_a_file_is_known_by_its_bytes_not_its_name():
    renamed = StagedFile("part-00000-3f2a.parquet", A.sha256, A.rows)  # the guide's fresh uuid path, same rows
    assert plan_load("append", [renamed], history(("l1", "append", [A]))).load == ()
    twin = plan_load("append", [A, renamed], [])
    assert names(twin.load) == ["part-0.parquet"] and names(twin.skip) == ["part-00000-3f2a.parquet"]


def test_overwrite_with_the_files_the_table_holds_is_a_no_op():
    plan = plan_load("overwrite", [B, A], history(("l1", "overwrite", [A, B])))
    assert plan.load == () and plan.replace is False and len(plan.skip) == 2
    assert plan.why == "the table already holds exactly these files: nothing to do"


def test_overwrite_a_then_b_then_a_loads_a_again():
    past = history(("l1", "overwrite", [A]), ("l2", "overwrite", [B]))
    plan = plan_load("overwrite", [A], past)
    assert names(plan.load) == ["part-0.parquet"] and plan.replace is True


def test_what_the_table_holds_starts_at_its_last_overwrite():
    past = history(("l1", "append", [A]), ("l2", "overwrite", [B]), ("l3", "append", [C]))
    assert [e.sha256 for e in held(past)] == ["bb", "cc"]
    assert names(plan_load("append", [A], past).load) == ["part-0.parquet"]  # A's rows were replaced
    assert plan_load("overwrite", [B, C], past).load == ()  # B then C is exactly what it holds
    assert plan_load("overwrite", [B], past).replace is True  # it also holds C: B alone is a change


def test_an_empty_table_is_overwritten_even_by_an_overwrite():
    plan = plan_load("overwrite", [A], [])
    assert names(plan.load) == ["part-0.parquet"] and plan.replace is True


def test_bad_requests_say_what_was_expected():
    with pytest.raises(ValueError, match=r"mode must be one of \('append', 'overwrite'\), got 'upsert'"):
        plan_load("upsert", [A], [])
    with pytest.raises(ValueError, match="no files to load"):
        plan_load("overwrite", [], [])
