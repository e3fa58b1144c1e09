"""Django configured as a project would be (``settings.configure`` with the two
settings), sandbox servers to send to, and a real HTTP server running the project;
helpers live in django_support.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
import pytest
from django.conf import settings
from django.test import override_settings
from django_support import mailspec_setting

from mailspec.sandbox import SandboxServer

settings.configure(
    DEBUG=False,
    SECRET_KEY="tests-only",
    ALLOWED_HOSTS=["testserver", "127.0.0.1"],
    ROOT_URLCONF="django_test_urls",
    INSTALLED_APPS=[],
    DEFAULT_FROM_EMAIL="Shop <orders@shop.example>",
    EMAIL_BACKEND="mailspec.django.EmailBackend",
    USE_TZ=True,
)
django.setup()


@pytest.fixture
def sendcloud() -> Iterator[SandboxServer]:
    with SandboxServer("sendcloud") as server:
        yield server


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


@pytest.fixture
def cloudmails() -> Iterator[SandboxServer]:
    with SandboxServer("cloudmails") as server:
        yield server


@pytest.fixture
def providers(sendcloud: SandboxServer, aurora: SandboxServer) -> Iterator[list[SandboxServer]]:
    """``MAILSPEC`` set to SendCloud, then AuroraSendCloud, for the test."""
    with override_settings(MAILSPEC=mailspec_setting(sendcloud, aurora)):
        yield [sendcloud, aurora]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def live_server() -> Iterator[str]:
    """The Django project served over HTTP on 127.0.0.1 (its base URL), as a provider's
    webhooks reach it."""
    from django.core.handlers.wsgi import WSGIHandler

    server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
