"""One ``Mailer.send()``'s hold on its idempotency key in the ledger.

The send claims the key for its message (by the message's :func:`fingerprint`: a key
already used for a different message is refused with IdempotencyConflict), fences it
before each request (the claim still its own, its lease renewed, and the provider
noted, so that whoever takes over a dead sender's key knows where it may be; a send
whose key was taken over stops with ClaimLost, making no request), and settles it at
the end: an accepted result is recorded (a later ``send()`` of the key replays it), a
definite failure gives the key back (nothing went out: it may be sent again), and an
ambiguous one ends the lease, keeping the providers tried, so the next ``send()`` of
the key resolves it before sending anything.

After a request, a store failing to take the outcome is logged, not raised: the
caller must learn what the request did.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from itertools import compress
from typing import Any

import msgspec

from ..errors import ClaimLost, IdempotencyConflict, SendInProgress, StoreError
from ..message import MESSAGE_FIELDS, Message
from ..results import SendResult
from .ledger import Claimed, ClaimStatus, Ledger, Recorded

__all__ = ["FINGERPRINT_SCHEME", "KeyClaim", "fingerprint", "new_key", "recorded_result"]

log = logging.getLogger("mailspec.mailer")

# A claim outlives the send it covers by this much, for the clock skew between the
# machines sharing a store.
LEASE_MARGIN = 30.0

_HOST = socket.gethostname()
_SENDS = itertools.count(1)  # this process's sends, for owner names
_PROCESS = uuid.uuid4().hex[:8]  # tells apart processes that reuse a pid


def new_key() -> str:
    """A fresh idempotency key: 32 hex digits, 128 random bits from the operating
    system, unique without coordination."""
    return os.urandom(16).hex()


FINGERPRINT_SCHEME = "m1"
_UNORDERED = ("to", "cc", "bcc", "tags")  # lists whose order says nothing
_CANONICAL = msgspec.json.Encoder(order="deterministic")  # mappings' keys sorted


def fingerprint(message: Message) -> str:
    """What the ledger keeps of the message an idempotency key was used for, to tell a
    repeat of it (replayed) from a different message under the same key (refused):
    ``"m1:"`` and the SHA-256 of a canonical JSON of the message without its key.

    It covers every field that is set but ``idempotency_key``: the sender (address and
    name), the recipients (to, cc, bcc, reply-to), subject, html and text, the
    attachments (name, bytes, type and content id, in their order), headers, tags,
    metadata, the template, its variables and the per-recipient variables. The order
    of recipients and of tags does not count (a list made from a set changes order
    from process to process), nor that of a mapping's keys. Fields left empty are left
    out, so a field a later version adds changes no fingerprint of a message that does
    not use it. msgspec's JSON (UTF-8, bytes as base64) and SHA-256 are the same in
    every process, on every machine and Python version.

    Everything else counts, as with the providers that check a reused key's request
    (Stripe, Resend): a header or metadata value made afresh on each try (a timestamp,
    a trace id) makes each try another message."""
    values = msgspec.structs.astuple(message)
    set_ones = compress(zip(MESSAGE_FIELDS, values, strict=True), values)
    fields: dict[str, Any] = dict(set_ones)
    fields.pop("idempotency_key", None)
    for name in _UNORDERED:
        listed = fields.get(name)
        if listed is not None and len(listed) > 1:
            fields[name] = sorted(listed)
    if message.reply_to:  # one address or a list of one: the same
        fields["reply_to"] = sorted(message.reply_to_list)
    digest = hashlib.sha256(_CANONICAL.encode(fields)).hexdigest()
    return f"{FINGERPRINT_SCHEME}:{digest}"


class _Accepted(msgspec.Struct, frozen=True):
    """What the ledger keeps of an accepted send, to replay it."""

    provider: str
    message_ids: list[str]
    refused: dict[str, str] = {}
    dropped: list[str] = []


class KeyClaim:
    """The claim of one send; :meth:`take` makes it."""

    def __init__(
        self,
        ledger: Ledger | None,
        key: str,
        owner: str,
        lease: float,
        clock: Callable[[], float],
        entry: Claimed | None,
        expired: bool,
    ) -> None:
        self.ledger, self.key, self.owner = ledger, key, owner
        self.lease, self._clock = lease, clock
        self.fingerprint = entry.fingerprint if entry is not None else None
        self.lost = False  # another sender took the key over: nothing left to settle
        # the earliest a request for the key went out
        self.first_at = entry.first_at if entry is not None else clock()
        # providers an earlier, stopped send of the key may have reached
        self.suspects: list[str] = list(entry.tried) if entry is not None and expired else []
        self._noted: list[str] = []  # requested in this send, and not known not to hold it
        # where a process that dies takes its memory along, nobody can take over a dead
        # sender's key: noting the providers before each request only matters in a
        # shared store (the fence still checks and renews the claim in every store)
        self._write_notes = ledger is not None and bool(getattr(ledger.store, "shared", True))

    @classmethod
    def take(
        cls,
        ledger: Ledger | None,
        key: str,
        message: Message,
        deadline: float,
        clock: Callable[[], float],
        lease: float | None = None,
    ) -> KeyClaim | SendResult:
        """Claim ``key`` for a send of ``message`` lasting ``deadline`` seconds (for
        ``lease`` seconds, default the deadline and a margin for clock skew): the claim,
        or the recorded result of an earlier send of it (``replayed``). Raises
        IdempotencyConflict when the key was used for a different message,
        SendInProgress while another sender holds it, StoreError when the store fails
        (nothing was sent, in each case). Without a ledger, a claim that keeps no
        record."""
        if lease is None:
            lease = deadline + LEASE_MARGIN
        if ledger is None:
            return cls(None, key, "", lease, clock, None, False)
        owner = f"{_HOST}:{os.getpid()}:{_PROCESS}:{next(_SENDS)}"
        now = clock()
        claim = ledger.claim(key, owner, lease, now, fingerprint(message))
        if claim.status is ClaimStatus.CONFLICT:
            raise IdempotencyConflict(key)
        if claim.status is ClaimStatus.RECORDED:
            assert isinstance(claim.entry, Recorded)
            return _replay(key, claim.entry)
        assert isinstance(claim.entry, Claimed)
        if claim.status is ClaimStatus.HELD:
            raise SendInProgress(key, max(0.0, claim.entry.lease_until - now))
        return cls(
            ledger, key, owner, lease, clock, claim.entry, claim.status is ClaimStatus.EXPIRED
        )

    def before_request(self, provider: str) -> None:
        """Fence the key just before each request to ``provider`` (every attempt, retry
        and provider): the claim still this send's, its lease renewed, the provider
        noted. Raises ClaimLost when another sender took the key over, StoreError when
        the store fails: either way nothing went out to it."""
        if self.ledger is None:
            return
        now = self._clock()
        noted = provider if self._write_notes else None
        held = self.ledger.fence(self.key, self.owner, self.lease, now, noted)
        if not (isinstance(held, Claimed) and held.owner == self.owner):
            self.lost = True
            log.warning(
                "idempotency key %s was taken over by another sender: this send stopped "
                "before its request to %s",
                self.key,
                provider,
                extra={"idempotency_key": self.key, "provider": provider},
            )
            wait = held.lease_until - now if isinstance(held, Claimed) else 0.0
            raise ClaimLost(self.key, max(0.0, wait))
        if provider not in self._noted:
            self._noted.append(provider)

    def cleared(self, provider: str) -> None:
        """``provider``'s turn ended with answers that say it did not take the message:
        crossed off, so whoever resolves the key does not resend it there (which, if
        another provider has it, would deliver a second copy). A store failing here is
        logged: the provider stays listed, which is only more careful."""
        if (
            self.ledger is None
            or self.lost
            or provider not in self._noted
            or provider in self.suspects
        ):
            return
        self._noted.remove(provider)
        if self._write_notes:
            self._settle("cross off a provider of", self.ledger.clear, provider, self._clock())

    def accepted(self, result: SendResult) -> None:
        if self.ledger is None:
            return
        kept = _Accepted(result.provider, result.message_ids, result.refused, result.dropped)
        outcome = msgspec.json.encode(kept)
        self._settle("record", self.ledger.record, outcome, self._clock(), self.fingerprint)

    def failed(self, *, maybe_sent: bool) -> None:
        """The send ended without an accepted result; ``maybe_sent``: a provider may
        hold the message (an ambiguous attempt, or an earlier send's suspect)."""
        if self.ledger is None or self.lost:
            return
        if maybe_sent or self.suspects:
            self._settle("abandon", self.ledger.abandon, self._clock(), self._noted)
        else:
            self._settle("release", self.ledger.release)

    def _settle(self, what: str, call: Callable[..., bool], *args: object) -> None:
        try:
            call(self.key, self.owner, *args)
        except StoreError as exc:
            log.warning(
                "the ledger did not %s idempotency key %s: %s",
                what,
                self.key,
                exc,
                extra={"idempotency_key": self.key},
            )


def _replay(key: str, entry: Recorded) -> SendResult:
    try:
        kept = msgspec.json.decode(entry.outcome, type=_Accepted)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # written by another version, or damaged: it was accepted, ids unknown
        kept = _Accepted(provider="(unknown)", message_ids=[])
    return SendResult(
        provider=kept.provider,
        message_ids=kept.message_ids,
        refused=kept.refused,
        dropped=kept.dropped,
        idempotency_key=key,
        replayed=True,
    )


def recorded_result(ledger: Ledger, key: str) -> SendResult | None:
    """The accepted result the ledger recorded for ``key`` (``replayed``), or None while
    it holds no outcome."""
    entry = ledger.lookup(key)
    return _replay(key, entry) if isinstance(entry, Recorded) else None
