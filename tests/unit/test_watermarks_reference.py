"""The plain-Python reference of Spark's watermark semantics, on hand-checked cases.

The five-step example below was run on Spark 4.1 (Kafka source, availableNow steps,
Delta sink): it emitted these 22 windows and reported 7 and 4 rows dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline_patterns.streaming.watermarks import Event, Window, late_event_steps, simulate, sliding_windows

BASE = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def ev(n: int, minutes: float) -> Event:
    return Event(f"e{n}", "click", at(minutes))


def test_sliding_windows_contain_the_time_and_align_to_the_slide():
    assert sliding_windows(at(3), 5 * MIN, MIN) == [Window(at(m), at(m + 5)) for m in (-1, 0, 1, 2, 3)]
    assert sliding_windows(at(3.5), 10 * MIN, 5 * MIN) == [Window(at(-5), at(5)), Window(at(0), at(10))]
    assert sliding_windows(at(5), 5 * MIN, 5 * MIN) == [Window(at(5), at(10))]  # end is exclusive


STEPS = [[ev(1, 0), ev(2, 2), ev(3, 5)], [ev(4, 20)], [ev(5, 3), ev(6, 7), ev(7, 12)], [ev(8, 40)],
         [ev(9, 26), ev(10, 31)]]


def test_the_spark_checked_example_exactly():
    sim = simulate(STEPS, delay=10 * MIN, size=5 * MIN, slide=MIN)
    assert sim.watermark_before_step == [None, at(-5), at(10), at(10), at(30)]
    assert sim.dropped_rows_per_step == [0, 0, 7, 0, 4]
    assert len(sim.emitted) == 22
    assert sim.emitted[(Window(at(-2), at(3)), "click")] == 2  # e1 and e2
    fates = {f.event_id: (f.verdict, f.counted_in) for f in sim.fates}
    # e5 (10:03) arrives under watermark 10:10: every window ends by 10:08 -> dropped.
    assert fates["e5"] == ("dropped", 0)
    # e6 (10:07) is older than the watermark too, yet still counts in 10:06-10:11 and 10:07-10:12.
    assert fates["e6"] == ("partly counted", 2)
    assert fates["e7"] == ("counted", 5)
    assert fates["e9"] == ("partly counted", 1)
    # Windows still open at the end are not emitted in append mode.
    assert sorted(w.start for w, _ in sim.open_state) == [at(m) for m in (26, 27, 28, 29, 30, 31, 36, 37, 38, 39, 40)]


def test_a_window_is_emitted_once_the_watermark_passes_its_end():
    sim = simulate([[ev(1, 0)], [ev(2, 14)], [ev(3, 16)]], delay=10 * MIN, size=5 * MIN, slide=5 * MIN)
    # after step 1 the watermark is 10:04 (< 10:05): window 10:00-10:05 waits; after step 2 it is 10:06.
    assert sim.emitted_at_step == {(Window(at(0), at(5)), "click"): 2}
    assert sim.state_rows_after_step == [1, 2, 2]


def test_generator_lateness_is_seeded_and_labelled():
    steps = late_event_steps(seed=42)
    assert steps == late_event_steps(seed=42) and steps != late_event_steps(seed=43)
    labels = {e.lateness for step in steps for e in step}
    assert labels == {"on time", "within delay", "behind watermark"}
    assert all(e.lateness == "on time" for e in steps[0])
    sim = simulate(steps, 10 * MIN, 5 * MIN, MIN)
    late = {e.event_id for step in steps for e in step if e.lateness != "behind watermark"}
    assert all(f.verdict == "counted" for f in sim.fates if f.event_id in late)  # within the delay: kept


@pytest.mark.parametrize("seed", [7, 13, 42, 99])
def test_every_seed_has_an_event_partly_counted_and_one_dropped_behind_the_watermark(seed):
    steps = late_event_steps(seed=seed)
    sim = simulate(steps, 10 * MIN, 5 * MIN, MIN)
    fate = {f.event_id: f for f in sim.fates}
    partly, dropped = (fate[e.event_id] for e in steps[1][:2])
    assert partly.event_time < partly.watermark and 0 < partly.counted_in < partly.windows
    assert dropped.event_time < dropped.watermark and dropped.counted_in == 0


def test_batch_files_hold_each_emitted_row_once_even_when_a_batch_is_replayed(tmp_path):
    from pipeline_patterns.streaming.bounded import emitted_rows

    out = tmp_path / "out"
    out.mkdir()
    (out / "batch-000000.jsonl").write_text('{"k": "a", "n": 1}\n')
    (out / "batch-000002.jsonl").write_text('{"k": "c", "n": 3}\n{"k": "d", "n": 4}\n')
    (out / "batch-000001.jsonl").write_text('{"k": "b", "n": 2}\n')
    (out / "batch-000001.partial").write_text('{"k": "half-written"')  # a crash mid-write: never read
    (out / "batch-000001.jsonl").write_text('{"k": "b", "n": 2}\n')  # the replayed batch replaces its own file
    assert emitted_rows(str(out)) == [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"k": "c", "n": 3}, {"k": "d", "n": 4}]
    assert emitted_rows(str(tmp_path / "nothing yet")) == []
