"""One Mailer shared by many threads: every message accepted exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from mailer_support import OK, SERVER_ERROR, make_message

from mailspec import Mailer, SendResult

THREADS, PER_THREAD = 8, 25


def send_all(mailer: Mailer) -> list[SendResult]:
    barrier = threading.Barrier(THREADS)

    def worker(t: int) -> list[SendResult]:
        barrier.wait()  # start together, for real contention
        return [mailer.send(make_message(f"t{t}-m{i}")) for i in range(PER_THREAD)]

    with ThreadPoolExecutor(THREADS) as pool:
        return [r for batch in pool.map(worker, range(THREADS)) for r in batch]


def test_round_robin_from_eight_threads_splits_exactly(servers) -> None:
    a, b = servers(2)
    mailer = Mailer([a.provider(), b.provider()], strategy="round_robin")
    results = send_all(mailer)
    assert len(results) == THREADS * PER_THREAD
    assert len(a.accepted) == len(b.accepted) == THREADS * PER_THREAD // 2
    subjects = a.subjects() + b.subjects()
    assert len(set(subjects)) == len(subjects) == THREADS * PER_THREAD  # no duplicates
    ids = [i for r in results for i in r.message_ids]
    assert len(set(ids)) == len(ids)
    assert Counter(r.provider for r in results) == {
        "aurorasendcloud": 100,
        "aurorasendcloud#2": 100,
    }


def test_failover_from_eight_threads_with_a_flaky_provider(servers) -> None:
    a, b = servers(2)
    a.default = lambda n: SERVER_ERROR if n % 3 == 0 else OK  # every third request fails
    mailer = Mailer(
        [a.provider(), b.provider()],
        max_attempts=1,
        breaker_threshold=None,
        backoff=0.0,
        rate_limit=False,
    )
    results = send_all(mailer)
    total = THREADS * PER_THREAD
    assert len(a.accepted) + len(b.accepted) == total
    assert len(a.received) == total  # every message went to the first provider first
    assert len(b.accepted) == total - len(a.accepted) == len(a.received) // 3
    subjects = a.subjects() + b.subjects()
    assert len(set(subjects)) == total  # each message accepted exactly once
    for r in results:
        assert r.attempts[-1].outcome == "accepted"
        assert r.provider == ("aurorasendcloud" if len(r.attempts) == 1 else "aurorasendcloud#2")
