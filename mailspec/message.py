"""The unified message every provider sends."""

from __future__ import annotations

import re
from copy import copy as _copy
from datetime import datetime
from itertools import compress
from typing import Any, NoReturn

import msgspec

from .checks.addresses import NOT_PLAIN, AddressError, Mailbox, needs_parsing, parse_mailbox
from .errors import ValidationError

__all__ = ["MESSAGE_FIELDS", "Attachment", "Message"]


# a charset parameter of a content type (RFC 2045 5.1: names are case-insensitive)
_CHARSET_PARAM = re.compile(r"(?i)(?:^|;)\s*charset\s*=")


def _wrong(field: str, expected: str, value: object) -> NoReturn:
    """Refuse a field of the wrong type, naming the field and the type given (never the
    value: it may be megabytes, or private)."""
    raise ValidationError(f"expected {expected}, got {_kind(value)}", field=field)


def _kind(value: object) -> str:
    """What ``value`` is, for an error: its type, and for a container the type of the
    first item that does not fit."""
    name = type(value).__name__
    if isinstance(value, list) and value:
        wrong = next((v for v in value if not isinstance(v, str)), value[0])
        return f"{name} of {type(wrong).__name__}"
    return name


class Attachment(msgspec.Struct, frozen=True):
    """A file to attach; a ``content_id`` makes it inline (``cid:`` in the html)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str | None = None

    def __post_init__(self) -> None:
        """Types are checked when an attachment is built (ValidationError naming the
        field), so that its repr, the checks and every adapter can trust them."""
        if not isinstance(self.filename, str):
            _wrong("attachments.filename", "a string", self.filename)
        if not isinstance(self.content, bytes):
            _wrong("attachments.content", "bytes", self.content)
        if not isinstance(self.content_type, str):
            _wrong("attachments.content_type", "a string", self.content_type)
        if self.content_id is not None and not isinstance(self.content_id, str):
            _wrong("attachments.content_id", "a string or None", self.content_id)

    @property
    def declared_type(self) -> str:
        """``content_type`` as it is sent, parameters included. A ``text/*`` type keeps
        the charset it was given; given none, it declares ``charset=utf-8`` when the
        content is UTF-8 (ASCII included), and is sent as given otherwise: a charset
        guessed wrong would show the recipient other characters than the sender's."""
        kind, _, params = self.content_type.partition(";")
        if not kind.strip().lower().startswith("text/") or _CHARSET_PARAM.search(params):
            return self.content_type
        try:
            self.content.decode("utf-8")
        except UnicodeDecodeError:
            return self.content_type
        return f"{self.content_type.rstrip().rstrip(';')}; charset=utf-8"

    def __repr__(self) -> str:  # the content may be megabytes: show its size, not its bytes
        cid = f", content_id={self.content_id!r}" if self.content_id else ""
        return (
            f"Attachment(filename={self.filename!r}, content=<{len(self.content)} bytes>, "
            f"content_type={self.content_type!r}{cid})"
        )


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """One email, whatever provider sends it.

    It takes what people write: ``to``, ``cc`` and ``bcc`` may be one address string
    (``to="ann@example.org"``), and ``from_email`` may carry the sender's name as a
    mailbox (``"Shop <orders@shop.example>"``), which sets ``from_name``; the fields
    hold the list and the bare address. So do ``to``, ``cc``, ``bcc`` and ``reply_to``:
    each entry is one mailbox (``"Ann Smith <ann@example.org>"``, ``'"Smith, Ann"
    <ann@example.org>'`` or an address), the field holds its address and
    ``display_names`` maps the address to the name, for the providers with a place
    for names. Addresses are held as they are sent: an internationalized domain as
    IDNA (``ann@öäü.com`` is ``ann@xn--4ca9at.com``), and ``recipient_variables`` keys
    with it. An entry that is not exactly one mailbox is a ValidationError naming the
    field (see :mod:`mailspec.checks.addresses`).

    ``variables`` fill a template (``template``) or ``%name%``-style placeholders for
    every recipient; ``recipient_variables`` maps a recipient address to its own values.
    ``tags`` and ``metadata`` travel where the provider supports them. A field a
    provider cannot carry is refused with an error naming it (a Mailer may send without
    tags and metadata, and says so in ``SendResult.dropped``).

    ``send_at`` (an aware datetime: when to deliver), ``track_opens`` and
    ``track_clicks`` (True asks for tracking) go to providers that support scheduled
    sending or tracking, and are a rule of every other provider (a Mailer skips it,
    saying why): no provider would deliver them as meant. ``False`` asks for no
    tracking, which a provider without tracking keeps. ``provider_options`` maps a
    provider name to extra wire fields of that provider's request (anymail's
    ``esp_extra``), merged into its top level, an object merged key by key; a provider
    with no request fields (SMTP) is skipped when it has options of its own.

    ``idempotency_key`` names one logical send (1 to 128 printable ASCII characters):
    a Mailer sends a key once, however often ``send()`` is called with it, and hands
    it to providers that deduplicate by one. When absent, ``Mailer.send`` makes one.
    """

    from_email: str
    to: list[str]
    from_name: str | None = None
    cc: list[str] = []
    bcc: list[str] = []
    reply_to: str | list[str] | None = None
    display_names: dict[str, str] = {}
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    attachments: list[Attachment] = []
    headers: dict[str, str] = {}
    tags: list[str] = []
    metadata: dict[str, str] = {}
    template: str | None = None
    variables: dict[str, str] = {}
    recipient_variables: dict[str, dict[str, str]] = {}
    idempotency_key: str | None = None
    send_at: datetime | None = None
    track_opens: bool | None = None
    track_clicks: bool | None = None
    provider_options: dict[str, dict[str, Any]] = {}

    def __post_init__(self) -> None:
        """Every field's type is checked when the message is built, not at send time: a
        wrong one is a ValidationError naming the field, so that every later check (the
        Mailer's, a provider's, an adapter's) can trust the types. Only types: what a
        provider accepts is :func:`~mailspec.checks.message.check_message`'s. Building
        a message is on the send path, so the common case is one short-circuit test and
        one regular-expression search per address."""
        # lists by their types, one string as people write them: see the docstring
        if _is_str(self.to) or _is_str(self.cc) or _is_str(self.bcc):
            _one_address_is_a_list(self)
        if not _plain_types(self):
            _check_types(self)  # raises, unless subclasses (of str, list, dict) explain it
        if _written_otherwise(self):
            _take_mailboxes(self)

    @property
    def reply_to_list(self) -> list[str]:
        if self.reply_to is None:
            return []
        return [self.reply_to] if isinstance(self.reply_to, str) else list(self.reply_to)

    def set_fields(self) -> list[str]:
        """The names of the fields that carry something (not empty, not None): every
        field is a string, a list, a mapping, a datetime or a flag, so that is each
        value's truth (``track_opens=False`` asks for nothing a provider must do)."""
        return list(compress(MESSAGE_FIELDS, msgspec.structs.astuple(self)))


MESSAGE_FIELDS: tuple[str, ...] = Message.__struct_fields__


def derived(message: Message, **changes: Any) -> Message:
    """A copy of ``message`` with ``changes``, which are not checked again: only for
    values that are right by construction (a fresh idempotency key; one of the
    message's own recipients, its variables merged, its text with them filled in).
    Anything else goes through ``msgspec.structs.replace``, which checks every field."""
    copy = _copy(message)
    for field, value in changes.items():
        msgspec.structs.force_setattr(copy, field, value)
    return copy


# the Message fields of each kind, for the error that names a wrong one
_OPTIONAL_STRINGS = ("from_name", "subject", "html", "text", "template", "idempotency_key")
_STRING_LISTS = ("to", "cc", "bcc", "tags")
_STRING_MAPS = ("headers", "metadata", "variables", "display_names")


# whether an address needs the parser (see needs_parsing), as a C function
_NOT_PLAIN = NOT_PLAIN.search
# isinstance(x, str) and isinstance(x, Attachment) as C functions, for map()
_is_str = str.__instancecheck__
_is_attachment = Attachment.__instancecheck__


def _plain_types(m: Message) -> bool:
    """Whether every field of ``m`` is of exactly its declared type (str, list, dict,
    None), the items of its containers included: the fast path of every Message, as
    identity tests that skip the empty containers (the defaults). False does not mean
    wrong: a subclass (of str, say) fails it, and :func:`_check_types` decides."""
    name, subject, html, text, template = m.from_name, m.subject, m.html, m.text, m.template
    to, cc, bcc, tags, reply_to = m.to, m.cc, m.bcc, m.tags, m.reply_to
    headers, metadata, variables, names = m.headers, m.metadata, m.variables, m.display_names
    attachments, per_recipient = m.attachments, m.recipient_variables
    # a call costs more than a test here: each container is tested as empty first
    return (
        m.from_email.__class__ is str
        and (name is None or name.__class__ is str)
        and (subject is None or subject.__class__ is str)
        and (html is None or html.__class__ is str)
        and (text is None or text.__class__ is str)
        and (template is None or template.__class__ is str)
        and (m.idempotency_key is None or m.idempotency_key.__class__ is str)
        and (reply_to is None or reply_to.__class__ is str or _plain_list(reply_to, str))
        and to.__class__ is list
        and _plain_list(to, str)
        and cc.__class__ is list
        and (not cc or _plain_list(cc, str))
        and bcc.__class__ is list
        and (not bcc or _plain_list(bcc, str))
        and tags.__class__ is list
        and (not tags or _plain_list(tags, str))
        and headers.__class__ is dict
        and (not headers or _plain_map(headers))
        and metadata.__class__ is dict
        and (not metadata or _plain_map(metadata))
        and names.__class__ is dict
        and (not names or _plain_map(names))
        and variables.__class__ is dict
        and (not variables or _plain_map(variables))
        and attachments.__class__ is list
        and (not attachments or _plain_list(attachments, Attachment))
        and per_recipient.__class__ is dict
        and (not per_recipient or _plain_recipient_variables(per_recipient))
        and m.send_at is None
        and m.track_opens is None
        and m.track_clicks is None
        and not m.provider_options
    )


def _plain_list(value: Any, item_class: type) -> bool:
    """A list whose items are exactly ``item_class`` (not a subclass)."""
    if value.__class__ is not list:
        return False
    for item in value:  # noqa: SIM110 (a loop beats all() on a few items; hot path)
        if item.__class__ is not item_class:
            return False
    return True


def _plain_map(value: Any) -> bool:
    """A dict of exactly str keys and values."""
    if value.__class__ is not dict:
        return False
    for key, item in value.items():
        if key.__class__ is not str or item.__class__ is not str:
            return False
    return True


def _plain_recipient_variables(value: Any) -> bool:
    """A dict of exactly str addresses to plain maps."""
    if value.__class__ is not dict:
        return False
    for key, item in value.items():
        if key.__class__ is not str or not _plain_map(item):
            return False
    return True


def _strings(value: Any) -> bool:
    """A list of strings (the empty list included)."""
    return isinstance(value, list) and all(map(_is_str, value))


def _string_map(value: Any) -> bool:
    """A dict of strings to strings (the empty dict included)."""
    return (
        isinstance(value, dict) and all(map(_is_str, value)) and all(map(_is_str, value.values()))
    )


def _recipient_variables(value: Any) -> bool:
    """A dict of addresses to dicts of strings."""
    return (
        isinstance(value, dict)
        and all(map(_is_str, value))
        and all(map(_string_map, value.values()))
    )


def _one_address_is_a_list(m: Message) -> None:
    for field in ("to", "cc", "bcc"):
        value = getattr(m, field)
        if _is_str(value):
            msgspec.structs.force_setattr(m, field, [value])


def _written_otherwise(m: Message) -> bool:
    """Whether an address of ``m`` (whose types are checked) is written another way
    than it is sent: a mailbox, quotes, spaces, an internationalized domain. One
    regular-expression search per address: this is on every Message's path."""
    search = _NOT_PLAIN
    if search(m.from_email):
        return True
    for address in m.to:
        if search(address):
            return True
    if not (m.cc or m.bcc or m.reply_to or m.display_names or m.recipient_variables):
        return False
    reply_to: list[str] = [m.reply_to] if isinstance(m.reply_to, str) else m.reply_to or []
    others = (m.cc, m.bcc, reply_to, m.display_names, m.recipient_variables)
    return any(search(address) for addresses in others for address in addresses)


def _take_mailboxes(m: Message) -> None:
    """Each mailbox in ``to``, ``cc``, ``bcc`` and ``reply_to`` becomes its address,
    its name going into ``display_names``; an address keying ``display_names`` or
    ``recipient_variables`` is normalised as those are; a mailbox in ``from_email``
    becomes its address, and its display name ``from_name`` (a different ``from_name``
    given too is a ValidationError: which one is meant cannot be told)."""
    names = _normal_keys("display_names", m.display_names)
    for field in ("to", "cc", "bcc", "reply_to"):
        value = getattr(m, field)
        if _is_str(value):
            msgspec.structs.force_setattr(m, field, _address(field, value, names))
        elif value is not None:
            msgspec.structs.force_setattr(m, field, [_address(field, v, names) for v in value])
    msgspec.structs.force_setattr(m, "display_names", names)
    keys = _normal_keys("recipient_variables", m.recipient_variables)
    msgspec.structs.force_setattr(m, "recipient_variables", keys)
    if needs_parsing(m.from_email):
        name, address = _mailbox("from_email", m.from_email)
        if name and m.from_name is not None and m.from_name != name:
            raise ValidationError(
                f"the sender's name is given twice: {name!r} in from_email and "
                f"{m.from_name!r} in from_name",
                field="from_name",
            )
        msgspec.structs.force_setattr(m, "from_email", address)
        if name and m.from_name is None:
            msgspec.structs.force_setattr(m, "from_name", name)


def _mailbox(field: str, text: str) -> Mailbox:
    try:
        return parse_mailbox(text)
    except AddressError as exc:
        raise ValidationError(
            f"not a valid address or mailbox ('Ann Smith <ann@example.org>'): {text!r} ({exc})",
            field=field,
        ) from None


def _address(field: str, text: str, names: dict[str, str]) -> str:
    """The address of the mailbox ``text``, its name added to ``names`` (one name per
    address: a second, different one is a ValidationError)."""
    if not needs_parsing(text):
        return text
    name, address = _mailbox(field, text)
    known = names.get(address)
    if name and known is not None and known != name:
        raise ValidationError(
            f"two display names for {address}: {known!r} and {name!r}", field=field
        )
    if name:
        names[address] = name
    return address


def _normal_keys(field: str, mapping: dict[str, Any]) -> dict[str, Any]:
    """A copy of a mapping keyed by address with its keys as addresses are held (a
    key written as a mailbox or with an internationalized domain, normalised)."""
    return {_mailbox(field, k).address if needs_parsing(k) else k: v for k, v in mapping.items()}


def _check_types(m: Message) -> None:
    """Raise the ValidationError naming the first field of ``m`` with a wrong type, in
    the order a reader checks them; return if every field fits (subclasses do)."""
    if not isinstance(m.from_email, str):
        _wrong("from_email", "an address string", m.from_email)
    for name in _STRING_LISTS:
        if not _strings(getattr(m, name)):
            _wrong(name, "a list of strings", getattr(m, name))
    for name in _OPTIONAL_STRINGS:
        value = getattr(m, name)
        if value is not None and not isinstance(value, str):
            _wrong(name, "a string or None", value)
    if not (m.reply_to is None or isinstance(m.reply_to, str) or _strings(m.reply_to)):
        _wrong("reply_to", "an address, a list of address strings or None", m.reply_to)
    for name in _STRING_MAPS:
        if not _string_map(getattr(m, name)):
            _wrong(name, "a mapping of strings to strings", getattr(m, name))
    if not (isinstance(m.attachments, list) and all(map(_is_attachment, m.attachments))):
        _wrong("attachments", "a list of Attachment objects", m.attachments)
    if not _recipient_variables(m.recipient_variables):
        _wrong(
            "recipient_variables",
            "a mapping of address to a mapping of strings",
            m.recipient_variables,
        )
    if m.send_at is not None and not (isinstance(m.send_at, datetime) and m.send_at.tzinfo):
        _wrong("send_at", "an aware datetime (with a tzinfo) or None", m.send_at)
    for name in ("track_opens", "track_clicks"):
        if not isinstance(getattr(m, name), bool | None):
            _wrong(name, "True, False or None", getattr(m, name))
    if not _provider_options(m.provider_options):
        _wrong(
            "provider_options",
            "a mapping of provider name to a mapping of wire field to value",
            m.provider_options,
        )


def _provider_options(value: Any) -> bool:
    """A dict of provider names to dicts keyed by wire field names."""
    return (
        isinstance(value, dict)
        and all(map(_is_str, value))
        and all(isinstance(v, dict) and all(map(_is_str, v)) for v in value.values())
    )
