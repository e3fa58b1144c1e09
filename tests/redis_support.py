"""The tests' ``redis-server`` (:class:`benchmarks.services.RedisServer`, on 127.0.0.1
and a free port, with an append-only file in a temp dir, as a Redis store requires of
its server): started once per session by the ``redis_server``
fixture (the store and Celery tests use it), stopped at the end. A machine without
redis-server fails these tests, with the way to get it, rather than skipping them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

from benchmarks.services import REDIS_MISSING, RedisServer, ServiceError, free_port

__all__ = ["REDIS_MISSING", "RedisServer", "free_port", "redis_server"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
