"""The clock and randomness the tests control (the only things they fake): shared by
the test folders, imported as ``time_support``."""

from __future__ import annotations

import random
import threading

__all__ = ["FakeClock", "TopRandom"]


class FakeClock:
    """A clock that moves only when told to, or when the Mailer sleeps on it; ``sleeps``
    lists every sleep asked for."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class TopRandom(random.Random):
    """Full jitter at its ceiling: backoff delays become exactly predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b
