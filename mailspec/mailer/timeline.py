"""One timeline per message: what the providers reported after accepting it, kept in
the Mailer's store, merged so that its state does not depend on the order events came.

Events are kept under the provider's name and its message id
(``events:<provider>:<message id>``), the two things every webhook and status record
carries, so an event is kept even when it arrives before the send that it is about is
recorded (a webhook can beat the ledger's write), and several processes recording
into one store keep one list. A message's timeline is the events of every send of it:
the accepted one, and a redelivery (:mod:`mailspec.mailer.redeliver`).

**Deduplication.** The same event twice — same provider, type, message id, recipient
(compared lower-cased) and time: a provider retrying a webhook, or a status lookup
reporting what a webhook already did — is kept once. Two events that differ in any of
these are two events (a provider that reports ``delivered`` twice with two times).

**Severity.** :data:`SEVERITY`, highest first. A timeline's events are listed in that
order (then by time, the earliest first; an event without a time last), and its
``state`` is the unified delivery state of the first: a late ``delivered`` never hides a
``complained``, and any order of the same events gives the same timeline. One exception:
a ``failed`` (the provider dropped the message) of a send that was redelivered stays in
the events but no longer sets the state, which is what became of the redelivery.

**Duplicates.** ``Timeline.duplicates`` counts deliveries beyond the first: for each
recipient, the sends (provider and message id) that reported ``delivered`` to it, less
one (a delivery reported without a recipient, as a status record may be, counts for
each). A message that provider A delivered after all and B delivered after a
redelivery has one; a provider repeating its ``delivered`` event for one send has none.

Each events record keeps at most :data:`MAX_EVENTS` events (opens and clicks can be
many); past it, a new event of a lower severity than all kept is not kept, otherwise
the least severe is dropped for it, so a bounce or complaint is never crowded out. A
record expires with the ledger's retention. ``raw`` is not kept (it can be large and
hold what the provider echoed back).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from ..errors import ValidationError
from ..stores.base import StateStore, transact
from ..vocabulary import BounceReason, DeliveryState, EventType

if TYPE_CHECKING:  # the webhooks package (and the spec model) only when events come
    from ..webhooks.events import Event

__all__ = [
    "MAX_EVENTS",
    "MAX_MESSAGE_ID",
    "SEVERITY",
    "EventBook",
    "Send",
    "Timeline",
    "provider_name",
]

# Highest first. ``deferred`` and ``sent`` (steps only events show) sit just above
# ``sending``, which they are states of; ``unknown`` (an event the spec does not name)
# below everything.
SEVERITY: tuple[EventType, ...] = (
    EventType.COMPLAINED,
    EventType.BOUNCED,
    EventType.REJECTED,
    EventType.UNSUBSCRIBED,
    EventType.FAILED,
    EventType.SOFT_BOUNCED,
    EventType.CLICKED,
    EventType.OPENED,
    EventType.DELIVERED,
    EventType.DEFERRED,
    EventType.SENT,
    EventType.QUEUED,
    EventType.UNKNOWN,
)
_RANK = {event_type: rank for rank, event_type in enumerate(SEVERITY)}
# the delivery state an event type puts a message in
_STATE = {
    EventType.SENT: DeliveryState.SENDING,
    EventType.DEFERRED: DeliveryState.SENDING,
}
MAX_EVENTS = 200
MAX_MESSAGE_ID = 1024  # a store key holds it; no provider's ids come near


class Send(msgspec.Struct, frozen=True):
    """One acceptance of a message: the provider's key in the Mailer (``name`` or
    ``name#2``), its message ids, and whether it was a redelivery."""

    provider: str
    message_ids: list[str]
    redelivery: bool = False


class Timeline(msgspec.Struct, frozen=True):
    """What became of one message: ``events`` in severity order (then time),
    ``state`` the delivery state of the most severe (``queued`` while the providers
    reported nothing, ``unknown`` for a message this Mailer has no send of),
    ``duplicates`` the deliveries reported beyond the first, ``sends`` the acceptances
    the events were gathered from."""

    key: str | None
    events: list[Event]
    state: DeliveryState
    duplicates: int
    sends: list[Send]

    def has(self, *types: EventType) -> bool:
        """Whether any event is of one of ``types``."""
        return any(event.type in types for event in self.events)


class _Kept(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    """One event as the store keeps it (compact: a list, not an object)."""

    type: EventType
    event: str
    recipient: str | None = None
    at: float | None = None  # the event's time, seconds since the epoch
    reason: BounceReason | None = None
    description: str | None = None
    url: str | None = None

    def identity(self) -> tuple[str, str | None, float | None]:
        return (self.type.value, _lower(self.recipient), self.at)


class _Events(msgspec.Struct, frozen=True):
    events: list[_Kept] = []


def provider_name(key: str) -> str:
    """The provider's name in a Mailer's provider key (``cloudmails#2`` → ``cloudmails``):
    what its events carry."""
    return key.partition("#")[0]


class EventBook:
    """The events of every message, in one store; safe from any thread or process
    sharing it (each write is a compare-and-set)."""

    def __init__(self, store: StateStore, *, retention: float) -> None:
        self.store, self.retention = store, retention

    def record(self, events: Iterable[Event]) -> list[Event]:
        """Keep ``events``; the ones that were new (not kept before, nor earlier in
        ``events``). An event without a message id (or with one longer than any
        provider's, :data:`MAX_MESSAGE_ID` characters) cannot be matched to a send and
        is not kept (its recipient can still be suppressed)."""
        from ..webhooks.events import Event

        new: list[Event] = []
        for event in events:
            if not isinstance(event, Event):
                raise ValidationError(
                    f"expected a mailspec.webhooks.Event, got {type(event).__name__}",
                    field="events",
                )
            if _matchable(event) and self._keep(event):
                new.append(event)
        return new

    def _keep(self, event: Event) -> bool:
        kept = _kept(event)

        def change(current: _Events) -> tuple[_Events, bool]:
            identity = kept.identity()
            if any(k.identity() == identity for k in current.events):
                return current, False
            events = [*current.events, kept]
            if len(events) > MAX_EVENTS:
                events.sort(key=lambda k: _RANK.get(k.type, len(SEVERITY)))
                dropped = events.pop()
                if dropped is kept:
                    return current, False
            return _Events(events), True

        key = _store_key(event.provider, event.message_id or "")
        return transact(self.store, key, _Events, _Events(), change, ttl=self.retention)

    def events_of(self, provider: str, message_id: str) -> list[Event]:
        """What was kept about one provider's message (by provider name)."""
        raw = self.store.get(_store_key(provider, message_id))
        if raw is None:
            return []
        try:
            kept = msgspec.json.decode(raw, type=_Events).events
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []  # written by another version, or damaged: nothing to show
        return [_event(provider, message_id, k) for k in kept]

    def timeline(self, key: str | None, sends: Sequence[Send]) -> Timeline:
        """The timeline of the message sent as ``sends`` under idempotency key ``key``."""
        events = [
            event
            for send in sends
            for message_id in send.message_ids
            for event in self.events_of(provider_name(send.provider), message_id)
        ]
        return build(key, events, list(sends))


def build(key: str | None, events: list[Event], sends: list[Send]) -> Timeline:
    """A timeline of ``events`` (already deduplicated), ordered and summed up."""
    ordered = sorted(events, key=_order)
    counted = [e for e in ordered if not _superseded(e, sends)]
    if counted:
        top = counted[0].type
        state = _STATE.get(top) or DeliveryState(top.value)
    else:
        state = DeliveryState.QUEUED if sends else DeliveryState.UNKNOWN
    return Timeline(key, ordered, state, _duplicates(ordered), sends)


def _superseded(event: Event, sends: list[Send]) -> bool:
    """Whether ``event`` is a ``failed`` (the provider dropped the message) of a send
    that a redelivery took over: it stays in the timeline, but the message's state is
    what became of the redelivery."""
    if event.type is not EventType.FAILED or not any(s.redelivery for s in sends):
        return False
    return any(
        not s.redelivery
        and provider_name(s.provider) == event.provider
        and _bare(event.message_id or "") in {_bare(m) for m in s.message_ids}
        for s in sends
    )


def _order(event: Event) -> tuple[int, bool, float, str, str, str, str]:
    """Severity, then time, then what tells apart events of one time (so that the
    order never depends on the order they arrived in)."""
    at = event.timestamp.timestamp() if event.timestamp is not None else 0.0
    rank = _RANK.get(event.type, len(SEVERITY))
    tie = (event.provider, event.message_id or "", event.recipient or "", event.event)
    return (rank, event.timestamp is None, at, *tie)


def _duplicates(events: Iterable[Event]) -> int:
    """Per recipient, the sends that delivered to it, less one. A delivery reported
    without a recipient (a status record that names none, as CloudMails') is a
    delivery of its send to each recipient."""
    named: dict[str, set[tuple[str, str | None]]] = {}
    anonymous: set[tuple[str, str | None]] = set()
    for event in events:
        if event.type is EventType.DELIVERED:
            send = (event.provider, event.message_id)
            recipient = _lower(event.recipient)
            (named.setdefault(recipient, set()) if recipient else anonymous).add(send)
    if not named:
        return max(0, len(anonymous) - 1)
    return sum(len(sends | anonymous) - 1 for sends in named.values())


def _matchable(event: Event) -> bool:
    return bool(event.message_id) and len(event.message_id or "") <= MAX_MESSAGE_ID


def _kept(event: Event) -> _Kept:
    return _Kept(
        type=event.type,
        event=event.event,
        recipient=event.recipient,
        at=event.timestamp.timestamp() if event.timestamp is not None else None,
        reason=event.reason,
        description=event.description,
        url=event.url,
    )


def _event(provider: str, message_id: str, kept: _Kept) -> Event:
    from ..webhooks.events import Event

    return Event(
        provider=provider,
        type=kept.type,
        event=kept.event,
        message_id=message_id,
        recipient=kept.recipient,
        timestamp=datetime.fromtimestamp(kept.at, UTC) if kept.at is not None else None,
        reason=kept.reason,
        description=kept.description,
        url=kept.url,
    )


def _bare(message_id: str) -> str:
    """A Message-ID without the angle brackets around it: ``<a@b>`` and ``a@b`` are one
    message (RFC 5322 msg-id; Mailgun answers a send with ``<id>`` and names ``id`` in
    its events and webhooks)."""
    if len(message_id) > 2 and message_id[0] == "<" and message_id[-1] == ">":
        return message_id[1:-1]
    return message_id


def _store_key(provider: str, message_id: str) -> str:
    return f"events:{provider}:{_bare(message_id)}"


def _lower(address: str | None) -> str | None:
    return address.strip().lower() if address is not None else None
