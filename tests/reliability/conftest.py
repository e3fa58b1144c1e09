"""Fixtures for the reliability tests; helpers live in reliability_support.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability_support import CannedServer


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer()
    yield server
    server.close()
