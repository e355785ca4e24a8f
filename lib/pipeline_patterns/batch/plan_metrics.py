"""Spark's SQL metrics, node by node, of a query that has run: what the UI's SQL tab shows.

Stage metrics (``spark_metrics``) say how much a job shuffled; the SQL metrics say which operator
did it: the bytes each ``Exchange`` wrote, the size of what a ``BroadcastExchange`` built in the
driver, the files a scan read after Delta's data skipping, the skewed partitions AQE split.

Guarantee: :func:`node_metrics` walks the *executed* plan, through AQE's final plan and into its
query stages, and returns every node's metrics as Spark accumulated them; read it after an action
on that same DataFrame (before one, every value is 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHUFFLE_EXCHANGES = {"Exchange", "ShuffleExchange"}


@dataclass(frozen=True)
class NodeMetrics:
    """One operator of the executed plan, its SQL metrics by key, and the operators under it."""

    name: str
    metrics: dict[str, int]
    children: tuple[NodeMetrics, ...] = field(repr=False)

    def walk(self) -> list[NodeMetrics]:
        """This node and every node under it, top to bottom."""
        return [self, *(n for child in self.children for n in child.walk())]


def _seq(scala_seq: Any) -> list[Any]:
    return [scala_seq.apply(i) for i in range(scala_seq.size())]


def _node(plan: Any) -> NodeMetrics:
    name = str(plan.nodeName())
    if name == "AdaptiveSparkPlan":
        inner = [plan.executedPlan()]  # AQE's final plan once the query ran
    elif name.endswith("QueryStage"):
        inner = [plan.plan()]  # a stage wraps the plan it ran
    else:
        inner = _seq(plan.children())
    values, entries = {}, plan.metrics().iterator()
    while entries.hasNext():
        entry = entries.next()
        values[str(entry._1())] = int(entry._2().value())
    return NodeMetrics(name.strip(), values, tuple(_node(child) for child in inner))


def node_metrics(df: Any) -> NodeMetrics:
    """The executed plan of ``df`` as a tree of :class:`NodeMetrics`."""
    return _node(df._jdf.queryExecution().executedPlan())


def find(df_or_tree: Any, name_contains: str) -> list[NodeMetrics]:
    """Nodes whose name contains ``name_contains`` (``"Scan"``, ``"BroadcastExchange"``, ``"Join"``)."""
    tree = df_or_tree if isinstance(df_or_tree, NodeMetrics) else node_metrics(df_or_tree)
    return [n for n in tree.walk() if name_contains in n.name]


def join_input_shuffle_bytes(df_or_tree: Any, key: str = "shuffleBytesWritten") -> int:
    """Bytes written by the shuffles that feed a join: the ``Exchange`` nodes under any ``*Join`` node.

    Leaves out the shuffle above the join (a checksum's final aggregate), and broadcasts. ``key``
    ``"dataSize"`` gives the rows' size in memory (what AQE's re-planning compares) instead.
    """
    return sum(n.metrics.get(key, 0) for n in join_input_exchanges(df_or_tree))


def join_input_exchanges(df_or_tree: Any) -> list[NodeMetrics]:
    """The shuffle ``Exchange`` nodes under any ``*Join`` node, each once."""
    under = {id(n): n for join in find(df_or_tree, "Join") for child in join.children for n in child.walk()
             if n.name in SHUFFLE_EXCHANGES}
    return list(under.values())


def files_read(df_or_tree: Any) -> int:
    """Files the query's scans read (``number of files read``), after partition pruning and data skipping."""
    return sum(n.metrics.get("numFiles", 0) for n in find(df_or_tree, "Scan"))


def broadcast_bytes(df_or_tree: Any) -> list[int]:
    """What each ``BroadcastExchange`` built in the driver and shipped (``data size``), in bytes."""
    return [n.metrics.get("dataSize", 0) for n in find(df_or_tree, "BroadcastExchange")]
