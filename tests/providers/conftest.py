"""Fixtures for the provider tests: one provider of each new spec (SendCloud v2,
CloudMails, AOTsend) pointed at pytest-httpserver (bound to 127.0.0.1 by
tests/conftest.py).

Everything is real HTTP over 127.0.0.1; nothing of mailspec's own client is mocked.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import mailspec


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
