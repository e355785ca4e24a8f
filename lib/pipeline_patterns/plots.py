"""Every figure a lesson draws, in one place: pattern modules never import matplotlib.

Each function takes the figures a lesson already computed and returns the matplotlib
``Figure`` (the notebook shows it). matplotlib is imported inside the functions: it is
in the ``notebooks`` extra, not needed by the library's patterns or its unit tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def medallion_accounting(accounts: Mapping[str, Any], gold_rows: Mapping[str, int],
                         rejects: Mapping[str, Mapping[str, int]]) -> Any:
    """Rows per layer (bronze = silver + quarantine + duplicates removed, and gold) per dataset,
    beside the quarantined rows per reason. ``accounts`` maps a dataset to its
    :class:`~pipeline_patterns.architectures.medallion.checks.MedallionAccounting`."""
    import matplotlib.pyplot as plt
    import pandas as pd

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.3]})
    names = list(accounts)
    x = range(len(names))
    left.bar([i - 0.27 for i in x], [accounts[n].bronze for n in names], 0.26, label="bronze", color="#8C6D31")
    bottom = [0] * len(names)
    for part, colour in (("silver", "#7F7F7F"), ("quarantine", "#C44E52"), ("duplicates_removed", "#DD8452")):
        values = [getattr(accounts[n], part) for n in names]
        left.bar(x, values, 0.26, bottom=bottom, label=part.replace("_", " "), color=colour)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    left.bar([i + 0.27 for i in x], [gold_rows[n] for n in names], 0.26, label="gold", color="#E1B000")
    left.set(xticks=list(x), xticklabels=names, ylabel="rows",
             ylim=(0, 1.35 * max(accounts[n].bronze for n in names)),
             title="Rows per layer: bronze = silver + quarantine + duplicates")
    left.legend(fontsize=8, ncols=3, loc="upper center")
    reasons = pd.DataFrame([{"reason": f"{n}: {reason}", "rows": count, "dataset": n}
                            for n in names for reason, count in rejects[n].items()]).sort_values(["dataset", "rows"])
    palette = dict(zip(names, ("#4C72B0", "#55A868", "#8172B2", "#937860"), strict=False))
    right.barh(reasons["reason"], reasons["rows"], color=reasons["dataset"].map(palette))
    right.set(xlabel="rows in quarantine", title="Rejected rows per reason (first broken rule)")
    fig.tight_layout()
    return fig


BREAKER_COLORS = {"ok": "#55A868", "business": "#8172B2", "system": "#C44E52", "rejected": "#999999",
                  "closed": "#FFFFFF", "open": "#F6D5D5", "half_open": "#FBE3B5"}
"""Call results (lanes, in this order) and circuit states (background), by name."""


def breaker_timeline(outcomes: Sequence[Any], events: Sequence[Any], t0: float,
                     marks: Mapping[str, float] | None = None) -> Any:
    """Lesson 12's timeline. Top: calls offered vs calls that reached the service, cumulative.
    Bottom: each call on its worker's lane, start to end, coloured by outcome. Background: the
    breaker's state.

    ``outcomes`` are :class:`~pipeline_patterns.errors.fakes.load.CallOutcome` (``start``,
    ``end``, ``worker``, ``result``); ``events`` the breaker's transitions (``at``,
    ``to_state``: a state whose value is ``"closed"``, ``"open"`` or ``"half_open"``); times
    are clock readings, shown as seconds since ``t0``; ``marks`` label moments with a dashed line.
    """
    import matplotlib.pyplot as plt

    results = ("ok", "business", "system", "rejected")
    fig, (top, lanes) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, height_ratios=[3, 2])
    t_end = max([o.end for o in outcomes] + [e.at for e in events]) - t0
    starts = [o.start - t0 for o in outcomes]
    top.step(starts, range(1, len(starts) + 1), where="post", color="black", label="calls offered")
    reached = [o.start - t0 for o in outcomes if o.result != "rejected"]
    top.step(reached, range(1, len(reached) + 1), where="post", color="#4C72B0", label="reached the service")
    top.set(ylabel="calls (cumulative)")
    workers = sorted({o.worker for o in outcomes})
    for result in results:
        for w in workers:  # one bar per call, at least 15 ms wide so that a fast call shows
            bars = [(o.start - t0, max(o.end - o.start, 0.015))
                    for o in outcomes if (o.worker, o.result) == (w, result)]
            lanes.broken_barh(bars, (w - 0.35, 0.7), color=BREAKER_COLORS[result],
                              label=result if w == workers[0] else None)
    lanes.set(xlabel="seconds", ylabel="worker (one bar per call)", xlim=(0, t_end), yticks=workers)
    lanes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    state, since = "closed", 0.0
    for at, to_state in [*((e.at, str(e.to_state.value)) for e in events), (t_end + t0, "closed")]:
        for ax in (top, lanes):
            ax.axvspan(since, at - t0, color=BREAKER_COLORS[state], zorder=0, linewidth=0)
        if state != "closed":
            top.text(since + 0.005 * t_end, 0.98, state.upper().replace("_", "-"), rotation=90,
                     transform=top.get_xaxis_transform(), ha="left", va="top", fontsize=7)
        state, since = to_state, at - t0
    for label, at in (marks or {}).items():
        for ax in (top, lanes):
            ax.axvline(at - t0, color="black", linestyle="--", linewidth=1)
        top.text(at - t0, 1.01, label, transform=top.get_xaxis_transform(), ha="center", fontsize=8)
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    return fig
