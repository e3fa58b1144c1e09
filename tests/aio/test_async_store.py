"""AsyncMailer's store calls never stall its event loop: a SQLite file locked by another
connection, or a Redis server that stops answering (SIGSTOP), holds up the send that
needs it, not every other task. Measured with a ticker coroutine (the longest gap
between its 10 ms ticks) while the store is held for 1.5 s. The store's timeout still
applies, claims stay atomic, and a cancellation never cuts a store call in half.
Real stores (a temp SQLite file, a redis-server of this module's own), real HTTP to
the sandbox on 127.0.0.1, real clocks."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_support import RedisServer, ServiceError

from mailspec import AsyncMailer, Message, SendInProgress, SendResult, StoreError
from mailspec.sandbox import Sandbox

HOLD = 1.5  # seconds the store is held
RESPONSIVE = 0.3  # the longest gap between ticks we accept (held, it was HOLD)


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))  # a hung test fails, not hangs


def message(i: int = 0, **fields: Any) -> Message:
    return Message(
        from_email="noreply@example.com",
        to=[f"user{i}@example.org"],
        subject="Hi",
        html="<p>x</p>",
        **fields,
    )


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["cloudmails"]) as running:
        yield running


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this module's own: the tests stop and resume its process."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


class Ticker:
    """A coroutine ticking every 10 ms on the running loop; ``longest`` is the longest
    it waited between two ticks (what any other task would have waited)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._seen()  # a stall just before the end counts too

    async def _tick(self) -> None:
        self._last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            self._seen()

    def _seen(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now


def lock_sqlite(path: Path, seconds: float) -> threading.Thread:
    """Hold ``path``'s write lock from another connection (BEGIN IMMEDIATE) for
    ``seconds``, from a thread; returns once the lock is held."""
    held = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            conn.execute("COMMIT")
        finally:
            conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(5)
    return thread


def pause_redis(server: RedisServer, seconds: float) -> threading.Timer:
    """Stop the server's process (it answers nothing) for ``seconds``."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    resume = threading.Timer(seconds, server.process.send_signal, (signal.SIGCONT,))
    resume.start()
    return resume


async def send_while(
    mailer: AsyncMailer, stall: Callable[[], object], msg: Message
) -> tuple[SendResult, float, float]:
    """``msg`` sent while the store is stalled: its result, how long it took, and
    the longest the loop was unresponsive meanwhile."""
    await mailer.send(message(99))  # connected to the provider and the store already
    async with Ticker() as ticker:
        stall()
        began = time.monotonic()
        result = await mailer.send(msg)
        took = time.monotonic() - began
    return result, took, ticker.longest


def test_a_locked_sqlite_store_does_not_stall_the_loop(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    mailer = AsyncMailer([sandbox["cloudmails"].provider()], store=f"sqlite:///{path}")
    result, took, longest = run(
        send_while(mailer, lambda: lock_sqlite(path, HOLD), message(idempotency_key="k1"))
    )
    assert result.provider == "cloudmails" and not result.replayed
    assert took >= HOLD * 0.8  # the send waited for the store, as it must
    assert longest < RESPONSIVE  # the loop did not
    again = run(mailer.send(message(idempotency_key="k1")))
    assert again.replayed and again.message_ids == result.message_ids
    assert len(sandbox["cloudmails"].accepted) == 2  # message 99, and k1 once


def test_a_paused_redis_store_does_not_stall_the_loop(sandbox: Sandbox, redis: RedisServer) -> None:
    mailer = AsyncMailer([sandbox["cloudmails"].provider()], store=redis.url(prefix="stall:"))
    try:
        result, took, longest = run(
            send_while(mailer, lambda: pause_redis(redis, HOLD), message(idempotency_key="r1"))
        )
    finally:
        time.sleep(HOLD)  # resumed whatever happened, for the next test
    assert result.provider == "cloudmails" and not result.replayed
    assert took >= HOLD * 0.8
    assert longest < RESPONSIVE
    assert run(mailer.send(message(idempotency_key="r1"))).replayed


def test_the_store_timeout_still_applies(sandbox: Sandbox, tmp_path: Path) -> None:
    """Locked past the store's busy timeout (0.5 s): StoreError, nothing sent; the loop
    ran on meanwhile."""
    path = tmp_path / "state.db"
    mailer = AsyncMailer([sandbox["cloudmails"].provider()], store=f"sqlite:///{path}?timeout=0.5")

    async def locked() -> tuple[BaseException | None, float]:
        await mailer.send(message(99))
        error = None
        async with Ticker() as ticker:
            lock_sqlite(path, HOLD)
            try:
                await mailer.send(message(1))
            except StoreError as exc:
                error = exc
        return error, ticker.longest

    error, longest = run(locked())
    assert isinstance(error, StoreError) and "locked" in str(error)
    assert longest < RESPONSIVE
    assert sandbox["cloudmails"].requests == 1  # message 99 only


def test_a_cancellation_waits_for_the_store_call_it_came_in(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Cancelled while its claim waits for the locked store, the send lets the claim
    finish (it is written, in the store's own transaction), then stops before any
    request and gives the key back: sent again, the key goes out, once."""
    path = tmp_path / "state.db"
    mailer = AsyncMailer([sandbox["cloudmails"].provider()], store=f"sqlite:///{path}")

    async def cancel_during_the_claim() -> float:
        await mailer.send(message(99))
        lock_sqlite(path, HOLD)
        task = asyncio.create_task(mailer.send(message(1, idempotency_key="cut")))
        await asyncio.sleep(0.2)
        began = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - began

    waited = run(cancel_during_the_claim())
    assert waited >= (HOLD - 0.2) * 0.7  # the store call finished first
    assert sandbox["cloudmails"].requests == 1  # message 99 only
    result = run(mailer.send(message(1, idempotency_key="cut")))
    assert not result.replayed and sandbox["cloudmails"].requests == 2


def test_concurrent_sends_of_one_key_through_the_threads_send_it_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Ten keys, each sent twice at once, the claims made from the store's threads:
    each key goes out once; its twin is replayed or told the key is in progress."""
    mailer = AsyncMailer([sandbox["cloudmails"].provider()], store=f"sqlite:///{tmp_path}/s.db")

    async def twins() -> list[Any]:
        sends = [mailer.send(message(i % 10, idempotency_key=f"twin-{i % 10}")) for i in range(20)]
        return await asyncio.gather(*sends, return_exceptions=True)

    outcomes = run(twins())
    fresh = [o for o in outcomes if isinstance(o, SendResult) and not o.replayed]
    others = [o for o in outcomes if o not in fresh]
    assert sorted(r.idempotency_key or "" for r in fresh) == sorted(f"twin-{i}" for i in range(10))
    assert all(
        isinstance(o, SendInProgress) or (isinstance(o, SendResult) and o.replayed) for o in others
    )
    assert len(sandbox["cloudmails"].accepted) == 10


def test_the_in_process_store_is_called_on_the_loop(sandbox: Sandbox, tmp_path: Path) -> None:
    """The memory store never waits, so no thread is made for it; a SQLite store's
    calls run on the AsyncMailer's store threads, which aclose() lets go."""
    before = set(threading.enumerate())

    def store_threads() -> list[threading.Thread]:
        return [
            t
            for t in threading.enumerate()
            if t.name.startswith("mailspec-store") and t not in before
        ]

    async def sends(mailer: AsyncMailer) -> list[threading.Thread]:
        async with mailer:
            await mailer.send_many([message(i) for i in range(10)], concurrency=10)
            return store_threads()

    provider = sandbox["cloudmails"].provider()
    assert run(sends(AsyncMailer([provider]))) == []
    during = run(sends(AsyncMailer([provider], store=f"sqlite:///{tmp_path}/s.db")))
    assert 1 <= len(during) <= 8  # STORE_THREADS
    for thread in during:  # let go by aclose(): idle, they end
        thread.join(5)
        assert not thread.is_alive()
