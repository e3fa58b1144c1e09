"""The unified vocabularies every provider's codes and statuses are mapped into.

They live apart from the rest of the types because the spec format (``mailspec.spec_model``)
names them too: a spec's tables are checked against exactly these values.
"""

from __future__ import annotations

import enum

__all__ = [
    "RETRYABLE_CATEGORIES",
    "BounceReason",
    "DeliveryState",
    "ErrorCategory",
    "EventType",
]


class DeliveryState(enum.StrEnum):
    """Where a message is on its way to one recipient."""

    QUEUED = "queued"
    SENDING = "sending"
    DELIVERED = "delivered"
    SOFT_BOUNCED = "soft_bounced"
    BOUNCED = "bounced"
    REJECTED = "rejected"
    FAILED = "failed"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    UNKNOWN = "unknown"


class EventType(enum.StrEnum):
    """What a webhook event reports: the delivery states, plus the steps before delivery
    that only events show (``sent`` to the recipient's server, ``deferred`` for a retry)."""

    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    SOFT_BOUNCED = "soft_bounced"
    BOUNCED = "bounced"
    REJECTED = "rejected"
    FAILED = "failed"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    UNKNOWN = "unknown"


class BounceReason(enum.StrEnum):
    """Why a message bounced or was rejected, where the provider says."""

    BLACKLISTED = "blacklisted"
    UNSUBSCRIBED = "unsubscribed"
    SERVER_UNREACHABLE = "server_unreachable"
    INVALID_ADDRESS = "invalid_address"
    IP_OR_DOMAIN_REJECTED = "ip_or_domain_rejected"
    NO_SUCH_USER = "no_such_user"
    SPAM = "spam"
    REJECTED = "rejected"
    OTHER = "other"


class ErrorCategory(enum.StrEnum):
    """What a provider's status code means, whatever its number."""

    SUCCESS = "success"
    VALIDATION = "validation"
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    TEMPLATE = "template"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    SERVER = "server"
    UNKNOWN = "unknown"


# A code is worth retrying on the same provider when the provider is busy or broken,
# not when the request itself is wrong. A spec row can override this.
RETRYABLE_CATEGORIES = frozenset({ErrorCategory.RATE_LIMIT, ErrorCategory.SERVER})
