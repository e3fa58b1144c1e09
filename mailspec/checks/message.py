"""Check a unified Message before any provider sees it.

Types (a Message does not check them itself), addresses, header injection (CR/LF in
anything that becomes a header line) and the provider's recipient limits. Everything
here raises :class:`~mailspec.errors.ValidationError` and does no I/O.
"""

from __future__ import annotations

import re

from ..errors import ValidationError
from ..message import Attachment, Message
from ..spec_model import Spec
from .addresses import is_email
from .carry import over_limit

__all__ = ["check_message"]

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field-name: printable ASCII but ':'
_CRLF = re.compile(r"[\r\n\x00]")


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


def _check_line(spec: Spec, field: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        _fail(spec, field, f"expected a string, got {type(value).__name__}")
    elif _CRLF.search(value):
        _fail(spec, field, "must not contain line breaks (header injection)")


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
        _check_line(spec, field, getattr(message, field))
    for field in ("html", "text"):
        if getattr(message, field) is not None and not isinstance(getattr(message, field), str):
            _fail(spec, field, "expected a string")
    if not (message.html or message.text or message.template):
        _fail(spec, "html", "a message needs html, text or a template")
    if not message.template and not message.subject:
        _fail(spec, "subject", "a message without a template needs a subject")
    if not isinstance(message.headers, dict):
        _fail(spec, "headers", "expected a mapping of header names to values")
    for name, value in message.headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            _fail(spec, "headers", f"not a valid header name: {name!r}")
        _check_line(spec, f"headers[{name}]", value)
    if not isinstance(message.tags, list) or not all(isinstance(t, str) for t in message.tags):
        _fail(spec, "tags", "expected a list of strings")
    if not isinstance(message.attachments, list):
        _fail(spec, "attachments", "expected a list of Attachment objects")
    for attachment in message.attachments:
        if not isinstance(attachment, Attachment) or not isinstance(attachment.content, bytes):
            _fail(spec, "attachments", "expected Attachment objects with bytes content")
        _check_line(spec, "attachments.filename", attachment.filename)
        _check_line(spec, "attachments.content_type", attachment.content_type)
    for field, mapping in (("variables", message.variables), ("metadata", message.metadata)):
        if not isinstance(mapping, dict) or (
            mapping
            and not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        ):
            _fail(spec, field, "expected a mapping of strings to strings")
    for address, values in message.recipient_variables.items():
        if address not in to:
            _fail(
                spec, "recipient_variables", f"{address!r} is not one of the message's to addresses"
            )
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            _fail(spec, "recipient_variables", "expected a mapping of address to {name: value}")
    over = over_limit(message, spec.limits)
    if over is not None:
        field, count, limit = over
        what = "reply-to addresses" if field == "reply_to" else "recipients per request"
        _fail(spec, field, f"at most {limit} {what}, got {count}", _limit_code(spec, field))
