"""Every figure a lesson draws, in one place: pattern modules never import matplotlib.

Each function takes the figures a lesson already computed and returns the matplotlib
``Figure`` (the notebook shows it). matplotlib is imported inside the functions: it is
in the ``notebooks`` extra, not needed by the library's patterns or its unit tests.
"""

from __future__ import annotations

from collections.abc import Mapping
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
