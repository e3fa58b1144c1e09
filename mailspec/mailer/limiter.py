"""Client-side rate limiting: a token bucket per provider, sized from the rate its spec
documents (``limits.rate_per_minute``), so we slow down before the provider has to
refuse us.

The bucket refills at ``rate_per_minute / 60`` tokens a second and holds at most
``burst`` tokens — by default one second's worth (at least one). A full minute's worth
would let a burst at the start of a minute plus the steady refill double the documented
rate inside any sliding minute; one second's worth keeps every sliding minute within
about 1/60 of it while still absorbing small bursts.

Taking a token is a *reservation*: when none is free, the caller may take one that
becomes free ``wait`` seconds from now (the count goes below zero), then sleep that
long. Callers queue up fairly, without polling, and the store needs no lock held
across a sleep.

A :class:`Pause` is the provider's side of the same thing: when it answers that we are
sending too fast, every sender holds off until its ``Retry-After``.
"""

from __future__ import annotations

import msgspec

from .store import StateStore, transact

__all__ = ["BucketState", "Pause", "PauseState", "TokenBucket"]


class BucketState(msgspec.Struct, frozen=True):
    """The stored record: tokens (negative when reserved ahead) as of ``updated``."""

    tokens: float
    updated: float


class TokenBucket:
    """One provider's bucket; :meth:`reserve` is one atomic read-modify-write."""

    def __init__(
        self, store: StateStore, key: str, *, rate_per_minute: float, burst: float | None = None
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.store, self.key = store, f"bucket:{key}"
        self.rate = rate_per_minute / 60.0  # tokens per second
        self.burst = burst if burst is not None else max(1.0, self.rate)

    def reserve(self, now: float, max_wait: float) -> float | None:
        """Take one token: the seconds to wait before using it (0.0: at once), or None —
        and nothing taken — when it would not be free within ``max_wait`` seconds."""
        burst, rate = self.burst, self.rate

        def change(s: BucketState) -> tuple[BucketState, float | None]:
            # max(0, ...): a clock that steps back (or a peer's clock) never drains tokens
            tokens = min(burst, s.tokens + max(0.0, now - s.updated) * rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
            if wait > max_wait:
                return s, None
            return BucketState(tokens=tokens - 1.0, updated=max(now, s.updated)), wait

        return transact(
            self.store, self.key, BucketState, BucketState(tokens=burst, updated=now), change
        )


class PauseState(msgspec.Struct, frozen=True):
    """The stored record: no request to the provider before ``until``."""

    until: float


_NOT_PAUSED = PauseState(until=0.0)


class Pause:
    """A provider's own word that we are too fast: after a rate-limit answer, no request
    to it until its ``Retry-After`` has passed (or a backoff, when it gave none).

    Kept apart from the :class:`TokenBucket`, which exists only for a provider whose
    spec documents a rate: any provider may answer "slow down". One record in the
    store, so every thread and process sharing it holds off together.
    """

    def __init__(self, store: StateStore, key: str) -> None:
        self.store, self.key = store, f"pause:{key}"

    def extend(self, now: float, seconds: float) -> float:
        """Pause until ``now + seconds`` unless already paused longer; the end of the
        pause, on the caller's clock."""

        def change(s: PauseState) -> tuple[PauseState, float]:
            until = max(s.until, now + seconds)
            return PauseState(until=until), until

        return transact(self.store, self.key, PauseState, _NOT_PAUSED, change)

    def remaining(self, now: float) -> float:
        """Seconds until requests may go again (0.0: not paused)."""
        state = transact(self.store, self.key, PauseState, _NOT_PAUSED, lambda s: (s, s))
        return max(0.0, state.until - now)
