"""The failover layer: :class:`Mailer` and the pieces it is made of.

- :mod:`.core` — :class:`Mailer` itself: order, retry, failover, recording attempts;
- :mod:`.strategy` — who is tried first (failover, round robin, weighted);
- :mod:`.breaker` — a circuit breaker per provider;
- :mod:`.limiter` — a token bucket per provider, from its documented rate, and a
  pause per provider, from its rate-limit answers' ``Retry-After``;
- :mod:`.store` — the small compare-and-set interface breaker, bucket, pause and ledger
  state live behind (in-process by default; a shared store from :func:`mailspec.store`
  coordinates many processes: see :mod:`mailspec.stores`);
- :mod:`.ledger` — one record per idempotency key: its claim (with a lease), then its
  outcome.

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
from .ledger import Claim, Claimed, ClaimStatus, Ledger, Recorded
from .limiter import BucketState, Pause, PauseState, TokenBucket
from .store import MemoryStore, StateStore
from .suppressions import Suppression, SuppressionList
from .timeline import Send, Timeline

__all__ = [
    "Breaker",
    "BreakerState",
    "BucketState",
    "CircuitOpen",
    "Claim",
    "ClaimStatus",
    "Claimed",
    "ClientRateLimited",
    "Ledger",
    "MailProvider",
    "Mailer",
    "MemoryStore",
    "Pause",
    "PauseState",
    "ProviderPaused",
    "Recorded",
    "Send",
    "SendManyFailed",
    "StateStore",
    "Suppression",
    "SuppressionList",
    "Timeline",
    "TokenBucket",
    "counts_as_failure",
]
