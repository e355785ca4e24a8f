"""Every lesson whose data depend on the seed, run with seeds 7 and 13 (``make test-seeds``).

The batch lessons' copies of the flights and their skewed key (02, 03), late and out-of-order
arrivals (04, 05, 06), replays (07), duplicates and stale copies (08), transactions (09), the
sink's kills (10), poison records (11), the breaker's failures (12), the shop's CDC workload (13)
and the bulk loads' rows and bad lines (14) are drawn from the seed; each lesson's "What we
proved" cell must hold for any seed. This is not part of `make test` (it executes ten slow
lessons twice more); run it after changing a generator or a lesson's assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pipeline_patterns import runner

pytestmark = pytest.mark.integration

# 04 and 05 also run at other sizes (their generators force late and out-of-order clicks for any size)
# 02 and 03 at twice the flights: the batch lessons' claims hold for another seed and a larger scale
RUNS = {"02-03 at scale 2": (["02", "03"], ["-p", "scale", "2"]),
        "04-05 at other sizes": (["04", "05"], ["-p", "per_step", "10", "-p", "flight_steps", "6", "-p", "users", "6"]),
        "06-14": (["06", "07", "08", "09", "10", "11", "12", "13", "14"], [])}


@pytest.mark.parametrize("seed", ["7", "13"])
@pytest.mark.parametrize("run", sorted(RUNS))
def test_seed_dependent_lessons_hold_for_another_seed(run, seed):
    lessons, sizes = RUNS[run]
    out = subprocess.run([sys.executable, "-m", "pipeline_patterns", "run", *lessons, "-p", "seed", seed, *sizes],
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, check=False,
                         timeout=3600)
    summary = json.loads((runner.RUNS_DIR / "latest" / "summary.json").read_text())
    failed = [(s["notebook"], s["error"]) for s in summary if s["status"] != "ok"]
    assert out.returncode == 0 and failed == [], f"seed {seed}: {failed}\n{out.stdout[-3000:]}"
    assert [s["notebook"][:2] for s in summary] == lessons
