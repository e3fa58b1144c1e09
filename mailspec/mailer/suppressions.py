"""One suppression list for every provider of a Mailer, in its store.

An address is suppressed when any provider reports a hard bounce, a complaint or an
unsubscribe for it (a ``rejected`` event too, when its reason is ``blacklisted`` or
``unsubscribed``), or when it is added by hand; a Mailer then leaves it out of every
message, whichever provider would send it (:meth:`SuppressionList.strip`).

Addresses are compared as bare addresses, lower-cased: ``"Ann <ANN@Example.org>"`` and
``ann@example.org`` are one. The list is the store's: every Mailer and process sharing
the store (``sqlite://``, ``redis://``) shares it, every account of every provider in
those Mailers included. A bounce or a complaint is the recipient's answer, not one
account's, so it holds for all of them; an application keeping separate lists (one per
tenant) gives each its own store (a SQLite file, or a Redis ``?prefix=``).
``Suppression.provider`` says which provider (its name, or its key in the Mailer,
``name#2``, when the event was matched to a send) reported it.

Records: ``suppression:<address>`` holds one :class:`Suppression` (JSON; it never
expires), and :data:`SHARDS` index records ``suppressions:<n>`` list the addresses, for
iteration. An address is written to its index before its record, and its record
removed before its index entry, so iteration never misses a suppressed address (an
entry whose record is gone is skipped).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import TYPE_CHECKING

import msgspec

from ..checks.addresses import is_plain_address
from ..errors import ValidationError
from ..message import Message
from ..stores.base import StateStore, transact
from ..vocabulary import BounceReason, EventType

if TYPE_CHECKING:  # the webhooks package (and the spec model) only when events come
    from ..webhooks.events import Event

__all__ = ["SHARDS", "Suppression", "SuppressionList", "bare_address", "suppressing"]

SHARDS = 16
MAX_REASON = 200
# what suppresses an address: these event types, and a rejection for these reasons
_SUPPRESSING = (EventType.BOUNCED, EventType.COMPLAINED, EventType.UNSUBSCRIBED)
_SUPPRESSING_REJECTIONS = (BounceReason.BLACKLISTED, BounceReason.UNSUBSCRIBED)


class Suppression(msgspec.Struct, frozen=True):
    """An address no message goes to: why (``bounced``, ``complained``,
    ``unsubscribed``, ``rejected``, or what ``add`` was told), which provider reported
    it (None when added by hand), and when (aware UTC)."""

    address: str
    reason: str
    provider: str | None
    at: datetime


class _Index(msgspec.Struct, frozen=True):
    addresses: list[str] = []


def bare_address(value: str) -> str:
    """``value``'s address without a display name, lower-cased (what suppressions
    compare)."""
    if is_plain_address(value):
        return value.lower()  # the common case: parseaddr would give it back as it is
    _name, address = parseaddr(value)
    return (address or value).strip().lower()


def suppressing(event: Event) -> bool:
    """Whether ``event`` suppresses its recipient for every provider."""
    if event.type in _SUPPRESSING:
        return True
    return event.type is EventType.REJECTED and event.reason in _SUPPRESSING_REJECTIONS


class SuppressionList:
    """The addresses a Mailer sends nothing to; see the module docstring.

    ``get(address)``, ``add(address, reason)``, ``remove(address)``, ``address in
    suppressions``, and iteration (in address order). ``sync`` is set by the Mailer:
    see :meth:`sync`.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        clock: Callable[[], float],
        sync: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.store = store
        self._wall_clock = clock  # seconds since the epoch, for ``at``
        self._sync = sync

    def __repr__(self) -> str:
        return f"<SuppressionList in {self.store!r}>"

    def get(self, address: str) -> Suppression | None:
        """The suppression of ``address`` (any case, with or without a display name),
        or None."""
        raw = self.store.get(_record_key(_checked(address)))
        return None if raw is None else _decode(raw)

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` is suppressed (False for what is not an address at all)."""
        try:
            return isinstance(address, str) and self.get(address) is not None
        except ValidationError:
            return False

    def add(
        self,
        address: str,
        reason: str = "manual",
        *,
        provider: str | None = None,
        at: datetime | None = None,
    ) -> Suppression:
        """Suppress ``address``; the suppression kept (an earlier one of the same
        address stays as it was: the first report is the one that counts)."""
        bare = _checked(address)
        if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
            raise ValidationError(f"must be text of 1 to {MAX_REASON} characters", field="reason")
        when = at if at is not None else datetime.fromtimestamp(self._wall_clock(), UTC)
        new = Suppression(bare, reason.strip(), provider, when.astimezone(UTC))
        self._index(bare, add=True)
        encoded = msgspec.json.encode(new)
        while True:
            raw = self.store.get(_record_key(bare))
            if raw is not None:
                held = _decode(raw)
                if held is not None:
                    return held
            if self.store.compare_and_set(_record_key(bare), raw, encoded):
                return new

    def remove(self, address: str) -> bool:
        """Suppress ``address`` no more; whether it was suppressed."""
        bare = _checked(address)
        while True:
            raw = self.store.get(_record_key(bare))
            if raw is None:
                break
            if self.store.compare_and_set(_record_key(bare), raw, None):
                break
        self._index(bare, add=False)
        return raw is not None

    def __iter__(self) -> Iterator[Suppression]:
        addresses = sorted(a for shard in range(SHARDS) for a in self._shard(shard))
        for address in addresses:
            found = self.get(address)
            if found is not None:
                yield found

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def sync(self) -> dict[str, str]:
        """Merge what the Mailer's providers can tell into the list, and say per
        provider what was done: each provider whose status lookup lists records by date
        is asked for those of the ledger's retention (30 days at most), and the
        addresses they report bounced, complained or unsubscribed are added. No
        provider's spec declares a suppression API, so nothing is pushed to them (see
        :meth:`mailspec.mailer.delivery.Delivery.sync_suppressions`)."""
        if self._sync is None:
            return {}
        return self._sync()

    def note(self, event: Event, provider: str | None = None) -> Suppression | None:
        """Suppress ``event``'s recipient when the event calls for it; the suppression
        (new or earlier), or None."""
        if not suppressing(event) or not event.recipient or "@" not in event.recipient:
            return None
        return self.add(
            event.recipient,
            event.type.value,
            provider=provider or event.provider,
            at=event.timestamp,
        )

    def strip(self, message: Message) -> tuple[Message, list[str]]:
        """``message`` without its suppressed recipients (to, cc, bcc, and their
        per-recipient variables), and the addresses left out, as the message wrote
        them."""
        left_out: list[str] = []
        kept: dict[str, list[str]] = {}
        for field in ("to", "cc", "bcc"):
            kept[field] = []
            for address in getattr(message, field):
                (left_out if address in self else kept[field]).append(address)
        if not left_out:
            return message, []
        gone = {bare_address(a) for a in left_out}
        variables = {
            address: values
            for address, values in message.recipient_variables.items()
            if bare_address(address) not in gone
        }
        return (
            msgspec.structs.replace(message, **kept, recipient_variables=variables),
            left_out,
        )

    def _shard(self, shard: int) -> list[str]:
        raw = self.store.get(f"suppressions:{shard}")
        if raw is None:
            return []
        try:
            return msgspec.json.decode(raw, type=_Index).addresses
        except (msgspec.DecodeError, msgspec.ValidationError):
            return []

    def _index(self, bare: str, *, add: bool) -> None:
        def change(index: _Index) -> tuple[_Index, None]:
            listed = bare in index.addresses
            if listed == add:
                return index, None
            if add:
                return _Index(sorted([*index.addresses, bare])), None
            return _Index([a for a in index.addresses if a != bare]), None

        transact(self.store, f"suppressions:{_shard_of(bare)}", _Index, _Index(), change)


def _checked(address: object) -> str:
    if not isinstance(address, str):
        raise ValidationError(
            f"expected an address string, got {type(address).__name__}", field="address"
        )
    if is_plain_address(address):
        return address.lower()  # an address as it is sent: no name, no space
    bare = bare_address(address)
    if "@" not in bare or len(bare) > 320 or any(c.isspace() for c in bare):
        raise ValidationError("not an email address", field="address")
    return bare


def _record_key(bare: str) -> str:
    return f"suppression:{bare}"


def _shard_of(bare: str) -> int:
    return zlib.crc32(bare.encode()) % SHARDS


def _decode(raw: bytes) -> Suppression | None:
    try:
        return msgspec.json.decode(raw, type=Suppression)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
