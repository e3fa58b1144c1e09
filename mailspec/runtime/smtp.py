"""One SMTP session with smtplib: connect, EHLO, STARTTLS, AUTH, then one transaction
(MAIL, RCPT, DATA) per message, every failure turned into a unified error.

What each failure becomes, and why:

- a refused connection, a TLS failure, a timeout or a dropped connection *before the
  message content was sent*: :class:`TransportError` with ``ambiguous=False`` (nothing
  was delivered; retrying is safe);
- a timeout or a dropped connection *after the content and its final ``.`` were sent*,
  before the server's answer: ``ambiguous=True`` (the server may have queued it);
- STARTTLS asked for but not offered (or refused): :class:`TransportError`, not
  ambiguous and not retryable. There is no fallback to plain text: that is exactly what
  a downgrade attack would want;
- 530/534/535/538 (and a failed AUTH exchange): :class:`AuthenticationError`;
- any other 4xx reply: :class:`ProviderServerError`, retryable. SMTP's 4xx means "try
  again later" without saying why (421 may be throttling or shutdown, 450 greylisting,
  451 a local error), so it is not called rate limiting; both are retried and count
  against the provider's circuit breaker alike;
- a 5xx reply to MAIL, RCPT or DATA: :class:`ProviderValidationError` (permanent: the
  server refuses this message); a 5xx before that (greeting, EHLO, STARTTLS) is the
  server refusing us, a non-retryable :class:`ProviderServerError`;
- a reply that cannot be read: :class:`MalformedResponseError`, ambiguous when it was
  the answer to the message content;
- an interruption that is not an error (Ctrl-C, SystemExit) once the content's write
  began: raised on, marked by :func:`~mailspec.errors.mark_written` (the server may
  have queued it), and the session closed.

Server texts are redacted of the credentials (as sent and as AUTH encodes them) before
they reach an error. smtplib's debug output stays off: it would print the AUTH exchange.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

from ..errors import (
    AuthenticationError,
    MailspecError,
    MalformedResponseError,
    ProviderError,
    ProviderServerError,
    ProviderValidationError,
    TransportError,
    ValidationError,
    mark_written,
)
from .secrets import MIN_REDACTED, Secret, redact
from .transport import is_loopback

__all__ = [
    "SmtpEnvelope",
    "SmtpServer",
    "SmtpSession",
    "auth_forms",
    "reply_error",
    "tls_context",
]

log = logging.getLogger("mailspec.smtp")

# replies that say the credentials were not accepted (RFC 4954: 530 authentication
# required, 534 mechanism too weak, 535 invalid credentials, 538 encryption required)
AUTH_CODES = frozenset({530, 534, 535, 538})


def tls_context(ca_certs: str | None = None) -> ssl.SSLContext:
    """Certificate and host name verified, TLS 1.2 or later, as the HTTP transport does;
    ``ca_certs`` replaces the system's trusted CAs. An unreadable bundle is a
    ValidationError now rather than a connection failure later."""
    try:
        context = ssl.create_default_context(cafile=ca_certs)
    except (OSError, ssl.SSLError) as exc:
        raise ValidationError(f"cannot load the CA bundle: {exc}", field="ca_certs") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class SmtpServer:
    """Where to send: ``tls`` is the context for STARTTLS, None for a plain session
    (allowed to a loopback host only; see :class:`SmtpSession`)."""

    host: str
    port: int
    timeout: float
    tls: ssl.SSLContext | None = field(default=None, repr=False)

    @property
    def starttls(self) -> bool:
        return self.tls is not None

    def __str__(self) -> str:
        return f"smtp://{self.host}:{self.port}" + (" (STARTTLS)" if self.starttls else "")


@dataclass(frozen=True)
class SmtpEnvelope:
    """One message as SMTP carries it: the envelope sender and recipients (Bcc
    included: they are in no header) and the message content (7-bit, CRLF lines)."""

    sender: str
    recipients: list[str]
    content: bytes


def reply_error(
    provider: str, code: int, text: str, *, about_message: bool = True
) -> ProviderError:
    """The unified error for an SMTP reply (``text`` already redacted)."""
    if code in AUTH_CODES:
        return AuthenticationError(provider, code, text)
    if 400 <= code < 500:
        return ProviderServerError(provider, code, text, retryable=True)
    if 500 <= code < 600 and about_message:
        return ProviderValidationError(provider, code, text)
    if 500 <= code < 600:
        return ProviderServerError(provider, code, text, retryable=False)
    return MalformedResponseError(
        provider, f"unexpected SMTP reply {code}: {text}", http_status=None, ambiguous=False
    )


class SmtpSession:
    """One logged-in connection, for one or several messages (:meth:`send` each).

    Opened on the first :meth:`send`; a failed connection is dropped, and the next
    :meth:`send` opens a new one. Not for sharing between threads.
    """

    def __init__(
        self,
        provider: str,
        server: SmtpServer,
        *,
        username: Secret,
        password: Secret,
        hidden: Sequence[Secret] | None = None,
    ) -> None:
        if not server.starttls and not is_loopback(server.host):
            # checked when the provider is built too; here as well, since this is where
            # the credentials would leave
            raise ValidationError(
                f"AUTH without STARTTLS is allowed to loopback hosts only, not {server.host!r}",
                field="starttls",
                provider=provider,
            )
        self.provider, self.server = provider, server
        self._username, self._password = username, password
        # what error texts are redacted of: the caller's auth_forms(), made once for
        # every session, or made here
        self._hidden = hidden if hidden is not None else auth_forms(username, password)
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        return f"<SmtpSession {self.provider} {self.server}>"

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- the session -----------------------------------------------------------------

    def send(self, envelope: SmtpEnvelope) -> dict[str, str]:
        """Send one message. Returns the recipients the server refused while taking the
        message for the others (address -> ``"code text"``); raises when it took none."""
        smtp = self._smtp or self._open()
        started = time.perf_counter()
        content_sent = writing = False
        try:
            code, text = smtp.mail(envelope.sender)
            if code != 250:
                self._reset()
                raise self._refusal(code, text)
            refused: dict[str, str] = {}
            for recipient in envelope.recipients:
                code, text = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = f"{code} {self._text(text)}"
            if len(refused) == len(envelope.recipients):
                self._reset()
                raise self._all_refused(refused)
            code, text = smtp.docmd("DATA")
            if code != 354:
                self._reset()
                raise self._refusal(code, text)
            writing = True
            smtp.send(_dot_stuffed(envelope.content))
            content_sent = True
            code, text = smtp.getreply()
        except smtplib.SMTPResponseException as exc:  # a reply line smtplib cannot take
            self._discard()
            raise MalformedResponseError(
                self.provider,
                f"unreadable SMTP reply: {self._text(exc.smtp_error)}",
                http_status=None,
                ambiguous=content_sent,
            ) from None
        except OSError as exc:  # smtplib's errors, sockets and TLS alike
            self._discard()
            raise self._transport_error(exc, content_sent) from None
        except BaseException as exc:
            if isinstance(exc, Exception):  # ours, raised above: the session is still good
                raise
            self._discard()  # Ctrl-C, SystemExit: the session is in no known state
            if writing:
                mark_written(exc, self.provider)  # the server may have queued it
            raise
        if 200 <= code < 300:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s: message accepted for %d of %d recipient(s) in %.1f ms",
                    self.provider,
                    self.server,
                    len(envelope.recipients) - len(refused),
                    len(envelope.recipients),
                    (time.perf_counter() - started) * 1000,
                )
            return refused
        if code < 0:
            self._discard()
            raise MalformedResponseError(
                self.provider,
                f"unreadable answer to the message: {self._text(text)}",
                http_status=None,
                ambiguous=True,
            )
        raise self._refusal(code, text)

    def close(self) -> None:
        """QUIT politely; a server already gone changes nothing (what it accepted stays
        accepted), so nothing is raised."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except OSError:
            smtp.close()

    def _open(self) -> smtplib.SMTP:
        server = self.server
        try:
            # connects, and raises SMTPConnectError unless greeted with 220. The name is
            # a placeholder: smtplib would otherwise ask DNS for this host's name, a
            # lookup no timeout bounds; the real EHLO name is set once connected
            smtp = smtplib.SMTP(
                server.host, server.port, local_hostname="localhost", timeout=server.timeout
            )
            self._smtp = smtp
            smtp.local_hostname = _address_literal(smtp.sock)
            smtp.ehlo_or_helo_if_needed()
            if server.tls is not None:
                self._starttls(smtp, server.tls)
            self._login(smtp)
        except MailspecError:
            self._discard()
            raise
        except smtplib.SMTPResponseException as exc:
            self._discard()
            raise reply_error(
                self.provider, exc.smtp_code, self._text(exc.smtp_error), about_message=False
            ) from None
        except ssl.SSLError as exc:
            self._discard()
            raise TransportError(
                self.provider, f"TLS failure with {server}: {_reason(exc)}", ambiguous=False
            ) from None
        except OSError as exc:
            self._discard()
            raise TransportError(
                self.provider, f"could not connect to {server}: {_reason(exc)}", ambiguous=False
            ) from None
        log.debug("%s: connected to %s", self.provider, server)
        return smtp

    def _starttls(self, smtp: smtplib.SMTP, context: ssl.SSLContext) -> None:
        if not smtp.has_extn("starttls"):
            error = TransportError(
                self.provider,
                f"{self.server.host}:{self.server.port} does not offer STARTTLS; the "
                "credentials were not sent over the unencrypted connection",
                ambiguous=False,
            )
            error.retryable = False  # a server (or a man in the middle) that strips it
            raise error
        # raises SMTPResponseException unless the server answers 220
        smtp.starttls(context=context)
        smtp.ehlo_or_helo_if_needed()  # RFC 3207: forget what was said before TLS

    def _login(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.login(self._username.reveal(), self._password.reveal())
        except smtplib.SMTPAuthenticationError as exc:
            code = exc.smtp_code
            if 400 <= code < 500:  # 454: temporary authentication failure
                raise reply_error(self.provider, code, self._text(exc.smtp_error)) from None
            raise AuthenticationError(self.provider, code, self._text(exc.smtp_error)) from None
        except (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected):
            raise  # EHLO refused, or the connection failed: the caller maps them
        except smtplib.SMTPException as exc:  # no AUTH offered, or no mechanism we speak
            raise AuthenticationError(
                self.provider, None, f"cannot log in to {self.server}: {exc}"
            ) from None
        finally:
            # smtplib keeps them as plain attributes for the AUTH callbacks
            smtp.user = smtp.password = ""

    def _reset(self) -> None:
        """RSET after a failed transaction, so the next message starts clean."""
        smtp = self._smtp
        if smtp is None:
            return
        try:
            code, _ = smtp.rset()
        except OSError:
            code = 0
        if code != 250:
            self._discard()

    def _discard(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    # --- errors ----------------------------------------------------------------------

    def _all_refused(self, refused: dict[str, str]) -> ProviderError:
        """Every recipient refused: retryable if any refusal was temporary (4xx)."""
        codes = [int(reply.split(" ", 1)[0]) for reply in refused.values()]
        detail = "; ".join(f"{address}: {reply}" for address, reply in refused.items())
        temporary = [c for c in codes if 400 <= c < 500]
        code = temporary[0] if temporary else codes[0]
        return reply_error(self.provider, code, f"every recipient was refused ({detail})")

    def _transport_error(self, exc: OSError, content_sent: bool) -> TransportError:
        what = "timed out" if _timed_out(exc) else f"connection failed ({_reason(exc)})"
        if content_sent:
            return TransportError(
                self.provider,
                f"{what} after the message was sent to {self.server}, before its answer",
                ambiguous=True,
            )
        return TransportError(
            self.provider, f"{what} before the message was sent to {self.server}", ambiguous=False
        )

    def _text(self, raw: bytes | str) -> str:
        """A server's reply text, decoded, with every form of the credentials hidden."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return redact(text.replace("\n", " "), self._hidden)

    def _refusal(self, code: int, raw: bytes | str) -> ProviderError:
        """The error for a refusing reply; after a 421 the server closes the connection,
        so it is dropped here and the next message opens a new one."""
        if code == 421:
            self._discard()
        return reply_error(self.provider, code, self._text(raw))


def auth_forms(username: Secret, password: Secret) -> list[Secret]:
    """The credentials, and their base64 forms as AUTH PLAIN and LOGIN send them: a
    server's error text might echo any of them (``redact`` adds their other wire forms)."""
    user, key = username.reveal(), password.reveal()
    forms = [username, password]
    for plain in (user, key, f"\0{user}\0{key}"):
        encoded = base64.b64encode(plain.encode()).decode("ascii")
        if len(encoded) >= MIN_REDACTED:
            forms.append(Secret(encoded))
    return forms


def _dot_stuffed(content: bytes) -> bytes:
    """RFC 5321 4.5.2: a line starting with "." gets another, and the content ends
    with CRLF "." CRLF."""
    stuffed = re.sub(rb"(?m)^\.", b"..", content)
    if not stuffed.endswith(b"\r\n"):
        stuffed += b"\r\n"
    return stuffed + b".\r\n"


def _address_literal(sock: socket.socket | None) -> str:
    """This end's address as an EHLO address literal (RFC 5321 4.1.3)."""
    if sock is None:
        return "localhost"
    address = ipaddress.ip_address(sock.getsockname()[0])
    return f"[IPv6:{address}]" if address.version == 6 else f"[{address}]"


def _timed_out(exc: BaseException) -> bool:
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, TimeoutError):
            return True
        inner = inner.__context__
    return False


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    text = str(exc) or type(exc).__name__
    return text
