"""Fixtures for every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """Overrides pytest-httpserver's: bound to 127.0.0.1 explicitly (never `localhost`,
    which may resolve to ::1). One server for the session; ``httpserver`` clears it
    between tests."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()
