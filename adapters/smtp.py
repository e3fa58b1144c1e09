"""Sending over SMTP instead of the REST API, behind the same ``send()``.

``mailspec.provider("aurorasendcloud", transport="smtp", api_user=..., api_key=...)``
returns an :class:`SmtpProvider`: it logs in to the region's SMTP server (the spec's
``regions.<region>.smtp``) with the credentials ``auth.smtp`` names, writes the unified
Message as MIME (:mod:`mailspec.runtime.mime`) and sends it with smtplib
(:mod:`mailspec.runtime.smtp`). ``status()`` goes to the REST API, through a provider
built with the same credentials, region and ``base_url``.

What differs from the REST send:

- ``SendResult.message_ids`` holds the Message-ID header this side wrote (without
  angle brackets): an SMTP server answers "250 OK" and gives no id of its own. The
  REST status API may not know messages by it.
- Recipients the server refuses while taking the message for others are not an error:
  they are in ``SendResult.refused``. Only when it takes none is the send an error.
- ``template``, ``tags`` and ``metadata`` have no place in a MIME message, nor do
  ``send_at`` and ``track_opens``/``track_clicks`` (a server sends at once and tracks
  nothing) or ``provider_options`` for this provider (SMTP has no request fields): a
  message setting them is refused (UnsupportedOperation), never sent without them. So
  are non-ASCII addresses (they need SMTPUTF8, which this client does not speak).
- Per-recipient ``variables`` travel in an ``X-SMTPAPI`` header holding the same JSON
  as the REST ``xsmtpapi`` parameter. ASSUMED: the header carries the JSON as is (the
  provider's documents name the header, not its encoding).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime

import msgspec

from mailspec.checks.message import check_message, check_rules
from mailspec.contract import Capabilities, Sender
from mailspec.errors import UnsupportedOperation, ValidationError
from mailspec.message import Message
from mailspec.results import Attempt, DeliveryStatus, SendResult
from mailspec.runtime import DEFAULT_TIMEOUT
from mailspec.runtime.client import timeout_seconds
from mailspec.runtime.mime import check_mime, message_id_for, to_bytes
from mailspec.runtime.secrets import Secret
from mailspec.runtime.smtp import SmtpEnvelope, SmtpServer, SmtpSession, auth_forms, tls_context
from mailspec.runtime.transport import is_loopback
from mailspec.runtime.xsmtpapi import xsmtpapi_header
from mailspec.spec_model import Smtp, Spec

from .base import Provider, Step, send_steps

__all__ = ["SMTP_UNSUPPORTED_FIELDS", "SmtpProvider", "smtp_server"]

# Message fields a MIME message has no place for
SMTP_UNSUPPORTED_FIELDS = ("template", "tags", "metadata", "send_at", "track_opens", "track_clicks")

_ADDRESS_FIELDS = ("from_email", "to", "cc", "bcc", "reply_to")


def smtp_server(
    spec: Spec,
    *,
    region: str | None = None,
    host: str | None = None,
    port: int | None = None,
    starttls: bool | None = None,
    timeout: float | None = None,
    ca_certs: str | None = None,
) -> SmtpServer:
    """Where an SMTP provider sends, from its spec and the user's options.

    ``host`` defaults to the region's SMTP server and ``port`` to the first of its
    STARTTLS ports (587), else its first port; with the region's host the port must be
    one the spec lists. ``starttls`` defaults to whether the port is one of the spec's
    STARTTLS ports. Credentials never cross an unencrypted connection to another
    machine: without STARTTLS the host must be loopback (tests, a local relay).
    Raises ValidationError (or UnsupportedOperation for a region without SMTP); no I/O.
    """
    name = spec.provider.name
    if not isinstance(starttls, bool | None):
        raise ValidationError("expected True, False or None", field="starttls", provider=name)
    documented = _documented(spec, region, needed=host is None)
    host, port = _endpoint(name, documented, host, port)
    if starttls is None:
        starttls = documented is not None and port in documented.starttls_ports
    if not starttls and not is_loopback(host):
        ports = documented.starttls_ports if documented else []
        raise ValidationError(
            f"the SMTP login would cross an unencrypted connection to {host}:{port}; pass "
            "starttls=True (the server must then offer it) or use a STARTTLS port"
            + (f" ({', '.join(map(str, ports))})" if ports else ""),
            field="starttls",
            provider=name,
        )
    seconds = DEFAULT_TIMEOUT if timeout is None else timeout_seconds(timeout, name)
    return SmtpServer(host, port, seconds, tls_context(ca_certs) if starttls else None)


def _documented(spec: Spec, region: str | None, *, needed: bool) -> Smtp | None:
    """The region's SMTP server as the spec documents it (None where it names none and
    the user gave a host of their own)."""
    name, region = spec.provider.name, region or spec.default_region
    if region not in spec.regions:
        if not needed:
            return None
        raise ValidationError(
            f"unknown region {region!r}; choose one of {', '.join(spec.regions)}",
            field="region",
            provider=name,
        )
    documented = spec.regions[region].smtp
    if documented is None and needed:
        raise UnsupportedOperation(name, f"SMTP in region {region!r}", "its spec names no server")
    return documented


def _endpoint(
    name: str, documented: Smtp | None, host: str | None, port: int | None
) -> tuple[str, int]:
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise ValidationError("expected a port number", field="smtp_port", provider=name)
    if port is not None and not 1 <= port <= 65535:
        raise ValidationError(f"{port} is not a port number", field="smtp_port", provider=name)
    if host is None:
        assert documented is not None  # _documented(needed=True) saw to it
        if port is not None and port not in documented.ports:
            raise ValidationError(
                f"{documented.host} listens on ports {', '.join(map(str, documented.ports))}, "
                f"not {port}",
                field="smtp_port",
                provider=name,
            )
        host = documented.host
    elif not isinstance(host, str) or not host or any(c.isspace() for c in host):
        raise ValidationError("expected a host name or address", field="smtp_host", provider=name)
    if port is None:
        if documented is None:
            raise ValidationError(
                "give smtp_port with smtp_host: the spec names no port for this region",
                field="smtp_port",
                provider=name,
            )
        port = (documented.starttls_ports or documented.ports)[0]
    return host, port


class SmtpProvider(Sender):
    """A provider that sends over SMTP; see the module docstring.

    Each :meth:`send` opens, uses and closes one SMTP session, so one provider can be
    shared by threads (and by a Mailer); :meth:`send_many` sends its messages through
    one session.
    """

    def __init__(
        self, rest: Provider, server: SmtpServer, *, username: Secret, password: Secret
    ) -> None:
        self.rest = rest
        self.spec: Spec = rest.spec
        self.name: str = self.spec.provider.name
        self.server = server
        self._username, self._password = username, password
        self._hidden = auth_forms(username, password)  # what server texts are redacted of
        self.capabilities: Capabilities = msgspec.structs.replace(
            Capabilities.of(self.spec),
            template_send=False,
            batch=False,
            sms=False,
            smtp=True,
            sender_name=True,  # the From header's display name
            tags=False,
            metadata=False,
            text_only=True,
            idempotency_window=None,  # an SMTP server does not deduplicate
        )

    @classmethod
    def build(
        cls,
        rest: Provider,
        credentials: Mapping[str, str],
        *,
        region: str | None = None,
        host: str | None = None,
        port: int | None = None,
        starttls: bool | None = None,
        timeout: float | None = None,
        ca_certs: str | None = None,
    ) -> SmtpProvider:
        """The SMTP side of ``rest`` (whose client has checked the credentials)."""
        spec = rest.spec
        login = spec.auth.smtp
        if login is None:
            raise UnsupportedOperation(spec.provider.name, "SMTP", "its spec names no SMTP login")
        for role in (login.username, login.password):
            try:
                credentials[role].encode("utf-8")
            except UnicodeEncodeError:  # never echoed: it is a credential
                raise ValidationError(
                    "cannot be encoded as UTF-8 (a lone surrogate)",
                    field=role,
                    provider=spec.provider.name,
                ) from None
        server = smtp_server(
            spec,
            region=region,
            host=host,
            port=port,
            starttls=starttls,
            timeout=timeout,
            ca_certs=ca_certs,
        )
        return cls(
            rest,
            server,
            username=Secret(credentials[login.username]),
            password=Secret(credentials[login.password]),
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.server}>"

    # --- sending ---------------------------------------------------------------------

    def check(self, message: Message) -> None:
        """Everything that can be known before connecting: the spec's validation, the
        fields SMTP cannot carry, and what MIME cannot write. No I/O."""
        check_message(message)
        self.check_rules(message)

    def check_rules(self, message: Message) -> None:
        """:meth:`check` for a message ``check_message`` has passed."""
        check_rules(message, self.spec)
        for field in self.unplaced(message):
            raise UnsupportedOperation(
                self.name, f"the message field {field!r}", "SMTP has no place for it"
            )
        for field in _ADDRESS_FIELDS:
            value = getattr(message, field)
            addresses = [value] if isinstance(value, str) else list(value or [])
            if not all(address.isascii() for address in addresses):
                raise UnsupportedOperation(
                    self.name,
                    f"non-ASCII addresses in {field!r}",
                    "they need SMTPUTF8, which this client does not use",
                )
        check_mime(message, provider=self.name, extra_headers=self._extra_headers(message))

    def unplaced(self, message: Message) -> list[str]:
        """The fields ``message`` sets that SMTP has no place for (``provider_options``
        when they hold options for this provider: other providers' are not for it)."""
        set_fields = message.set_fields()
        unplaced = [f for f in SMTP_UNSUPPORTED_FIELDS if f in set_fields]
        if self.name in message.provider_options:
            unplaced.append("provider_options")
        return unplaced

    def deliver(self, message: Message) -> SendResult:
        """Send a message :meth:`check` has passed (the Mailer checks once, then may
        deliver more than once)."""
        envelope, message_id = self._envelope(message)
        with self._session() as session:
            return self._sent(session, envelope, message_id)

    def send_many(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order, through one SMTP session. Every message is
        checked (and written as MIME) before the first is sent; a failure after the
        first raises PartialDeliveryError naming who was reached."""
        for message in messages:
            self.check(message)
        prepared = [self._envelope(message) for message in messages]
        results: list[SendResult] = []
        with self._session() as session:

            def sender(envelope: SmtpEnvelope, message_id: str) -> Callable[[], list[str]]:
                def send() -> list[str]:
                    results.append(self._sent(session, envelope, message_id))
                    return results[-1].message_ids

                return send

            steps = [Step(env.recipients, sender(env, mid)) for env, mid in prepared]
            send_steps(self.name, steps)
        return results

    def _session(self) -> SmtpSession:
        return SmtpSession(
            self.name,
            self.server,
            username=self._username,
            password=self._password,
            hidden=self._hidden,
        )

    def _sent(self, session: SmtpSession, envelope: SmtpEnvelope, message_id: str) -> SendResult:
        started = time.perf_counter()
        refused = session.send(envelope)
        attempt = Attempt(self.name, "accepted", time.perf_counter() - started)
        return SendResult(
            provider=self.name, message_ids=[message_id], attempts=[attempt], refused=refused
        )

    def _envelope(self, message: Message) -> tuple[SmtpEnvelope, str]:
        """``message``, which :meth:`check` has passed (check_mime included), as SMTP
        carries it, and its Message-ID."""
        message_id = message_id_for(message)
        content = to_bytes(
            message,
            message_id=message_id,
            provider=self.name,
            extra_headers=self._extra_headers(message),
            checked=True,
        )
        recipients = list(dict.fromkeys([*message.to, *message.cc, *message.bcc]))
        envelope = SmtpEnvelope(message.from_email, recipients, content)
        return envelope, message_id

    def _extra_headers(self, message: Message) -> dict[str, str]:
        if not (message.variables or message.recipient_variables):
            return {}
        syntax = self.spec.capabilities.variable_syntax
        return {"X-SMTPAPI": xsmtpapi_header(message, syntax)}

    # --- status and the rest ---------------------------------------------------------

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]:
        """Delivery status from the REST API (SMTP has no status query)."""
        return self.rest.status(message_ids, since=since, until=until, recipient=recipient)

    def close(self) -> None:
        """Release the REST client's connections (no SMTP session outlives a send)."""
        self.rest.client.close()
