"""Fixtures for the provider tests: a pytest-httpserver bound to 127.0.0.1 and one
provider of each new spec (SendCloud v2, CloudMails, AOTsend) pointed at it.

Everything is real HTTP over 127.0.0.1; nothing of mailspec's own client is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import mailspec


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """Overrides the plugin's: 127.0.0.1 explicitly (never `localhost`)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def sendcloud(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "sendcloud", api_user="u", api_key="k", base_url=httpserver.url_for("/apiv2/"), timeout=5
    )


@pytest.fixture
def cloudmails(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "cloudmails", api_key="secret-key", base_url=httpserver.url_for("/v1"), timeout=5
    )


@pytest.fixture
def aotsend(httpserver: HTTPServer) -> Any:
    return mailspec.provider(
        "aotsend", app_key="app-key", base_url=httpserver.url_for("/"), timeout=5
    )
