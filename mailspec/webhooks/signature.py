"""Signed events (the SendCloud scheme): every event proves itself.

An event carries ``timestamp``, ``token`` and ``signature`` (field names from the
spec's ``webhooks.signature``); the signature is the hex HMAC-SHA256 of
``str(timestamp) + token`` keyed by the account's webhook key. An event is accepted
when the signature matches (compared in constant time), its timestamp is within the
tolerance window of now, and its token was not seen before (see ``replay``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from ..errors import WebhookVerificationError
from ..spec_model import WebhookSignature
from .timestamps import parse_timestamp

__all__ = ["sign", "verify_signatures"]


def sign(secret: str, timestamp: str | int, token: str) -> str:
    """The SendCloud-style signature of one event: hex HMAC-SHA256 of
    ``str(timestamp) + token`` keyed by ``secret``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        raise TypeError("timestamp must be text or an integer")
    message = f"{timestamp}{token}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signatures(
    provider: str,
    events: Sequence[dict[str, Any]],
    scheme: WebhookSignature,
    timestamp_format: str,
    *,
    secret: str,
    now: float,
    tolerance: float,
) -> list[tuple[str, float]]:
    """Check every event; return each one's ``(token, expires_at)`` for the replay
    guard, or raise :class:`WebhookVerificationError` for the first that fails.
    ``expires_at`` is when the event's timestamp leaves the window, after which the
    tolerance check alone refuses it."""
    tokens = []
    for index, event in enumerate(events):
        where = f"event {index}"
        timestamp, token, given = (
            event.get(scheme.timestamp),
            event.get(scheme.token),
            event.get(scheme.signature),
        )
        if not isinstance(given, str) or not given:
            raise WebhookVerificationError(provider, f"{where}: no signature")
        if not isinstance(token, str) or not token or not _utf8(token):
            raise WebhookVerificationError(provider, f"{where}: no token")
        if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
            raise WebhookVerificationError(provider, f"{where}: no valid timestamp")
        try:
            when = parse_timestamp(timestamp, timestamp_format).timestamp()
        except ValueError:
            raise WebhookVerificationError(provider, f"{where}: no valid timestamp") from None
        # the timestamp is signed as sent: the provider's text, or an integer's digits
        expected = sign(secret, timestamp, token).encode()
        if not hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "replace")):
            raise WebhookVerificationError(provider, f"{where}: signature does not match")
        if abs(now - when) > tolerance:
            age = "in the future" if when > now else "stale"
            raise WebhookVerificationError(
                provider, f"{where}: timestamp is {age} (more than {tolerance:g} s from now)"
            )
        tokens.append((token, when + tolerance))
    return tokens


def _utf8(text: str) -> bool:
    """False for text JSON can carry but UTF-8 cannot (a lone surrogate)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
