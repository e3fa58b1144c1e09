"""Check a unified Message before any provider sees it.

The Message checked its field types when it was built; here, what every provider
would refuse (*message errors*): addresses, header injection (no control character in
anything that becomes a header line or a form field; html and text may hold tabs and
line breaks), text UTF-8 cannot encode (a lone surrogate), headers the message's own
fields write. Given a provider's spec, also that provider's recipient limits (a *rule*
of that provider), and with :func:`check_required` the fields its API requires (a
subject, an html body, a ``to`` address). One check for every transport, HTTP and
SMTP alike. Everything here raises :class:`~mailspec.errors.ValidationError` (naming
the provider only for its rules) and does no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ValidationError
from ..message import Attachment, Message
from .addresses import CONTROL, address_problem, name_problem
from .carry import over_limit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..spec_model import Param, Spec

__all__ = [
    "RESERVED_HEADERS",
    "check_message",
    "check_required",
    "check_rules",
    "required_fields",
]

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
# a key every provider's parameter and every store's key can hold as it is
_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,128}")
# what a header line or a one-line field may not hold: controls (CR and LF among them),
# and lone surrogates, which UTF-8 cannot encode
_NOT_IN_LINE = re.compile(rf"[{CONTROL}\ud800-\udfff]")
# what a body (html, text, and the variables substituted into it) may not hold: the
# same, but for tab, LF and CR
_NOT_IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# The same two sets for ASCII text, as the bytes ``bytes.translate`` keeps when it
# deletes every allowed one: a scan in C, far cheaper than the regex over a long body.
# Text that is not ASCII, or that holds one of these, goes through the regex, which
# finds the character and its position for the error.
_LINE_OK = bytes(range(0x20, 0x7F))
_BODY_OK = _LINE_OK + b"\t\n\r"


def _fail(field: str, message: str) -> None:
    raise ValidationError(message, field=field)


def _limit_code(spec: Spec, field: str) -> int | None:
    """The provider's own code for too many items in ``field`` (its ``max_items`` code on
    the parameter the spec's mapping fills from that field), where the spec declares one."""
    for operation, mapping in spec.mapping.items():
        op = spec.operations.get(operation)
        name = mapping.get(field, "").partition(".")[0]  # a `parameter.Entry` row's parameter
        param = op.params.get(name) if op is not None else None
        if param is not None and "max_items" in param.codes:
            return param.codes["max_items"]
    return None


def _check_addresses(field: str, value: object, *, required: bool = False) -> list[str]:
    if not isinstance(value, list) or (value and not all(isinstance(a, str) for a in value)):
        _fail(field, "expected a list of address strings")
    addresses: list[str] = value  # type: ignore[assignment]
    if required and not addresses:
        _fail(field, "at least one recipient is required")
    for address in addresses:
        _check_address(field, address)
    return addresses


def _check_address(field: str, address: str) -> None:
    problem = address_problem(address)
    if problem is not None:
        _fail(field, f"not a valid address: {address!r} ({problem})")


def _check_display_names(message: Message) -> None:
    """Names for addresses of the message, each one a header could carry."""
    if not message.display_names:
        return
    addresses = {*message.to, *message.cc, *message.bcc, *message.reply_to_list}
    for address, name in message.display_names.items():
        if address not in addresses:
            _fail("display_names", f"{address!r} is not one of the message's addresses")
        _check_text(f"display_names[{address}]", name)
        problem = name_problem(name)
        if problem is not None:
            _fail(f"display_names[{address}]", f"must not contain {problem}")


def _check_text(field: str, value: object, *, body: bool = False) -> None:
    """A string (or None) that travels as a header line or form field (``body``: as a
    body, where tab, LF and CR belong): no control character, nothing UTF-8 cannot
    encode. The error names the field and the position, never the text itself."""
    if value is None:
        return
    if not isinstance(value, str):
        _fail(field, f"expected a string, got {type(value).__name__}")
        return
    if value.isascii() and not value.encode().translate(None, _BODY_OK if body else _LINE_OK):
        return  # ASCII, and every character allowed
    found = (_NOT_IN_BODY if body else _NOT_IN_LINE).search(value)
    if found is None:
        return
    char, at = found.group(), found.start()
    if "\ud800" <= char <= "\udfff":
        _fail(field, f"cannot be encoded as UTF-8: a lone surrogate at {at}")
    if char in "\r\n":
        _fail(field, "must not contain line breaks (header injection)")
    _fail(field, f"must not contain control characters (U+{ord(char):04X} at {at})")


def _check_mapping(field: str, mapping: object, *, body_values: bool) -> None:
    """A mapping of strings to strings: keys as one-line fields, values as lines or,
    with ``body_values`` (variables filled into the body), as body text."""
    if not isinstance(mapping, dict) or (
        mapping and not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    ):
        _fail(field, "expected a mapping of strings to strings")
        return
    for key, value in mapping.items():
        _check_text(field, key)
        _check_text(f"{field}[{key}]", value, body=body_values)


def _check_headers(headers: object) -> None:
    """Names a header may have, not one the message's own fields write, and one-line
    values."""
    if not isinstance(headers, dict):
        _fail("headers", "expected a mapping of header names to values")
        return
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            _fail("headers", f"not a valid header name: {name!r}")
        if name.lower() in RESERVED_HEADERS:
            _fail(
                f"headers[{name}]",
                "is written from the message's own fields; set those instead",
            )
        _check_text(f"headers[{name}]", value)


def _check_attachments(attachments: object) -> None:
    if not isinstance(attachments, list):
        _fail("attachments", "expected a list of Attachment objects")
        return
    for attachment in attachments:
        if not isinstance(attachment, Attachment) or not isinstance(attachment.content, bytes):
            _fail("attachments", "expected Attachment objects with bytes content")
        _check_text("attachments.filename", attachment.filename)
        _check_text("attachments.content_type", attachment.content_type)
        _check_text("attachments.content_id", attachment.content_id)


def _check_recipient_variables(message: Message, to: list[str]) -> None:
    for address, values in message.recipient_variables.items():
        if address not in to:
            _fail("recipient_variables", f"{address!r} is not one of the message's to addresses")
        if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()
        ):
            _fail("recipient_variables", "expected a mapping of address to {name: value}")
        _check_mapping(f"recipient_variables[{address}]", values, body_values=True)


def check_required(
    message: Message,
    spec: Spec,
    required: Mapping[str, list[tuple[str, Param, list[str]]]] | None = None,
) -> None:
    """The fields whose parameter the provider's API requires are set: an empty subject
    or body, or no ``to`` (a cc- or bcc-only message), is a rule of that API, not an
    error of the message (SMTP sends them). ValidationError naming the provider.
    ``required`` is :func:`required_fields` of each operation, made once per spec."""
    operation = "send_template" if message.template else "send"
    if operation not in spec.operations:
        return  # the adapter refuses the operation itself
    rows = required[operation] if required is not None else required_fields(spec, operation)
    for name, param, fields in rows:
        if not any(getattr(message, field, None) for field in fields):
            raise ValidationError(
                f"{spec.provider.name} requires it (its {param.wire or name} parameter)",
                field=fields[0],
                provider=spec.provider.name,
                code=param.codes.get("required"),
            )


def required_fields(spec: Spec, operation: str) -> list[tuple[str, Param, list[str]]]:
    """The parameters of ``operation`` its API requires and no default fills, each with
    the Message fields mapped to it (one of them must be set)."""
    op = spec.operations[operation]
    filled: dict[str, list[str]] = {}  # parameter -> the fields mapped to it, set or not
    for field, target in spec.mapping.get(operation, {}).items():
        filled.setdefault(target.partition(".")[0], []).append(field)
    rows = []
    for name, fields in filled.items():
        param = op.params.get(name)
        if param is not None and param.required and param.default is None:
            rows.append((name, param, fields))
    return rows


def check_message(message: Message, spec: Spec | None = None) -> None:
    """``message`` as every provider would check it, and with ``spec`` against that
    provider's limits too (:func:`check_rules`): ValidationError naming the field."""
    _check_fields(message)
    if spec is not None:
        check_rules(message, spec)


def _check_fields(message: Message) -> None:
    if not isinstance(message, Message):
        raise ValidationError(f"expected a Message, got {type(message).__name__}")
    _check_address("from_email", message.from_email)
    to = _check_addresses("to", message.to)
    _check_addresses("cc", message.cc)
    _check_addresses("bcc", message.bcc)
    if not (message.to or message.cc or message.bcc):
        _fail("to", "at least one recipient (to, cc or bcc) is required")
    if not isinstance(message.reply_to, str | list | None):  # reply_to_list takes any iterable
        _fail("reply_to", "expected an address or a list of address strings")
    _check_addresses("reply_to", message.reply_to_list)
    _check_display_names(message)
    for field in ("from_name", "subject", "template"):
        _check_text(field, getattr(message, field))
    sender_name = name_problem(message.from_name) if message.from_name else None
    if sender_name is not None:
        _fail("from_name", f"must not contain {sender_name}")
    for field in ("html", "text"):
        _check_text(field, getattr(message, field), body=True)
    _check_headers(message.headers)
    if not isinstance(message.tags, list) or not all(isinstance(t, str) for t in message.tags):
        _fail("tags", "expected a list of strings")
    for tag in message.tags:
        _check_text("tags", tag)
    _check_attachments(message.attachments)
    _check_mapping("variables", message.variables, body_values=True)
    _check_mapping("metadata", message.metadata, body_values=False)
    _check_recipient_variables(message, to)
    key = message.idempotency_key
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        _fail("idempotency_key", "must be 1 to 128 printable ASCII characters, no spaces")


def check_rules(message: Message, spec: Spec) -> None:
    """What only this provider's limits refuse (its recipients per request, its reply-to
    addresses), for a message :func:`check_message` has passed: a Mailer checks a
    message once, then each provider's rules. ValidationError naming the provider."""
    over = over_limit(message, spec.limits)
    if over is not None:
        field, count, limit = over
        what = "reply-to addresses" if field == "reply_to" else "recipients per request"
        raise ValidationError(
            f"at most {limit} {what}, got {count}",
            field=field,
            provider=spec.provider.name,
            code=_limit_code(spec, field),
        )
