"""A real SMTP server for the SMTP tests (aiosmtpd on 127.0.0.1, ephemeral port), and
plain helpers. Fixtures live in conftest.py; this module is imported by name.

The server records what it is told (EHLO names, AUTH commands, login attempts, every
envelope) and can be told to refuse: a reply per recipient, a reply to DATA, a pause
before answering DATA, a dropped connection at RCPT.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from mailspec import Message

USER = "smtp-user-1"
PASSWORD = "smtp-pass-7f3e"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool


@dataclass
class Behaviour:
    """What the server does; tests change it before sending."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> "550 ..."
    data_reply: str | None = None  # e.g. "451 4.3.0 try again later"
    pause_after_data: float = 0.0  # seconds of silence before answering the content
    drop_at_rcpt: bool = False  # close the connection instead of answering RCPT


class RecordingHandler:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        self.password = PASSWORD  # the one the server accepts for USER
        self.ehlo_names: list[str] = []
        self.auth_commands: list[str] = []  # the mechanism of every AUTH command seen
        self.logins: list[tuple[bytes, bytes]] = []
        self.content_seen: list[bytes] = []  # every content received, answered or not
        self.accepted: list[Received] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.ehlo_names.append(hostname)
        session.host_name = hostname  # aiosmtpd leaves this to a handler with this hook
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.behaviour.drop_at_rcpt:
            server.transport.close()
            return "421 closing"  # never reaches the client
        reply = self.behaviour.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.content_seen.append(envelope.content)
        if self.behaviour.pause_after_data:
            await asyncio.sleep(self.behaviour.pause_after_data)
        if self.behaviour.data_reply is not None:
            return self.behaviour.data_reply
        self.accepted.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.content,
                session.ssl is not None,
            )
        )
        return "250 2.0.0 OK queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.logins.append((data.login, data.password))
        ok = data.login == USER.encode() and data.password == self.password.encode()
        # handled=False: let the server send its own 535 on failure
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


class RecordingSMTP(SMTP):
    """aiosmtpd's server, noting every AUTH command even when AUTH is not offered."""

    async def smtp_AUTH(self, arg: str) -> None:
        self.event_handler.auth_commands.append(arg.split(" ", 1)[0].upper())
        await super().smtp_AUTH(arg)


class LocalSmtpServer(Controller):
    """aiosmtpd's threaded controller on 127.0.0.1 and a port the OS picks."""

    def __init__(self, handler: RecordingHandler, **options: Any) -> None:
        options.setdefault("authenticator", handler.authenticate)
        # a fixed name: aiosmtpd would otherwise ask DNS for this host's
        super().__init__(
            handler, hostname="127.0.0.1", port=0, server_hostname="localhost", **options
        )
        self.recorder = handler

    def factory(self) -> SMTP:
        return RecordingSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]  # the port bound to port 0
        super()._trigger_server()


def refused_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "noreply@example.com",
        "to": ["ann@example.org"],
        "subject": "Your order",
        "text": "Hello",
    }
    fields.update(overrides)
    return Message(**fields)


def raw_header(content: bytes, name: str) -> str:
    """A header exactly as sent, unfolded (RFC 5322 2.2.3: remove each CRLF before
    whitespace), without any decoding."""
    head = content.split(b"\r\n\r\n", 1)[0].decode("ascii")
    unfolded = re.sub(r"\r\n(?=[ \t])", "", head)
    for line in unfolded.split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == name.lower():
            return value[1:] if value.startswith(" ") else value
    raise KeyError(name)
