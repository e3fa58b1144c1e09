"""The ledger: one record per idempotency key, so that one logical send goes out once
however often ``send()`` is called for it — a task queue redelivering after a worker
died, a caller retrying after a timeout.

A key is absent, **Claimed** or **Recorded**, and changes only thus:

==========  ==============================  ==========  ===================================
from        call                            to          when
==========  ==============================  ==========  ===================================
(absent)    ``claim``                       Claimed     always (CLAIMED)
(absent)    ``record``                      Recorded    always: an outcome is never lost
Claimed     ``claim`` by another owner      Claimed     its lease ran out: taken over
                                                        (EXPIRED); else unchanged (HELD);
                                                        unchanged for another message
                                                        (CONFLICT)
Claimed     ``claim``/``renew``/``note``/   Claimed     the lease moves on (``note``, and
            ``fence`` by owner                          ``fence`` given one: the provider is
                                                        listed in ``tried``)
Claimed     ``clear`` by owner              Claimed     a provider that answered for certain
                                                        is crossed off ``tried``
Claimed     ``abandon`` by owner            Claimed     the lease ends now (ambiguous)
Claimed     ``record`` by its owner         Recorded    always (lease live or run out)
Claimed     ``release`` by its owner        (absent)    always
Recorded    ``claim``                       Recorded    unchanged (RECORDED; CONFLICT for
                                                        another message)
Recorded    (time)                          (absent)    the retention has passed
Claimed     (time)                          (absent)    the retention past the lease's end
==========  ==============================  ==========  ===================================

Nothing else writes: a ``record``, ``renew``, ``note``, ``fence`` or ``release`` by
anyone but the owner, or over a Recorded key, writes nothing and answers False (or, for
``fence``, what the key holds; the owner repeating the very ``record`` it made answers
True).

- **Claimed** (``owner``, ``lease_until``): one sender is sending it. Its lease is a time
  in the record, compared with the ``now`` each call is given, never a store expiry: a
  lease that ran out must stay visible, because its sender may have sent the message
  before it died.
- **Recorded** (``outcome``): the final outcome, as bytes the caller chose (the accepted
  :class:`~mailspec.SendResult` as msgspec JSON, or ``b"failed"``), kept for
  ``retention`` seconds (default 7 days) by the store's own expiry, then forgotten.

What :meth:`Ledger.claim` answers (:class:`ClaimStatus`):

==========  ==================================================================  ==========
status      the key held                                                        you own it
==========  ==================================================================  ==========
CLAIMED     nothing: send it                                                    yes
HELD        another owner's live lease: someone is sending it right now         no
EXPIRED     a lease that ran out with no outcome: its sender died or stalled    yes
            mid-send and *may have sent it*; resolve it as ambiguous (ask the
            provider, or resend where the provider deduplicates) before
            sending, then record
RECORDED    an outcome: replay it, send nothing                                 no
CONFLICT    a claim or an outcome of a *different message* (its fingerprint     no
            differs): refuse this one, send nothing, replay nothing
==========  ==================================================================  ==========

**Fingerprints.** A claim may carry the fingerprint of the message it is for (an opaque
``"<scheme>:<digest>"``; the Mailer's is :func:`mailspec.mailer.claims.fingerprint`),
which the claim, its takeover and its outcome keep. A claim whose fingerprint differs
from the one the key holds is CONFLICT, whatever the key's state: the key was used for
another message. Fingerprints compare only when both are known and of the same scheme:
a record without one (written by an earlier version, or by a caller that gave none)
or of another scheme (a later version's) is unknown, and the key is replayed, held or
taken over as before; a claim taking over such a record gives it its own. A key given
back (``release``: nothing was requested) is absent again, free for any message.

**Fencing.** A claim can be lost: where the machines' clocks disagree by more than the
lease, another sender finds it run out and takes it over while its owner is still
sending. So just before each request the owner calls :meth:`Ledger.fence`: one atomic
read-modify-write that renews its lease, lists the provider it is about to ask in
``tried`` and answers what the key holds; the request is made only if that is still its
own claim. (A lease renewed within the last ``FRESH_LEASE`` second, the provider
already listed, is only read: the fence right after a claim costs no write.)
Whoever takes the key over comes either before the fence (the owner stops, nothing
requested) or after it, and then finds the provider listed (the request may be out:
the key is resolved as ambiguous, never sent blind). The lease need not be live: run
out with nobody having taken it over, the key is still the owner's alone (as for
``record``), and the fence renews it.

Taking over an expired lease is atomic, so of many workers finding it only one gets
EXPIRED; the others see its fresh lease as HELD. A claim by the owner already holding
the key answers as its first claim did (CLAIMED, or EXPIRED when it had taken over) and
renews the lease, so a claim whose answer was lost (the store timed out after writing)
can simply be made again.

:meth:`Ledger.record` writes the outcome only while the caller still owns the claim —
its lease live, or run out with nobody having taken it over — or when the key holds
nothing at all (an outcome is never thrown away for want of a claim): a stale owner
whose key was taken over cannot overwrite what the new owner resolves.
:meth:`Ledger.release` gives a claim back when nothing was requested (the message was
refused before any I/O), so the key is fresh again instead of ambiguous.

The clock: every call takes ``now``, which must be a clock all the ledger's users share
(``time.time``; the Mailer's ``clock``), with leases much longer than the machines'
clock skew. Records carry the time they were made (``at``) and ``first_at``, when the
key was first claimed, the earliest any request for it can have gone out (where a
status query for an expired claim should start). A record that cannot be read (written
by a later version, or damaged) is taken for a claim whose sender died: ambiguous,
never absent.

The store must support ``ttl`` and deletion (every store :func:`mailspec.store` opens
does). Records are JSON under ``ledger:<key>``, e.g.
``{"state":"claimed","owner":"w1-4f2a","at":1733000000.0,"lease_until":1733000060.0,
"first_at":1733000000.0,"fingerprint":"m1:9f86…"}``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from typing import TypeVar

import msgspec

from ..errors import ValidationError
from ..stores.base import KEEP, Codec, check_seconds, read, update
from .store import StateStore

__all__ = [
    "DEFAULT_RETENTION",
    "Claim",
    "ClaimStatus",
    "Claimed",
    "Ledger",
    "Recorded",
]

DEFAULT_RETENTION = 7 * 24 * 3600.0  # seconds an outcome (or a dead sender's claim) is kept
MAX_KEY_LENGTH = 1024
MAX_OWNER_LENGTH = 256
MAX_FINGERPRINT_LENGTH = 256
# seconds: a lease that reaches within this of a renewal's end is not written again (the
# fence before a send's first request, just after its claim, then costs one read)
FRESH_LEASE = 1.0

R = TypeVar("R")


class Claimed(msgspec.Struct, frozen=True, tag_field="state", tag="claimed", omit_defaults=True):
    """A sender holds the key until ``lease_until`` (on the callers' shared clock)."""

    owner: str
    at: float  # when this owner claimed it (or took it over)
    lease_until: float
    first_at: float  # when the key was first claimed, by whoever
    taken_over_from: str | None = None  # the owner whose lease had run out
    # the providers a request for the key may have reached, by any owner (see note())
    tried: list[str] = []
    fingerprint: str | None = None  # of the message the key is for (None: unknown)


class Recorded(msgspec.Struct, frozen=True, tag_field="state", tag="recorded", omit_defaults=True):
    """The key's final outcome, written by ``owner`` at ``at``."""

    owner: str
    at: float
    first_at: float
    outcome: bytes
    fingerprint: str | None = None  # of the message the key was for (None: unknown)


Entry = Claimed | Recorded


class ClaimStatus(enum.Enum):
    """What :meth:`Ledger.claim` found; see the module docstring."""

    CLAIMED = "claimed"  # fresh: yours, send it
    HELD = "held"  # another sender's live lease: not yours
    EXPIRED = "expired"  # a dead sender's lease: yours now, resolve it as ambiguous first
    RECORDED = "recorded"  # an outcome: replay it
    CONFLICT = "conflict"  # the key is another message's: refuse this one


class Claim(msgspec.Struct, frozen=True):
    """The answer to :meth:`Ledger.claim`: the status, and what the key holds now (your
    claim for CLAIMED and EXPIRED, the other sender's for HELD, the outcome for
    RECORDED, the other message's claim or outcome for CONFLICT)."""

    status: ClaimStatus
    entry: Claimed | Recorded

    @property
    def owned(self) -> bool:
        """Whether the caller now holds the key (CLAIMED or EXPIRED)."""
        return self.status in (ClaimStatus.CLAIMED, ClaimStatus.EXPIRED)


_UNREADABLE = Claimed(owner="(unreadable record)", at=0.0, lease_until=0.0, first_at=0.0)
_DECODER = msgspec.json.Decoder(Claimed | Recorded)


class Ledger:
    """Idempotency keys' claims and outcomes in a :class:`StateStore`; every method is
    one atomic read-modify-write, safe from any thread or process sharing the store."""

    def __init__(self, store: StateStore, *, retention: float = DEFAULT_RETENTION) -> None:
        if not isinstance(store, StateStore):
            raise ValidationError(
                f"expected a StateStore, got {type(store).__name__}", field="store"
            )
        self.store = store
        self.retention = check_seconds(retention, "retention")

    def __repr__(self) -> str:
        return f"<Ledger {self.store!r} retention={self.retention:g}s>"

    def claim(
        self,
        key: str,
        owner: str,
        lease_seconds: float,
        now: float,
        fingerprint: str | None = None,
    ) -> Claim:
        """Claim ``key`` for ``owner`` until ``now + lease_seconds``, unless another
        sender holds it, it is recorded, or it is another message's (``fingerprint``
        differs from the key's: CONFLICT); see :class:`ClaimStatus`.

        ``owner`` names this one attempt at the key, unique among every sender that may
        claim it (say ``f"{hostname}:{pid}:{uuid4().hex}"`` per ``send()`` call): the
        same owner claiming again is taken for a retry of this very claim. The lease
        should outlast the whole send (the Mailer's ``deadline``) plus the clock skew
        between machines, or be renewed."""
        _check(key, owner)
        lease = check_seconds(lease_seconds, "lease_seconds")
        now = _time(now)
        _check_fingerprint(fingerprint)

        def change(entry: Entry | None) -> tuple[object, Claim]:
            if entry is None:
                mine = Claimed(
                    owner, at=now, lease_until=now + lease, first_at=now, fingerprint=fingerprint
                )
                return mine, Claim(ClaimStatus.CLAIMED, mine)
            if isinstance(entry, Claimed) and entry.owner == owner:
                # claimed again (an answer lost?): as the first time
                mine = msgspec.structs.replace(entry, lease_until=now + lease)
                again = ClaimStatus.EXPIRED if entry.taken_over_from else ClaimStatus.CLAIMED
                return mine, Claim(again, mine)
            if _differ(entry.fingerprint, fingerprint):
                return KEEP, Claim(ClaimStatus.CONFLICT, entry)
            if isinstance(entry, Recorded):
                return KEEP, Claim(ClaimStatus.RECORDED, entry)
            if now < entry.lease_until:
                return KEEP, Claim(ClaimStatus.HELD, entry)
            mine = Claimed(
                owner,
                at=now,
                lease_until=now + lease,
                first_at=entry.first_at,
                taken_over_from=entry.owner,
                tried=entry.tried,
                fingerprint=entry.fingerprint or fingerprint,
            )
            return mine, Claim(ClaimStatus.EXPIRED, mine)

        return self._update(key, now, change)

    def renew(self, key: str, owner: str, lease_seconds: float, now: float) -> bool:
        """Extend ``owner``'s lease to ``now + lease_seconds``; False (nothing changed)
        unless ``owner`` holds the claim (its lease may have run out, if nobody took it
        over)."""
        return _owns(self.fence(key, owner, lease_seconds, now), owner)

    def note(self, key: str, owner: str, provider: str, lease_seconds: float, now: float) -> bool:
        """Write down, before a request, that ``provider`` may be about to hold the
        message (and extend the lease), so that whoever takes over a lease that ran out
        knows where to resolve it; False unless ``owner`` holds the claim."""
        return _owns(self.fence(key, owner, lease_seconds, now, provider), owner)

    def fence(
        self,
        key: str,
        owner: str,
        lease_seconds: float,
        now: float,
        provider: str | None = None,
    ) -> Claimed | Recorded | None:
        """Just before a request: keep ``owner``'s claim (its lease moves on to ``now +
        lease_seconds``, unless it reaches within ``FRESH_LEASE`` of that already, and
        ``provider``, when given, is listed in ``tried``, as :meth:`note` does) and
        answer what the key holds. Only when that is
        ``owner``'s claim may the request be made; anything else (another owner's
        claim: the key was taken over; an outcome; nothing) is left unchanged, and the
        sender has lost the key. See "Fencing" in the module docstring."""
        _check(key, owner)
        lease = check_seconds(lease_seconds, "lease_seconds")
        now = _time(now)
        if provider is not None and not isinstance(provider, str):
            raise ValidationError(
                f"expected a string, got {type(provider).__name__}", field="provider"
            )

        def change(entry: Entry | None) -> tuple[object, Entry | None]:
            if not (isinstance(entry, Claimed) and entry.owner == owner):
                return KEEP, entry
            if provider is not None and provider not in entry.tried:
                tried = [*entry.tried, provider]
            elif entry.lease_until >= now + lease - FRESH_LEASE:
                return KEEP, entry  # renewed just now (claimed, say): nothing to write
            else:
                tried = entry.tried
            mine = msgspec.structs.replace(entry, lease_until=now + lease, tried=tried)
            return mine, mine

        return self._update(key, now, change)

    def clear(self, key: str, owner: str, provider: str, now: float) -> bool:
        """Cross ``provider`` off ``tried``: it answered for certain that it did not take
        the message, so whoever resolves the key need not ask it; False unless
        ``owner`` holds the claim."""
        _check(key, owner)
        now = _time(now)

        def change(entry: Entry | None) -> tuple[object, bool]:
            if not (isinstance(entry, Claimed) and entry.owner == owner):
                return KEEP, False
            if provider not in entry.tried:
                return KEEP, True
            tried = [p for p in entry.tried if p != provider]
            return msgspec.structs.replace(entry, tried=tried), True

        return self._update(key, now, change)

    def abandon(
        self, key: str, owner: str, now: float, tried: list[str] | tuple[str, ...] = ()
    ) -> bool:
        """End ``owner``'s lease now, keeping what it tried (and adding ``tried``): the
        send's outcome is ambiguous, so the next claim of the key gets EXPIRED and
        resolves it first (rather than a fresh claim sending it again). False unless
        ``owner`` holds it."""
        _check(key, owner)
        now = _time(now)

        def change(entry: Entry | None) -> tuple[object, bool]:
            if isinstance(entry, Claimed) and entry.owner == owner:
                every = entry.tried + [p for p in tried if p not in entry.tried]
                ended = min(entry.lease_until, now)
                return msgspec.structs.replace(entry, lease_until=ended, tried=every), True
            return KEEP, False

        return self._update(key, now, change)

    def record(
        self,
        key: str,
        owner: str,
        outcome: bytes,
        now: float,
        fingerprint: str | None = None,
    ) -> bool:
        """Write ``key``'s final outcome; True if it is now recorded as ``owner``'s.

        Written when ``owner`` holds the claim (live or run out, not taken over) or the
        key holds nothing; recording the same outcome again is a no-op that answers
        True. False, and nothing written, when another sender took the key over or an
        outcome is already recorded. The outcome keeps the claim's fingerprint, or
        ``fingerprint`` when there was no claim."""
        _check(key, owner)
        if not isinstance(outcome, bytes):
            raise ValidationError(f"expected bytes, got {type(outcome).__name__}", field="outcome")
        now = _time(now)
        _check_fingerprint(fingerprint)

        def change(entry: Entry | None) -> tuple[object, bool]:
            if entry is None or (isinstance(entry, Claimed) and entry.owner == owner):
                first, known = (
                    (now, fingerprint) if entry is None else (entry.first_at, entry.fingerprint)
                )
                return Recorded(
                    owner, at=now, first_at=first, outcome=outcome, fingerprint=known
                ), True
            if isinstance(entry, Recorded):
                return KEEP, entry.owner == owner and entry.outcome == outcome
            return KEEP, False

        return self._update(key, now, change)

    def release(self, key: str, owner: str) -> bool:
        """Give back ``owner``'s claim when nothing was requested (the key becomes
        absent, fresh for the next claim); False unless ``owner`` holds it."""
        _check(key, owner)

        def change(entry: Entry | None) -> tuple[object, bool]:
            if isinstance(entry, Claimed) and entry.owner == owner:
                return None, True
            return KEEP, False

        return self._update(key, 0.0, change)

    def lookup(self, key: str) -> Claimed | Recorded | None:
        """What ``key`` holds: a claim, an outcome, or None."""
        _check(key, "-")
        raw = read(self.store, _store_key(key))
        return None if raw is None else _decode(raw)

    def _update(
        self, key: str, now: float, change: Callable[[Entry | None], tuple[object, R]]
    ) -> R:
        retention = self.retention

        def changed(entry: Entry | None) -> tuple[object, R, float | None]:
            new, result = change(entry)
            if not isinstance(new, Claimed):
                return new, result, retention  # KEEP, None (deleted) or an outcome
            # a claim is kept as long as an outcome would be, past its lease: a dead
            # sender's claim stays visible as expired, never reads as fresh
            return new, result, retention + max(0.0, new.lease_until - now)

        return update(self.store, _store_key(key), _CODEC, changed)


def _store_key(key: str) -> str:
    return f"ledger:{key}"


def _decode(raw: bytes) -> Entry:
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return _UNREADABLE


_CODEC: Codec[Entry] = Codec(_decode, msgspec.json.encode)


def _owns(entry: Entry | None, owner: str) -> bool:
    return isinstance(entry, Claimed) and entry.owner == owner


def _differ(held: str | None, given: str | None) -> bool:
    """Whether two fingerprints name different messages: both known, of one scheme
    (another scheme, a later version's, is as good as unknown), and not equal."""
    if held is None or given is None or held == given:
        return False
    return held.partition(":")[0] == given.partition(":")[0]


def _check_fingerprint(fingerprint: object) -> None:
    if fingerprint is not None and not (
        isinstance(fingerprint, str) and 0 < len(fingerprint) <= MAX_FINGERPRINT_LENGTH
    ):
        raise ValidationError(
            f"expected a string of 1 to {MAX_FINGERPRINT_LENGTH} characters or None",
            field="fingerprint",
        )


def _check(key: object, owner: object) -> None:
    if (
        type(key) is str
        and type(owner) is str
        and 0 < len(key) <= MAX_KEY_LENGTH
        and 0 < len(owner) <= MAX_OWNER_LENGTH
    ):
        return  # the common case, without the loop that names the field at fault
    for value, field, limit in (
        (key, "idempotency_key", MAX_KEY_LENGTH),
        (owner, "owner", MAX_OWNER_LENGTH),
    ):
        if not isinstance(value, str):
            raise ValidationError(f"expected a string, got {type(value).__name__}", field=field)
        if not value or len(value) > limit:
            raise ValidationError(f"must be 1 to {limit} characters", field=field)


def _time(now: object) -> float:
    if type(now) is float and -math.inf < now < math.inf:
        return now  # the common case, in one test
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ValidationError("expected a finite time in seconds (time.time())", field="now")
    return float(now)
