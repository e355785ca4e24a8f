"""A lesson's key figures, recorded so that the run report can show them without re-running anything.

``record("duplicates after kill -9", 0)`` in a notebook displays the figure (``name = value unit``) and stores it in
the executed notebook as an output of its own MIME type; ``report`` reads every such output back. A figure is a
name, a number or a short text, and a unit: what a reader compares between two runs.
"""

from __future__ import annotations

import math

MIME = "application/vnd.pipeline-patterns.figure+json"


def payload(name: str, value: float | int | str, unit: str = "") -> dict:
    """The stored form of one figure; a ValueError for an empty name or a value that is not a finite number or text."""
    if not name.strip():
        raise ValueError("expected a figure name (what the number is), found an empty one")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a number or a short text for figure {name!r}, found {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number for figure {name!r}, found {value}")
    return {"name": name, "value": value, "unit": unit}


def record(name: str, value: float | int | str, unit: str = "") -> dict:
    """Show a lesson's key figure and keep it in the notebook's outputs for the run report."""
    from IPython.display import display

    figure = payload(name, value, unit)
    display({"text/plain": f"{name} = {shown(value)}{' ' + unit if unit else ''}", MIME: figure}, raw=True)
    return figure


def shown(value: float | int | str) -> str:
    """A figure's value as people read it: thousands separated, three significant digits below 1,000."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return value
