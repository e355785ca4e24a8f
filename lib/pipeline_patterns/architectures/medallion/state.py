"""The processed-version state of the medallion stages: one small JSON file in the lake.

Each consumer (``silver_events``, ``gold_flights``, ...) records the last source table
version it has processed. Guarantee: :func:`write_state` is atomic (a temporary file, then
a rename), so a crash leaves the old state or the new one, never a torn file; and one
process's threads (the lesson runs its two datasets side by side) update it one at a time,
so no consumer's record is lost to another's read-modify-write.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

_WRITING = threading.Lock()


def read_state(path: Path, consumer: str) -> int:
    """The last source version ``consumer`` has processed, -1 before its first run."""
    return json.loads(path.read_text()).get(consumer, -1) if path.exists() else -1


def write_state(path: Path, consumer: str, version: int) -> None:
    """Record ``version`` for ``consumer``; atomic (write a temporary file, then rename)."""
    with _WRITING:
        state = json.loads(path.read_text()) if path.exists() else {}
        state[consumer] = version
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        os.replace(tmp, path)
