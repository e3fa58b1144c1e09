"""Fixtures for the webhook tests; helpers live in webhooks_support.py."""

from __future__ import annotations

import pytest

from mailspec.webhooks import ReplayGuard


@pytest.fixture
def guard() -> ReplayGuard:
    """A replay guard of the test's own, so tests never see each other's tokens."""
    return ReplayGuard()
