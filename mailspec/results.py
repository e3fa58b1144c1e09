"""What send() and status() return."""

from __future__ import annotations

from datetime import datetime

import msgspec

from ._vocab import BounceReason, DeliveryState, ErrorCategory
from .errors import MailspecError

__all__ = ["Attempt", "CodeInfo", "DeliveryStatus", "SendResult"]


class Attempt(msgspec.Struct, frozen=True):
    """One try at one provider: ``outcome`` is ``accepted``, ``failed`` or ``skipped``."""

    provider: str
    outcome: str
    duration: float = 0.0
    error: MailspecError | None = None


class SendResult(msgspec.Struct, frozen=True):
    """A message the provider accepted: its own ids for it, and every attempt made."""

    provider: str
    message_ids: list[str]
    attempts: list[Attempt] = []


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
    """One row of a provider's status-code table (see :func:`mailspec.explain_code`)."""

    provider: str
    code: int
    message: str
    category: ErrorCategory
    retryable: bool
