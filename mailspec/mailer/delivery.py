"""What a Mailer learns after a provider accepted a message, and what it does about it:
the timeline (:mod:`.timeline`), the suppression list (:mod:`.suppressions`), status
lookups of recent sends (:meth:`Delivery.poll`) and failover on the delivery outcome
(:meth:`Delivery.redeliver_due`).

**Tracked sends.** With ``Mailer(redeliver_after=...)`` or ``Mailer(poll_window=...)``,
each accepted send is tracked until its outcome is known: ``delivery:<key>`` holds when
it was accepted (on the Mailer's clock) and, for redelivery, the message itself (its
attachments included: the store then holds what it would take to send it again, for
the ledger's retention at most); :data:`OPEN_SHARDS` records ``delivery-open:<n>`` list
the keys still open. A key leaves them when a recipient's outcome is known (delivered,
opened, clicked, bounced, rejected, unsubscribed, complained), when it was redelivered
(or could not be, for certain), or when its record has expired. Without either option
nothing is tracked, and :meth:`Delivery.poll` and :meth:`Delivery.redeliver_due` have
nothing to do.

**When a message is due** (only with ``redeliver_after``): at once when its provider
reported ``failed`` (the provider dropped it: its failure, not the recipient's) and no
recipient's outcome; ``redeliver_after`` seconds after it was accepted when no event
beyond ``queued``/``sent`` came (``deferred`` and ``soft_bounced`` say the provider is
still trying: not due). A bounce, complaint, rejection or unsubscribe is the
recipient's answer and is never redelivered.

**Redelivery** sends the tracked message once more, through the providers of the
strategy that have not had it (not the one that accepted it, nor one an ambiguous
attempt may have reached), under the same idempotency key, so a provider that
deduplicates keys processes it once. It is a send of its own in the ledger, under
``<key>/redelivery``: claimed, fenced before each request, recorded when accepted, so
of several processes running :meth:`Delivery.redeliver_due` at once one sends it and
the others find it held or recorded, and a worker killed mid-redelivery leaves it for
the next run to resolve as any ambiguous send is resolved (never sent blind). Recipients
suppressed since the first send are left out again. A redelivery that failed for
certain (every provider refused it, nothing went out) is tried again on the next run; one
that ended ambiguous, or whose recipients are all suppressed now, is closed and logged.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import msgspec

from ..errors import (
    AllProvidersFailed,
    MailspecError,
    SendInProgress,
    StoreError,
    Suppressed,
    UnsupportedOperation,
)
from ..message import Message
from ..results import SendResult
from ..stores.base import transact
from ..vocabulary import DeliveryState, EventType
from .claims import recorded_result
from .suppressions import SuppressionList, suppressing
from .timeline import EventBook, Send, Timeline

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping, Sequence

    from ..contract import MailProvider
    from ..otel import Telemetry
    from ..results import DeliveryStatus
    from ..webhooks.events import Event
    from .ledger import Ledger
    from .limiter import TokenBucket
    from .store import StateStore

__all__ = ["OPEN_SHARDS", "REDELIVERY_SUFFIX", "Delivery", "redelivery_key"]

log = logging.getLogger("mailspec.mailer")

OPEN_SHARDS = 16
REDELIVERY_SUFFIX = "/redelivery"
# a recipient's outcome: the send is settled, whatever comes later
_SETTLED = (
    EventType.DELIVERED,
    EventType.OPENED,
    EventType.CLICKED,
    EventType.BOUNCED,
    EventType.COMPLAINED,
    EventType.REJECTED,
    EventType.UNSUBSCRIBED,
)
_QUIET = (EventType.QUEUED, EventType.SENT, EventType.UNKNOWN)  # nothing beyond acceptance
# a status lookup's state as an event type (a lookup shows no ``sent`` or ``deferred``)
_STATE_EVENT = {DeliveryState.SENDING: EventType.SENT}


def redelivery_key(key: str) -> str:
    """The ledger key of ``key``'s redelivery."""
    return f"{key}{REDELIVERY_SUFFIX}"


class _Tracked(msgspec.Struct, frozen=True, omit_defaults=True):
    """One tracked send: accepted at ``accepted_at`` by ``provider``; ``message`` (for a
    redelivery) as msgspec JSON; ``closed`` once its outcome is known."""

    accepted_at: float
    provider: str
    message: bytes | None = None
    closed: bool = False


class _Open(msgspec.Struct, frozen=True):
    keys: dict[str, float] = {}  # idempotency key -> accepted at


class ProviderEntry(Protocol):
    """What delivery reads of one of its Mailer's providers."""

    @property
    def key(self) -> str: ...

    @property
    def provider(self) -> MailProvider: ...

    @property
    def bucket(self) -> TokenBucket | None: ...


class Owner(Protocol):
    """What delivery reads of the Mailer it works for: its store, ledger, clock,
    telemetry and providers, and its redelivery. A protocol, so that this module never
    imports the Mailer's, which holds a Delivery."""

    @property
    def store(self) -> StateStore: ...

    @property
    def ledger(self) -> Ledger | None: ...

    @property
    def providers(self) -> list[str]: ...

    @property
    def _clock(self) -> Callable[[], float]: ...

    @property
    def _telemetry(self) -> Telemetry: ...

    @property
    def _entries(self) -> Sequence[ProviderEntry]: ...

    @property
    def _by_key(self) -> Mapping[str, ProviderEntry]: ...

    def _redeliver(self, message: Message, claim_key: str, had: Collection[str]) -> SendResult: ...


class Delivery:
    """A Mailer's timeline, suppressions, polling and redelivery, on its store."""

    def __init__(
        self,
        mailer: Owner,
        *,
        retention: float,
        redeliver_after: float | None,
        poll_window: float | None,
    ) -> None:
        self.mailer = mailer
        self.store = mailer.store
        self.retention = retention
        self.redeliver_after = redeliver_after
        self.poll_window = poll_window
        self.tracking = redeliver_after is not None or poll_window is not None
        self.events = EventBook(self.store, retention=retention)
        self.suppressions = SuppressionList(
            self.store, clock=_wall_clock, sync=self.sync_suppressions
        )

    # --- recording ------------------------------------------------------------------

    def record(self, events: Iterable[Event]) -> int:
        """Keep ``events`` in their messages' timelines, suppress the recipients they call
        for; the number that were new (a repeat of a kept event is not counted)."""
        given = list(events)
        new = self.events.record(given)
        added = 0
        for event in given:
            if suppressing(event):
                before = event.recipient is not None and event.recipient in self.suppressions
                if self.suppressions.note(event) is not None and not before:
                    added += 1
        self.mailer._telemetry.recorded(new, len(given) - len(new), added)
        return len(new)

    def timeline(self, result_or_key: SendResult | str) -> Timeline:
        """The timeline of a sent message, by its result or its idempotency key."""
        if isinstance(result_or_key, SendResult):
            key = result_or_key.idempotency_key
            sends = self.sends(key) if key is not None else []
            own = Send(result_or_key.provider, list(result_or_key.message_ids))
            if not any(
                s.provider == own.provider and s.message_ids == own.message_ids for s in sends
            ):
                sends.insert(0, own)
        elif isinstance(result_or_key, str):
            key, sends = result_or_key, self.sends(result_or_key)
        else:
            from ..errors import ValidationError

            raise ValidationError(
                f"expected a SendResult or an idempotency key, got {type(result_or_key).__name__}",
                field="result_or_key",
            )
        return self.events.timeline(key, sends)

    def sends(self, key: str) -> list[Send]:
        """The acceptances of ``key`` the ledger recorded: the send, and its redelivery."""
        ledger = self.mailer.ledger
        if ledger is None:
            return []
        out = []
        for ledger_key, redelivery in ((key, False), (redelivery_key(key), True)):
            result = recorded_result(ledger, ledger_key)
            if result is not None:
                out.append(Send(result.provider, list(result.message_ids), redelivery))
        return out

    # --- sends and suppressions, around Mailer.send --------------------------------

    def strip(self, message: Message) -> tuple[Message, list[str]]:
        """``message`` without its suppressed recipients, and those; Suppressed when none
        is left (nothing is sent)."""
        kept, left_out = self.suppressions.strip(message)
        if left_out:
            self.mailer._telemetry.suppressed(len(left_out))
            # a message left to cc or bcc alone goes on (SMTP sends it; a provider whose
            # API needs a `to` skips it by rule): only one left to nobody is Suppressed
            if not (kept.to or kept.cc or kept.bcc):
                raise Suppressed(left_out, message.idempotency_key)
        return kept, left_out

    def accepted(self, message: Message, result: SendResult) -> None:
        """Track an accepted send (when this Mailer tracks sends). A store failing here
        is logged: the message went out, and the caller must learn that."""
        key = result.idempotency_key
        if not self.tracking or key is None or result.replayed:
            return
        keep = msgspec.json.encode(message) if self.redeliver_after is not None else None
        tracked = _Tracked(self.mailer._clock(), result.provider, keep)
        try:
            self.store.compare_and_set(
                _tracked_key(key), None, msgspec.json.encode(tracked), self.retention
            )
            self._open(key, tracked.accepted_at)
        except StoreError as exc:
            log.warning("idempotency key %s: its send was not tracked: %s", key, exc)

    # --- polling --------------------------------------------------------------------

    def poll(self) -> int:
        """Ask each provider with a status operation about its tracked sends that have no
        outcome yet, as far as its rate limit lets without waiting, and record what it
        says; the number of new events. A provider that fails is logged and skipped."""
        now = self.mailer._clock()
        events: list[Event] = []
        skipped: set[str] = set()
        for key, accepted_at in self._open_keys():
            if self.poll_window is not None and now - accepted_at > self.poll_window:
                if self.redeliver_after is None:
                    self._close(key)  # past its window, and nothing else will need it
                continue
            timeline = self.timeline(key)
            if timeline.has(*_SETTLED):
                self._close(key)  # its outcome is known: nothing more to ask
                continue
            for send in timeline.sends:
                if send.provider in skipped or not send.message_ids:
                    continue
                found = self._ask(send, skipped)
                events.extend(_as_event(status) for status in found)
        return self.record(events)

    def _ask(self, send: Send, skipped: set[str]) -> list[DeliveryStatus]:
        mailer = self.mailer
        entry = mailer._by_key.get(send.provider)
        if entry is None or not entry.provider.capabilities.status:
            skipped.add(send.provider)
            return []
        if entry.bucket is not None and entry.bucket.reserve(mailer._clock(), 0.0) is None:
            skipped.add(send.provider)  # its rate is used up for now: the next poll asks
            return []
        try:
            return entry.provider.status(send.message_ids)
        except MailspecError as exc:
            log.warning("%s: status lookup failed: %s", send.provider, exc)
            skipped.add(send.provider)
            return []

    # --- redelivery -----------------------------------------------------------------

    def redeliver_due(self) -> list[SendResult]:
        """Send each due message once more; the results of the redeliveries made now."""
        if self.redeliver_after is None:
            return []
        made = []
        for key, accepted_at in self._open_keys():
            result = self._settle(key, accepted_at)
            if result is not None:
                made.append(result)
        return made

    def _settle(self, key: str, accepted_at: float) -> SendResult | None:
        tracked = self._tracked(key)
        if tracked is None or tracked.closed:
            self._close(key)
            return None
        timeline = self.timeline(key)
        if timeline.has(*_SETTLED):
            self._close(key)
            return None
        failed = timeline.has(EventType.FAILED)
        quiet = all(event.type in _QUIET for event in timeline.events)
        assert self.redeliver_after is not None
        late = self.mailer._clock() >= accepted_at + self.redeliver_after
        if not (failed or (quiet and late)):
            return None
        return self._redeliver(key, tracked, timeline)

    def _redeliver(self, key: str, tracked: _Tracked, timeline: Timeline) -> SendResult | None:
        if tracked.message is None:
            self._close(key)
            return None
        message = msgspec.json.decode(tracked.message, type=Message)
        had = {send.provider for send in timeline.sends}
        if all(provider in had for provider in self.mailer.providers):
            log.warning("idempotency key %s: not redelivered: no other provider", key)
            self.mailer._telemetry.redelivered("abandoned")
            self._close(key)
            return None
        try:
            result = self.mailer._redeliver(message, redelivery_key(key), had)
        except SendInProgress:
            return None  # another process is redelivering it right now
        except (Suppressed, AllProvidersFailed) as exc:
            if isinstance(exc, AllProvidersFailed) and not exc.ambiguous:
                log.warning(
                    "idempotency key %s: redelivery failed, tried again later: %s", key, exc
                )
                self.mailer._telemetry.redelivered("failed")
                return None
            log.warning("idempotency key %s: not redelivered: %s", key, exc)
            self.mailer._telemetry.redelivered("abandoned")
            self._close(key)
            return None
        self._close(key)
        if result.replayed:
            return None  # redelivered before (by another process)
        log.info(
            "idempotency key %s redelivered through %s (first accepted by %s)",
            key,
            result.provider,
            tracked.provider,
            extra={"idempotency_key": key, "provider": result.provider},
        )
        self.mailer._telemetry.redelivered("accepted")
        return result

    # --- suppression sync -----------------------------------------------------------

    def sync_suppressions(self) -> dict[str, str]:
        """Merge into the suppression list what each provider's status lookup reports
        for the ledger's retention (bounced, complained, unsubscribed, and rejected for
        ``blacklisted``/``unsubscribed``); per provider key, what was done. No provider
        of mailspec declares a suppression API in its spec, so nothing is pushed to
        the providers: they learn of a suppression only by getting no mail for it."""
        since = datetime.now(UTC) - timedelta(seconds=min(self.retention, 30 * 86400))
        done: dict[str, str] = {}
        for entry in self.mailer._entries:
            if not entry.provider.capabilities.status:
                done[entry.key] = "no status operation: nothing to read"
                continue
            try:
                statuses = entry.provider.status(None, since=since)
            except UnsupportedOperation:
                done[entry.key] = "cannot list its records by date: nothing to read"
                continue
            except MailspecError as exc:
                done[entry.key] = f"status lookup failed: {type(exc).__name__}"
                continue
            events = [_as_event(status) for status in statuses]
            added = 0
            for event in events:
                if event.recipient and suppressing(event):
                    before = event.recipient in self.suppressions
                    self.suppressions.note(event, entry.key)
                    added += not before
            done[entry.key] = f"{added} added from {len(statuses)} status records"
        return done

    # --- the open index -------------------------------------------------------------

    def _open(self, key: str, accepted_at: float) -> None:
        def change(current: _Open) -> tuple[_Open, None]:
            return _Open({**current.keys, key: accepted_at}), None

        transact(self.store, _open_key(key), _Open, _Open(), change)

    def _close(self, key: str) -> None:
        def change(current: _Open) -> tuple[_Open, None]:
            if key not in current.keys:
                return current, None
            return _Open({k: at for k, at in current.keys.items() if k != key}), None

        transact(self.store, _open_key(key), _Open, _Open(), change)

    def _open_keys(self) -> Iterator[tuple[str, float]]:
        for shard in range(OPEN_SHARDS):
            raw = self.store.get(f"delivery-open:{shard}")
            if raw is None:
                continue
            try:
                keys = msgspec.json.decode(raw, type=_Open).keys
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            yield from sorted(keys.items(), key=lambda item: item[1])

    def open_count(self) -> int:
        """How many tracked sends have no known outcome yet."""
        return sum(1 for _ in self._open_keys())

    def _tracked(self, key: str) -> _Tracked | None:
        raw = self.store.get(_tracked_key(key))
        if raw is None:
            return None
        try:
            return msgspec.json.decode(raw, type=_Tracked)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None


def _as_event(status: DeliveryStatus) -> Event:
    """A status lookup's record as the event it reports."""
    from ..webhooks.events import Event

    return Event(
        provider=status.provider.partition("#")[0],
        type=_STATE_EVENT.get(status.state) or EventType(status.state.value),
        event=status.code or status.state.value,
        message_id=status.message_id,
        recipient=status.recipient,
        timestamp=status.timestamp,
        reason=status.reason,
        description=status.description,
    )


def _tracked_key(key: str) -> str:
    return f"delivery:{key}"


def _open_key(key: str) -> str:
    return f"delivery-open:{zlib.crc32(key.encode()) % OPEN_SHARDS}"


def _wall_clock() -> float:
    import time

    return time.time()
