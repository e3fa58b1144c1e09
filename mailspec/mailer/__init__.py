"""The failover layer: :class:`Mailer` and the pieces it is made of.

- :mod:`.core` — :class:`Mailer` itself: order, retry, failover, recording attempts;
- :mod:`.strategy` — who is tried first (failover, round robin, weighted);
- :mod:`.breaker` — a circuit breaker per provider;
- :mod:`.limiter` — a token bucket per provider, from its documented rate, and a
  pause per provider, from its rate-limit answers' ``Retry-After``;
- :mod:`.store` — the small compare-and-set interface breaker, bucket and pause state live
  behind (in-process by default; a shared store coordinates many processes).

Nothing here imports the HTTP runtime or any provider's generated code at import time.
"""

from .breaker import Breaker, BreakerState, counts_as_failure
from .core import (
    CircuitOpen,
    ClientRateLimited,
    Mailer,
    MailProvider,
    ProviderPaused,
    SendManyFailed,
)
from .limiter import BucketState, Pause, PauseState, TokenBucket
from .store import MemoryStore, StateStore

__all__ = [
    "Breaker",
    "BreakerState",
    "BucketState",
    "CircuitOpen",
    "ClientRateLimited",
    "MailProvider",
    "Mailer",
    "MemoryStore",
    "Pause",
    "PauseState",
    "ProviderPaused",
    "SendManyFailed",
    "StateStore",
    "TokenBucket",
    "counts_as_failure",
]
