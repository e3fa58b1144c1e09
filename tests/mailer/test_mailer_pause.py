"""A provider answering "too many requests" is paused for its Retry-After, not counted
towards opening its circuit breaker: slow down is not down.

Real servers on 127.0.0.1 count the requests that reach them; only the clock is faked,
except in the burst, which runs in real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from mailer_support import (
    FakeAurora,
    FakeClock,
    PerSecond,
    TopRandom,
    make_message,
    rate_limited,
)

from mailspec import AllProvidersFailed, Mailer
from mailspec.mailer import CircuitOpen, MemoryStore, ProviderPaused
from mailspec.sandbox import Fault, Sandbox


def _skipped_as_paused(result_attempts: list) -> list[str]:
    return [a.provider for a in result_attempts if isinstance(a.error, ProviderPaused)]


def test_rate_limit_answers_leave_the_breaker_closed(servers, fast, clock) -> None:
    a, b = servers(2)
    a.default = rate_limited("1", http=429)
    mailer = Mailer([a.provider(), b.provider()], breaker_threshold=2, **fast)
    for _ in range(5):
        assert mailer.send(make_message()).provider == "aurorasendcloud#2"
    breaker = mailer.breaker("aurorasendcloud")
    assert breaker is not None
    assert breaker.state().opened_at is None and breaker.state().failures == 0
    assert len(a.received) == 15  # three tries a message
    # every request after the first waited out the Retry-After of the one before it
    assert clock.sleeps == [1.0] * 14


def test_no_request_reaches_a_paused_provider_before_its_retry_after(servers, fast, clock) -> None:
    a, b = servers(2)
    a.queue(rate_limited("5", http=429))
    mailer = Mailer([a.provider(), b.provider()], max_attempts=1, **fast)
    assert mailer.send(make_message()).provider == "aurorasendcloud#2"
    for _ in range(3):
        result = mailer.send(make_message())
        assert result.provider == "aurorasendcloud#2"
        assert _skipped_as_paused(result.attempts) == ["aurorasendcloud"]
    clock.advance(3.9)  # 1.1 s left: more than rate_limit_wait
    assert mailer.send(make_message()).provider == "aurorasendcloud#2"
    assert len(a.received) == 1  # counted by the server: nothing during the pause
    assert clock.sleeps == []  # 5 s is more than rate_limit_wait: failed over, no waiting
    clock.advance(1.2)
    assert mailer.send(make_message()).provider == "aurorasendcloud"
    assert len(a.received) == 2


def test_a_pause_within_rate_limit_wait_is_waited_out(servers, fast, clock) -> None:
    a, b = servers(2)
    a.queue(rate_limited("0.5", http=429))
    mailer = Mailer([a.provider(), b.provider()], max_attempts=1, **fast)
    assert mailer.send(make_message()).provider == "aurorasendcloud#2"
    assert mailer.send(make_message()).provider == "aurorasendcloud"
    assert clock.sleeps == [0.5]
    assert len(b.accepted) == 1


def test_the_pause_is_shared_through_the_store(servers, fast, clock) -> None:
    a, b = servers(2)
    a.queue(rate_limited("5", http=429))
    store = MemoryStore()
    one = Mailer([a.provider(), b.provider()], max_attempts=1, store=store, **fast)
    two = Mailer([a.provider(), b.provider()], max_attempts=1, store=store, **fast)
    assert one.send(make_message()).provider == "aurorasendcloud#2"
    result = two.send(make_message())
    assert _skipped_as_paused(result.attempts) == ["aurorasendcloud"]
    assert len(a.received) == 1


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["sendcloud", "cloudmails"]) as running:
        yield running


def test_without_retry_after_the_pause_is_the_backoff(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["sendcloud"].faults.queue(Fault.RATE_LIMIT)  # the spec's own code, no Retry-After
    providers = [sandbox["sendcloud"].provider(), sandbox["cloudmails"].provider()]
    options = {"max_attempts": 1, "backoff": 0.25, "clock": clock, "sleep": clock.sleep}
    mailer = Mailer(providers, random=TopRandom(), rate_limit_wait=0.0, **options)
    assert mailer.send(make_message()).provider == "cloudmails"
    result = mailer.send(make_message())  # may not wait: goes elsewhere at once
    assert (result.provider, _skipped_as_paused(result.attempts)) == ("cloudmails", ["sendcloud"])
    assert sandbox["sendcloud"].requests == 1
    waiting = Mailer(providers, random=TopRandom(), store=mailer.store, **options)
    assert waiting.send(make_message()).provider == "sendcloud"
    assert clock.sleeps == [0.25]  # the backoff ceiling, waited out within rate_limit_wait


def _burst(threads: int, seconds: float, limit: int) -> tuple[int, int, FakeAurora]:
    """``threads`` threads sending through one Mailer (default breakers) for ``seconds``
    to a provider that takes ``limit`` sends a second and answers 429 with
    Retry-After: 1 beyond: (accepted, CircuitOpen skips, the server)."""
    fake = FakeAurora("burst")
    fake.default = PerSecond(limit)
    mailer = Mailer([fake.provider(timeout=2)])
    stop = time.monotonic() + seconds
    counts = {"accepted": 0, "circuit_open": 0}
    lock = threading.Lock()

    def work() -> None:
        while time.monotonic() < stop:
            try:
                mailer.send(make_message())
                accepted, skips = 1, 0
            except AllProvidersFailed as exc:
                accepted = 0
                skips = sum(isinstance(a.error, CircuitOpen) for a in exc.attempts)
            with lock:
                counts["accepted"] += accepted
                counts["circuit_open"] += skips

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    fake.close()
    return counts["accepted"], counts["circuit_open"], fake


def test_a_rate_limited_burst_keeps_sending_at_the_providers_pace() -> None:
    # before the pause, the breaker opened after five 429s and 20 sends were accepted
    # (the first second's), then every send was skipped for the 30 s cooldown
    accepted, circuit_open, fake = _burst(threads=8, seconds=3.0, limit=20)
    assert circuit_open == 0
    assert accepted == len(fake.accepted) >= 45  # about 20 a second, every second
    assert isinstance(fake.default, PerSecond) and fake.default.refused > 0  # it did push back
