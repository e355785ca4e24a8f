"""Lesson 11's dependency: a risk-scoring service that times out for chosen orders, on plan.

Deterministic by ``seed`` (a hash, not ``random``), so the DLQ processor started again
after a ``kill -9`` meets the same timeouts as the run that died — which the DLQ's
at-least-once guarantee assumes of a real dependency too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RiskService:
    """A risk-scoring dependency that times out for chosen orders, deterministic by ``seed``.

    ``down_share`` of orders always time out; ``flaky_share`` time out on their first one
    or two calls in this process, then answer. Same seed, same order id: same behaviour,
    in every process (a hash, not ``random``), so a rerun after a crash sees what the
    crashed run saw.
    """

    seed: int = 42
    down_share: float = 0.0
    flaky_share: float = 0.0
    calls: Counter = field(default_factory=Counter)

    def _u(self, order_id: str, salt: str) -> float:
        digest = hashlib.sha256(f"{self.seed}:{salt}:{order_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def planned_failures(self, order_id: str) -> int | None:
        """How many calls for ``order_id`` time out before it answers; None = it never answers."""
        u = self._u(order_id, "plan")
        if u < self.down_share:
            return None
        if u < self.down_share + self.flaky_share:
            return 1 + int(self._u(order_id, "flaky") * 2)
        return 0

    def __call__(self, order_id: str) -> int:
        self.calls[order_id] += 1
        failures = self.planned_failures(order_id)
        if failures is None or self.calls[order_id] <= failures:
            raise TimeoutError(f"risk service did not answer for order {order_id!r} "
                               f"(call {self.calls[order_id]})")
        return int(self._u(order_id, "score") * 100)
