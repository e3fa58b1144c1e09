"""A circuit breaker per provider: stop sending to a provider that keeps failing, and
find out cheaply when it has recovered.

States, all held in one record in the :class:`~mailspec.mailer.store.StateStore`:

- **closed** (``opened_at`` is None): sends go through; each failure adds one to
  ``failures``, each success resets it. At ``threshold`` consecutive failures the
  breaker opens.
- **open** (``now < opened_at + cooldown``): the provider is skipped without a request.
- **half-open** (the cooldown has passed): exactly one caller, across every thread and
  process sharing the store, is let through as a probe. Its success closes the breaker;
  its failure re-opens it for another cooldown. A probe that never reports back (its
  process died) is forgotten after one more cooldown, so the breaker cannot stick.

What counts as a failure is the Mailer's decision (see :func:`counts_as_failure`): it
feeds the breaker only with answers that say something about the provider's health.
"""

from __future__ import annotations

from enum import Enum

import msgspec

from ..errors import MailspecError, PartialDeliveryError, ProviderError, RequestNotStarted
from ..vocabulary import ErrorCategory
from .store import StateStore, transact

__all__ = ["Breaker", "BreakerState", "Gate", "counts_as_failure"]

# Answers from a provider that is evidently up: about *this message* (the next one may
# well go through), or telling us to slow down (the Mailer pauses the provider for its
# Retry-After instead), so they do not push the provider towards being skipped.
_UP_CATEGORIES = frozenset(
    {
        ErrorCategory.VALIDATION,
        ErrorCategory.TEMPLATE,
        ErrorCategory.NOT_FOUND,
        ErrorCategory.CONFLICT,
        ErrorCategory.RATE_LIMIT,
    }
)


def counts_as_failure(error: MailspecError) -> bool:
    """Whether ``error`` says the provider is unhealthy (for every message, not just
    this one).

    Yes: network faults, ambiguous or not (a provider that times out on every request
    is down, even if some of those requests got through); unreadable answers; server
    errors; authentication, permission and quota errors (every message would fail the
    same way until someone acts). No: the provider's verdict on this message (its
    validation, template, not-found, conflict codes); rate limiting (a provider telling
    us to slow down is not down: the Mailer pauses it for its ``Retry-After``, see
    :class:`~mailspec.mailer.limiter.Pause`, rather than skipping it for a whole
    cooldown, which under load turned a busy provider into an unused one); a request
    never started (:class:`~mailspec.errors.RequestNotStarted`: no free connection in
    time, this sender's congestion); and client-side errors (ValidationError,
    UnsupportedOperation), which never reach the breaker. A
    partial delivery is judged by the error that stopped it; one stopped by an error
    that is not mailspec's (a value that cannot be encoded, a bug) says nothing about
    the provider, which had just accepted the earlier requests.
    """
    cause: BaseException = error.cause if isinstance(error, PartialDeliveryError) else error
    if not isinstance(cause, MailspecError) or isinstance(cause, RequestNotStarted):
        return False
    if isinstance(cause, ProviderError):
        return cause.category not in _UP_CATEGORIES
    return True


class BreakerState(msgspec.Struct, frozen=True, omit_defaults=True):
    """The stored record. ``probe_at`` is when a half-open probe was let through."""

    failures: int = 0
    opened_at: float | None = None
    probe_at: float | None = None


_CLOSED = BreakerState()


class Gate(Enum):
    """What :meth:`Breaker.allow` decided."""

    CLOSED = "closed"  # go ahead
    PROBE = "probe"  # go ahead: you are the one half-open probe
    OPEN = "open"  # skip this provider


class Breaker:
    """One provider's breaker; every method is one atomic read-modify-write."""

    def __init__(self, store: StateStore, key: str, *, threshold: int, cooldown: float) -> None:
        self.store, self.key = store, f"breaker:{key}"
        self.threshold, self.cooldown = threshold, cooldown

    def state(self) -> BreakerState:
        """The current record, for inspection (tests, metrics)."""
        return transact(self.store, self.key, BreakerState, _CLOSED, lambda s: (s, s))

    def allow(self, now: float) -> Gate:
        return self.gate(now)[0]

    def gate(self, now: float) -> tuple[Gate, float | None]:
        """What :meth:`allow` decides, and with ``OPEN`` when the cooldown ends (None
        when it has ended and another caller is probing): one read of the record."""

        def change(s: BreakerState) -> tuple[BreakerState, tuple[Gate, float | None]]:
            if s.opened_at is None:
                return s, (Gate.CLOSED, None)
            until = s.opened_at + self.cooldown
            if now < until:
                return s, (Gate.OPEN, until)
            if s.probe_at is not None and now < s.probe_at + self.cooldown:
                return s, (Gate.OPEN, None)  # another caller is probing
            return msgspec.structs.replace(s, probe_at=now), (Gate.PROBE, None)

        return transact(self.store, self.key, BreakerState, _CLOSED, change)

    def success(self) -> None:
        transact(self.store, self.key, BreakerState, _CLOSED, lambda s: (_CLOSED, None))

    def failure(self, now: float) -> bool:
        """Count one failure; True when this one opened (or re-opened) the breaker."""

        def change(s: BreakerState) -> tuple[BreakerState, bool]:
            failures = s.failures + 1
            if s.opened_at is not None or failures >= self.threshold:
                # a failed probe (or a failure reported while open) starts a new cooldown
                return BreakerState(failures=failures, opened_at=now), True
            return BreakerState(failures=failures), False

        return transact(self.store, self.key, BreakerState, _CLOSED, change)

    def release(self) -> None:
        """Forget a probe that tested nothing (the send stopped before any request),
        so the next caller may probe at once."""

        def change(s: BreakerState) -> tuple[BreakerState, None]:
            return msgspec.structs.replace(s, probe_at=None), None

        transact(self.store, self.key, BreakerState, _CLOSED, change)
