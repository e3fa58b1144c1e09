"""Fixtures for the Mailer tests; the helpers themselves live in mailer_support.py, a
module name no other test folder uses (a bare `conftest` import would collide)."""

from mailer_support import clock, dead_url, fast, message, servers

__all__ = ["clock", "dead_url", "fast", "message", "servers"]
