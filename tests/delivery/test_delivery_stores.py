"""Timelines and suppressions on every store: events recorded by several threads at
once, each in its own order and each more than once, are kept once, and every reader
(another connection to the store) sees the same timeline."""

from __future__ import annotations

import random
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis_support import RedisServer

import mailspec
from mailspec import DeliveryState, EventType, Mailer, SendResult
from mailspec.webhooks import Event

EVENTS = [
    (EventType.QUEUED, 0), (EventType.DELIVERED, 5), (EventType.OPENED, 9),
    (EventType.DELIVERED, 7),  # the same type at another time: another event
    (EventType.UNSUBSCRIBED, 12),
]  # fmt: skip


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url(prefix=f"test-{uuid.uuid4().hex[:12]}:")


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_events_recorded_at_once_by_many_threads_are_kept_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _url(kind, tmp_path, request)
    store = mailspec.store(url)
    idle = mailspec.provider("cloudmails", api_key="k", base_url="http://127.0.0.1:9/v1")
    mailer = Mailer([idle], store=store)
    events = [
        Event(
            provider="cloudmails", type=kind_of, event=kind_of.value, message_id="clou-1",
            recipient="Amy@Example.org" if n % 2 else "amy@example.org",
            timestamp=datetime.fromtimestamp(1_700_000_000 + at, UTC),
        )
        for n, (kind_of, at) in enumerate(EVENTS)
    ]  # fmt: skip
    counts: list[int] = []

    def record(seed: int) -> None:
        mine = events * 2
        random.Random(seed).shuffle(mine)
        counts.append(mailer.record(mine))

    threads = [threading.Thread(target=record, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(counts) == len(EVENTS)  # each event new exactly once, whoever recorded it
    result = SendResult(provider="cloudmails", message_ids=["clou-1"])
    reader = Mailer([idle], store=store if kind == "memory" else mailspec.store(url))
    timeline = reader.timeline(result)
    assert timeline.state is DeliveryState.UNSUBSCRIBED
    assert [e.type for e in timeline.events] == [
        EventType.UNSUBSCRIBED, EventType.OPENED, EventType.DELIVERED,
        EventType.DELIVERED, EventType.QUEUED,
    ]  # fmt: skip
    assert timeline.duplicates == 0  # one send delivered it (its provider said so twice)
    (suppression,) = reader.suppressions
    assert (suppression.address, suppression.reason) == ("amy@example.org", "unsubscribed")
