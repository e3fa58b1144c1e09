"""Real Celery worker processes for the tests (:class:`benchmarks.services.CeleryWorkers`,
running :mod:`benchmarks.celery_app` with ``--pool solo``) on the tests' redis-server:
the broker, result backend and store are three of its databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis_support import RedisServer

from benchmarks.services import CeleryWorkers, ServiceError

VISIBILITY = 2.0  # seconds before the broker hands a dead worker's task to another
DEADLINE = 3.0  # of each send; its claim lease is a second longer


class Workers(CeleryWorkers):
    """:class:`CeleryWorkers` whose start failing fails the test, with the worker's log."""

    def start(self, *, wait: bool = True):  # type: ignore[no-untyped-def]
        try:
            return super().start(wait=wait)
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[[list[str]], Workers]]:
    made: list[Workers] = []

    def make(providers: list[str]) -> Workers:
        made.append(
            Workers(redis_server, tmp_path, providers, visibility=VISIBILITY, deadline=DEADLINE)
        )
        return made[-1]

    yield make
    for w in made:
        w.stop()
