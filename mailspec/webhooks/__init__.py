"""Webhooks: a provider's event posts -> verified, unified :class:`Event` objects.

    import mailspec

    events = mailspec.webhooks.parse(
        "sendcloud", request_body, request_headers, secret=WEBHOOK_KEY
    )
    for event in events:
        event.type, event.message_id, event.recipient, event.timestamp, event.reason

Everything provider-specific comes from the spec's ``webhooks`` table: the payload
paths of each part (nested objects, list items, per event type), where the events are
(one, a list, an envelope), the encodings (form, JSON), the timestamp format, the
signature scheme (HMAC over a declared template, ECDSA P-256, basic auth, a token; see
:mod:`.signature`) and the table of event names. There is no code per provider.

Verification is on by default. SendCloud and AuroraSendCloud sign every event
(HMAC-SHA256 keyed by the account's webhook key, see :func:`sign`); a missing key, a
wrong signature, a timestamp more than the spec's tolerance (300 s) from now or a
replayed token refuses the whole request. CloudMails signs nothing: put a secret of
your own into the webhook URL you register (basic-auth password or ``?secret=``) and
pass it as ``secret``; **without one its events are accepted unverified**.

:class:`WebhookApp` is a small WSGI app around :func:`parse`. Errors are
:class:`~mailspec.WebhookVerificationError` and :class:`~mailspec.WebhookPayloadError`,
both :class:`~mailspec.WebhookError`. The secret never appears in a repr, an error
or a log record.
"""

from ..errors import WebhookError, WebhookPayloadError, WebhookVerificationError
from .app import WebhookApp
from .events import Event
from .receive import parse
from .replay import DEFAULT_GUARD, ReplayGuard
from .signature import sign

__all__ = [
    "DEFAULT_GUARD",
    "Event",
    "ReplayGuard",
    "WebhookApp",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "parse",
    "sign",
]
