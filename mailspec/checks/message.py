"""Check a unified Message before any provider sees it.

The Message checked its field types when it was built; here: addresses, header
injection (no control character in anything that becomes a header line or a form
field; html and text may hold tabs and line breaks), text UTF-8 cannot encode (a lone
surrogate), headers the message's own fields write, and the provider's recipient
limits. One check for every transport, HTTP and SMTP alike. Everything here raises
:class:`~mailspec.errors.ValidationError` and does no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..message import Attachment, Message
from .addresses import CONTROL, is_email
from .carry import over_limit

if TYPE_CHECKING:
    from ..spec_model import Spec

__all__ = ["RESERVED_HEADERS", "check_message"]

# Headers the Message's own fields (or the MIME structure, or the SendCloud platform's
# X-SMTPAPI) write, lower-case. A Message.headers entry for one of them would duplicate
# or contradict it, and a "Bcc" one would reveal the hidden recipients to everyone, so
# they are refused on every transport. Message-ID and Date may be given: over SMTP they
# replace the ones mailspec writes (see mailspec.runtime.mime.message_id_for).
RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        "content-id",
        "x-smtpapi",
    }
)

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field-name: printable ASCII but ':'
# what a header line or a one-line field may not hold: controls (CR and LF among them),
# and lone surrogates, which UTF-8 cannot encode
_NOT_IN_LINE = re.compile(rf"[{CONTROL}\ud800-\udfff]")
# what a body (html, text, and the variables substituted into it) may not hold: the
# same, but for tab, LF and CR
_NOT_IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _fail(spec: Spec, field: str, message: str, code: int | None = None) -> None:
    raise ValidationError(message, field=field, provider=spec.provider.name, code=code)


def _limit_code(spec: Spec, field: str) -> int | None:
    """The provider's own code for too many items in ``field`` (its ``max_items`` code on
    the parameter the spec's mapping fills from that field), where the spec declares one."""
    for operation, mapping in spec.mapping.items():
        op = spec.operations.get(operation)
        param = op.params.get(mapping.get(field, "")) if op is not None else None
        if param is not None and "max_items" in param.codes:
            return param.codes["max_items"]
    return None


def _check_addresses(spec: Spec, field: str, value: object, *, required: bool = False) -> list[str]:
    if not isinstance(value, list) or (value and not all(isinstance(a, str) for a in value)):
        _fail(spec, field, "expected a list of address strings")
    addresses: list[str] = value  # type: ignore[assignment]
    if required and not addresses:
        _fail(spec, field, "at least one recipient is required")
    for address in addresses:
        if not is_email(address):
            _fail(spec, field, f"not a valid address: {address!r}")
    return addresses


def _check_text(spec: Spec, field: str, value: object, *, body: bool = False) -> None:
    """A string (or None) that travels as a header line or form field (``body``: as a
    body, where tab, LF and CR belong): no control character, nothing UTF-8 cannot
    encode. The error names the field and the position, never the text itself."""
    if value is None:
        return
    if not isinstance(value, str):
        _fail(spec, field, f"expected a string, got {type(value).__name__}")
        return
    found = (_NOT_IN_BODY if body else _NOT_IN_LINE).search(value)
    if found is None:
        return
    char, at = found.group(), found.start()
    if "\ud800" <= char <= "\udfff":
        _fail(spec, field, f"cannot be encoded as UTF-8: a lone surrogate at {at}")
    if char in "\r\n":
        _fail(spec, field, "must not contain line breaks (header injection)")
    _fail(spec, field, f"must not contain control characters (U+{ord(char):04X} at {at})")


def _check_mapping(spec: Spec, field: str, mapping: object, *, body_values: bool) -> None:
    """A mapping of strings to strings: keys as one-line fields, values as lines or,
    with ``body_values`` (variables filled into the body), as body text."""
    if not isinstance(mapping, dict) or (
        mapping and not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    ):
        _fail(spec, field, "expected a mapping of strings to strings")
        return
    for key, value in mapping.items():
        _check_text(spec, field, key)
        _check_text(spec, f"{field}[{key}]", value, body=body_values)


def _check_headers(spec: Spec, headers: object) -> None:
    """Names a header may have, not one the message's own fields write, and one-line
    values."""
    if not isinstance(headers, dict):
        _fail(spec, "headers", "expected a mapping of header names to values")
        return
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            _fail(spec, "headers", f"not a valid header name: {name!r}")
        if name.lower() in RESERVED_HEADERS:
            _fail(
                spec,
                f"headers[{name}]",
                "is written from the message's own fields; set those instead",
            )
        _check_text(spec, f"headers[{name}]", value)


def _check_attachments(spec: Spec, attachments: object) -> None:
    if not isinstance(attachments, list):
        _fail(spec, "attachments", "expected a list of Attachment objects")
        return
    for attachment in attachments:
        if not isinstance(attachment, Attachment) or not isinstance(attachment.content, bytes):
            _fail(spec, "attachments", "expected Attachment objects with bytes content")
        _check_text(spec, "attachments.filename", attachment.filename)
        _check_text(spec, "attachments.content_type", attachment.content_type)
        _check_text(spec, "attachments.content_id", attachment.content_id)


def _check_recipient_variables(spec: Spec, message: Message, to: list[str]) -> None:
    for address, values in message.recipient_variables.items():
        if address not in to:
            _fail(
                spec, "recipient_variables", f"{address!r} is not one of the message's to addresses"
            )
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            _fail(spec, "recipient_variables", "expected a mapping of address to {name: value}")
        _check_mapping(spec, f"recipient_variables[{address}]", values, body_values=True)


def check_message(message: Message, spec: Spec) -> None:
    """``message`` against one provider's spec: ValidationError naming the field."""
    if not isinstance(message, Message):
        raise ValidationError(
            f"expected a Message, got {type(message).__name__}", provider=spec.provider.name
        )
    if not is_email(message.from_email):
        _fail(spec, "from_email", f"not a valid address: {message.from_email!r}")
    to = _check_addresses(spec, "to", message.to, required=True)
    _check_addresses(spec, "cc", message.cc)
    _check_addresses(spec, "bcc", message.bcc)
    if not isinstance(message.reply_to, str | list | None):  # reply_to_list takes any iterable
        _fail(spec, "reply_to", "expected an address or a list of address strings")
    _check_addresses(spec, "reply_to", message.reply_to_list)
    for field in ("from_name", "subject", "template"):
        _check_text(spec, field, getattr(message, field))
    for field in ("html", "text"):
        _check_text(spec, field, getattr(message, field), body=True)
    if not (message.html or message.text or message.template):
        _fail(spec, "html", "a message needs html, text or a template")
    if not message.template and not message.subject:
        _fail(spec, "subject", "a message without a template needs a subject")
    _check_headers(spec, message.headers)
    if not isinstance(message.tags, list) or not all(isinstance(t, str) for t in message.tags):
        _fail(spec, "tags", "expected a list of strings")
    for tag in message.tags:
        _check_text(spec, "tags", tag)
    _check_attachments(spec, message.attachments)
    _check_mapping(spec, "variables", message.variables, body_values=True)
    _check_mapping(spec, "metadata", message.metadata, body_values=False)
    _check_recipient_variables(spec, message, to)
    over = over_limit(message, spec.limits)
    if over is not None:
        field, count, limit = over
        what = "reply-to addresses" if field == "reply_to" else "recipients per request"
        _fail(spec, field, f"at most {limit} {what}, got {count}", _limit_code(spec, field))
