"""Versions of Kappa's processor, where each writes, and the answer each must give.

A version differs from another only by its logic (here: how revenue becomes cents). Its
output table is named deterministically from (view, version, timestamp), so a rerun
rebuilds the same table. :func:`batch_compute` is a version's answer computed in plain
Python without Kafka, to check a replayed table against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline_patterns.architectures.aggregation import Answer, aggregate


@dataclass(frozen=True)
class Version:
    """One version of the processing logic."""

    name: str
    to_cents: Callable[[float], int]
    description: str


V1 = Version("v1", lambda revenue: int(revenue * 100), "revenue cents by int(): truncates (19.99 -> 1998)")
V2 = Version("v2", lambda revenue: round(revenue * 100), "revenue cents by round(): the fix")


def output_table(view: str, version: Version, from_ms: int) -> str:
    """Deterministic: the same version replayed from the same timestamp gets the same table
    (named after the view it is built for, so deployments never share tables).

    (The guide names it from ``datetime.now()``: two runs on one day collide, and a rerun
    on another day silently creates a second table.)
    """
    return f"{view}_{version.name}_from_{from_ms}"


def batch_compute(events: list[dict], version: Version, from_ms: int) -> Answer:
    """The version's logic over all events at or after ``from_ms``, in plain Python (no Kafka)."""
    return aggregate(events, version.to_cents, keep=lambda ts: ts.timestamp() * 1000 >= from_ms)
