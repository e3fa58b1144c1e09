"""Differential tests against django-anymail (imported as ``differential_support``).

The same Django message goes through django-anymail's backend for an ESP and through
mailspec's Django backend with that ESP's provider URL, each to its own capture server
on 127.0.0.1: a real HTTP server that records every request and answers as the
provider would. A test then reads both requests as the provider would read them
(addresses with names, headers, attachments with types and content ids, tags,
metadata, template and variables, auth) and compares what it read, never the bytes:
key order, JSON spacing and multipart boundaries differ between two correct clients.

anymail is a test-only dependency: mailspec never imports it. Its backends are the
mature client each ESP's wire is compared with; where anymail refuses a message for an
ESP, mailspec must refuse it too or the test cites the document that allows it.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as MimeMessage
from email.mime.image import MIMEImage
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from anymail.message import AnymailMessage
from django.core import mail
from django.core.mail import EmailMessage
from django.test import override_settings

__all__ = [
    "CASES",
    "INLINE_CID",
    "PDF",
    "PNG",
    "CaptureServer",
    "Captured",
    "Part",
    "Reply",
    "Sent",
    "capture",
    "json_reply",
    "send_with_anymail",
    "send_with_mailspec",
]

# --- what a capture server saw -----------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str | None
    headers: dict[str, str]  # lower-case names
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode()


@dataclass(frozen=True)
class Captured:
    """One request as the capture server received it."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by ", "
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def parts(self) -> list[Part]:
        """The parts of a multipart/form-data body, in order."""
        if self.content_type != "multipart/form-data":
            raise AssertionError(f"not multipart/form-data: {self.content_type!r}")
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        parsed = message_from_bytes(head + self.body, policy=HTTP)
        return [_part(p) for p in parsed.iter_parts()]

    def form(self) -> dict[str, list[str]]:
        """The fields of a form, url-encoded or multipart (file parts left out), each
        name's values in order."""
        if self.content_type == "application/x-www-form-urlencoded":
            return parse_qs(self.body.decode(), keep_blank_values=True)
        fields: dict[str, list[str]] = {}
        for part in self.parts():
            if part.filename is None:
                fields.setdefault(part.name, []).append(part.text)
        return fields

    def files(self) -> list[Part]:
        """The file parts of a multipart body, in order."""
        return [p for p in self.parts() if p.filename is not None]

    def basic_auth(self) -> tuple[str, str] | None:
        """The user name and password of an ``Authorization: Basic`` header."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, password


def _part(part: MimeMessage) -> Part:
    disposition = dict(part.get_params(header="content-disposition") or [])
    payload = part.get_payload(decode=True)
    return Part(
        name=str(disposition.get("name", "")),
        filename=part.get_filename(),
        content_type=part.get_content_type() if part["Content-Type"] else None,
        headers={k.lower(): str(v) for k, v in part.items()},
        data=payload if isinstance(payload, bytes) else b"",
    )


# --- the capture server --------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the capture server answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(body: Any, status: int = 200, **headers: str) -> Reply:
    """A JSON answer; ``headers`` with ``_`` for ``-`` (``X_Message_Id="abc"``)."""
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **named})


class CaptureServer:
    """An HTTP server on 127.0.0.1 that keeps every request and answers each with
    ``answer(request)``, as the provider would (a client that reads its answer
    strictly needs the provider's own)."""

    def __init__(self, answer: Callable[[Captured], Reply]) -> None:
        self.requests: list[Captured] = []
        self._answer = answer
        captured = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    headers[key] = f"{headers[key]}, {value}" if key in headers else value
                request = Captured(self.command, self.path, headers, body)
                captured.append(request)
                reply = answer(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/``"""
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> CaptureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def capture(answer: Callable[[Captured], Reply]) -> Iterator[CaptureServer]:
    with CaptureServer(answer) as server:
        yield server


# --- sending one message both ways -----------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """What one client did with one message: the requests it made, and the error it
    raised (None when ``send_messages`` returned)."""

    requests: list[Captured]
    error: BaseException | None

    @property
    def refused(self) -> bool:
        """Refused before any request."""
        return self.error is not None and not self.requests

    @property
    def request(self) -> Captured:
        """The one request made; an AssertionError naming the error otherwise."""
        if len(self.requests) != 1:
            raise AssertionError(f"{len(self.requests)} requests, error {self.error!r}")
        return self.requests[0]


def send_with_anymail(
    backend: str, anymail: dict[str, Any], email: EmailMessage, server: CaptureServer
) -> Sent:
    """Send ``email`` through django-anymail's ``backend`` (``"anymail.backends.postmark.
    EmailBackend"``) with the ``ANYMAIL`` setting given, which points it at ``server``."""
    start = len(server.requests)
    with override_settings(ANYMAIL=anymail):
        try:
            mail.get_connection(backend, fail_silently=False).send_messages([email])
        except Exception as error:  # anymail's errors: what it refused or could not read
            return Sent(server.requests[start:], error)
    return Sent(server.requests[start:], None)


def send_with_mailspec(provider_url: str, email: EmailMessage, server: CaptureServer) -> Sent:
    """Send ``email`` through mailspec's Django backend with one provider, from
    ``provider_url`` (whose ``base_url`` should be ``server.url``): one attempt, and a
    provider with no place for a field is skipped rather than sent without it, so the
    message arrives whole or not at all, as anymail's does."""
    start = len(server.requests)
    setting = {
        "PROVIDERS": [provider_url],
        "MAX_ATTEMPTS": 1,
        "DEADLINE": 5,
        "BACKOFF": 0,
        "BACKOFF_MAX": 0,
        "ON_UNSUPPORTED": "skip",
        "LEDGER": False,
    }
    with override_settings(MAILSPEC=setting):
        try:
            mail.get_connection("mailspec.django.EmailBackend", fail_silently=False).send_messages(
                [email]
            )
        except Exception as error:  # mailspec's errors: what it refused or could not read
            return Sent(server.requests[start:], error)
    return Sent(server.requests[start:], None)


# --- the canonical messages ------------------------------------------------------------

# a small, well-formed PDF and a 1x1 PNG: attachments a provider may inspect
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
INLINE_CID = "logo@shop.example"  # fixed, so both sides carry the same content id

_FROM = "Shop <orders@shop.example>"


def _plain() -> AnymailMessage:
    email = AnymailMessage(
        subject="Your order", body="It ships today.", from_email=_FROM, to=["ann@example.org"]
    )
    email.attach_alternative("<p>It ships <b>today</b>.</p>", "text/html")
    return email


def _names() -> AnymailMessage:
    email = AnymailMessage(
        subject="Your order",
        body="It ships today.",
        from_email=_FROM,
        to=['"Lee, Ann" <ann@example.org>', "bob@example.org"],
        cc=["Carl Ng <carl@example.org>"],
        bcc=["Dee Ray <dee@example.org>"],
        reply_to=["Help Desk <help@shop.example>"],
    )
    email.attach_alternative("<p>It ships today.</p>", "text/html")
    return email


def _headers() -> AnymailMessage:
    return AnymailMessage(
        subject="Your order",
        body="It ships today.",
        from_email=_FROM,
        to=["ann@example.org"],
        headers={"X-Order": "1042", "List-Unsubscribe": "<mailto:unsubscribe@shop.example>"},
    )


def _attachments() -> AnymailMessage:
    email = AnymailMessage(
        subject="Your invoice", body="Attached.", from_email=_FROM, to=["ann@example.org"]
    )
    email.attach_alternative(f'<p><img src="cid:{INLINE_CID}"> Attached.</p>', "text/html")
    email.attach("invoice.pdf", PDF, "application/pdf")
    image = MIMEImage(PNG, "png")
    image["Content-ID"] = f"<{INLINE_CID}>"
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    email.attach(image)
    return email


def _tags_metadata() -> AnymailMessage:
    return AnymailMessage(
        subject="Welcome",
        body="Welcome aboard.",
        from_email=_FROM,
        to=["ann@example.org"],
        tags=["welcome"],
        metadata={"user_id": "42", "plan": "pro"},
    )


def _template() -> AnymailMessage:
    email = AnymailMessage(from_email=_FROM, to=["ann@example.org"])
    email.template_id = "welcome-1"
    email.merge_global_data = {"name": "Ann", "order": "1042"}
    return email


# name -> a fresh message each call (a message is changed by sending it)
CASES: dict[str, Callable[[], AnymailMessage]] = {
    "plain": _plain,
    "names": _names,
    "headers": _headers,
    "attachments": _attachments,
    "tags_metadata": _tags_metadata,
    "template": _template,
}
