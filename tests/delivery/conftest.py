"""Fixtures for the delivery tests; the helpers live in delivery_support.py (a module
name no other test folder uses)."""

from delivery_support import pair, redis_server

__all__ = ["pair", "redis_server"]
