"""Replay protection: a signed event's token is accepted once.

A captured request stays validly signed, so without this anyone who saw one could post
it again until its timestamp goes stale. A token needs remembering only until then:
after that the tolerance check refuses the event anyway, so memory is bounded by the
events of one tolerance window. ``max_entries`` bounds it in any case; when full, the
entries closest to expiry are dropped first (and a warning is logged once): size it
for the events a busy tolerance window brings.

The guard is in-process. Behind several worker processes each has its own, so a
replay that reaches another worker is not caught; the signature and the tolerance
window still bound what a replay can do.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Iterable, Sequence

from ..checks.arguments import whole

__all__ = ["DEFAULT_GUARD", "ReplayGuard"]

log = logging.getLogger("mailspec.webhooks")


class ReplayGuard:
    """Remembers claimed tokens until they expire; thread-safe."""

    def __init__(self, max_entries: int = 100_000) -> None:
        whole(max_entries, "max_entries")
        self.max_entries = max_entries
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []  # may hold stale rows
        self._lock = threading.Lock()
        self._warned = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def __repr__(self) -> str:
        return f"<ReplayGuard {len(self)}/{self.max_entries} tokens>"

    def claim(self, provider: str, tokens: Sequence[tuple[str, float]], *, now: float) -> bool:
        """Record every ``(token, expires_at)`` and return True, or, if any token is
        already held (or repeats within ``tokens``), record none and return False.
        All or nothing, under one lock, so two copies of one request racing each other
        cannot both pass."""
        keys = [(provider, token) for token, _ in tokens]
        with self._lock:
            self._expire(now)
            if len(set(keys)) != len(keys) or any(key in self._expiry for key in keys):
                return False
            for key, (_, expires_at) in zip(keys, tokens, strict=True):
                self._expiry[key] = expires_at
                heapq.heappush(self._heap, (expires_at, key))
            self._bound()
            return True

    def release(self, provider: str, tokens: Iterable[str]) -> None:
        """Forget tokens, so that the provider's retry of a request whose handling
        failed is accepted."""
        with self._lock:
            for token in tokens:
                self._expiry.pop((provider, token), None)  # its heap row goes stale

    def _expire(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]

    def _bound(self) -> None:
        while len(self._expiry) > self.max_entries:
            expires_at, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
                if not self._warned:
                    self._warned = True
                    log.warning(
                        "webhook replay guard full (%d tokens): dropping the oldest; "
                        "raise max_entries",
                        self.max_entries,
                    )
        if len(self._heap) > 2 * self.max_entries + 16:  # released rows pile up: rebuild
            self._heap = [(t, k) for k, t in self._expiry.items()]
            heapq.heapify(self._heap)


# used by parse() when no guard is passed: one per process
DEFAULT_GUARD = ReplayGuard()
