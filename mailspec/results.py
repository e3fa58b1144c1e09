"""What send() and status() return."""

from __future__ import annotations

from datetime import datetime

import msgspec

# Attempt is defined beside the errors that carry it (AllProvidersFailed.attempts) and
# holds one of them, so that neither module needs the other back; this is its home
from .errors import Attempt
from .vocabulary import BounceReason, DeliveryState, ErrorCategory

__all__ = ["Attempt", "CodeInfo", "DeliveryStatus", "SendResult", "SmsResult"]


class SendResult(msgspec.Struct, frozen=True):
    """A message the provider accepted: its own ids for it, and every attempt made.

    ``refused`` maps each recipient the provider refused while accepting the message
    for the others (an SMTP server can) to its reply; the message is not sent again.
    ``dropped`` names the message fields the provider had no place for and was sent
    without (tags, metadata), where a Mailer let it. ``idempotency_key`` is the send's
    key; ``replayed`` is true when a Mailer's ledger already held the key as accepted,
    so this result is the recorded one and no request was made (``attempts`` is empty).
    ``suppressed`` lists the recipients left out because they are on the Mailer's
    suppression list (as the message wrote them).
    """

    provider: str
    message_ids: list[str]
    attempts: list[Attempt] = []
    refused: dict[str, str] = {}
    dropped: list[str] = []
    idempotency_key: str | None = None
    replayed: bool = False
    suppressed: list[str] = []


class SmsResult(msgspec.Struct, frozen=True):
    """An SMS the provider accepted: its ids, its answer code, and whether only some of
    the numbers were taken (``partial``; the provider's code says which it was)."""

    provider: str
    message_ids: list[str]
    code: int
    partial: bool = False


class DeliveryStatus(msgspec.Struct, frozen=True):
    """Where one message is for one recipient, in the unified vocabulary, with the
    provider's raw code and text kept beside it."""

    provider: str
    message_id: str
    state: DeliveryState
    recipient: str | None = None
    reason: BounceReason | None = None
    code: str | None = None
    sub_code: str | None = None
    description: str | None = None
    timestamp: datetime | None = None


class CodeInfo(msgspec.Struct, frozen=True):
    """One row of a provider's status-code table (see :func:`mailspec.explain_code`).
    ``partial``: a success that reached only some recipients (an SMS send, say)."""

    provider: str
    code: int
    message: str
    category: ErrorCategory
    retryable: bool
    partial: bool = False
