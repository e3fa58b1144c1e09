"""A shared secret, where the provider defines no signature scheme (CloudMails).

The user puts a secret of their own into the webhook URL they register with the
provider, either as the password of HTTP basic auth
(``https://hooks:SECRET@example.com/cloudmails``, sent as an ``Authorization: Basic``
header) or as a query parameter (``https://example.com/cloudmails?secret=SECRET``).
A request must carry it to be accepted. This proves less than a signature (anyone who
sees one request can replay it, and it relies on HTTPS to stay secret), but without
it anyone who guesses the URL can post events.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from ..errors import WebhookVerificationError
from .payload import header

__all__ = ["QUERY_PARAMETER", "check_shared_secret"]

QUERY_PARAMETER = "secret"


def check_shared_secret(
    provider: str, headers: Mapping[str, str], url: str | None, secret: str
) -> None:
    """Raise :class:`WebhookVerificationError` unless the request carries ``secret``."""
    offered = [_basic_auth_password(header(headers, "Authorization")), _query_secret(url)]
    expected = secret.encode()
    # every candidate is compared, so the time taken does not say which one was given
    matches = [
        hmac.compare_digest(candidate, expected) for candidate in offered if candidate is not None
    ]
    if not any(matches):
        raise WebhookVerificationError(
            provider,
            "shared secret does not match"
            if matches
            else "no shared secret (basic auth password or ?secret= in the URL)",
        )


def _basic_auth_password(value: str | None) -> bytes | None:
    if not value:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    _, colon, password = decoded.partition(b":")
    return password if colon else None


def _query_secret(url: str | None) -> bytes | None:
    if not url:
        return None
    try:
        query = urlsplit(url).query
        values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == QUERY_PARAMETER]
    except ValueError:
        return None
    # two values could let a proxy and this check read different ones
    return values[0].encode() if len(values) == 1 else None
