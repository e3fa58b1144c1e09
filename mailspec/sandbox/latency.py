"""An added delay before each sandbox answer, as a real provider takes time to answer:
a fixed number of seconds, or a random one in a range (seeded, like the faults, so a
run repeats)."""

from __future__ import annotations

import math
import random
import threading

from ..errors import ValidationError

__all__ = ["Latency", "LatencySetting", "parse_latency"]

LatencySetting = float | tuple[float, float] | None
"""``0.1`` (every answer 0.1 s later), ``(0.05, 0.3)`` (uniformly in that range), or
None / 0 (at once)."""


class Latency:
    """How long the next answer waits. Thread-safe; the random draws come from one
    ``random.Random(seed)``, so the same requests in the same order wait the same."""

    def __init__(self, setting: LatencySetting = None, *, seed: int = 0) -> None:
        self.low, self.high = _bounds(setting)
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        if self.low == self.high:
            return f"Latency({self.low:g})"
        return f"Latency(({self.low:g}, {self.high:g}))"

    def __bool__(self) -> bool:
        return self.high > 0

    def next(self) -> float:
        """The seconds the next answer waits."""
        if self.low == self.high:
            return self.low
        with self._lock:
            return self._random.uniform(self.low, self.high)


def parse_latency(text: str) -> tuple[float, float]:
    """``"0.1"`` or ``"0.05-0.3"`` (seconds) as a range; ValidationError otherwise."""
    low, dash, high = text.strip().partition("-")
    try:
        bounds = (float(low), float(high) if dash else float(low))
    except ValueError:
        raise ValidationError(
            f"expected seconds (0.1) or a range of them (0.05-0.3), got {text[:40]!r}",
            field="latency",
        ) from None
    return _bounds(bounds)


def _bounds(setting: object) -> tuple[float, float]:
    if setting is None:
        return 0.0, 0.0
    pair = setting if isinstance(setting, tuple) else (setting, setting)
    if len(pair) != 2 or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0
        for x in pair
    ):
        raise ValidationError(
            "latency is a number of seconds, 0 or more, or a (low, high) pair of them; "
            f"got {setting!r}",
            field="latency",
        )
    low, high = float(pair[0]), float(pair[1])
    if low > high:
        raise ValidationError(f"the range {low:g}-{high:g} is the wrong way round", field="latency")
    return low, high
