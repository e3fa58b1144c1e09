"""One error hierarchy for everything ``send()`` and ``status()`` can raise.

A provider's answer becomes the :class:`ProviderError` subclass its status code's
category names (from the generated tables); network faults become
:class:`TransportError`. Messages never contain credentials.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from .vocabulary import RETRYABLE_CATEGORIES, ErrorCategory

__all__ = [
    "AllProvidersFailed",
    "AuthenticationError",
    "ClaimLost",
    "ConfigError",
    "ConflictError",
    "IdempotencyConflict",
    "MailspecError",
    "MalformedResponseError",
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
    "StoreError",
    "Suppressed",
    "TemplateError",
    "TransportError",
    "UnsupportedOperation",
    "ValidationError",
    "WebhookError",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "error_class_for",
    "mark_written",
    "written_to",
]


class MailspecError(Exception):
    """The root of every error mailspec raises."""

    retryable: bool = False
    ambiguous: bool = False


class ValidationError(MailspecError, ValueError):
    """The message or request is invalid; raised before any network call.

    ``field`` names the offending field; ``code`` is the provider's own code for the
    same mistake, where its spec declares one. ``provider`` says which of two kinds it
    is: None for a *message error* every provider would refuse (a malformed address, a
    line break in a header, no recipient), which stops a Mailer at once; a provider's
    name for one of its own *rules* (it requires html, caps the subject or the
    attachments), which makes a Mailer try the next provider.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        provider: str | None = None,
        code: int | None = None,
    ) -> None:
        self.field, self.provider, self.code = field, provider, code
        parts = [f"{provider}: " if provider else "", f"{field}: " if field else "", message]
        if code is not None:
            parts.append(f" (provider code {code})")
        super().__init__("".join(parts))

    @property
    def provider_rule(self) -> bool:
        """Whether this is one provider's rule (another provider may take the message)
        rather than an error of the message itself."""
        return self.provider is not None


class ConfigError(ValidationError):
    """A bad configuration setting: ``field`` names it as it was given (an environment
    variable such as ``MAILSPEC_DEADLINE``, or a key of the mapping). The text never
    repeats a value that may hold a credential (provider and store URLs)."""


class UnsupportedOperation(MailspecError):
    """The provider cannot do this (an operation or a message field); raised before I/O."""

    def __init__(self, provider: str, operation: str, detail: str = "") -> None:
        self.provider, self.operation = provider, operation
        super().__init__(
            f"{provider} does not support {operation}" + (f": {detail}" if detail else "")
        )


class ProviderError(MailspecError):
    """The provider answered, and the answer was not a success. ``provider`` names it
    (None only for :class:`IdempotencyConflict` found by a Mailer's ledger, before any
    provider was asked)."""

    category: ErrorCategory = ErrorCategory.UNKNOWN
    provider: str | None

    def __init__(
        self,
        provider: str,
        code: int | None,
        message: str,
        *,
        http_status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider, self.code, self.message = provider, code, message
        self.http_status = http_status
        self.retry_after = retry_after
        self.retryable = self.category in RETRYABLE_CATEGORIES if retryable is None else retryable
        code_part = f" {code}" if code is not None else ""
        super().__init__(f"{provider}{code_part}: {message}")


class ProviderValidationError(ProviderError):
    category = ErrorCategory.VALIDATION


class TemplateError(ProviderValidationError):
    category = ErrorCategory.TEMPLATE


class AuthenticationError(ProviderError):
    category = ErrorCategory.AUTHENTICATION


class PermissionDeniedError(ProviderError):
    category = ErrorCategory.PERMISSION


class RateLimitError(ProviderError):
    category = ErrorCategory.RATE_LIMIT


class QuotaExceededError(ProviderError):
    category = ErrorCategory.QUOTA


class NotFoundError(ProviderError):
    category = ErrorCategory.NOT_FOUND


class ConflictError(ProviderError):
    category = ErrorCategory.CONFLICT


class IdempotencyConflict(ConflictError):
    """The idempotency key was already used for a different message (other
    recipients, sender, content, attachments, template or variables, headers, tags or
    metadata): refused before any request, nothing sent, and nothing replayed (the
    recorded outcome is another message's). Give a new message a new key.

    Raised by a :class:`~mailspec.Mailer` whose ledger holds the key (``provider`` is
    None: no provider was asked). Not retryable: sending it again is refused again.
    The text names the key, never the messages' content."""

    def __init__(self, idempotency_key: str, provider: str | None = None) -> None:
        # the arguments, as args: pickled (or rebuilt by Celery's result backend), it is
        # made again from them
        MailspecError.__init__(self, idempotency_key, *([provider] if provider else []))
        self.idempotency_key = idempotency_key
        self.provider, self.code = provider, None
        self.message = (
            f"idempotency key {idempotency_key!r} was already used for a different message; "
            "nothing was sent (give a new message a new key)"
        )
        self.http_status, self.retry_after, self.retryable = None, None, False

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}" if self.provider else self.message


class ProviderServerError(ProviderError):
    category = ErrorCategory.SERVER


class MalformedResponseError(ProviderError):
    """The answer could not be read (not JSON, wrong shape, no status code).

    ``ambiguous`` is true when the HTTP status said success: the provider may have
    accepted the message even though we cannot read its answer.
    """

    def __init__(
        self, provider: str, message: str, *, http_status: int | None, ambiguous: bool
    ) -> None:
        super().__init__(provider, None, message, http_status=http_status, retryable=False)
        self.ambiguous = ambiguous


class TransportError(MailspecError):
    """The network failed. ``ambiguous`` is true when the request may have reached the
    provider (a read timeout, a connection dropped after the body was sent)."""

    def __init__(self, provider: str, message: str, *, ambiguous: bool) -> None:
        self.provider = provider
        self.ambiguous = ambiguous
        self.retryable = not ambiguous
        super().__init__(
            f"{provider}: {message}"
            + (" (the request may have been received)" if ambiguous else "")
        )


class RequestNotStarted(TransportError):
    """No request was made, for a reason of this sender's own: every connection it may
    open to the provider stayed busy until too little of the send's time was left, or
    too little was left to begin with. A request started then would most likely be cut
    off mid-way, its outcome unknown; not starting it leaves nothing in doubt. Never
    ambiguous, and it says nothing about the provider's health: a Mailer records it as
    a skipped attempt, leaves the provider's circuit breaker alone and tries the next
    provider."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(provider, f"not started: {reason}", ambiguous=False)


def mark_written(interruption: BaseException, provider: str) -> None:
    """Mark an interruption that is not an error (KeyboardInterrupt, SystemExit, an
    asyncio cancellation), raised once a request to ``provider`` was written: the
    provider may have the message. The exception itself goes on unchanged (asyncio
    tells a cancellation by its exact class, a process exits on SystemExit); a Mailer
    reads the mark with :func:`written_to`, records the attempt as an ambiguous
    :class:`TransportError` and keeps the key in its ledger as maybe sent."""
    setattr(interruption, _WRITTEN, provider)


def written_to(interruption: BaseException) -> str | None:
    """The provider :func:`mark_written` named on ``interruption``, or None."""
    provider = getattr(interruption, _WRITTEN, None)
    return provider if isinstance(provider, str) else None


_WRITTEN = "_mailspec_written_to"


class PartialDeliveryError(MailspecError):
    """Some copies of a message went out before one failed.

    A provider that takes one request per recipient (AOTsend) or per chunk of a batch
    (CloudMails) can fail part-way. Sending the message again, to the same provider or
    another, would reach ``sent_to`` a second time, so the error is ``ambiguous``: a
    Mailer stops and reports it (unless ``on_ambiguous="failover"``). ``message_ids``
    are the provider's ids for what was sent; ``pending`` the recipients not confirmed
    reached; ``cause`` (also ``__cause__``) the error that stopped the sending, whatever
    its type: a bug or an unencodable value met after the first request went out must
    not lose the record of what did go out.
    """

    ambiguous = True

    def __init__(
        self,
        provider: str,
        cause: BaseException,
        *,
        sent_to: Sequence[str],
        pending: Sequence[str],
        message_ids: Sequence[str] = (),
    ) -> None:
        self.provider, self.cause = provider, cause
        self.sent_to, self.pending = list(sent_to), list(pending)
        self.message_ids = list(message_ids)
        total = len(self.sent_to) + len(self.pending)
        super().__init__(
            f"{provider}: sent to {len(self.sent_to)} of {total} recipients, then failed "
            f"({_describe(cause)}); not sent again, so that nobody receives it twice"
        )


def _describe(error: BaseException) -> str:
    """An error's text, prefixed with its class where it is not one of ours (ours name
    their provider; a bare ``UnicodeEncodeError`` text does not say what it is)."""
    return str(error) if isinstance(error, MailspecError) else f"{type(error).__name__}: {error}"


class Attempt(msgspec.Struct, frozen=True):
    """One try at one provider: ``outcome`` is ``accepted``, ``failed`` or ``skipped``.
    ``dropped`` names the message fields the provider had no place for and was sent
    without (tags, metadata; see ``Mailer(on_unsupported=...)``)."""

    provider: str
    outcome: str
    duration: float = 0.0
    error: MailspecError | None = None
    dropped: list[str] = []


class AllProvidersFailed(MailspecError):
    """Every provider a Mailer tried failed; ``attempts`` records each try in order.
    ``idempotency_key`` is the send's key: sending the same message again with it never
    sends it twice (an ambiguous send is resolved first)."""

    idempotency_key: str | None = None

    def __init__(self, attempts: Sequence[Attempt], message: str = "every provider failed") -> None:
        self.attempts = list(attempts)
        self.ambiguous = any(a.error is not None and a.error.ambiguous for a in self.attempts)
        tried = "; ".join(
            str(a.error) for a in self.attempts if a.error is not None
        )  # each names its provider
        super().__init__(f"{message} ({tried})" if tried else message)


class SendInProgress(MailspecError):
    """Another sender holds this idempotency key right now (its claim in the ledger is
    live): nothing was sent. Ask again after ``retry_after`` seconds, when its send has
    ended or its claim has run out; a task queue retries then."""

    retryable = True

    def __init__(self, idempotency_key: str, retry_after: float) -> None:
        self.idempotency_key, self.retry_after = idempotency_key, retry_after
        super().__init__(
            f"idempotency key {idempotency_key!r} is being sent by another sender; "
            f"ask again in {retry_after:.3g}s"
        )


class ClaimLost(SendInProgress):
    """This send's claim on its idempotency key was taken over by another sender (its
    lease had run out on that sender's clock, or the ledger lost it) before its next
    request, which it did not make. The key is the other sender's now: it knows every
    provider this send may have reached. Send the key again after ``retry_after``
    seconds for its outcome (replayed, or resolved), as after :class:`SendInProgress`;
    ``attempts`` are what this send did before it stopped."""

    def __init__(
        self, idempotency_key: str, retry_after: float, attempts: Sequence[Attempt] = ()
    ) -> None:
        MailspecError.__init__(self, idempotency_key, retry_after)  # made again from them
        self.idempotency_key, self.retry_after = idempotency_key, retry_after
        self.attempts = list(attempts)

    def __str__(self) -> str:
        return (
            f"idempotency key {self.idempotency_key!r} was taken over by another sender "
            f"before this send's next request, which was not made; ask again in "
            f"{self.retry_after:.3g}s"
        )


class Suppressed(MailspecError):
    """Every recipient of the message is on the Mailer's suppression list (a hard
    bounce, a complaint or an unsubscribe from any provider, or added by hand): nothing
    was sent, and sending it again will not help. ``addresses`` are the recipients as
    the message wrote them; ``idempotency_key`` the send's key."""

    def __init__(self, addresses: Sequence[str], idempotency_key: str | None = None) -> None:
        self.addresses = list(addresses)
        self.idempotency_key = idempotency_key
        count = len(self.addresses)
        super().__init__(
            f"every recipient ({count} address{'es' if count != 1 else ''}) is suppressed; "
            "nothing was sent"
        )


class StoreError(MailspecError):
    """A state store (``mailspec.store(...)``: a SQLite file, a Redis server) could not
    be opened, read or written: unreachable, locked past its busy timeout, refusing our
    login. ``store`` describes the store as its ``repr`` does, without any password.

    Raised before any request of a send (nothing went out) as it is; after a request,
    a :class:`~mailspec.Mailer` keeps the outcome of that request and logs the store's
    failure instead (see :mod:`mailspec.mailer.core`).
    """

    def __init__(self, store: str, message: str) -> None:
        self.store = store
        super().__init__(f"{store}: {message}")


class WebhookError(MailspecError):
    """A webhook request was refused (``mailspec.webhooks``). ``provider`` names whose
    webhook it claimed to be; the message never holds the secret or a signature."""

    def __init__(self, provider: str, message: str) -> None:
        self.provider = provider
        super().__init__(f"{provider} webhook: {message}")


class WebhookVerificationError(WebhookError):
    """The request could not be proven to come from the provider: no secret to check
    with, a missing or wrong signature, a timestamp outside the tolerance window, a
    replayed token, or a wrong shared secret. Answer it with 401 and say no more."""


class WebhookPayloadError(WebhookError):
    """The body cannot be read as the provider's events: not UTF-8, not JSON or form
    data, not an object or a list of objects, an event without its event field, an
    encoding the provider's spec does not accept, or a field of the wrong type."""


_BY_CATEGORY: dict[ErrorCategory, type[ProviderError]] = {
    cls.category: cls
    for cls in (
        ProviderValidationError,
        TemplateError,
        AuthenticationError,
        PermissionDeniedError,
        RateLimitError,
        QuotaExceededError,
        NotFoundError,
        ConflictError,
        ProviderServerError,
    )
}


def error_class_for(category: ErrorCategory) -> type[ProviderError]:
    """The ProviderError subclass for a status code's category."""
    return _BY_CATEGORY.get(category, ProviderError)
