"""Client-side rate limiting (token bucket per provider) and the state store."""

from __future__ import annotations

import threading

import msgspec
import pytest
from mailer_support import make_message

from mailspec import AllProvidersFailed, Mailer
from mailspec.mailer import (
    BucketState,
    ClientRateLimited,
    MemoryStore,
    StateStore,
    TokenBucket,
)
from mailspec.mailer.store import transact

# aurorasendcloud's spec: rate_per_minute 3000 -> 50 tokens a second, burst 50


def test_bucket_sends_a_burst_then_waits_for_the_refill(servers, fast, clock) -> None:
    (a,) = servers(1)
    mailer = Mailer([a.provider()], **fast)
    for i in range(50):
        mailer.send(make_message(f"m{i}"))
    assert clock.sleeps == []  # the clock never moved: 50 tokens were there
    mailer.send(make_message("m50"))
    assert clock.sleeps == [pytest.approx(0.02)]  # one token refills in 1/50 s
    assert len(a.accepted) == 51


def test_bucket_refills_with_time(servers, fast, clock) -> None:
    (a,) = servers(1)
    mailer = Mailer([a.provider()], **fast)
    for i in range(50):
        mailer.send(make_message(f"m{i}"))
    clock.advance(1.0)
    for i in range(50):
        mailer.send(make_message(f"n{i}"))
    assert clock.sleeps == []


def test_provider_without_a_token_soon_is_skipped(servers, fast, clock) -> None:
    a, b = servers(2)
    mailer = Mailer([a.provider(), b.provider()], rate_limit_wait=0.0, **fast)
    for i in range(50):
        assert mailer.send(make_message(f"m{i}")).provider == "aurorasendcloud"
    result = mailer.send(make_message("over"))
    assert result.provider == "aurorasendcloud#2"
    first = result.attempts[0]
    assert first.outcome == "skipped" and isinstance(first.error, ClientRateLimited)
    assert first.error.rate_per_minute == pytest.approx(3000)
    assert len(a.received) == 50 and b.subjects() == ["over"]


def test_rate_limit_can_be_turned_off(servers, fast, clock) -> None:
    (a,) = servers(1)
    mailer = Mailer([a.provider()], rate_limit=False, **fast)
    for i in range(60):
        mailer.send(make_message(f"m{i}"))
    assert clock.sleeps == []


def test_token_wait_never_passes_the_deadline(servers, clock) -> None:
    (a,) = servers(1)
    bucket_store = MemoryStore()
    mailer = Mailer(
        [a.provider()],
        store=bucket_store,
        rate_limit_wait=60.0,  # would wait, but not past the 5 s deadline
        deadline=5.0,
        clock=clock,
        sleep=clock.sleep,
    )
    # drain the bucket far ahead: the next token is 10 s away
    bucket_store.compare_and_set(
        "bucket:aurorasendcloud",
        bucket_store.get("bucket:aurorasendcloud"),
        msgspec.json.encode(BucketState(tokens=-499.0, updated=clock())),
    )
    with pytest.raises(AllProvidersFailed) as caught:
        mailer.send(make_message())
    assert isinstance(caught.value.attempts[0].error, ClientRateLimited)
    assert clock.sleeps == [] and a.received == []


# --- the bucket alone ---------------------------------------------------------------------


def test_reservations_queue_up_and_give_up_beyond_max_wait() -> None:
    bucket = TokenBucket(MemoryStore(), "p", rate_per_minute=60)  # 1/s, burst 1
    assert bucket.burst == 1.0
    assert bucket.reserve(0.0, 5.0) == 0.0
    assert bucket.reserve(0.0, 5.0) == pytest.approx(1.0)
    assert bucket.reserve(0.0, 5.0) == pytest.approx(2.0)
    assert bucket.reserve(0.0, 1.5) is None  # would be 3 s: nothing taken
    assert bucket.reserve(3.0, 0.0) == 0.0


def test_clock_stepping_back_does_not_drain() -> None:
    bucket = TokenBucket(MemoryStore(), "p", rate_per_minute=120, burst=2)
    bucket.reserve(100.0, 0.0)
    assert bucket.reserve(50.0, 0.0) == 0.0


def test_bucket_is_exact_under_threads() -> None:
    bucket = TokenBucket(MemoryStore(), "p", rate_per_minute=6000)  # 100/s, burst 100
    got: list[float | None] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(50):
            wait = bucket.reserve(0.0, 0.5)
            with lock:
                got.append(wait)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = sorted(w for w in got if w is not None)
    assert len(granted) == 100 + 50  # the burst, then half a second of refill
    assert granted[:100] == [0.0] * 100
    assert granted[-1] == pytest.approx(0.5)


# --- the store ---------------------------------------------------------------------------


def test_memory_store_is_a_state_store_with_compare_and_set() -> None:
    store = MemoryStore()
    assert isinstance(store, StateStore)
    assert store.get("k") is None
    assert store.compare_and_set("k", None, b"1")
    assert not store.compare_and_set("k", None, b"2")
    assert not store.compare_and_set("k", b"0", b"2")
    assert store.compare_and_set("k", b"1", b"2") and store.get("k") == b"2"


class Counter(msgspec.Struct, frozen=True):
    n: int = 0


def test_transact_retries_on_conflict_and_survives_garbage() -> None:
    store = MemoryStore()
    store.compare_and_set("c", None, b"not json")

    def bump(c: Counter) -> tuple[Counter, int]:
        return Counter(c.n + 1), c.n + 1

    threads = [
        threading.Thread(
            target=lambda: [transact(store, "c", Counter, Counter(), bump) for _ in range(200)]
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert msgspec.json.decode(store.get("c") or b"", type=Counter).n == 1600


def test_a_shared_store_coordinates_two_mailers(servers, fast, clock) -> None:
    """Two Mailers (think: two processes) on one store share one breaker and one bucket."""
    a, b = servers(2)
    store = MemoryStore()
    one = Mailer([a.provider(), b.provider()], store=store, rate_limit_wait=0.0, **fast)
    two = Mailer([a.provider(), b.provider()], store=store, rate_limit_wait=0.0, **fast)
    for i in range(25):
        one.send(make_message(f"one{i}"))
        two.send(make_message(f"two{i}"))
    assert two.send(make_message("over")).provider == "aurorasendcloud#2"
    assert len(a.accepted) == 50
