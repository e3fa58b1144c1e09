"""Fixtures for the store tests; the helpers live in stores_support.py (a module name no
other test folder uses: a bare `conftest` import would collide)."""

from stores_support import backend, redis_server, shared_backend

__all__ = ["backend", "redis_server", "shared_backend"]
