"""Fixtures for the Celery tests: the tests' redis-server, and real worker processes."""

from celery_support import workers
from redis_support import redis_server

__all__ = ["redis_server", "workers"]
