"""A transport's connection pools grow for many threads, in place: the connections open
already are kept, pools made later start at the new size, and a pool never shrinks."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mailspec import Message, ValidationError
from mailspec.runtime.transport import DEFAULT_POOL_SIZE, Transport
from mailspec.sandbox import Latency, SandboxServer


def _message(i: int) -> Message:
    return Message(from_email="shop@example.com", to="ann@example.org", subject=f"m{i}", html="x")


def test_a_grown_pool_keeps_its_open_connection_and_serves_many_threads(caplog) -> None:
    with SandboxServer("cloudmails") as server:
        provider = server.provider()
        provider.send(_message(0))  # one keep-alive connection, idle in the pool
        transport = provider.client._transport
        (pool,) = [transport._pool.pools[k] for k in transport._pool.pools.keys()]  # noqa: SIM118
        kept = pool.pool.queue[-1]
        assert kept is not None and kept.sock is not None
        provider.ensure_pool_size(24)
        assert transport.pool_size == 24 and pool.pool.maxsize == 24
        assert pool.pool.queue[-1] is kept  # still the next one handed out
        server.latency = Latency(0.05)
        barrier = threading.Barrier(24)

        def send(i: int) -> None:
            barrier.wait()
            provider.send(_message(i))

        with (
            caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"),
            ThreadPoolExecutor(24) as threads,
        ):
            list(threads.map(send, range(24)))
    assert "pool is full" not in caplog.text
    assert len(server.accepted) == 25


def test_pools_made_later_start_at_the_new_size_and_none_shrinks() -> None:
    transport = Transport("cloudmails", timeout=1.0)
    assert transport.pool_size == DEFAULT_POOL_SIZE
    transport.ensure_pool_size(40)
    transport.ensure_pool_size(5)  # never fewer than before
    pool, _ = transport._route("http://127.0.0.1:9/v1/send")
    assert transport.pool_size == 40 and pool.pool is not None and pool.pool.maxsize == 40
    assert Transport("cloudmails", timeout=1.0, pool_size=3).pool_size == 3


@pytest.mark.parametrize("size", [0, -2, 2.5, True, "10", None])
def test_a_pool_size_is_a_whole_number_from_one(size: object) -> None:
    with pytest.raises(ValidationError) as caught:
        Transport("cloudmails", timeout=1.0, pool_size=size)  # type: ignore[arg-type]
    assert caught.value.field == "pool_size"
    with pytest.raises(ValidationError):
        Transport("cloudmails", timeout=1.0).ensure_pool_size(size)  # type: ignore[arg-type]
