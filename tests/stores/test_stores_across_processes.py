"""A shared store across real processes (tests/stores/store_worker.py, run as scripts):
sqlite:/// (one machine) and redis:// (many). Counters end exact, a breaker one process
opens is open for another, a claim survives its process's SIGKILL and is seen expired
once its lease runs out, and four processes keep to one account's rate together, as
the sandbox server counts what it accepted."""

from __future__ import annotations

import collections
import signal
import time
from pathlib import Path

import msgspec
import pytest
from stores_support import Workers, free_port

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message
from mailspec.mailer import BreakerState, CircuitOpen, Claimed, ClaimStatus, Ledger
from mailspec.mailer.breaker import Gate
from mailspec.sandbox import SandboxServer


class Counter(msgspec.Struct, frozen=True):
    n: int = 0


@pytest.fixture
def workers(tmp_path: Path):
    made = Workers(tmp_path)
    yield made
    made.kill_all()


def test_four_processes_incrementing_through_transact_end_exact(shared_backend, workers) -> None:
    for _ in range(4):
        workers.start("count", shared_backend.url, "counter", "100")
    workers.release()
    assert workers.wait() == ["counted\n"] * 4
    raw = shared_backend.open().get("counter")
    assert raw is not None and msgspec.json.decode(raw, type=Counter).n == 400


def test_a_breaker_opened_by_one_process_is_open_in_another(shared_backend, workers) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"  # nothing listens: connections refused
    workers.start("breaker", shared_backend.url, dead)
    workers.release()
    (out,) = workers.wait()
    opened = msgspec.json.decode(out, type=BreakerState)
    assert opened.opened_at is not None and opened.failures == 2
    assert abs(opened.opened_at - time.time()) < 120  # the wall clock, which we share

    with SandboxServer("aurorasendcloud") as server:
        # this process's Mailer reaches the same provider (now up) through the shared store
        mailer = Mailer(
            [server.provider()],
            store=mailspec.store(shared_backend.url),
            breaker_threshold=2,
            breaker_cooldown=300,
        )
        breaker = mailer.breaker("aurorasendcloud")
        assert breaker is not None and breaker.gate(time.time())[0] is Gate.OPEN
        with pytest.raises(AllProvidersFailed) as caught:
            mailer.send(
                Message(from_email="a@example.com", to="b@example.org", subject="s", html="h")
            )
        (skipped,) = caught.value.attempts
        assert skipped.outcome == "skipped" and isinstance(skipped.error, CircuitOpen)
        assert server.requests == 0  # skipped without a request


def test_a_claim_outlives_its_process_killed_by_sigkill(shared_backend, workers, tmp_path) -> None:
    lease = 1.0
    dying = workers.start("claim", shared_backend.url, "order-1", "dying-worker", str(lease))
    workers.release()
    assert dying.stdout is not None
    assert dying.stdout.readline().strip() == "claimed"
    dying.send_signal(signal.SIGKILL)
    dying.wait(timeout=10)
    assert dying.returncode == -signal.SIGKILL

    if shared_backend.name == "sqlite":
        assert (tmp_path / "state.db").exists()  # the file and its WAL survive the kill
    ledger = Ledger(mailspec.store(shared_backend.url))  # opened afresh, as a new worker
    held = ledger.lookup("order-1")
    assert isinstance(held, Claimed) and held.owner == "dying-worker"
    # within its lease it is held (now is an argument: no waiting for that)
    within = ledger.claim("order-1", "next-worker", 30, held.lease_until - 0.5)
    assert within.status is ClaimStatus.HELD
    deadline = time.monotonic() + 30
    while time.time() < held.lease_until and time.monotonic() < deadline:
        time.sleep(0.05)
    after = ledger.claim("order-1", "next-worker", 30, time.time())
    assert after.status is ClaimStatus.EXPIRED  # its sender died: resolve it, do not resend
    assert after.entry.taken_over_from == "dying-worker"
    assert after.entry.first_at == held.first_at


def test_four_processes_keep_to_one_accounts_rate_together(shared_backend, workers) -> None:
    """AuroraSendCloud documents 3,000 a minute: the bucket refills 50 a second and holds
    at most 50. Four processes sending 60 each through their own Mailers on one shared
    store may together send no more than 50 + 50 in any one second of the sandbox's
    clock; with a bucket each they would send all 240 within about a second."""
    per_worker, count = 60, 4
    with SandboxServer("aurorasendcloud") as server:
        assert server.spec.limits.rate_per_minute == 3000
        for _ in range(count):
            workers.start("send", shared_backend.url, server.url, str(per_worker))
        workers.release()
        assert workers.wait(timeout=180) == [f"sent {per_worker}\n"] * count
        accepted = [row.accepted_at for row in server.accepted]
    assert len(accepted) == per_worker * count
    per_second = collections.Counter(at.replace(microsecond=0) for at in accepted)
    busiest = max(per_second.values())
    slack = 10  # answers that left the bucket in one second and arrived in the next
    assert busiest <= 50 + 50 + slack, sorted(per_second.items())
    # 240 messages at 50 a second after a burst of 50 take at least 3.8 s
    span = (max(accepted) - min(accepted)).total_seconds()
    assert span >= 3, sorted(per_second.items())


def test_a_key_accepted_in_one_process_is_replayed_in_another(shared_backend, tmp_path) -> None:
    """The ledger on the shared store: the second process's send() of the key returns the
    first's result without a request, and the sandbox holds the message once."""
    outputs = []
    with SandboxServer("cloudmails") as server:
        for turn in ("first", "second"):
            (tmp_path / turn).mkdir()
            one = Workers(tmp_path / turn)
            try:
                one.start("send_key", shared_backend.url, server.url, "order-1042-receipt")
                one.release()
                outputs.extend(one.wait(timeout=60))
            finally:
                one.kill_all()
            if turn == "first":
                requests = server.requests
        first, second = outputs
        assert first.startswith("replayed=False ids=clou-"), first
        assert second == first.replace("replayed=False", "replayed=True")
        assert server.requests == requests  # the second made no request
        assert len(server.accepted) == 1
