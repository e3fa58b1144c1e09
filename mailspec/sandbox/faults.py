"""Faults a sandbox server can inject, per request: queued, or at random with a seed."""

from __future__ import annotations

import enum
import random
import threading
from collections import deque
from collections.abc import Mapping

__all__ = ["Fault", "FaultPlan"]


class Fault(enum.StrEnum):
    RATE_LIMIT = "rate_limit"  # the provider's own rate-limit code; nothing accepted
    SERVER_ERROR = "server_error"  # HTTP 500 with the provider's server code; nothing accepted
    SLOW = "slow"  # answer only after `slow_seconds` (past a client's timeout); accepted
    DROP_BEFORE = "drop_before"  # close the connection before reading the request; nothing accepted
    DROP_AFTER = "drop_after"  # accept the message, then close without answering (ambiguous)
    GARBAGE = "garbage"  # accept the message, then answer a body no client can read (ambiguous)


class FaultPlan:
    """Which fault, if any, the next request gets: queued faults first, in order, then
    each random fault with its probability. Thread-safe; seeded for repeatable runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault | None] = deque()
        self._rates: dict[Fault, float] = {}
        self._random = random.Random(0)
        self.injected: dict[Fault, int] = dict.fromkeys(Fault, 0)

    def queue(self, fault: Fault | str | None, times: int = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests; None queues requests
        answered normally, to place a fault later in a sequence."""
        with self._lock:
            self._queue.extend([None if fault is None else Fault(fault)] * times)

    def randomly(self, rates: Mapping[Fault | str, float], *, seed: int = 0) -> None:
        total = sum(rates.values())
        if any(r < 0 for r in rates.values()) or total > 1:
            raise ValueError("fault probabilities must be >= 0 and add up to at most 1")
        with self._lock:
            self._rates = {Fault(f): r for f, r in rates.items()}
            self._random = random.Random(seed)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rates = {}

    def next(self) -> Fault | None:
        with self._lock:
            fault: Fault | None = None
            if self._queue:
                fault = self._queue.popleft()
                if fault is None:
                    return None
            elif self._rates:
                roll, edge = self._random.random(), 0.0
                for candidate, rate in self._rates.items():
                    edge += rate
                    if roll < edge:
                        fault = candidate
                        break
            if fault is not None:
                self.injected[fault] += 1
            return fault
