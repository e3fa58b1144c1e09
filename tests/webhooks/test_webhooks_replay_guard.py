"""ReplayGuard on its own: all-or-nothing claims, expiry, bounds, threads."""

from __future__ import annotations

import logging
import threading

import pytest

from mailspec.webhooks import ReplayGuard


def test_a_token_is_claimed_once_until_it_expires() -> None:
    guard = ReplayGuard()
    assert guard.claim("p", [("t", 100.0)], now=0.0)
    assert not guard.claim("p", [("t", 200.0)], now=99.0)
    assert guard.claim("p", [("t", 300.0)], now=100.0)  # expired at 100: gone
    assert len(guard) == 1


def test_a_claim_is_all_or_nothing() -> None:
    guard = ReplayGuard()
    assert guard.claim("p", [("a", 100.0)], now=0.0)
    assert not guard.claim("p", [("b", 100.0), ("a", 100.0), ("c", 100.0)], now=1.0)
    assert len(guard) == 1
    assert guard.claim("p", [("b", 100.0), ("c", 100.0)], now=1.0)
    assert not guard.claim("p", [("d", 100.0), ("d", 100.0)], now=1.0)  # twice in one claim
    assert len(guard) == 3


def test_release_forgets_tokens() -> None:
    guard = ReplayGuard()
    assert guard.claim("p", [("a", 100.0), ("b", 100.0)], now=0.0)
    guard.release("p", ["a", "never-claimed"])
    assert guard.claim("p", [("a", 100.0)], now=1.0)
    assert not guard.claim("p", [("b", 100.0)], now=1.0)


def test_memory_is_bounded_dropping_the_soonest_to_expire(caplog: pytest.LogCaptureFixture) -> None:
    guard = ReplayGuard(max_entries=3)
    with caplog.at_level(logging.WARNING, logger="mailspec.webhooks"):
        for i, expiry in enumerate([50.0, 10.0, 40.0, 30.0, 20.0]):
            assert guard.claim("p", [(f"t{i}", expiry)], now=0.0)
    assert len(guard) == 3
    # kept: the three latest-expiring (t0 at 50, t2 at 40, t3 at 30)
    assert not guard.claim("p", [("t0", 99.0)], now=1.0)
    assert not guard.claim("p", [("t2", 99.0)], now=1.0)
    assert not guard.claim("p", [("t3", 99.0)], now=1.0)
    assert guard.claim("p", [("t1", 99.0)], now=1.0)
    warnings = [r for r in caplog.records if "replay guard full" in r.getMessage()]
    assert len(warnings) == 1, "warned once, not per drop"


def test_released_rows_do_not_grow_the_heap_without_bound() -> None:
    guard = ReplayGuard(max_entries=10)
    for i in range(1000):
        assert guard.claim("p", [(f"t{i}", 1e9)], now=0.0)
        guard.release("p", [f"t{i}"])
    assert len(guard) == 0
    assert len(guard._heap) <= 2 * guard.max_entries + 17


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ReplayGuard(max_entries=0)


def test_many_threads_racing_for_one_token_let_exactly_one_win() -> None:
    guard = ReplayGuard()
    start = threading.Barrier(16)
    wins: list[bool] = []
    lock = threading.Lock()

    def race() -> None:
        start.wait()
        won = guard.claim("p", [("contested", 100.0)], now=0.0)
        with lock:
            wins.append(won)

    threads = [threading.Thread(target=race) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(wins) == [False] * 15 + [True]


def test_threads_claiming_distinct_tokens_all_win() -> None:
    guard = ReplayGuard()

    def claim_many(worker: int) -> None:
        for i in range(500):
            assert guard.claim("p", [(f"{worker}-{i}", 100.0)], now=0.0)

    threads = [threading.Thread(target=claim_many, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(guard) == 8 * 500


def test_repr_shows_counts_only() -> None:
    guard = ReplayGuard(max_entries=5)
    guard.claim("p", [("secret-looking-token", 10.0)], now=0.0)
    assert repr(guard) == "<ReplayGuard 1/5 tokens>"
