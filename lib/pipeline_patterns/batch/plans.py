"""Read a query's physical plan: which operators Spark chose, before and after adaptive execution.

A lesson's claim about a join strategy, a shuffle or a cache is checked against the plan Spark
ran, not against the code that asked for it. With adaptive query execution (AQE) a plan has two
versions: the *initial* plan made before running, and the *final* plan after AQE re-planned with
the sizes it measured (``isFinalPlan=true`` once the query has run).

Guarantee: :func:`operators` lists the operator names of a plan's tree text in order, without
the whole-stage-codegen ``*(n)`` prefixes and query-stage wrappers' arguments, so that a test can
assert ``"BroadcastHashJoin" in operators(...)`` or count ``Exchange`` nodes.
"""

from __future__ import annotations

import re
from typing import Any

_NODE = re.compile(r"^[\s:|+\-]*(?:\*\(\d+\)\s*)?([A-Z][A-Za-z]+)")
_SKIP = {"Final", "Initial"}  # AQE's "== Final Plan ==" separators


def operators(plan_text: str) -> list[str]:
    """Operator names of a physical plan's tree string, top to bottom."""
    names = []
    for line in plan_text.splitlines():
        if "==" in line and "Plan ==" in line:
            continue
        match = _NODE.match(line)
        if match and match.group(1) not in _SKIP:
            names.append(match.group(1))
    return names


def _adaptive(df: Any) -> Any:
    return df._jdf.queryExecution().executedPlan()


def final_plan(df: Any) -> str:
    """The plan that ran (AQE's final plan once ``df`` has run; the initial one before that)."""
    plan = _adaptive(df)
    inner = plan.executedPlan() if plan.nodeName() == "AdaptiveSparkPlan" else plan
    return str(inner.treeString())


def initial_plan(df: Any) -> str:
    """The plan made before running, from the statistics Spark had then."""
    plan = _adaptive(df)
    inner = plan.initialPlan() if plan.nodeName() == "AdaptiveSparkPlan" else plan
    return str(inner.treeString())


def exchanges(plan_text: str) -> int:
    """Shuffles in a plan: ``Exchange`` nodes (``ShuffleExchange``), not ``BroadcastExchange``."""
    return sum(1 for name in operators(plan_text) if name in {"Exchange", "ShuffleExchange"})


def uses_cache(df: Any) -> bool:
    """True when Spark answers ``df`` from a cache (an ``InMemoryRelation`` in its optimized plan)."""
    return "InMemoryRelation" in str(df._jdf.queryExecution().optimizedPlan().toString())


def estimated_size_bytes(df: Any) -> int:
    """The size Spark's optimizer estimates for ``df`` (what ``autoBroadcastJoinThreshold`` is compared to)."""
    return int(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
