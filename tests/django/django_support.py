"""Helpers for the Django tests (imported as ``django_support``; no other test folder
uses that name). Signatures are computed with ``hmac`` directly, never with
``mailspec.webhooks.sign``, so a bug in the library's signing cannot hide in both."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from typing import Any
from urllib.parse import urlencode

from mailspec.sandbox import SandboxServer

# a secret no output, error or log record may ever contain
WEBHOOK_KEY = "SENTINEL-django-webhook-key-5e1b"

_tokens = itertools.count()


def mailspec_setting(*servers: SandboxServer, **options: Any) -> dict[str, Any]:
    """A ``MAILSPEC`` setting over ``servers`` in failover order; every test's Mailer is
    bounded (one attempt per provider, a few seconds in all, no backoff)."""
    return {
        "PROVIDERS": [s.url for s in servers],
        "MAX_ATTEMPTS": 1,
        "DEADLINE": 5,
        "BACKOFF": 0,
        "BACKOFF_MAX": 0,
        "WEBHOOK_SECRETS": {"sendcloud": WEBHOOK_KEY},
        **options,
    }


def signed_sendcloud_event(
    event: str = "deliver", *, key: str = WEBHOOK_KEY, **fields: Any
) -> bytes:
    """One SendCloud event as it posts it (a form), signed as its spec's webhooks
    section says: the hex HMAC-SHA256 of timestamp + token, keyed by the webhook key."""
    timestamp = str(int(time.time()))
    token = f"django-tok-{next(_tokens):06d}-{time.monotonic_ns():x}"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    values = {
        "event": event,
        "emailId": "1700000000000_42_1_1.sc-10_9_4_41-inbound0$ann@example.org",
        "recipient": "ann@example.org",
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        **fields,
    }
    return urlencode(values).encode()
