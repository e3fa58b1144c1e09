"""The order in which a send tries providers.

Every strategy returns *all* providers, so any of them can still carry the message
when those before it fail; strategies differ only in who goes first:

- ``failover``: the order given, always. The first provider takes all the traffic
  while it is healthy.
- ``round_robin``: the starting provider rotates by one on each send, the rest follow
  in the given order (wrapping round). Spreads load evenly; the rotation is per Mailer
  (in-process), not shared through the store — an even spread needs no coordination.
- ``weighted``: the first provider is drawn at random with probability proportional
  to its weight, the rest follow in the given order. A weight of 0 means "fallback
  only".
"""

from __future__ import annotations

import itertools
import math
import random as _random
import threading
from collections.abc import Sequence
from typing import Literal, get_args

from ..checks.arguments import items, number
from ..errors import ValidationError

__all__ = ["STRATEGIES", "Order", "StrategyName"]

StrategyName = Literal["failover", "round_robin", "weighted"]
STRATEGIES: tuple[str, ...] = get_args(StrategyName)


class Order:
    """Thread-safe: the round-robin counter and the random draw sit behind one lock."""

    def __init__(
        self,
        strategy: str,
        count: int,
        weights: Sequence[float] | None,
        rng: _random.Random,
        lock: threading.Lock,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValidationError(
                f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}",
                field="strategy",
            )
        if weights is not None and strategy != "weighted":
            raise ValidationError("weights are only used by strategy='weighted'", field="weights")
        if strategy == "weighted":
            weights = (
                [1.0] * count
                if weights is None
                else [number(w, "weights") for w in items(weights, "weights", "numbers")]
            )
            if len(weights) != count:
                raise ValidationError(
                    f"expected {count} weights (one per provider), got {len(weights)}",
                    field="weights",
                )
            if not 0 < sum(weights) < math.inf:  # each is finite and non-negative
                raise ValidationError(
                    "weights must be finite, non-negative, and not all zero", field="weights"
                )
        self.strategy, self.count = strategy, count
        self.weights = list(weights) if weights is not None else None
        self._rng = rng
        self._turn = itertools.count()
        # shared with whoever else draws from ``rng`` (the Mailer's jitter)
        self._lock = lock

    def __call__(self) -> list[int]:
        """Provider indexes, in the order this send should try them."""
        indexes = list(range(self.count))
        if self.strategy == "failover":
            return indexes
        with self._lock:
            if self.strategy == "round_robin":
                first = next(self._turn) % self.count
            else:
                assert self.weights is not None
                first = self._rng.choices(indexes, weights=self.weights)[0]
        if self.strategy == "round_robin":
            return [*indexes[first:], *indexes[:first]]
        return [first, *(i for i in indexes if i != first)]
