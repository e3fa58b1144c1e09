"""``Mailer``: several providers behind one ``send()``, with retries, failover, circuit
breakers and client-side rate limits.

How one ``send(message)`` goes:

First, once:

- **Is the message valid?** What every provider would refuse (a
  malformed address, a line break in a header, no recipient, no content): a
  :class:`~mailspec.ValidationError` is raised at once, before any request, and no
  provider is tried — a broken message does not get better by sending it elsewhere.
- **Has this key been sent?** The message's ``idempotency_key`` (one is made when it
  has none) is claimed in the ledger (:mod:`mailspec.mailer.ledger`, on the Mailer's
  store) before any request, with the message's fingerprint
  (:func:`mailspec.mailer.claims.fingerprint`). A key already used for a different
  message raises :class:`~mailspec.IdempotencyConflict`; a key already accepted
  returns the recorded result (``replayed``), without a request; a key another sender
  holds right now raises :class:`~mailspec.SendInProgress`; a key whose earlier send stopped without an
  outcome (its sender died, or it ended ambiguous) is resolved first: the providers
  it may have reached go first where they deduplicate the key (sent it again, they
  process it once), and where they cannot be asked the send stops there as
  ambiguous. Before each request the key is fenced: still this send's claim (its
  lease renewed), or, taken over by another sender whose clock ran past the lease, the
  send stops with :class:`~mailspec.ClaimLost` and no request. At the end an accepted
  result is recorded, a definite failure gives the key back, and an ambiguous one is
  left for the next send of the key to resolve.
- **Is a recipient suppressed?** Recipients on the Mailer's suppression list (a bounce,
  complaint or unsubscribe from any provider: :mod:`mailspec.mailer.suppressions`) are
  left out before any request and listed in ``SendResult.suppressed``; with no ``to``
  recipient left, :class:`~mailspec.Suppressed` is raised and nothing is sent. What
  happens after acceptance (timelines, polling, redelivery) is
  :mod:`mailspec.mailer.delivery`.

Then provider by provider, in the strategy's order:

1. **Can it carry the message?** A provider without template sending is skipped for a
   template message, a template-only provider for a message without one, and likewise
   for attachments, cc/bcc, per-recipient variables, the provider's recipient limits
   and any field it has no place for. The skip is recorded
   (``Attempt(outcome="skipped")`` whose error is an
   :class:`~mailspec.UnsupportedOperation` saying why), and the next provider is
   tried. Fields that never reach the recipient (``tags``, ``metadata``) are the
   exception: with ``on_unsupported="drop"`` (the default) a provider with no place for
   them is sent the message without them, and the attempt and the
   :class:`~mailspec.SendResult` list them in ``dropped`` (and the log says so);
   ``on_unsupported="skip"`` skips such a provider instead.
2. **Does it keep to the provider's rules?** The message is checked against the
   provider's spec (it requires html, caps the subject, the recipients or the
   attachments): a refusal is that provider's rule, not a message error, so it is
   recorded as a skipped attempt (the :class:`~mailspec.ValidationError`, whose
   ``provider_rule`` is true) and the next provider is tried.
3. **Breaker, pause and limiter.** An open circuit breaker skips the provider
   (:class:`CircuitOpen` on the attempt). A provider that answered a rate-limit code
   lately is paused until its ``Retry-After`` (or our backoff, when it sent none)
   has passed: the send waits for that (at most ``rate_limit_wait`` seconds and never
   past the deadline) or skips the provider (:class:`ProviderPaused`). The
   client-side token bucket likewise hands out a token, waits for one, or skips the
   provider (:class:`ClientRateLimited`), so the message goes out now through another
   one instead of queueing behind a busy provider. A provider that may already hold
   the message and deduplicates its key is waited for until the deadline instead: it
   is the one place the message can be sent again without the risk of a second copy.
   A request the transport does not start (:class:`~mailspec.RequestNotStarted`: an
   :class:`~mailspec.AsyncMailer` had no free connection in time, or too little of
   the deadline was left to start one) is a skipped attempt too: nothing went out,
   and it says nothing about the provider's health.
4. **Send**, then by outcome:

   - accepted: return a :class:`~mailspec.SendResult` holding every attempt;
   - retryable (rate limited, server error, connection refused): retry the same
     provider after exponential backoff with full jitter, or after the provider's
     ``Retry-After`` when it sent one, at most ``max_attempts`` sends per provider, and
     never sleeping past the deadline (a retry that would, moves on instead). A
     rate-limit answer also pauses the provider for that long, for every sender
     sharing the store, and is not counted as a breaker failure: a provider telling
     us to slow down is up, and skipping it for a whole cooldown would leave its
     capacity unused;
   - not retryable (authentication, quota, the provider's own validation): move on to
     the next provider;
   - *ambiguous* (a read timeout, a dropped connection, an unreadable 2xx answer: the
     provider may have accepted the message): resolved where the provider allows it —
     a provider that deduplicates the key (its spec declares an
     ``idempotency_window``) is sent the same key again, within ``max_attempts``, and
     processes it once (its "duplicate request" answer counts as accepted, ids
     unknown). Otherwise it is never resent to the same provider; by default the send
     stops and raises :class:`~mailspec.AllProvidersFailed` with ``ambiguous=True``,
     because sending elsewhere could deliver it twice; with
     ``on_ambiguous="failover"`` it moves on (at-least-once delivery).

When no provider accepted, :class:`~mailspec.AllProvidersFailed` carries every
attempt. Nothing but :class:`~mailspec.MailspecError` subclasses escapes ``send()``,
except errors raised by the providers' own code for bugs (those are not swallowed)
before any request for the message was made. Once one was made, any exception becomes
an :class:`~mailspec.AllProvidersFailed` holding every attempt (the exception as its
``__cause__``), so that what may have gone out is never lost with the exception;
an interruption that is not an error (Ctrl-C, ``SystemExit``, an asyncio cancellation)
goes on as it is, recorded first as an ambiguous attempt when it came after a request
was written (the transport marks it: :func:`mailspec.errors.mark_written`; so does
the Mailer for one that comes after an answer was accepted), so that the ledger keeps
the key as maybe sent, never given back for a second copy. :meth:`Mailer.send_many`
returns each message's exception in its place among the results, so what went out is
never lost with a failure either.

The ``deadline`` bounds the whole send: no attempt starts and no sleep ends after it,
and an HTTP request in flight ends by it too (each attempt runs
:func:`mailspec.deadline.within` what is left, and the transport cuts the request
there, as it does at the provider's own ``timeout``); a request cut mid-way is an
ambiguous :class:`~mailspec.TransportError` like any other timeout.
"""

from __future__ import annotations

import enum
import logging
import random as _random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from .. import otel
from ..checks import arguments as args
from ..checks.carry import DROPPABLE, cannot_carry
from ..checks.message import check_message
from ..contract import Capabilities, MailProvider
from ..deadline import within
from ..errors import (
    AllProvidersFailed,
    ClaimLost,
    ConflictError,
    MailspecError,
    PartialDeliveryError,
    RateLimitError,
    RequestNotStarted,
    StoreError,
    TransportError,
    UnsupportedOperation,
    ValidationError,
    mark_written,
    written_to,
)
from ..message import Message, derived
from ..results import Attempt, DeliveryStatus, SendResult
from .breaker import Breaker, Gate, counts_as_failure
from .bulk import Progress, messages_of, send_all, workers
from .claims import KeyClaim, new_key
from .config import from_config, from_env
from .delivery import Delivery
from .ledger import DEFAULT_RETENTION, Ledger
from .limiter import Pause, TokenBucket
from .store import MemoryStore, StateStore
from .strategy import Order, StrategyName
from .suppressions import SuppressionList
from .timeline import Timeline

if TYPE_CHECKING:
    from ..webhooks.events import Event

__all__ = [
    "CircuitOpen",
    "ClientRateLimited",
    "MailProvider",
    "Mailer",
    "ProviderPaused",
    "SendManyFailed",
    "UnresolvedSend",
]

log = logging.getLogger("mailspec.mailer")

IN_PROCESS_RETENTION = 3600.0  # seconds a memory:// ledger keeps a key


# --- markers on skipped attempts and the batch error ------------------------------------


class CircuitOpen(MailspecError):
    """On a skipped :class:`~mailspec.Attempt`: the provider's circuit breaker is open
    (it failed too often lately), so no request was made. ``until`` is when, on the
    Mailer's clock, the breaker lets a probe through (None: a probe is in flight)."""

    def __init__(self, provider: str, until: float | None) -> None:
        self.provider, self.until = provider, until
        super().__init__(f"{provider}: circuit open after repeated failures; not tried")


class ClientRateLimited(MailspecError):
    """On a skipped :class:`~mailspec.Attempt`: our own token bucket for the provider's
    documented rate had no token soon enough, so no request was made."""

    def __init__(self, provider: str, rate_per_minute: float) -> None:
        self.provider, self.rate_per_minute = provider, rate_per_minute
        super().__init__(
            f"{provider}: client-side rate limit ({rate_per_minute:g}/min) reached; not tried"
        )


class ProviderPaused(MailspecError):
    """On a skipped :class:`~mailspec.Attempt`: the provider answered a recent request
    with a rate-limit code, and its ``Retry-After`` (or our backoff) has not passed
    within the time this send could wait, so no request was made. ``until`` is when,
    on the Mailer's clock, it may be sent to again."""

    def __init__(self, provider: str, until: float, remaining: float) -> None:
        self.provider, self.until = provider, until
        super().__init__(
            f"{provider}: paused for {remaining:.3g}s more after its rate-limit answer; not tried"
        )


class UnresolvedSend(MailspecError):
    """On a failed :class:`~mailspec.Attempt`: an earlier send of this idempotency key
    (whose sender died, or which ended ambiguous) may have reached ``provider``, and
    that provider cannot be asked: it does not deduplicate, its window has passed, or
    another provider may have the message too."""

    ambiguous = True

    def __init__(self, provider: str) -> None:
        self.provider = provider
        super().__init__(
            f"{provider}: an earlier send of this key may have reached it, and it cannot be asked"
        )


class SendManyFailed(AllProvidersFailed):
    """Deprecated: :meth:`Mailer.send_many` no longer raises it (it returns each
    message's exception in that message's place and goes on with the others). Kept so
    that code catching it still imports; nothing in mailspec raises it.

    It meant: a batch stopped at message ``index``; ``results`` holds the results of the
    messages before it (which *were* sent — do not send them again), ``error`` (also
    ``cause`` and ``__cause__``) the failure, whatever its type, and ``attempts`` the
    failed message's attempts."""

    def __init__(self, index: int, results: list[SendResult], error: Exception) -> None:
        self.index, self.results, self.error = index, results, error
        attempts = error.attempts if isinstance(error, AllProvidersFailed) else []
        what = (
            str(error) if isinstance(error, MailspecError) else f"{type(error).__name__}: {error}"
        )
        super().__init__(attempts, f"message {index} failed after {len(results)} were sent: {what}")

    @property
    def cause(self) -> Exception:
        """The error that stopped the batch (the same as ``error``)."""
        return self.error


# --- the Mailer -------------------------------------------------------------------------


class _Outcome(enum.Enum):
    MOVE_ON = "move on"  # try the next provider
    AMBIGUOUS = "ambiguous"  # the provider may have accepted it
    DEADLINE = "deadline"  # out of time


@dataclass(frozen=True)
class _Entry:
    key: str
    provider: MailProvider
    breaker: Breaker | None
    bucket: TokenBucket | None
    pause: Pause


def _keys(names: Sequence[str]) -> list[str]:
    """Each provider's key: its name, or ``name#2``, ``name#3``… for the second and later
    providers of the same name (two accounts at one provider)."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys


class Mailer:
    """Several providers behind one ``send()``; one Mailer is meant to be shared by every
    thread of a process (all its state is behind locks or in the store).

    Parameters (all but ``providers`` keyword-only):

    - ``providers``: built by :func:`mailspec.provider`. Each is known by its name;
      when several share a name (two accounts at one provider) the second and later
      are keyed ``name#2``, ``name#3``…, and that key is what attempts and
      ``SendResult.provider`` carry, so :meth:`status` finds the right one.
    - ``strategy``: ``"failover"`` (the given order), ``"round_robin"``, or
      ``"weighted"`` with ``weights`` (one per provider); see
      :mod:`mailspec.mailer.strategy`.
    - ``max_attempts``: sends per provider per message (retries included), default 3.
    - ``deadline``: seconds for the whole ``send()``, default 30.
    - ``backoff``/``backoff_max``: the n-th retry waits a random time in
      ``[0, min(backoff_max, backoff * 2**(n-1))]`` (full jitter: retries of many
      senders spread out instead of arriving together), unless the provider said
      ``Retry-After``, which is honoured exactly.
    - ``on_ambiguous``: ``"stop"`` (default, at-most-once) or ``"failover"``
      (at-least-once).
    - ``on_unsupported``: what a provider with no place for ``tags`` or ``metadata``
      does: ``"drop"`` (default: send without them, listed in ``SendResult.dropped``)
      or ``"skip"`` (try the next provider). Any other field a provider cannot carry
      skips it either way.
    - ``breaker_threshold``: consecutive failures that open a provider's breaker
      (default 5; None disables breakers); ``breaker_cooldown``: seconds it stays open
      before one probe is let through (default 30). What counts as a failure:
      :func:`mailspec.mailer.breaker.counts_as_failure`.
    - ``rate_limit``: keep to each provider's documented ``rate_per_minute`` with a
      token bucket (default True); ``rate_limit_wait``: how long a send may wait for a
      token, or for a provider's rate-limit pause to end, before trying the next
      provider instead (default 1 s). The pause after a rate-limit answer is kept
      whatever ``rate_limit`` says: it is the provider's instruction, not our estimate.
    - ``store``: where breaker, bucket and pause records live: a
      :class:`~mailspec.mailer.store.StateStore` or a URL for :func:`mailspec.store`
      (``"sqlite:///state.db"``, ``"redis://127.0.0.1:6379/0"``); default an in-process
      :class:`~mailspec.mailer.store.MemoryStore`. A shared store coordinates every
      process using it; the Mailer's clock then defaults to ``time.time``, which they
      share. A store that fails before a request of a send raises
      :class:`~mailspec.StoreError` (nothing went out); after one, its failure is logged
      on ``mailspec.mailer`` and the outcome of the request is kept.
    - ``ledger``: keep each idempotency key's claim and outcome in the store (default
      True; see "Has this key been sent?" above): 7 days in a shared store, an hour in
      the in-process one (as long as a provider deduplicates a key), and there at most
      the 10,000 most recent keys (``MemoryStore(max_records=...)``), so that a busy
      process does not grow with every key it sends.
    - ``claim_lease``: seconds a send holds its key in the ledger (default ``deadline``
      + 30 s: the send, and the clock skew between machines sharing a store). A sender
      that died frees its keys after that, for another to resolve and send. False sends every ``send()``, keys
      still made and handed to providers that deduplicate, for a caller that records
      sends itself.
    - ``redeliver_after``: seconds after which a message accepted with no delivery
      report is sent once more through the next provider, by :meth:`redeliver_due`
      (default None: never); a message its provider reports ``failed`` is due at once.
      Needs the ledger. ``poll_window``: seconds after acceptance during which
      :meth:`poll` asks the providers about a send (default None: only while
      ``redeliver_after`` tracks it). See :mod:`mailspec.mailer.delivery`.
    - ``on_attempt``: called with each :class:`~mailspec.Attempt` as it is recorded
      (from the sending thread). An exception it raises is logged and ignored: a
      metrics hook must not turn a sent message into an error the caller would retry.
    - ``telemetry``: report spans and metrics through OpenTelemetry when its API is
      installed (default True; a no-op until the application sets up an SDK); see
      :mod:`mailspec.otel`.
    - ``clock``, ``sleep``, ``random``: injectable for tests (defaults
      ``time.monotonic`` — ``time.time`` with a shared store —, ``time.sleep``, a fresh
      ``random.Random()``).

    Every attempt is also logged on the ``mailspec.mailer`` logger (accepted and
    skipped at DEBUG, failed at WARNING, a breaker opening at WARNING) with the
    provider key, outcome, error class and duration as ``extra`` fields. Error texts
    are already redacted of credentials.
    """

    def __init__(
        self,
        providers: Sequence[MailProvider],
        *,
        strategy: StrategyName = "failover",
        weights: Sequence[float] | None = None,
        max_attempts: int = 3,
        deadline: float = 30.0,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        on_ambiguous: Literal["stop", "failover"] = "stop",
        on_unsupported: Literal["drop", "skip"] = "drop",
        breaker_threshold: int | None = 5,
        breaker_cooldown: float = 30.0,
        rate_limit: bool = True,
        rate_limit_wait: float = 1.0,
        store: StateStore | str | None = None,
        ledger: bool = True,
        claim_lease: float | None = None,
        redeliver_after: float | None = None,
        poll_window: float | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        telemetry: bool = True,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        random: _random.Random | None = None,
    ) -> None:
        providers = _providers(providers)
        max_attempts = args.whole(max_attempts, "max_attempts")
        deadline = args.number(deadline, "deadline", above=True)
        backoff = args.number(backoff, "backoff")
        backoff_max = args.number(backoff_max, "backoff_max")
        _check(backoff <= backoff_max, "backoff", "needs 0 <= backoff <= backoff_max")
        args.choice(on_ambiguous, "on_ambiguous", ("stop", "failover"))
        args.choice(on_unsupported, "on_unsupported", ("drop", "skip"))
        if breaker_threshold is not None:
            breaker_threshold = args.whole(breaker_threshold, "breaker_threshold")
        breaker_cooldown = args.number(breaker_cooldown, "breaker_cooldown")
        rate_limit_wait = args.number(rate_limit_wait, "rate_limit_wait")
        for name, value in (
            ("rate_limit", rate_limit),
            ("ledger", ledger),
            ("telemetry", telemetry),
        ):
            args.flag(value, name)
        if claim_lease is not None:
            claim_lease = args.number(claim_lease, "claim_lease")
            _check(
                claim_lease >= deadline,
                "claim_lease",
                "must be at least the deadline (a send must not outlive its claim)",
            )
        for name, hook in (("on_attempt", on_attempt), ("clock", clock), ("sleep", sleep)):
            args.function(hook, name)
        if random is not None and not isinstance(random, _random.Random):
            raise ValidationError(
                f"expected a random.Random, got {type(random).__name__}", field="random"
            )
        self.strategy = strategy
        self.max_attempts = max_attempts
        self.deadline = float(deadline)
        self.backoff, self.backoff_max = float(backoff), float(backoff_max)
        self.on_ambiguous = on_ambiguous
        self.on_unsupported = on_unsupported
        self.rate_limit_wait = float(rate_limit_wait)
        self.claim_lease = float(claim_lease) if claim_lease is not None else None
        self.redeliver_after = None if redeliver_after is None else float(redeliver_after)
        _check(
            redeliver_after is None or (ledger and redeliver_after > 0),
            "redeliver_after",
            "must be a positive number of seconds, and needs the ledger",
        )
        _check(poll_window is None or poll_window > 0, "poll_window", "must be positive")
        if isinstance(store, str):
            from ..stores import store as open_store

            store = open_store(store)
        elif store is not None and not isinstance(store, StateStore):
            raise ValidationError(
                f"expected a StateStore or a store URL, got {type(store).__name__}",
                field="store",
            )
        self.store: StateStore = store if store is not None else MemoryStore()
        self.on_attempt = on_attempt
        # a store other processes share is read against the clock they share
        shared = bool(getattr(self.store, "shared", False))
        self._clock = clock or (time.time if shared else time.monotonic)
        # in-process, keys are kept as long as a provider deduplicates one (an hour), so
        # that a long-running process does not grow with every key it ever sent
        retention = DEFAULT_RETENTION if shared else IN_PROCESS_RETENTION
        self.ledger: Ledger | None = Ledger(self.store, retention=retention) if ledger else None
        self._sleep = sleep or time.sleep
        self._random = random or _random.Random()
        self._random_lock = threading.Lock()
        self._order = Order(strategy, len(providers), weights, self._random, self._random_lock)
        entries = []
        for key, p in zip(_keys([p.name for p in providers]), providers, strict=True):
            breaker = (
                Breaker(self.store, key, threshold=breaker_threshold, cooldown=breaker_cooldown)
                if breaker_threshold is not None
                else None
            )
            rate = p.capabilities.rate_per_minute
            bucket = (
                TokenBucket(self.store, key, rate_per_minute=rate) if rate_limit and rate else None
            )
            entries.append(_Entry(key, p, breaker, bucket, Pause(self.store, key)))
        self._entries: list[_Entry] = entries
        self._by_key: dict[str, _Entry] = {e.key: e for e in entries}
        self._delivery = Delivery(
            self,
            retention=retention,
            redeliver_after=self.redeliver_after,
            poll_window=None if poll_window is None else float(poll_window),
        )
        # last: telemetry's breaker gauge reads every Mailer it was given, so one whose
        # settings were refused above must never be among them
        self._telemetry = otel.telemetry(self, telemetry)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Mailer:
        """A Mailer from the ``MAILSPEC_*`` variables the command line reads
        (``MAILSPEC_PROVIDERS``, ``MAILSPEC_STORE``, ``MAILSPEC_DEADLINE``…); ``options``
        go to the constructor and win. See :mod:`mailspec.mailer.config`."""
        return from_env(cls, environ, **options)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **options: Any) -> Mailer:
        """A Mailer from a mapping of the same settings (``{"providers": [...],
        "store": "redis://…", "deadline": 10}``); ``options`` go to the constructor and
        win. See :mod:`mailspec.mailer.config`."""
        return from_config(cls, config, **options)

    def __repr__(self) -> str:
        return f"<Mailer {self.strategy} [{', '.join(self.providers)}]>"

    @property
    def providers(self) -> list[str]:
        """The providers' keys, in the order given."""
        return [e.key for e in self._entries]

    def provider(self, key: str) -> MailProvider:
        """The provider known by ``key`` (a name, or ``name#2``…)."""
        return self._entry(key).provider

    def breaker(self, key: str) -> Breaker | None:
        """The breaker of the provider known by ``key`` (None when disabled), for
        inspection."""
        return self._entry(key).breaker

    def _entry(self, key: str) -> _Entry:
        entry = self._by_key.get(args.text(key, "provider"))
        if entry is None:
            raise ValidationError(
                f"this Mailer has no provider {key!r}; it has {', '.join(self.providers)}",
                field="provider",
            )
        return entry

    # --- sending -------------------------------------------------------------------------

    def send(self, message: Message) -> SendResult:
        """Send one message through the first provider that accepts it; see the module
        docstring for the order of events. Raises ValidationError (the message is
        invalid, whatever the provider), IdempotencyConflict (its idempotency key was
        used for a different message), SendInProgress (another sender holds the key
        right now; ClaimLost: it took the key over mid-send) or AllProvidersFailed (with
        every attempt)."""
        # the whole send, the ledger's calls included, within its deadline: a store
        # riding out an outage retries no longer than that (mailspec.stores.redis)
        with self._telemetry.sending() as sending, within(self.deadline):
            return sending.done(self._send_one(message))

    def _send_one(
        self, message: Message, *, claim_key: str | None = None, exclude: Collection[str] = ()
    ) -> SendResult:
        """One send; ``claim_key`` (default: the message's key) is its key in the ledger,
        ``exclude`` the providers it must not go to (a redelivery's)."""
        check_message(message)  # a message error stops here, before any provider
        key = message.idempotency_key
        if key is None:
            key = new_key()
            message = derived(message, idempotency_key=key)  # valid by construction
        taken = KeyClaim.take(
            self.ledger, claim_key or key, message, self.deadline, self._clock, self.claim_lease
        )
        if isinstance(taken, SendResult):
            return taken  # accepted before: the recorded result, no request
        deadline = self._clock() + self.deadline
        attempts: list[Attempt] = []
        try:
            # suppressed recipients left out before any request (Suppressed: none left)
            outgoing, suppressed = self._delivery.strip(message)
            result = self._send(outgoing, deadline, attempts, taken, exclude)
            if suppressed:
                result = msgspec.structs.replace(result, suppressed=suppressed)
        except BaseException as exc:
            taken.failed(maybe_sent=_maybe_sent(attempts, exc))
            if isinstance(exc, AllProvidersFailed):
                exc.idempotency_key = key
                raise
            if isinstance(exc, ClaimLost):
                exc.attempts = list(attempts)  # what this send did before it stopped
                raise
            if (
                isinstance(exc, MailspecError)
                or not isinstance(exc, Exception)  # an interruption (Ctrl-C, a cancellation)
                or not _requested(attempts)
            ):
                raise  # nothing went out (a store failing first, a bug of ours), as it is
            failure = AllProvidersFailed(
                attempts, f"stopped by {type(exc).__name__}: {exc} after a request was made"
            )
            failure.idempotency_key = key
            raise failure from exc
        taken.accepted(result)
        if claim_key is None:
            self._delivery.accepted(message, result)
        return result

    def _send(
        self,
        message: Message,
        deadline: float,
        attempts: list[Attempt],
        claim: KeyClaim,
        exclude: Collection[str] = (),
    ) -> SendResult:
        """:meth:`send`'s walk through the providers, recording into ``attempts``."""
        try:
            return self._walk(message, deadline, attempts, claim, exclude)
        except StoreError as exc:
            if not _requested(attempts):
                raise  # nothing went out
            raise AllProvidersFailed(
                attempts, f"stopped by the state store after a request was made: {exc}"
            ) from exc

    def _walk(
        self,
        message: Message,
        deadline: float,
        attempts: list[Attempt],
        claim: KeyClaim,
        exclude: Collection[str] = (),
    ) -> SendResult:
        """The providers in the strategy's order, after any an earlier, stopped send of
        this key may have reached (which are resolved first, or the send stops), but
        for those in ``exclude``."""
        for index in self._resolve_first(claim, attempts):
            if self._entries[index].key in exclude:
                continue
            entry = self._entries[index]
            if self._clock() >= deadline:
                raise AllProvidersFailed(attempts, self._out_of_time())
            outgoing, dropped, reason = self._fit(entry, message)
            if reason is None:
                try:
                    # the message was checked on entry: here only this provider's rules,
                    # once (retries deliver without checking again)
                    entry.provider.check_rules(outgoing)
                except (ValidationError, UnsupportedOperation) as exc:
                    reason = exc  # one of this provider's rules: another may take it
            if reason is not None:
                self._record(attempts, Attempt(entry.key, "skipped", 0.0, reason))
                # a provider an earlier send of the key may have reached, not asked now
                outcome: SendResult | _Outcome = (
                    _Outcome.AMBIGUOUS if entry.key in claim.suspects else _Outcome.MOVE_ON
                )
            else:
                outcome = self._try(entry, outgoing, dropped, deadline, attempts, claim)
                if outcome is _Outcome.MOVE_ON:
                    claim.cleared(entry.key)  # its answers say it does not have it
            if isinstance(outcome, SendResult):
                return outcome
            if outcome is _Outcome.DEADLINE:
                raise AllProvidersFailed(attempts, self._out_of_time())
            if outcome is _Outcome.AMBIGUOUS and self.on_ambiguous == "stop":
                stopped = AllProvidersFailed(
                    attempts,
                    f"{entry.key} may have accepted the message, so it was not sent elsewhere "
                    "(on_ambiguous='stop')",
                )
                stopped.ambiguous = True  # also when the reason was a skip, not a fault
                raise stopped
        if all(isinstance(a.error, UnsupportedOperation | ValidationError) for a in attempts):
            raise AllProvidersFailed(attempts, "no provider of this Mailer can carry this message")
        raise AllProvidersFailed(attempts)

    def _resolve_first(self, claim: KeyClaim, attempts: list[Attempt]) -> list[int]:
        """The order to try providers in. An earlier send of this key that stopped (its
        sender died, or it ended ambiguous) may have reached ``claim.suspects``. When
        that is one provider and it deduplicates the key, within its window, it goes
        first: sent the key again, it processes it once, and if it never had the
        message nobody else does. Otherwise a suspect cannot be asked (resending to one
        of two could deliver a second copy), so, as for any ambiguous attempt, the send
        stops there, unless ``on_ambiguous="failover"``."""
        order = list(self._order())
        first: list[int] = []
        alone = len(claim.suspects) == 1
        for suspect in claim.suspects:
            entry = self._by_key.get(suspect)
            index = self._entries.index(entry) if entry is not None else -1
            if entry is not None and alone and self._dedupes(entry, claim.first_at):
                first.append(index)
                continue
            self._record(attempts, Attempt(suspect, "failed", 0.0, UnresolvedSend(suspect)))
            if self.on_ambiguous == "stop":
                raise AllProvidersFailed(
                    attempts,
                    f"an earlier send of this key may have reached {suspect}, which cannot "
                    "be asked, so it was not sent again (on_ambiguous='stop')",
                )
        return first + [i for i in order if i not in first]

    def _dedupes(self, entry: _Entry, since: float) -> bool:
        """Whether ``entry``'s provider processes a repeat of a key first sent at
        ``since`` once (it declares a window, and the window has not passed)."""
        window = entry.provider.capabilities.idempotency_window
        return window is not None and self._clock() - since < window

    def _fit(
        self, entry: _Entry, message: Message
    ) -> tuple[Message, list[str], MailspecError | None]:
        """``message`` as ``entry``'s provider would be sent it, the fields dropped for
        it, or why it cannot take the message at all (no request)."""
        reason = cannot_carry(entry.provider, message, entry.key)
        if reason is not None:
            return message, [], reason
        unplaced = entry.provider.unplaced(message)
        if not unplaced:
            return message, [], None
        if self.on_unsupported == "skip" or not DROPPABLE.issuperset(unplaced):
            fields = ", ".join(repr(f) for f in unplaced)
            what = f"the message field{'s' if len(unplaced) > 1 else ''} {fields}"
            return message, [], UnsupportedOperation(entry.key, what, "it has no place for it")
        empty = {field: type(getattr(message, field))() for field in unplaced}
        return msgspec.structs.replace(message, **empty), unplaced, None

    def send_many(
        self,
        messages: Iterable[Message],
        *,
        concurrency: int = 8,
        on_progress: Progress | None = None,
    ) -> list[SendResult | Exception]:
        """Send every message, ``concurrency`` at a time, and return one outcome per
        message in input order: its :class:`~mailspec.SendResult`, or the exception its
        :meth:`send` raised (ValidationError, AllProvidersFailed, SendInProgress…, any
        Exception), so one failure never stops the others. ``isinstance(outcome,
        SendResult)`` tells them apart.

        Each message goes through :meth:`send` on a pool of ``concurrency`` threads
        (``1``: one after another in the calling thread): strategy, retries, breakers,
        rate limits, the ledger and idempotency keys hold as for a single send, shared
        by the threads. A provider whose documented rate is below what the threads
        send waits for tokens up to ``rate_limit_wait`` a message, then is skipped for
        the next provider, as in :meth:`send`: raise ``rate_limit_wait`` (or lower
        ``concurrency``) to queue behind its rate instead. Each provider keeps
        ``concurrency`` keep-alive connections from now on, so the threads do not open
        and close connections all the time. A message whose idempotency key comes twice
        in a batch is sent once: the later one's outcome is the recorded result
        (``replayed``), or SendInProgress while the first is under way; a different
        message under the same key is IdempotencyConflict.

        ``on_progress(done, total, outcome)`` is called after each message, one call at
        a time from the sending threads; an exception it raises is logged and ignored.
        A KeyboardInterrupt (or another BaseException) stops the batch: messages not
        started are not sent, those under way finish (and are recorded in the ledger),
        and it is raised.

        CloudMails' batch endpoint (``POST /send/batch``, up to 1,000 messages a
        request) is not used: one request would carry many messages, so one failure or
        ambiguous answer would span all of them, and the retries, failover, ledger
        claims and idempotency keys, which are per message, would not map onto it.
        Concurrent single sends keep each message's outcome its own; a provider's own
        ``send_many`` sends a batch request where its API has one.
        """
        batch = messages_of(messages)
        args.function(on_progress, "on_progress")
        threads = workers(concurrency, len(batch))
        if threads > 1:
            for entry in self._entries:
                entry.provider.ensure_pool_size(threads)
        return send_all(self.send, batch, threads, on_progress)

    def _try(
        self,
        entry: _Entry,
        message: Message,
        dropped: list[str],
        deadline: float,
        attempts: list[Attempt],
        claim: KeyClaim,
    ) -> SendResult | _Outcome:
        """Up to ``max_attempts`` sends to one provider (of ``message`` without the
        ``dropped`` fields). An ambiguous attempt is sent again, with the same key,
        where the provider deduplicates it: that resolves it."""
        key = entry.key
        may_hold = key in claim.suspects  # an earlier send of the key may have reached it
        for number in range(1, self.max_attempts + 1):
            now = self._clock()  # send() checked the deadline before the first attempt
            gate, until = (
                entry.breaker.gate(now) if entry.breaker is not None else (Gate.CLOSED, None)
            )
            unresolved = _Outcome.AMBIGUOUS if may_hold else _Outcome.MOVE_ON
            if gate is Gate.OPEN:
                error = CircuitOpen(key, until)
                self._record(attempts, Attempt(key, "skipped", 0.0, error))
                return unresolved
            # a provider that may hold the message and deduplicates it is the one safe
            # place to send it again: wait for it until the deadline, not give up ambiguous
            patience = (
                deadline - now
                if may_hold and self._dedupes(entry, claim.first_at)
                else self.rate_limit_wait
            )
            paused = self._wait_out_pause(entry, deadline, patience)
            if paused is not None:
                self._release(entry, gate)
                self._record(attempts, Attempt(key, "skipped", 0.0, paused))
                return unresolved
            now = self._clock()
            if entry.bucket is not None:
                wait = entry.bucket.reserve(now, min(patience, deadline - now))
                if wait is None:
                    self._release(entry, gate)
                    limited = ClientRateLimited(key, entry.bucket.rate * 60)
                    self._record(attempts, Attempt(key, "skipped", 0.0, limited))
                    return unresolved
                if wait > 0:
                    self._sleep(wait)
            try:
                claim.before_request(key)  # the key still ours? (ClaimLost: no request)
            except BaseException:
                self._release(entry, gate)  # no request: the probe tested nothing
                raise
            started = self._clock()
            try:
                with within(deadline - started):  # the transport ends a request by then
                    accepted = self._deliver(entry, message, may_hold, claim, attempts, started)
            # found out before any request: nothing sent, nothing learnt about the provider
            except (ValidationError, UnsupportedOperation, RequestNotStarted) as exc:
                self._release(entry, gate)
                skipped = Attempt(key, "skipped", self._clock() - started, exc, dropped)
                self._record(attempts, skipped)
                return unresolved
            except MailspecError as exc:
                failed = Attempt(key, "failed", self._clock() - started, exc, dropped)
                self._record(attempts, failed)
                _keep_books(entry, "its breaker", partial(self._health, entry, exc))
                delay = self._delay(number, exc) if _rate_limited(exc) else None
                if delay is not None:
                    extend = partial(entry.pause.extend, self._clock(), delay)
                    _keep_books(entry, "its pause", extend)  # every sender holds off
                may_hold = may_hold or exc.ambiguous
                resend = exc.ambiguous and self._dedupes(entry, claim.first_at)
                if exc.ambiguous and not resend:
                    return _Outcome.AMBIGUOUS
                if not (exc.retryable or resend) or number == self.max_attempts:
                    return _Outcome.AMBIGUOUS if may_hold else _Outcome.MOVE_ON
                if delay is None:
                    delay = self._delay(number, exc)
                if self._clock() + delay >= deadline:
                    # no time to wait here: maybe another is quicker, unless this one may
                    # hold the message already
                    return _Outcome.AMBIGUOUS if may_hold else _Outcome.MOVE_ON
                self._sleep(delay)
                if self._clock() >= deadline:  # the sleep overran
                    return _Outcome.DEADLINE
                continue
            except BaseException as exc:  # not ours: it tested nothing, so free a probe
                self._release(entry, gate)
                if written_to(exc) is not None:
                    # cancelled with the request out: the provider may have the message,
                    # as after a timeout, and the ledger must keep the key as maybe sent
                    cut = TransportError(
                        key, "cancelled after the request was written", ambiguous=True
                    )
                    self._record(
                        attempts, Attempt(key, "failed", self._clock() - started, cut, dropped)
                    )
                raise
            try:
                return self._accepted(entry, message, accepted, dropped, attempts, started)
            except BaseException as exc:
                if not isinstance(exc, Exception):  # accepted, and not on the result yet
                    mark_written(exc, key)
                raise
        return _Outcome.MOVE_ON

    def _accepted(
        self,
        entry: _Entry,
        message: Message,
        accepted: SendResult,
        dropped: list[str],
        attempts: list[Attempt],
        started: float,
    ) -> SendResult:
        """Record the accepted attempt (first, so that an interruption from here on
        leaves the key maybe sent), tell the breaker, and make the result."""
        attempt = Attempt(entry.key, "accepted", self._clock() - started, None, dropped)
        self._record(attempts, attempt)
        if entry.breaker is not None:
            _keep_books(entry, "its breaker", entry.breaker.success)
        return SendResult(
            provider=entry.key,
            message_ids=list(accepted.message_ids),
            attempts=attempts,
            refused=dict(accepted.refused),  # recipients an SMTP server turned away
            dropped=dropped,
            idempotency_key=message.idempotency_key,
        )

    def _deliver(
        self,
        entry: _Entry,
        message: Message,
        may_hold: bool,
        claim: KeyClaim,
        attempts: list[Attempt],
        started: float,
    ) -> SendResult:
        """One delivery. Sent again to a provider that may hold it and deduplicates
        its key, a "duplicate request" answer means it has the message: accepted, its
        ids unknown (the refusal is kept as a failed attempt before it)."""
        try:
            return entry.provider.deliver(message)
        except ConflictError as exc:
            if not (may_hold and self._dedupes(entry, claim.first_at)):
                raise
            self._record(attempts, Attempt(entry.key, "failed", self._clock() - started, exc))
            return SendResult(provider=entry.key, message_ids=[])

    def _wait_out_pause(
        self, entry: _Entry, deadline: float, patience: float
    ) -> ProviderPaused | None:
        """Sleep through the provider's pause when it ends within ``patience`` seconds
        (in all, and before the deadline): None, go ahead. Otherwise the marker for a
        skipped attempt, so the message goes out now through another provider instead
        of queueing behind one that asked us to slow down. A pause another sender
        extends meanwhile is waited for too, within the same budget."""
        budget = min(patience, deadline - self._clock())
        while True:
            now = self._clock()
            remaining = entry.pause.remaining(now)
            if remaining <= 0:
                return None
            if remaining > budget:
                return ProviderPaused(entry.key, now + remaining, remaining)
            self._sleep(remaining)
            budget -= remaining

    def _delay(self, number: int, error: MailspecError) -> float:
        """The wait before retry ``number`` (1 = the first retry): the provider's own
        Retry-After when it gave one, otherwise capped exponential backoff, full jitter."""
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            return retry_after
        ceiling = min(self.backoff_max, self.backoff * 2 ** (number - 1))
        with self._random_lock:
            return self._random.uniform(0.0, ceiling)

    def _health(self, entry: _Entry, error: MailspecError) -> None:
        if entry.breaker is None:
            return
        if not counts_as_failure(error):
            entry.breaker.success()  # the provider is up and answering
        elif entry.breaker.failure(self._clock()):
            log.warning(
                "%s: circuit opened for %gs after repeated failures (last: %s)",
                entry.key,
                entry.breaker.cooldown,
                type(error).__name__,
                extra={"provider": entry.key},
            )

    @staticmethod
    def _release(entry: _Entry, gate: Gate) -> None:
        if gate is Gate.PROBE and entry.breaker is not None:
            # a probe left unreleased is forgotten after a cooldown: never worth raising
            # over, least of all in place of the error that stopped the send
            _keep_books(entry, "the release of its probe", entry.breaker.release)

    def _out_of_time(self) -> str:
        return f"the send deadline of {self.deadline:g}s passed"

    def _record(self, attempts: list[Attempt], attempt: Attempt) -> None:
        attempts.append(attempt)
        self._telemetry.attempt(attempts)
        error_class = type(attempt.error).__name__ if attempt.error is not None else None
        level = logging.WARNING if attempt.outcome == "failed" else logging.DEBUG
        if attempt.dropped and attempt.outcome == "accepted":
            level = logging.INFO  # sent without some of the message: never silently
        if log.isEnabledFor(level):
            log.log(
                level,
                "%s %s in %.3fs%s%s",
                attempt.provider,
                attempt.outcome,
                attempt.duration,
                f" without {', '.join(attempt.dropped)} (no place for them)"
                if attempt.dropped
                else "",
                f" ({error_class}: {attempt.error})" if attempt.error is not None else "",
                extra={
                    "provider": attempt.provider,
                    "outcome": attempt.outcome,
                    "error_class": error_class,
                    "duration": attempt.duration,
                    "dropped": attempt.dropped,
                },
            )
        if self.on_attempt is not None:
            try:
                self.on_attempt(attempt)
            except Exception:
                log.exception("the on_attempt callback failed (ignored)")

    # --- status --------------------------------------------------------------------------

    def status(
        self,
        result: SendResult,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]:
        """The delivery status of a sent message, from the provider that accepted it.

        A direct call: no retries, breaker or rate limiting (it changes nothing, so
        the caller may simply ask again). Raises ValidationError when this Mailer has no
        provider by ``result.provider``, UnsupportedOperation when that provider cannot
        report status. A result without message ids has nothing to ask about: ``[]``.
        """
        if not isinstance(result, SendResult):
            raise ValidationError(
                f"expected the SendResult of a send, got {type(result).__name__}", field="result"
            )
        entry = self._entry(result.provider)
        if not entry.provider.capabilities.status:
            raise UnsupportedOperation(entry.key, "status")
        if not result.message_ids:
            return []
        return entry.provider.status(
            result.message_ids,
            since=since,
            until=until,
            recipient=recipient,
        )

    # --- after acceptance: timeline, suppressions, redelivery (mailer/delivery.py) ----

    @property
    def suppressions(self) -> SuppressionList:
        """The addresses this Mailer sends nothing to, whichever provider: in its store,
        so every process sharing the store agrees. See :mod:`mailspec.mailer.suppressions`."""
        return self._delivery.suppressions

    def record(self, events: Iterable[Event]) -> int:
        """Keep providers' events (``mailspec.webhooks.Event``: from a webhook receiver,
        or built by hand) in their messages' timelines, and suppress the recipients a
        bounce, complaint or unsubscribe calls for; the number of events that were new
        (the same event again is kept once)."""
        return self._delivery.record(events)

    def timeline(self, result_or_key: SendResult | str) -> Timeline:
        """What became of a sent message (its :class:`~mailspec.SendResult`, or its
        idempotency key): ``.events`` in severity order, ``.state``, ``.duplicates``.
        See :mod:`mailspec.mailer.timeline`."""
        return self._delivery.timeline(result_or_key)

    def poll(self) -> int:
        """Ask the providers about tracked sends with no outcome yet (within their rate
        limits) and record what they say; the number of new events. Sends are tracked
        with ``redeliver_after`` or ``poll_window``."""
        return self._delivery.poll()

    def redeliver_due(self) -> list[SendResult]:
        """Send each message that is due once more, through the next provider that has
        not had it, under the same idempotency key; the results of the redeliveries made
        now. Nothing is ever due without ``redeliver_after``. See
        :mod:`mailspec.mailer.delivery`."""
        return self._delivery.redeliver_due()

    def _redeliver(self, message: Message, claim_key: str, had: Collection[str]) -> SendResult:
        """One redelivery of ``message``, claimed in the ledger as ``claim_key``."""
        with self._telemetry.sending() as sending, within(self.deadline):
            if sending.span is not None:
                sending.span.set_attribute("mailspec.redelivery", True)
            return sending.done(self._send_one(message, claim_key=claim_key, exclude=had))


def _keep_books(entry: _Entry, what: str, update: Callable[[], object]) -> None:
    """Update a provider's breaker or pause after a request. A store failing here is
    logged (WARNING) and ignored: what the request did (a message accepted, an error
    to act on) must reach the caller, and the next send reads the store afresh."""
    try:
        update()
    except StoreError as exc:
        log.warning(
            "%s: %s was not updated: %s", entry.key, what, exc, extra={"provider": entry.key}
        )


def _rate_limited(error: MailspecError) -> bool:
    """Whether ``error`` is the provider telling us to slow down (also when it stopped a
    delivery part-way)."""
    if isinstance(error, PartialDeliveryError):
        return isinstance(error.cause, RateLimitError)
    return isinstance(error, RateLimitError)


def _maybe_sent(attempts: Sequence[Attempt], error: BaseException) -> bool:
    """Whether a provider may hold the message after a send that ended in ``error``:
    an attempt was ambiguous, ``error`` is an interruption marked as coming after a
    request was written (:func:`~mailspec.errors.mark_written`), or a request was made
    before something else broke."""
    if any(a.error is not None and a.error.ambiguous for a in attempts):
        return True
    if written_to(error) is not None:
        return True
    return not isinstance(error, MailspecError) and _requested(attempts)


def _requested(attempts: Sequence[Attempt]) -> bool:
    """Whether a request was made for this message already (an attempt failed, or one
    was accepted before something else broke)."""
    return any(a.outcome != "skipped" for a in attempts)


def _providers(given: object) -> list[MailProvider]:
    """The providers a Mailer was given: one or more, each built by
    :func:`mailspec.provider` (or a user's package of them): a name and capabilities."""
    providers = args.items(given, "providers", "providers")
    if not providers:
        raise ValidationError("a Mailer needs at least one provider", field="providers")
    for provider in providers:
        if not (
            isinstance(getattr(provider, "name", None), str)
            and isinstance(getattr(provider, "capabilities", None), Capabilities)
        ):
            raise ValidationError(
                f"expected providers built by mailspec.provider(), got {type(provider).__name__}",
                field="providers",
            )
    return providers


def _check(ok: bool, field: str, why: str) -> None:
    if not ok:
        raise ValidationError(why, field=field)
