"""A Django ``EmailMessage`` (or ``EmailMultiAlternatives``) as a mailspec ``Message``.

One function per part of the message: addresses, bodies, attachments, headers and the
anymail-style attributes (``tags``, ``metadata``, ``template_id``,
``merge_global_data``, ``merge_data``), so that code written for django-anymail sends
unchanged. What a ``Message`` cannot hold is refused with a ValidationError naming the
attribute, never dropped without a word.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from decimal import Decimal
from email.mime.base import MIMEBase
from typing import Any

from django.core.mail import EmailMessage
from django.utils.encoding import force_str

from ..checks.addresses import AddressError, Mailbox, split_mailboxes
from ..errors import ValidationError
from ..message import Attachment, Message

__all__ = ["UNSUPPORTED_ANYMAIL_ATTRIBUTES", "to_message"]

# anymail attributes with no place in a Message: refused when set, never ignored
UNSUPPORTED_ANYMAIL_ATTRIBUTES = (
    "send_at",
    "track_clicks",
    "track_opens",
    "merge_metadata",
    "merge_headers",
    "esp_extra",
    "envelope_sender",
)

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
    template = getattr(email, "template_id", None)
    return Message(
        from_email=from_email,
        from_name=from_name,
        to=_addresses("to", email.to),
        cc=_addresses("cc", email.cc),
        bcc=_addresses("bcc", email.bcc),
        reply_to=reply_to or None,
        subject=force_str(email.subject) or None,
        html=html,
        text=text,
        attachments=[_attachment(a) for a in email.attachments],
        headers=headers,
        tags=_tags(getattr(email, "tags", None)),
        metadata=_strings("metadata", getattr(email, "metadata", None)),
        template=None if template is None else force_str(template),
        variables=_strings("merge_global_data", getattr(email, "merge_global_data", None)),
        recipient_variables=_merge_data(getattr(email, "merge_data", None)),
        idempotency_key=getattr(email, "idempotency_key", None),
    )


def _refuse_unsupported(email: EmailMessage) -> None:
    for name in UNSUPPORTED_ANYMAIL_ATTRIBUTES:
        if getattr(email, name, None) not in (None, {}, [], ""):
            raise ValidationError(
                "an anymail attribute mailspec has no field for; remove it", field=name
            )


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


def _bodies(email: EmailMessage) -> tuple[str | None, str | None]:
    """(html, text): the body by its ``content_subtype``, and a ``text/html``
    alternative as html. Any other alternative has no place in a Message."""
    body = force_str(email.body) or None
    html, text = (body, None) if email.content_subtype == "html" else (None, body)
    for alternative in getattr(email, "alternatives", ()):
        content, mimetype = alternative[0], alternative[1]
        if mimetype != "text/html":
            raise ValidationError(
                f"a {mimetype} alternative has no place in a message (html and text only)",
                field="alternatives",
            )
        if html is not None:
            raise ValidationError("one html body only", field="alternatives")
        html = force_str(content)
    return html, text


def _attachment(item: Any) -> Attachment:
    """A ``(filename, content, mimetype)`` tuple, or a MIME part (whose ``Content-ID``
    makes it inline, as ``<img src="cid:…">`` finds it)."""
    if isinstance(item, MIMEBase):
        return _mime_attachment(item)
    filename, content, mimetype = item
    name = force_str(filename or "attachment")
    mimetype = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if hasattr(content, "as_bytes"):  # a message/rfc822 attachment: an email object
        content = content.as_bytes()
    data = content.encode() if isinstance(content, str) else content
    if not isinstance(data, bytes):
        raise ValidationError(
            f"expected str or bytes content, got {type(content).__name__}", field="attachments"
        )
    return Attachment(filename=name, content=data, content_type=mimetype)


def _mime_attachment(part: MIMEBase) -> Attachment:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise ValidationError(
            f"a multipart {part.get_content_type()} part cannot be attached; attach files",
            field="attachments",
        )
    content_id = part.get("Content-ID")
    cid = str(content_id).strip().removeprefix("<").removesuffix(">") if content_id else None
    filename = part.get_filename() or cid or "attachment"
    return Attachment(
        filename=filename, content=payload, content_type=part.get_content_type(), content_id=cid
    )


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
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("expected a list of strings", field="tags")
    return [force_str(tag) for tag in value]


def _scalar(field: str, value: object) -> str:
    """A value as the string a Message holds: numbers as written, anything else (a list,
    a dict, None) refused, since the provider would receive its repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(f"expected strings or numbers, got {type(value).__name__}", field=field)


def _strings(field: str, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a dict, got {type(value).__name__}", field=field)
    return {str(k): _scalar(f"{field}[{k}]", v) for k, v in value.items()}


def _merge_data(value: object) -> dict[str, dict[str, str]]:
    """anymail's ``merge_data``: recipient address -> that recipient's values."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"expected a dict, got {type(value).__name__}", field="merge_data")
    return {
        str(address): _strings(f"merge_data[{address}]", values)
        for address, values in value.items()
    }
