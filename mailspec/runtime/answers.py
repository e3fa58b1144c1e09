"""Read a provider's answer: the decoded response on a success code, else the error
class the code's category names. Pure: the bytes come from whichever transport sent
the request."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgspec

from .. import wire_paths
from ..errors import MalformedResponseError, error_class_for
from ..spec_model import AnswerField, Operation, Spec
from ..vocabulary import ErrorCategory
from .bounds import may_have_acted
from .numbers import AnswerDecoder, int_or_none
from .secrets import Secret, redact
from .transport import Answer

__all__ = ["read_answer"]

# What decoding an unreadable body raises: msgspec raises UnicodeDecodeError, not a
# DecodeError, for invalid UTF-8 inside a JSON string, and RecursionError for JSON
# nested deeper than the interpreter's recursion limit (even inside a field it skips),
# which a 2xx answer of a few hundred kilobytes can be.
_UNREADABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError)

# How much of an unreadable body an error message shows.
_PREVIEW_CHARACTERS = 120

# What an HTTP status means when the body carries no readable code.
_HTTP_CATEGORIES = {
    400: ErrorCategory.VALIDATION,
    401: ErrorCategory.AUTHENTICATION,
    403: ErrorCategory.PERMISSION,
    404: ErrorCategory.NOT_FOUND,
    409: ErrorCategory.CONFLICT,
    413: ErrorCategory.VALIDATION,
    422: ErrorCategory.VALIDATION,
    429: ErrorCategory.RATE_LIMIT,
}


def read_answer(
    spec: Spec,
    op: Operation,
    answer: Answer,
    decoder: AnswerDecoder[Any],
    envelope_decoder: AnswerDecoder[Any],
    secrets: Iterable[Secret],
) -> Any:
    """The answer decoded by ``decoder`` when its code is a success; otherwise raise
    the ProviderError subclass of the code's category (any credential the provider
    echoed is redacted from the message)."""
    name = spec.provider.name
    code, message = _envelope(spec, op, answer, envelope_decoder, secrets)
    row = spec.codes.get(code) if code is not None else None
    if row is not None and row.category == ErrorCategory.SUCCESS and 200 <= answer.status < 300:
        # an operation whose id is in a header may answer with no body at all (SendGrid)
        body = answer.body or (b"{}" if op.ids_header is not None else b"")
        try:
            return decoder.decode(body)
        except _UNREADABLE as exc:
            raise _malformed(name, op, answer, f"unexpected answer shape: {exc}", secrets) from None
    if row is None and (code is None or spec.envelope.code_from == "http"):
        # no readable code, or an HTTP status the spec does not list (a 502 from a
        # proxy): the status class says what it means
        category = _HTTP_CATEGORIES.get(
            answer.status,
            ErrorCategory.SERVER if answer.status >= 500 else ErrorCategory.UNKNOWN,
        )
    else:
        category = row.category if row is not None else ErrorCategory.UNKNOWN
    named = _named_category(spec, answer, envelope_decoder)
    if named is not None:  # the error's own name decides over its status
        category, row = named, None
    if category == ErrorCategory.SUCCESS:  # a success code on a failed HTTP status
        category = ErrorCategory.SERVER if answer.status >= 500 else ErrorCategory.UNKNOWN
    text = redact(message or (row.message if row else f"HTTP {answer.status}"), secrets)
    error_class = error_class_for(category)
    raise error_class(
        name,
        code if code is not None else answer.status,
        text,
        http_status=answer.status,
        retryable=row.retryable if row is not None and row.category == category else None,
        retry_after=_retry_after(answer, spec.limits.retry_after_header),
    )


def _named_category(
    spec: Spec, answer: Answer, envelope_decoder: AnswerDecoder[Any]
) -> ErrorCategory | None:
    """The category the answer's error name maps to (``envelope.errors``), or None."""
    source = spec.envelope.error_name
    if source is None:
        return None
    name: object = None
    if source.header is not None:
        name = (answer.headers.get(source.header) or "").split(":", 1)[0].strip()
    elif answer.body:
        try:
            name = getattr(envelope_decoder.decode(answer.body), "error_name", None)
        except _UNREADABLE:
            return None
    found = spec.envelope.errors.get(name) if isinstance(name, str) else None
    return ErrorCategory(found) if found is not None else None


def _envelope(
    spec: Spec,
    op: Operation,
    answer: Answer,
    envelope_decoder: AnswerDecoder[Any],
    secrets: Iterable[Secret],
) -> tuple[int | None, str | None]:
    """The status code and message of an answer; raises MalformedResponseError when
    a body that must carry them cannot be read."""
    unreadable = ""
    try:
        envelope = envelope_decoder.decode(answer.body) if answer.body else None
    except _UNREADABLE as exc:
        envelope, unreadable = None, f" (unreadable: {exc})"
    message = getattr(envelope, "message", None) if envelope is not None else None
    if message is None and spec.envelope.message is not None and answer.body:
        message = _message_at_path(spec.envelope.message, answer.body)
    if spec.envelope.code_from == "http":
        return answer.status, message if isinstance(message, str) else None
    # the generated decoders already read a code written as a string ("200"); a
    # decoder built by hand may leave it as it came, so read it here the same way
    code = int_or_none(getattr(envelope, "code", None) if envelope is not None else None)
    if code is None:
        if 200 <= answer.status < 300:
            raise _malformed(
                spec.provider.name,
                op,
                answer,
                "the answer carries no status code" + unreadable,
                secrets,
            )
        return None, None  # an HTTP error page: the status says enough
    return code, message if isinstance(message, str) else None


def _message_at_path(field: AnswerField, body: bytes) -> str | None:
    """The message where the envelope names a path into the answer (SendGrid's
    ``errors[0].message``), or None."""
    paths = [w for w in (field.wire, *field.aliases) if wire_paths.is_path(w)]
    if not paths:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    for path in paths:
        found = wire_paths.get(document, path)
        if isinstance(found, str):
            return found
    return None


def _malformed(
    provider: str, op: Operation, answer: Answer, why: str, secrets: Iterable[Secret]
) -> MalformedResponseError:
    preview = _preview(answer.body, secrets)
    return MalformedResponseError(
        provider,
        f"{why} (HTTP {answer.status}, body {preview!r})",
        http_status=answer.status,
        # a 2xx on a call that changes something may have done it: say so
        ambiguous=may_have_acted(op.method, answer.status),
    )


def _preview(body: bytes, secrets: Iterable[Secret]) -> str:
    """The start of an unreadable body, for an error message. The whole body is
    redacted before it is cut: cut first, a credential straddling the cut would no
    longer match and its first characters would show."""
    return redact(body.decode("utf-8", "replace"), secrets)[:_PREVIEW_CHARACTERS]


def _retry_after(answer: Answer, fallback: str | None = None) -> float | None:
    """The seconds to wait: Retry-After, else the spec's own header (``limits.
    retry_after_header``), as a number of seconds."""
    value = answer.headers.get("Retry-After")
    if value is None and fallback is not None:
        value = answer.headers.get(fallback)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
