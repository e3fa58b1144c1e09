"""Fixtures for the HTTP tests: an AuroraSendCloud provider pointed at pytest-httpserver
(bound to 127.0.0.1 by tests/conftest.py), and raw-socket servers for transport faults.

Everything is real HTTP over 127.0.0.1; nothing of mailspec's own client is mocked.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aurora_support import RawServer
from pytest_httpserver import HTTPServer

import mailspec


@pytest.fixture
def make_provider(httpserver: HTTPServer) -> Callable[..., Any]:
    """``make_provider(**overrides)``: an AuroraSendCloud provider talking to httpserver."""

    def make(**overrides: Any) -> Any:
        options: dict[str, Any] = {
            "api_user": "u",
            "api_key": "k",
            "base_url": httpserver.url_for("/"),
            "timeout": 5,
        }
        options.update(overrides)
        return mailspec.provider("aurorasendcloud", **options)

    return make


@pytest.fixture
def aurora(make_provider: Callable[..., Any]) -> Any:
    return make_provider()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[RawServer, socket.socket], None]], RawServer]]:
    """``raw_server(behaviour)``: start a RawServer; every one started is closed after."""
    servers: list[RawServer] = []

    def start(behaviour: Callable[[RawServer, socket.socket], None]) -> RawServer:
        server = RawServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port
