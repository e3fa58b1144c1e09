"""Fixtures for the SMTP tests: real aiosmtpd servers on 127.0.0.1 (plain, or STARTTLS
with a certificate from a trustme CA), started per test and always stopped, and
providers aimed at them. Nothing of mailspec is mocked; smtplib talks to a real server.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from smtp_support import PASSWORD, USER, LocalSmtpServer, RecordingHandler

import mailspec


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def other_ca_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A CA that did not sign the server's certificate."""
    path: Path = tmp_path_factory.mktemp("other-ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def start_server() -> Iterator[Callable[..., LocalSmtpServer]]:
    """``start_server(**aiosmtpd_options)``: a running server, stopped after the test."""
    running: list[LocalSmtpServer] = []

    def start(**options: Any) -> LocalSmtpServer:
        options.setdefault("ready_timeout", 5.0)
        server = LocalSmtpServer(RecordingHandler(), **options)
        server.start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def plain_server(start_server: Callable[..., LocalSmtpServer]) -> LocalSmtpServer:
    """No TLS; AUTH offered in plain text (allowed to loopback only)."""
    return start_server(auth_require_tls=False)


@pytest.fixture
def tls_server(
    start_server: Callable[..., LocalSmtpServer], server_tls: ssl.SSLContext
) -> LocalSmtpServer:
    """STARTTLS required before anything else, AUTH only after it."""
    return start_server(tls_context=server_tls, require_starttls=True)


@pytest.fixture
def make_provider() -> Iterator[Callable[..., Any]]:
    """``make_provider(server, **overrides)``: an SMTP AuroraSendCloud provider aimed at
    ``server`` (plain unless ``starttls=True``), closed after the test."""
    made: list[Any] = []

    def make(server: LocalSmtpServer, **overrides: Any) -> Any:
        options: dict[str, Any] = {
            "api_user": USER,
            "api_key": PASSWORD,
            "smtp_host": "127.0.0.1",
            "smtp_port": server.port,
            "timeout": 3,
        }
        options.update(overrides)
        provider = mailspec.provider("aurorasendcloud", transport="smtp", **options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()
