"""A unified :class:`~mailspec.Message` as a MIME message, for sending over SMTP.

The structure is the one mail clients expect::

    multipart/mixed                      (only with regular attachments)
      multipart/alternative              (only with both text and html)
        text/plain
        multipart/related                (only with inline images)
          text/html
          image/png; Content-ID: <logo>
      application/pdf; attachment

Everything is 7-bit: non-ASCII text goes quoted-printable or base64, non-ASCII headers
(display names, the subject) as RFC 2047 encoded words and non-ASCII file names as
RFC 2231 parameters, so no server extension (8BITMIME, SMTPUTF8) is needed. Bcc never
becomes a header: it lives in the SMTP envelope only. Nothing here does I/O; a message
the email package cannot represent raises :class:`~mailspec.errors.ValidationError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from email import policy as email_policy
from email._header_value_parser import TokenList
from email.charset import Charset
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.utils import formatdate, make_msgid
from typing import Any

from ..checks.message import RESERVED_HEADERS
from ..errors import ValidationError
from ..message import Attachment, Message

__all__ = [
    "POLICY",
    "RESERVED_HEADERS",
    "VerbatimHeader",
    "check_mime",
    "mailbox",
    "message_id_for",
    "to_bytes",
    "to_mime",
]

# RFC 5322: a header line may not be longer than this, folding or not
MAX_LINE = 998

# Headers whose value is machine-read data (X-SMTPAPI's JSON), written as given
VERBATIM_HEADERS = ("x-smtpapi",)

# RFC 5322 atext and spaces: a display name of these needs no quotes
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+")
_UTF8 = Charset("utf-8")


def mailbox(name: str, address: str) -> str:
    """``name <address>`` as RFC 5322 writes a mailbox: the name as it is when it is
    plain words, quoted when it holds specials (``"Shop, Inc." <…>``), and one RFC 2047
    encoded word when it is not ASCII, so a provider that puts the string into its
    ``From`` header as given still writes a valid one."""
    if not name.isascii():
        shown = _UTF8.header_encode(name)
    elif _PLAIN_NAME.fullmatch(name):
        shown = name
    else:
        shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{shown} <{address}>"


class VerbatimHeader(BaseHeader):
    """An ASCII header value written exactly as given, folded only at its own spaces.

    The email package would write a long word (a JSON string without spaces) as
    RFC 2047 encoded words, and a server reading the header as JSON does not decode
    those. Folding at an existing space is lossless: unfolding removes the CRLF and
    keeps the space. Values are not parsed either, so ``=?…?=`` in one stays as is.
    (The email package's header-class protocol: ``parse``, ``init``, ``fold``.)
    """

    max_count = 1  # at most one such header per message

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["decoded"] = value

    def init(self, name: str, **_: Any) -> None:
        super().init(name, parse_tree=TokenList(), defects=[])

    def fold(self, *, policy: email_policy.Policy) -> str:
        width = policy.max_line_length or MAX_LINE
        lines = [f"{self.name}:"]
        for word in str(self).split(" "):
            if word and len(lines[-1]) + 1 + len(word) > width and lines[-1].strip():
                lines.append("")  # a continuation line starts with the space below
            lines[-1] += " " + word
        return policy.linesep.join(lines) + policy.linesep


_HEADER_TYPES = HeaderRegistry()
for _name in VERBATIM_HEADERS:
    _HEADER_TYPES.map_to_type(_name, VerbatimHeader)

# SMTP's line endings and line length; 7-bit transfer encodings only (see above)
POLICY = email_policy.SMTP.clone(cte_type="7bit", header_factory=_HEADER_TYPES)

# RESERVED_HEADERS (the headers the message's own fields write) are refused by
# check_message on every transport; check_mime refuses them too, for a caller of
# to_mime that did not run check_message. One list, kept in mailspec.checks.message.


def message_id_for(message: Message) -> str:
    """The Message-ID to send ``message`` with, without angle brackets: the one its
    ``headers`` give, else a fresh, globally unique one in the sender's domain (not
    this machine's name: no DNS lookup, and the host is not revealed)."""
    for name, value in message.headers.items():
        if name.lower() == "message-id" and value.strip(" <>"):
            return value.strip(" <>")
    domain = message.from_email.rpartition("@")[2]
    return make_msgid(domain=domain)[1:-1]


def to_mime(
    message: Message,
    *,
    message_id: str,
    provider: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    checked: bool = False,
) -> EmailMessage:
    """``message`` (already validated) as an EmailMessage with ``message_id`` (without
    angle brackets, see :func:`message_id_for`) as its Message-ID; ``extra_headers``
    are the transport's own (such as X-SMTPAPI). ``provider`` names the provider in
    errors. ``checked``: :func:`check_mime` has passed this message with these extra
    headers, so it is not run again."""
    extra = extra_headers or {}
    if not checked:
        check_mime(message, provider=provider, extra_headers=extra)
    try:
        mime = _body(message)
        _headers(mime, message, message_id, extra)
    except (TypeError, ValueError, LookupError) as exc:  # what the email package raises
        raise ValidationError(
            f"cannot be written as MIME: {exc}", field="message", provider=provider
        ) from None
    return mime


def to_bytes(
    message: Message,
    *,
    message_id: str,
    provider: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
    checked: bool = False,
) -> bytes:
    """:func:`to_mime`, written out as SMTP's DATA carries it (CRLF lines, 7-bit)."""
    mime = to_mime(
        message,
        message_id=message_id,
        provider=provider,
        extra_headers=extra_headers,
        checked=checked,
    )
    try:
        return mime.as_bytes()
    except (TypeError, ValueError, LookupError) as exc:
        raise ValidationError(
            f"cannot be written as MIME: {exc}", field="message", provider=provider
        ) from None


def check_mime(
    message: Message,
    *,
    provider: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> None:
    """What :func:`to_mime` would refuse, found without writing anything: headers the
    message's own fields write, content types that are not ``type/subtype``, verbatim
    headers that cannot be folded, and text that UTF-8 cannot encode (a lone
    surrogate). Raises ValidationError."""
    for field, value in _texts(message):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                f"cannot be encoded as UTF-8: {exc.reason} at {exc.start}",
                field=field,
                provider=provider,
            ) from None
    for name in message.headers:
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError(
                "is written from the message's own fields; set those instead",
                field=f"headers[{name}]",
                provider=provider,
            )
    for attachment in message.attachments:
        _content_type(attachment.content_type, provider)
    for name, value in (extra_headers or {}).items():
        if name.lower() in VERBATIM_HEADERS:
            _check_verbatim(name, value, provider)


def _body(message: Message) -> EmailMessage:
    inline = [a for a in message.attachments if a.content_id]
    regular = [a for a in message.attachments if not a.content_id]
    mime = EmailMessage(policy=POLICY)
    # an empty text or html is no part, as an empty field is unset everywhere else
    if message.text and message.html:
        mime.set_content(message.text)
        mime.add_alternative(message.html, subtype="html")
        html_part: MIMEPart | None = list(mime.iter_parts())[1]
    elif message.html:
        mime.set_content(message.html, subtype="html")
        html_part = mime
    else:
        mime.set_content(message.text or "")
        html_part = None
    for attachment in inline:
        if html_part is not None:
            # an image the html shows by cid: belongs beside the html, in multipart/related
            _add(html_part.add_related, attachment, disposition="inline")
        else:
            # no html to show it in: still sent, with its Content-ID, as an inline part
            _add(mime.add_attachment, attachment, disposition="inline")
    for attachment in regular:
        _add(mime.add_attachment, attachment, disposition="attachment")
    return mime


def _add(add: Callable[..., None], attachment: Attachment, *, disposition: str) -> None:
    maintype, subtype, params = _content_type(attachment.content_type)
    options: dict[str, object] = {
        "maintype": maintype,
        "subtype": subtype,
        "filename": attachment.filename,
        "disposition": disposition,
    }
    if params:
        options["params"] = params
    if attachment.content_id:
        options["cid"] = f"<{attachment.content_id.strip('<>')}>"
    add(attachment.content, **options)


def _content_type(value: str, provider: str | None = None) -> tuple[str, str, dict[str, str]]:
    """``type/subtype; name=value…`` split into its parts."""
    kind, *rest = value.split(";")
    maintype, _, subtype = kind.strip().lower().partition("/")
    if not maintype or not subtype or maintype in ("multipart", "message"):
        raise ValidationError(
            f"expected a content type such as image/png, got {value!r}",
            field="attachments.content_type",
            provider=provider,
        )
    params = {}
    for param in rest:
        name, _, param_value = param.partition("=")
        if name.strip():
            params[name.strip().lower()] = param_value.strip().strip('"')
    return maintype, subtype, params


def _headers(
    mime: EmailMessage,
    message: Message,
    message_id: str,
    extra: Mapping[str, str],
) -> None:
    own = {name.lower() for name in message.headers}
    # the email package encodes a non-ASCII display name as an RFC 2047 word
    mime["From"] = Address(display_name=message.from_name or "", addr_spec=message.from_email)
    mime["To"] = _mailboxes(message.to, message.display_names)
    if message.cc:
        mime["Cc"] = _mailboxes(message.cc, message.display_names)
    if message.reply_to_list:
        mime["Reply-To"] = _mailboxes(message.reply_to_list, message.display_names)
    mime["Subject"] = message.subject or ""
    if "date" not in own:
        mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = f"<{message_id}>"
    for name, value in extra.items():
        mime[name] = value
    for name, value in message.headers.items():
        if name.lower() != "message-id":
            mime[name] = value


def _mailboxes(addresses: list[str], names: Mapping[str, str]) -> tuple[Address, ...]:
    """An address-list header's mailboxes, each with its display name (the email
    package quotes a name with specials and encodes a non-ASCII one, RFC 2047)."""
    return tuple(Address(display_name=names.get(a, ""), addr_spec=a) for a in addresses)


def _check_verbatim(name: str, value: str, provider: str | None) -> None:
    longest = max((len(word) for word in value.split(" ")), default=0)
    if not value.isascii() or longest > MAX_LINE - len(name) - 3:
        raise ValidationError(
            f"{name} needs ASCII words of at most {MAX_LINE - len(name) - 3} characters "
            f"between spaces, got one of {longest}",
            field="variables",
            provider=provider,
        )


def _texts(message: Message) -> list[tuple[str, str]]:
    """Every text that becomes part of the MIME message, by field."""
    texts = [
        (field, value)
        for field in ("from_name", "subject", "text", "html")
        if isinstance(value := getattr(message, field), str)
    ]
    texts += [(f"display_names[{a}]", name) for a, name in message.display_names.items()]
    texts += [(f"headers[{name}]", value) for name, value in message.headers.items()]
    texts += [("attachments.filename", a.filename) for a in message.attachments]
    return texts
