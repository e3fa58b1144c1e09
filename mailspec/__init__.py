"""mailspec: transactional-email providers behind one ``send()``/``status()``.

Providers are described in YAML specs; their clients are generated, and imported only
when first used, so importing this package stays cheap.
"""

import logging

from ._vocab import BounceReason, DeliveryState, ErrorCategory
from .errors import (
    AllProvidersFailed,
    AuthenticationError,
    ConflictError,
    MailspecError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderServerError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    TemplateError,
    TransportError,
    UnsupportedOperation,
    ValidationError,
)
from .mailer import Mailer
from .message import Attachment, Message
from .registry import available, explain_code, provider, provider_from_url
from .results import Attempt, CodeInfo, DeliveryStatus, SendResult, SmsResult

__version__ = "0.1.0"

# A library logs; the application decides where records go (none by default).
logging.getLogger("mailspec").addHandler(logging.NullHandler())

__all__ = [
    "AllProvidersFailed",
    "Attachment",
    "Attempt",
    "AuthenticationError",
    "BounceReason",
    "CodeInfo",
    "ConflictError",
    "DeliveryState",
    "DeliveryStatus",
    "ErrorCategory",
    "Mailer",
    "MailspecError",
    "MalformedResponseError",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderServerError",
    "ProviderValidationError",
    "QuotaExceededError",
    "RateLimitError",
    "SendResult",
    "SmsResult",
    "TemplateError",
    "TransportError",
    "UnsupportedOperation",
    "ValidationError",
    "__version__",
    "available",
    "explain_code",
    "provider",
    "provider_from_url",
]
