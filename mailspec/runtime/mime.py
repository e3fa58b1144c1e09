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
(display names, the subject) as RFC 2047 encoded words of at most 75 characters and
non-ASCII file names as RFC 2231 parameters, so no server extension (8BITMIME,
SMTPUTF8) is needed. Bcc never becomes a header: it lives in the SMTP envelope only.

What is given arrives as given: an ASCII header value is never encoded, only folded at
its own spaces (a long ``List-Unsubscribe`` URL stays a URL); a display name that looks
like an encoded word is encoded, so it shows as written; a text or html body is sent
byte for byte (line breaks as CRLF, SMTP's canonical form, and nothing added); a text
attachment keeps its charset (:attr:`~mailspec.Attachment.declared_type`); a
``message/rfc822`` attachment is attached as the message it is. Nothing here does
I/O; a message the email package cannot represent raises
:class:`~mailspec.errors.ValidationError`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from email import message_from_bytes, quoprimime
from email import policy as email_policy
from email._header_value_parser import TokenList
from email.contentmanager import ContentManager, raw_data_manager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.message import Message as EmailMessageBase
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
    "display_name",
    "mailbox",
    "message_id_for",
    "to_bytes",
    "to_mime",
]

# RFC 5322: a header line may not be longer than this, folding or not
MAX_LINE = 998

# Headers whose value is machine-read data (X-SMTPAPI's JSON), written as given
VERBATIM_HEADERS = ("x-smtpapi",)

# Headers the email package would parse, written as given when ASCII: the address
# headers hold mailboxes as :func:`mailbox` writes them (the package would decode a
# quoted name that looks like an encoded word), and Subject is unstructured text
_WRITTEN_AS_GIVEN = frozenset({"from", "to", "cc", "reply-to", "subject"})

# RFC 5322 atext and spaces: a display name of these needs no quotes
_PLAIN_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+")
# RFC 2047 2: an encoded word is at most 75 characters; "=?utf-8?b?" and "?=" take 12,
# so 60 base64 characters, 45 bytes, are left for the text
_WORD_BYTES = 45
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def mailbox(name: str, address: str) -> str:
    """``name <address>`` as RFC 5322 writes a mailbox (the address alone when there is
    no name), with the name as :func:`display_name` writes it, so a provider that puts
    the string into its ``From`` header as given still writes a valid one."""
    return f"{display_name(name)} <{address}>" if name else address


def display_name(name: str) -> str:
    """A display name as a header carries it: as it is when it is plain words, quoted
    when it holds specials (``"Shop, Inc."``), and as RFC 2047 encoded words of at most
    75 characters each when it is not ASCII or looks like an encoded word itself. Quotes
    alone would not do for the last: RFC 2047 5 says an encoded word in quotes is not
    decoded, but readers (the email package among them) decode it anyway, and
    ``=?utf-8?q?PayPal?=`` would show as "PayPal"; encoded, it shows as written."""
    if not name.isascii() or "=?" in name:
        return " ".join(_encoded_words(name))
    if _PLAIN_NAME.fullmatch(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encoded_words(text: str) -> list[str]:
    """``text`` as UTF-8 base64 encoded words of at most 75 characters, split after a
    space where one is near (a reader that wrongly keeps the space between encoded
    words then shows two, not a word cut in half) and never inside a character
    (RFC 2047 5). The spaces stay inside the words: between two encoded words they
    would be dropped (RFC 2047 6.2)."""
    words, chunk = [], b""
    for char in text:
        data = char.encode("utf-8")
        if len(chunk) + len(data) > _WORD_BYTES:
            cut = chunk.rfind(b" ") + 1 or len(chunk)  # a space is one byte in UTF-8
            words.append(chunk[:cut])
            chunk = chunk[cut:]
        chunk += data
    words.append(chunk)
    return ["=?utf-8?b?" + base64.b64encode(word).decode("ascii") + "?=" for word in words]


class VerbatimHeader(BaseHeader):
    """An ASCII header value written exactly as given, folded only at its own spaces.

    The email package would write a long word (a JSON string without spaces, a
    ``List-Unsubscribe`` URL) as RFC 2047 encoded words, and a server reading the
    header as JSON, or a mail client looking for a URL, does not decode those. Folding
    at an existing space is lossless: unfolding removes the CRLF and keeps the space.
    The first word stays on the name's line, and a word longer than a line stays whole
    (RFC 5322 allows 998 characters; :func:`check_mime` refuses longer ones). Values are
    not parsed either, so ``=?…?=`` in one stays as is. (The email package's
    header-class protocol: ``parse``, ``init``, ``fold``.)
    """

    max_count = 1  # at most one such header per message

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["decoded"] = value

    def init(self, name: str, **_: Any) -> None:
        super().init(name, parse_tree=TokenList(), defects=[])

    def fold(self, *, policy: email_policy.Policy) -> str:
        width = policy.max_line_length or MAX_LINE
        first, *words = str(self).split(" ")
        lines = [f"{self.name}: {first}"]
        for word in words:
            if word and len(lines[-1]) + 1 + len(word) > width and lines[-1].strip():
                lines.append("")  # a continuation line starts with the space below
            lines[-1] += " " + word
        return policy.linesep.join(lines) + policy.linesep


class _HeaderTypes(HeaderRegistry):
    """The email package's header classes, but for the headers it does not parse
    (``List-Unsubscribe``, ``X-…``), Subject and the address headers, which are
    :class:`VerbatimHeader`: an ASCII value never encoded, folded at its own spaces;
    a text that is not ASCII as encoded words of at most 75 characters (the email
    package writes longer ones)."""

    def __call__(self, name: str, value: Any) -> BaseHeader:
        lower = name.lower()
        if isinstance(value, str) and (lower in _WRITTEN_AS_GIVEN or lower not in self.registry):
            if not value.isascii():  # only text: the address headers hold ASCII mailboxes
                value = " ".join(_encoded_words(value))
            return VerbatimHeader(name, value)
        header: BaseHeader = super().__call__(name, value)
        return header


def _set_text(msg: MIMEPart, text: str, subtype: str = "plain", **_: Any) -> None:
    """``text`` as a UTF-8 ``text/<subtype>`` body, byte for byte: its line breaks as
    CRLF (SMTP's canonical form) and nothing added (the email package's own handler
    ends every body with a line break). 7bit when it is ASCII in lines SMTP takes,
    quoted-printable otherwise. (The email package's content-manager protocol.)"""
    canonical = "\r\n".join(_LINE_BREAK.split(text))
    if canonical.isascii() and all(len(line) <= MAX_LINE for line in canonical.split("\r\n")):
        cte, payload = "7bit", canonical
    else:
        latin = canonical.encode("utf-8").decode("latin-1")  # one character per byte
        cte, payload = "quoted-printable", quoprimime.body_encode(latin, eol="\r\n")
    msg["Content-Type"] = f"text/{subtype}"
    msg.set_param("charset", "utf-8")
    msg["Content-Transfer-Encoding"] = cte
    msg.set_payload(payload)


class _Content(ContentManager):
    """The email package's content handlers (bytes, messages), with text bodies our
    own (:func:`_set_text`)."""

    def get_content(self, msg: EmailMessageBase, *args: Any, **kw: Any) -> Any:
        return raw_data_manager.get_content(msg, *args, **kw)

    def set_content(self, msg: EmailMessageBase, obj: Any, *args: Any, **kw: Any) -> None:
        if isinstance(obj, str) and isinstance(msg, MIMEPart):
            msg.clear_content()
            _set_text(msg, obj, *args, **kw)
        else:
            raw_data_manager.set_content(msg, obj, *args, **kw)


_CONTENT = _Content()

# SMTP's line endings and line length; 7-bit transfer encodings only (see above)
POLICY = email_policy.SMTP.clone(
    cte_type="7bit", header_factory=_HeaderTypes(), content_manager=_CONTENT
)

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
    ascii_headers = {"Subject": message.subject or "", **message.headers}
    for name, value in ascii_headers.items():
        if value.isascii():  # written as given, so each word must fit on a line
            _check_words(name, value, provider)


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
    maintype, subtype, params = _content_type(attachment.declared_type)
    options: dict[str, object] = {"filename": attachment.filename, "disposition": disposition}
    if params:
        options["params"] = params
    if attachment.content_id:
        options["cid"] = f"<{attachment.content_id.strip('<>')}>"
    if (maintype, subtype) == ("message", "rfc822"):
        # the message itself, never base64 (RFC 2046 5.2.1); the 7-bit writer re-encodes
        # any 8-bit part of it
        add(message_from_bytes(attachment.content, policy=POLICY), cte="7bit", **options)
        return
    add(attachment.content, maintype=maintype, subtype=subtype, **options)


def _content_type(value: str, provider: str | None = None) -> tuple[str, str, dict[str, str]]:
    """``type/subtype; name=value…`` split into its parts. ``message/rfc822`` is an
    attached email; other ``message/*`` and ``multipart/*`` types are structures, not
    files."""
    kind, *rest = value.split(";")
    maintype, _, subtype = kind.strip().lower().partition("/")
    structure = maintype == "multipart" or (maintype == "message" and subtype != "rfc822")
    if not maintype or not subtype or structure:
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
    mime["From"] = mailbox(message.from_name or "", message.from_email)
    if message.to:  # a cc- or bcc-only message has no To header (RFC 5322 3.6.3)
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


def _check_words(name: str, value: str, provider: str | None) -> None:
    """An ASCII header value is folded at its own spaces only: no word may be longer
    than a line (998 characters, the header's name and ": " included)."""
    longest = max((len(word) for word in value.split(" ")), default=0)
    if longest > MAX_LINE - len(name) - 2:
        raise ValidationError(
            f"a word of {longest} characters does not fit on a header line (at most "
            f"{MAX_LINE - len(name) - 2} between spaces)",
            field="subject" if name == "Subject" else f"headers[{name}]",
            provider=provider,
        )


def _mailboxes(addresses: list[str], names: Mapping[str, str]) -> str:
    """An address-list header's value: each mailbox as :func:`mailbox` writes it (a
    name quoted when it holds specials, encoded words when it is not ASCII or looks
    like one), joined by commas."""
    return ", ".join(mailbox(names.get(a, ""), a) for a in addresses)


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
