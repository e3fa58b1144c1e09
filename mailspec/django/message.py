"""A Django ``EmailMessage`` (or ``EmailMultiAlternatives``, or anymail's
``AnymailMessage``) as a mailspec ``Message``.

One function per part of the message: addresses, bodies, attachments, headers and the
anymail attributes (``tags``, ``metadata``, ``template_id``, ``merge_global_data``,
``merge_data``, ``send_at``, ``track_opens``, ``track_clicks``, ``esp_extra``), so
that code written for django-anymail sends unchanged: lazy strings are forced to text,
and anymail's ``UNSET`` is unset. What a ``Message`` cannot hold is refused with a
ValidationError naming the attribute, never dropped without a word.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from email.message import Message as EmailPart
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.functional import Promise

from ..checks.addresses import AddressError, Mailbox, parse_mailbox, split_mailboxes
from ..errors import ValidationError
from ..message import Attachment, Message

__all__ = ["UNSUPPORTED_ANYMAIL_ATTRIBUTES", "is_unset", "to_message"]

# anymail attributes with no place in a Message: refused when set, never ignored
UNSUPPORTED_ANYMAIL_ATTRIBUTES = ("merge_metadata", "merge_headers", "envelope_sender")

# recipients are the message's own lists: a header naming others would not be sent to
_RECIPIENT_HEADERS = ("to", "cc", "bcc")


def to_message(email: EmailMessage) -> Message:
    """``email`` as a Message: every field Django and anymail give it, or a
    ValidationError naming the one that has no place in a Message."""
    _refuse_unsupported(email)
    headers, from_header, reply_to_header = _headers(email)
    html, text = _bodies(email)
    from_email, from_name = _sender(from_header or force_str(email.from_email))
    reply_to = _addresses("reply_to", reply_to_header or email.reply_to)
    to = _addresses("to", email.to)
    template = _anymail(email, "template_id")
    return Message(
        from_email=from_email,
        from_name=from_name,
        to=to,
        cc=_addresses("cc", email.cc),
        bcc=_addresses("bcc", email.bcc),
        reply_to=reply_to or None,
        subject=force_str(email.subject) or None,
        html=html,
        text=text,
        attachments=[_attachment(a, _encoding(email)) for a in email.attachments],
        headers=headers,
        tags=_tags(_anymail(email, "tags")),
        metadata=_strings("metadata", _anymail(email, "metadata")),
        template=None if template is None else force_str(template),
        variables=_strings("merge_global_data", _anymail(email, "merge_global_data")),
        recipient_variables=_merge_data(_anymail(email, "merge_data"), to),
        idempotency_key=_anymail(email, "idempotency_key"),
        send_at=_send_at(_anymail(email, "send_at")),
        track_opens=_flag("track_opens", _anymail(email, "track_opens")),
        track_clicks=_flag("track_clicks", _anymail(email, "track_clicks")),
        provider_options=_provider_options(_anymail(email, "esp_extra")),
    )


def is_unset(value: object) -> bool:
    """Whether an anymail attribute's value means "not set": None, or anymail's ``UNSET``
    (the class ``anymail.utils.UNSET``, the default of every ``AnymailMessage``
    attribute), recognised without importing anymail, which mailspec does not need."""
    return value is None or (
        isinstance(value, type)
        and value.__name__ == "UNSET"
        and value.__module__.partition(".")[0] == "anymail"
    )


def _anymail(email: EmailMessage, name: str) -> Any:
    """An anymail attribute of ``email``; None when absent or unset."""
    value = getattr(email, name, None)
    return None if is_unset(value) else value


def _refuse_unsupported(email: EmailMessage) -> None:
    for name in UNSUPPORTED_ANYMAIL_ATTRIBUTES:
        if _anymail(email, name) not in (None, {}, [], ""):
            raise ValidationError(
                "an anymail attribute mailspec has no field for; remove it", field=name
            )


def _encoding(email: EmailMessage) -> str:
    """The charset Django writes the message's text in: its ``encoding``, else
    ``DEFAULT_CHARSET``."""
    return str(email.encoding or settings.DEFAULT_CHARSET)


def _sender(value: str) -> tuple[str, str | None]:
    """The address and the display name of ``From`` (``"Shop <orders@…>"``): exactly
    one mailbox, as Django's own SMTP backend requires."""
    (found,) = _mailboxes("from_email", value, one=True)
    return found.address, found.name or None


def _addresses(field: str, values: Iterable[Any] | str) -> list[str]:
    """Each entry as one mailbox, its display name kept (``"Ann <ann@…>"``): the
    Message takes mailboxes and sends the names where the provider has a place. An
    entry holding several addresses is refused, as Django's SMTP backend refuses it
    (never split into several recipients)."""
    items = [values] if isinstance(values, str) else [force_str(v) for v in values]
    return [_entry(box) for item in items for box in _mailboxes(field, item, one=True)]


def _mailboxes(field: str, text: str, *, one: bool) -> list[Mailbox]:
    """The mailboxes ``text`` lists (exactly one with ``one``), by the strict parser."""
    try:
        found = split_mailboxes(text)
    except AddressError as exc:
        raise ValidationError(
            f"not a valid address or mailbox: {text!r} ({exc})", field=field
        ) from None
    if one and len(found) != 1:
        raise ValidationError(
            f"one entry holds one address, got {len(found)}: {text!r}", field=field
        )
    return found


def _entry(box: Mailbox) -> str:
    """A mailbox as the Message reads it back: the name quoted, whatever it holds."""
    if not box.name:
        return box.address
    name = box.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{name}" <{box.address}>'


# where each alternative's content goes: (html, text)
_BODY_TYPES = {"text/html": 0, "text/plain": 1}


def _bodies(email: EmailMessage) -> tuple[str | None, str | None]:
    """(html, text): the body by its ``content_subtype``, and a ``text/html`` or
    ``text/plain`` alternative in the other place (an html body with a text
    alternative is a common Django pattern). Any other alternative, or a second body of
    one kind, has no place in a Message."""
    bodies: list[str | None] = [None, None]
    bodies[0 if email.content_subtype == "html" else 1] = force_str(email.body) or None
    for alternative in getattr(email, "alternatives", ()):
        content, mimetype = alternative[0], alternative[1]
        slot = _BODY_TYPES.get(str(mimetype).lower())
        if slot is None:
            raise ValidationError(
                f"a {mimetype} alternative has no place in a message (html and text only)",
                field="alternatives",
            )
        if bodies[slot] is not None:
            raise ValidationError(f"one {mimetype} body only", field="alternatives")
        bodies[slot] = force_str(content)
    return bodies[0], bodies[1]


def _attachment(item: Any, encoding: str) -> Attachment:
    """A ``(filename, content, mimetype)`` tuple, or a MIME part (whose ``Content-ID``
    makes it inline, as ``<img src="cid:…">`` finds it). Text given as a string is
    written in the message's ``encoding``, and says so, as Django writes it."""
    if isinstance(item, MIMEBase):
        return _mime_attachment(item)
    filename, content, mimetype = item
    name = force_str(filename or "attachment")
    mimetype = str(mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream")
    if isinstance(content, Promise):
        content = force_str(content)
    if isinstance(content, EmailMessage):  # a message/rfc822 attachment: Django's
        content = content.message()
    if isinstance(content, EmailPart):  # or the email package's
        content = content.as_bytes()
    if isinstance(content, str) and mimetype.lower().startswith("text/"):
        content = _encoded(content, encoding)
        mimetype = f"{mimetype}; charset={encoding}"
    data = content.encode() if isinstance(content, str) else content
    if not isinstance(data, bytes):
        raise ValidationError(
            f"expected str or bytes content, got {type(content).__name__}", field="attachments"
        )
    return Attachment(filename=name, content=data, content_type=mimetype)


def _encoded(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except LookupError:
        raise ValidationError(f"unknown encoding {encoding!r}", field="encoding") from None
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"a text attachment cannot be written in {encoding}: {exc.reason} at {exc.start}",
            field="attachments",
        ) from None


def _mime_attachment(part: MIMEBase) -> Attachment:
    """A MIME part as an attachment, its charset kept (a ``MIMEText`` in
    ``iso-8859-1`` stays so); a ``MIMEMessage`` as the message it holds."""
    content_type = part.get_content_type()
    if content_type == "message/rfc822" and part.is_multipart():
        attached = part.get_payload(0)
        payload: Any = attached.as_bytes() if isinstance(attached, EmailPart) else None
    else:
        payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise ValidationError(
            f"a multipart {content_type} part cannot be attached; attach files",
            field="attachments",
        )
    charset = part.get_content_charset()
    if charset and part.get_content_maintype() == "text":
        content_type = f"{content_type}; charset={charset}"
    content_id = part.get("Content-ID")
    cid = str(content_id).strip().removeprefix("<").removesuffix(">") if content_id else None
    filename = part.get_filename() or cid or "attachment"
    return Attachment(filename=filename, content=payload, content_type=content_type, content_id=cid)


def _headers(email: EmailMessage) -> tuple[dict[str, str], str | None, list[str] | None]:
    """The extra headers, and the ``From`` and ``Reply-To`` among them, which Django
    writes over the message's own (so they set ``from_email`` and ``reply_to``)."""
    headers: dict[str, str] = {}
    from_header: str | None = None
    reply_to: list[str] | None = None
    for name, value in (email.extra_headers or {}).items():
        lower = str(name).lower()
        if lower == "from":
            from_header = force_str(value)
        elif lower == "reply-to":  # a header value may list several mailboxes
            reply_to = [_entry(b) for b in _mailboxes("reply_to", force_str(value), one=False)]
        elif lower in _RECIPIENT_HEADERS:
            raise ValidationError(
                f"set the message's {lower} instead of a {name} header", field="headers"
            )
        else:
            headers[str(name)] = force_str(value)
    return headers, from_header, reply_to


def _tags(value: object) -> list[str]:
    if value is None:
        return []
    # bytes are iterable too, as numbers: b"abc" would become ["97", "98", "99"]
    if isinstance(value, str | Promise | bytes | bytearray) or not isinstance(value, Iterable):
        raise ValidationError("expected a list of strings", field="tags")
    tags = list(value)
    if not all(isinstance(tag, str | Promise) for tag in tags):
        raise ValidationError("expected a list of strings", field="tags")
    return [force_str(tag) for tag in tags]


def _scalar(field: str, value: object) -> str:
    """A value as the string a Message holds: lazy text forced, numbers as written,
    anything else (a list, a dict, None) refused, since the provider would receive its
    repr."""
    if isinstance(value, str | Promise):
        return str(force_str(value))
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(f"expected strings or numbers, got {type(value).__name__}", field=field)


def _strings(field: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a dict, got {type(value).__name__}", field=field)
    return {force_str(k): _scalar(f"{field}[{k}]", v) for k, v in value.items()}


def _merge_data(value: object, to: list[str]) -> dict[str, dict[str, str]]:
    """anymail's ``merge_data``: recipient address -> that recipient's values. Entries
    for an address that is not a ``to`` recipient are ignored, as anymail ignores them
    (data for a list of customers, sent to some of them)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a dict, got {type(value).__name__}", field="merge_data")
    recipients = {parse_mailbox(address).address.lower(): address for address in to}
    return {
        recipients[key]: _strings(f"merge_data[{address}]", values)
        for address, values in value.items()
        if (key := force_str(address).lower()) in recipients
    }


def _send_at(value: object) -> datetime | None:
    """anymail's ``send_at`` as an aware datetime, read as anymail reads it: a naive
    datetime, or a date (its midnight), in Django's current time zone; a number as a
    POSIX timestamp."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(float(value), UTC)
    else:
        raise ValidationError(
            f"expected a datetime, a date or a timestamp, got {type(value).__name__}",
            field="send_at",
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment


def _flag(field: str, value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"expected True or False, got {type(value).__name__}", field=field)


def _provider_options(value: object) -> dict[str, dict[str, Any]]:
    """anymail's ``esp_extra`` as ``Message.provider_options``: one Django backend sends
    through several providers, so the extra fields are keyed by provider name
    (``{"sendcloud": {"labelId": 7}}``); a flat dict, as one anymail backend takes it,
    cannot say which provider's request it belongs in, and is refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(fields, Mapping) for fields in value.values()
    ):
        raise ValidationError(
            "expected a dict of provider name to that provider's extra request fields, "
            'such as {"sendcloud": {"labelId": 7}}',
            field="esp_extra",
        )
    return {
        force_str(provider): {force_str(k): _plain(v) for k, v in fields.items()}
        for provider, fields in value.items()
    }


def _plain(value: Any) -> Any:
    """A wire value with lazy text forced, in nested dicts and lists too."""
    if isinstance(value, Promise):
        return force_str(value)
    if isinstance(value, Mapping):
        return {force_str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
