"""mailspec: transactional-email providers behind one ``send()``/``status()``.

Providers are described in YAML specs; their clients are generated, and imported only
when first used, so importing this package stays cheap.
"""

import importlib
import logging
from typing import TYPE_CHECKING

from .errors import (
    AllProvidersFailed,
    AuthenticationError,
    ClaimLost,
    ConfigError,
    ConflictError,
    IdempotencyConflict,
    MailspecError,
    MalformedResponseError,
    NotFoundError,
    PartialDeliveryError,
    PermissionDeniedError,
    ProviderError,
    ProviderServerError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    RequestNotStarted,
    SendInProgress,
    StoreError,
    Suppressed,
    TemplateError,
    TransportError,
    UnsupportedOperation,
    ValidationError,
    WebhookError,
    WebhookPayloadError,
    WebhookVerificationError,
)
from .mailer import Mailer
from .message import Attachment, Message
from .registry import available, explain_code, provider, provider_from_url, register, spec
from .results import Attempt, CodeInfo, DeliveryStatus, SendResult, SmsResult
from .stores import store
from .vocabulary import BounceReason, DeliveryState, ErrorCategory, EventType

if TYPE_CHECKING:
    from . import webhooks
    from .mailer.aio import AsyncMailer

__version__ = "0.1.0"

# A library logs; the application decides where records go (none by default).
logging.getLogger("mailspec").addHandler(logging.NullHandler())

__all__ = [
    "AllProvidersFailed",
    "AsyncMailer",
    "Attachment",
    "Attempt",
    "AuthenticationError",
    "BounceReason",
    "ClaimLost",
    "CodeInfo",
    "ConfigError",
    "ConflictError",
    "DeliveryState",
    "DeliveryStatus",
    "ErrorCategory",
    "EventType",
    "IdempotencyConflict",
    "Mailer",
    "MailspecError",
    "MalformedResponseError",
    "Message",
    "NotFoundError",
    "PartialDeliveryError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderServerError",
    "ProviderValidationError",
    "QuotaExceededError",
    "RateLimitError",
    "RequestNotStarted",
    "SendInProgress",
    "SendResult",
    "SmsResult",
    "StoreError",
    "Suppressed",
    "TemplateError",
    "TransportError",
    "UnsupportedOperation",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "__version__",
    "available",
    "explain_code",
    "provider",
    "provider_from_url",
    "register",
    "spec",
    "store",
    "webhooks",
]

if not TYPE_CHECKING:  # for mypy, `webhooks` is the module imported above

    def __getattr__(name: str) -> object:
        """``mailspec.webhooks`` and ``mailspec.AsyncMailer`` imported on first use, so
        ``import mailspec`` stays cheap (and needs no ``mailspec[async]``)."""
        if name == "webhooks":
            return importlib.import_module(".webhooks", __name__)
        if name == "AsyncMailer":
            try:
                module = importlib.import_module(".mailer.aio", __name__)
            except ModuleNotFoundError as exc:  # greenlet not installed
                raise ImportError(
                    f"mailspec.AsyncMailer needs {exc.name}: pip install 'mailspec[async]'"
                ) from exc
            return module.AsyncMailer
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
