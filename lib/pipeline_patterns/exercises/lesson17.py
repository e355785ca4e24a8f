"""Lesson 17's exercise: what to do with a payment whose order the replica has not seen (yet).

The check is a pure model of the capstone's timing (the pipeline's rule is :mod:`~pipeline_patterns.capstone.pipeline`):
orders are committed at the source and reach the pipeline through their change topic, which now and then lags
by up to 4 s behind the other change topics (a Connect task restarting, a slow partition); the newest source
commit time the pipeline has seen (``progress_ms``) comes from every change topic. Payments are sent after
their order's commit; some name orders that never existed. Every 0.5 s a micro-batch routes each payment not
routed yet.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pipeline_patterns.exercises import Verdict, exercise, right, wrong

BATCH_MS, RUN_MS, DEADLINE_MS = 500, 120_000, 15_000
ROUTES = ("accept", "hold", "dead_letter")


def _timeline(seed: int = 17) -> tuple[list[tuple[int, int]], list[tuple[str, int, int | None]], Callable[[int], int]]:
    """Orders (id, visible at), payments (id, sent at, order id or None for a ghost), progress(t)."""
    rng = random.Random(seed)
    orders: list[tuple[int, int]] = []
    payments: list[tuple[str, int, int | None]] = []
    spikes = sorted(rng.sample(range(0, RUN_MS - 20_000, 1000), 8))
    for oid in range(1, 201):
        committed = oid * 450
        lag = 150 + (rng.randrange(2500, 4000) if any(s <= committed < s + 3000 for s in spikes) else 0)
        orders.append((oid, committed + lag))
        if rng.random() < 0.6:
            payments.append((f"pay-{oid}", committed + rng.randrange(100, 1500), oid))
    for n in range(10):
        payments.append((f"ghost-{n}", rng.randrange(5_000, RUN_MS - 30_000), None))

    def progress(t: int) -> int:  # other change topics: committed about every 200 ms, visible 150 ms later
        return max(0, (t - 150) // 200 * 200)

    return orders, payments, progress


@exercise("17.hold_the_early_payment", "a route for payments whose order is not in the replica")
def hold_the_early_payment(your_route: Callable[[bool, int, int], str]) -> Verdict:
    orders, payments, progress = _timeline()
    visible = dict(orders)
    fate: dict[str, tuple[str, int]] = {}
    for t in range(0, RUN_MS + 1, BATCH_MS):
        for pid, sent, oid in payments:
            if pid in fate or sent > t:
                continue
            seen = oid is not None and visible[oid] <= t
            route = your_route(seen, progress(t), sent)
            if route not in ROUTES:
                return wrong(f"expected one of {ROUTES}, found {route!r}")
            if route != "hold":
                fate[pid] = (route, t)
    for pid, sent, oid in payments:
        route, at = fate.get(pid, ("hold", RUN_MS))
        if oid is not None and route == "dead_letter":
            return wrong(f"{pid} was dead-lettered {at - sent} ms after it was sent, but its order existed: its change "
                         "was still on its way (the order topic lagged). Judge a missing order only once the source "
                         "has moved well past the payment")
        if oid is None and route == "accept":
            return wrong(f"{pid} names an order that never existed and your route accepted it into silver")
        if oid is not None and route != "accept":
            return wrong(f"{pid} was never accepted although its order reached the replica")
        if oid is None and (route != "dead_letter" or at - sent > DEADLINE_MS):
            late = f"dead-lettered only {(at - sent) / 1000:.1f} s after it was sent"
            what = "held to the end" if route == "hold" else late
            return wrong(f"{pid} (an order that never existed) was {what}: it must reach the dead letter topic within "
                         f"{DEADLINE_MS // 1000} s of being sent")
    held = max(at - sent for pid, sent, oid in payments if oid is None for _, at in [fate[pid]])
    return right(f"every payment with an order accepted, none dead-lettered early; the 10 unknown orders "
                 f"dead-lettered at most {held / 1000:.1f} s after they were sent")
