"""A Mailer on each store: breakers, buckets and pauses shared by two Mailers (as two
processes would be), a store given as a URL, and what a store failing mid-send does —
before any request it raises StoreError, after one the outcome of the request wins."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from stores_support import FakeClock, RedisServer, TopRandom

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message, StoreError, ValidationError
from mailspec.mailer import CircuitOpen, ClientRateLimited, MemoryStore, ProviderPaused
from mailspec.sandbox import SandboxServer


def message(subject: str = "hello") -> Message:
    return Message(
        from_email="shop@example.com", to="ann@example.org", subject=subject, html="<p>Hi</p>"
    )


@pytest.fixture
def sandboxes():
    with SandboxServer("aurorasendcloud") as a, SandboxServer("aurorasendcloud") as b:
        yield a, b


def two_mailers(backend, sandboxes, clock, **options):
    a, b = sandboxes
    made = []
    for _ in range(2):
        made.append(
            Mailer(
                [a.provider(), b.provider()],
                store=backend.open(),
                clock=clock,
                sleep=clock.sleep,
                random=TopRandom(),
                **options,
            )
        )
    return made


def test_two_mailers_share_one_bucket(backend, sandboxes) -> None:
    clock = FakeClock()
    one, two = two_mailers(backend, sandboxes, clock, rate_limit_wait=0.0)
    for i in range(25):  # 3,000 a minute: a burst of 50, shared
        assert one.send(message(f"one{i}")).provider == "aurorasendcloud"
        assert two.send(message(f"two{i}")).provider == "aurorasendcloud"
    over = two.send(message("over"))
    assert over.provider == "aurorasendcloud#2"
    assert isinstance(over.attempts[0].error, ClientRateLimited)
    assert len(sandboxes[0].accepted) == 50


def test_two_mailers_share_one_breaker(backend, sandboxes) -> None:
    clock = FakeClock()
    one, two = two_mailers(backend, sandboxes, clock, breaker_threshold=2, max_attempts=1)
    a, _ = sandboxes
    a.faults.queue("server_error", times=2)
    one.send(message("first"))  # a failed, b accepted
    one.send(message("second"))  # a failed again: its breaker opens
    result = two.send(message("third"))
    assert result.provider == "aurorasendcloud#2"
    assert isinstance(result.attempts[0].error, CircuitOpen)
    assert a.requests == 2  # the second Mailer sent it nothing


def test_two_mailers_share_one_pause(backend, sandboxes) -> None:
    clock = FakeClock()
    one, two = two_mailers(backend, sandboxes, clock, max_attempts=1, rate_limit_wait=0.0)
    a, _ = sandboxes
    a.faults.queue("rate_limit")
    assert one.send(message("first")).provider == "aurorasendcloud#2"  # a said: slow down
    result = two.send(message("second"))
    assert result.provider == "aurorasendcloud#2"
    assert isinstance(result.attempts[0].error, ProviderPaused)
    assert a.requests == 1
    clock.advance(0.5)  # the backoff (TopRandom: 0.5 s) has passed for every sender
    assert two.send(message("third")).provider == "aurorasendcloud"


def test_a_store_url_string_is_opened_and_read_on_the_wall_clock(shared_backend, sandboxes) -> None:
    a, b = sandboxes
    mailer = Mailer([a.provider(), b.provider()], store=shared_backend.url, breaker_threshold=1)
    assert type(mailer.store) is type(shared_backend.open())
    a.faults.queue("server_error", times=3)
    mailer.send(message())
    breaker = mailer.breaker("aurorasendcloud")
    assert breaker is not None
    opened_at = breaker.state().opened_at
    # time.time(), not time.monotonic(): another process can read it against its own
    assert opened_at is not None and abs(opened_at - time.time()) < 60
    # and the record is in the store the URL names, for every other opener to see
    other = Mailer([a.provider()], store=shared_backend.url, breaker_threshold=1)
    assert other.breaker("aurorasendcloud").state().opened_at == opened_at


def test_the_default_store_stays_in_process_on_the_monotonic_clock(sandboxes) -> None:
    a, _ = sandboxes
    mailer = Mailer([a.provider()], breaker_threshold=1, max_attempts=1)
    assert isinstance(mailer.store, MemoryStore)
    a.faults.queue("server_error")
    with pytest.raises(AllProvidersFailed):
        mailer.send(message())
    opened_at = mailer.breaker("aurorasendcloud").state().opened_at
    assert opened_at is not None and abs(opened_at - time.monotonic()) < 60


@pytest.mark.parametrize("store", [42, object(), b"memory://"])
def test_a_store_that_is_neither_a_store_nor_a_url_is_refused(store) -> None:
    provider = mailspec.provider("aurorasendcloud", api_user="u", api_key="k")
    with pytest.raises(ValidationError) as caught:
        Mailer([provider], store=store)
    assert caught.value.field == "store"
    assert "expected a StateStore or a store URL" in str(caught.value)


# --- a store that fails --------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, so that the test may kill it."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def kill_when_requested(sandbox: SandboxServer, redis_server: RedisServer) -> threading.Thread:
    """Kill ``redis_server`` as soon as ``sandbox`` has a request in hand."""

    def watch() -> None:
        deadline = time.monotonic() + 20
        while sandbox.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        redis_server.kill()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_store_dying_during_a_request_does_not_lose_the_accepted_message(
    own_redis, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="mailspec.mailer")
    with SandboxServer("aurorasendcloud", slow_seconds=1.0) as server:
        server.faults.queue("slow")  # holds the request a second, then accepts it
        # the server stays down once killed: not retried
        mailer = Mailer([server.provider(timeout=10)], store=own_redis.url(timeout="1", retry="0"))
        killer = kill_when_requested(server, own_redis)
        result = mailer.send(message())
        killer.join(timeout=30)
        assert result.provider == "aurorasendcloud" and result.message_ids
        assert [a.outcome for a in result.attempts] == ["accepted"]
        assert len(server.accepted) == 1
        warnings = [r for r in caplog.records if "was not updated" in r.getMessage()]
        assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
        assert "aurorasendcloud: its breaker was not updated: redis store redis://127.0.0.1" in (
            warnings[0].getMessage()
        )
        # the next send finds the store down before any request: nothing goes out
        with pytest.raises(StoreError):
            mailer.send(message("next"))
        assert server.requests == 1


def test_a_store_dying_after_a_request_keeps_every_attempt(own_redis) -> None:
    with (
        SandboxServer("aurorasendcloud", slow_seconds=2.0) as a,
        SandboxServer("aurorasendcloud") as b,
    ):
        a.faults.queue("slow")  # past the client's timeout: ambiguous
        mailer = Mailer(
            [a.provider(timeout=0.5), b.provider()],
            store=own_redis.url(timeout="1", retry="0"),  # it stays down: not retried
            on_ambiguous="failover",
        )
        killer = kill_when_requested(a, own_redis)
        with pytest.raises(AllProvidersFailed) as caught:
            mailer.send(message())
        killer.join(timeout=30)
        assert isinstance(caught.value.__cause__, StoreError)
        assert "stopped by the state store after a request was made" in str(caught.value)
        (first,) = caught.value.attempts  # what may have gone out is not lost
        assert first.outcome == "failed" and first.error.ambiguous
        assert caught.value.ambiguous
        assert b.requests == 0
