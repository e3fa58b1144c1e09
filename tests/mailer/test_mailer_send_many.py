"""Mailer.send_many over real HTTP to sandbox servers: outcomes in input order, a failure
in its own place, the rate limit kept by many threads, progress, Ctrl-C, and no
connection thrown away by a pool too small for the threads."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mailspec import AllProvidersFailed, Mailer, Message, SendResult, ValidationError
from mailspec.mailer import SendManyFailed
from mailspec.sandbox import Fault, Latency, Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["cloudmails", "aurorasendcloud"], latency=(0.0, 0.02), latency_seed=3) as running:
        yield running


def _message(i: int, **fields: Any) -> Message:
    fields.setdefault("to", f"r{i}@example.org")
    fields.setdefault("html", "<p>hi</p>")
    return Message(from_email="shop@example.com", subject=f"m{i}", **fields)


def _subjects(sandbox: Sandbox, name: str) -> dict[str, str]:
    """message id -> subject of what the sandbox server accepted."""
    return {a.message_id: a.params["subject"] for a in sandbox[name].accepted}


def _kinds(outcomes: list[SendResult | Exception]) -> list[str]:
    return [type(o).__name__ for o in outcomes]


def test_outcomes_come_back_in_input_order(sandbox) -> None:
    mailer = Mailer([sandbox["cloudmails"].provider()])
    outcomes = mailer.send_many([_message(i) for i in range(40)], concurrency=8)
    accepted = _subjects(sandbox, "cloudmails")
    assert len(accepted) == 40
    for i, outcome in enumerate(outcomes):
        assert isinstance(outcome, SendResult)
        assert [accepted[m] for m in outcome.message_ids] == [f"m{i}"]


def test_a_failing_message_takes_its_place_and_stops_nothing(sandbox) -> None:
    cloudmails = sandbox["cloudmails"]
    mailer = Mailer([cloudmails.provider()], max_attempts=1, breaker_threshold=None)
    messages = [_message(i) for i in range(12)]
    messages[3] = _message(3, to="not an address")  # every provider refuses it: no request
    messages[7] = _message(7, html=None, text="text only")  # CloudMails requires html
    outcomes = mailer.send_many(messages, concurrency=4)
    assert isinstance(outcomes[3], ValidationError) and outcomes[3].field == "to"
    assert isinstance(outcomes[7], AllProvidersFailed)
    assert "html" in str(outcomes[7])
    sent = [o for i, o in enumerate(outcomes) if i not in (3, 7)]
    assert all(isinstance(o, SendResult) for o in sent)
    assert sorted(_subjects(sandbox, "cloudmails").values()) == sorted(
        f"m{i}" for i in range(12) if i not in (3, 7)
    )


def test_a_provider_refusing_some_messages_fails_only_those(sandbox) -> None:
    cloudmails = sandbox["cloudmails"]
    cloudmails.faults.queue("server_error", times=3)  # the first three requests
    mailer = Mailer([cloudmails.provider()], max_attempts=1, breaker_threshold=None)
    outcomes = mailer.send_many([_message(i) for i in range(10)], concurrency=5)
    assert _kinds(outcomes).count("AllProvidersFailed") == 3
    assert _kinds(outcomes).count("SendResult") == 7 == len(cloudmails.accepted)


def test_concurrency_one_and_many_come_to_the_same_outcomes(sandbox) -> None:
    def run(concurrency: int) -> list[tuple[str, str | None]]:
        mailer = Mailer([sandbox["cloudmails"].provider(), sandbox["aurorasendcloud"].provider()])
        messages = [_message(i, to="bad" if i % 5 == 0 else f"r{i}@example.org") for i in range(15)]
        messages[4] = _message(
            4, html=None, text="only text"
        )  # CloudMails refuses; Aurora takes it
        return [
            (o.provider, None) if isinstance(o, SendResult) else ("-", type(o).__name__)
            for o in mailer.send_many(messages, concurrency=concurrency)
        ]

    one, many = run(1), run(6)
    assert one == many
    assert one[0] == ("-", "ValidationError") and one[4] == ("aurorasendcloud", None)
    assert one[1] == ("cloudmails", None)


def test_many_threads_keep_to_the_documented_rate(sandbox) -> None:
    """AuroraSendCloud documents 3,000 a minute: a bucket of 50 tokens refilled at 50/s.
    110 messages from 16 threads take over a second, and no second holds more than the
    burst plus one second's refill."""
    aurora = sandbox["aurorasendcloud"]
    aurora.latency = Latency(0)
    mailer = Mailer([aurora.provider()], rate_limit_wait=5.0)
    started = time.monotonic()
    outcomes = mailer.send_many([_message(i) for i in range(110)], concurrency=16)
    took = time.monotonic() - started
    assert _kinds(outcomes) == ["SendResult"] * 110
    assert took >= (110 - 50) / 50 * 0.9
    times = sorted(a.accepted_at.timestamp() for a in aurora.accepted)
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
    assert busiest <= 50 + 50 + 3  # a few for the time between a token and its request


def test_on_progress_counts_up_and_a_failing_callback_is_ignored(sandbox, caplog) -> None:
    seen: list[tuple[int, int, str]] = []

    def progress(done: int, total: int, outcome: SendResult | Exception) -> None:
        seen.append((done, total, type(outcome).__name__))
        if done == 2:
            raise RuntimeError("a progress bar that broke")

    mailer = Mailer([sandbox["cloudmails"].provider()])
    messages = [_message(i, to="bad" if i == 5 else f"r{i}@example.org") for i in range(9)]
    with caplog.at_level(logging.ERROR, logger="mailspec.mailer"):
        outcomes = mailer.send_many(messages, concurrency=3, on_progress=progress)
    assert [d for d, _, _ in seen] == list(range(1, 10)) and {t for _, t, _ in seen} == {9}
    assert sorted(k for _, _, k in seen) == sorted(_kinds(outcomes))
    assert _kinds(outcomes).count("SendResult") == 8
    assert "on_progress callback failed" in caplog.text


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True, "8", None])
def test_concurrency_must_be_a_whole_number_from_one(sandbox, concurrency: Any) -> None:
    mailer = Mailer([sandbox["cloudmails"].provider()])
    with pytest.raises(ValidationError) as caught:
        mailer.send_many([_message(0)], concurrency=concurrency)
    assert caught.value.field == "concurrency"
    assert sandbox["cloudmails"].requests == 0


@pytest.mark.parametrize("concurrency", [1, 4])
def test_ctrl_c_stops_the_batch_and_is_raised(sandbox, concurrency: int) -> None:
    cloudmails = sandbox["cloudmails"]
    cloudmails.latency = Latency(0.05)

    def progress(done: int, total: int, outcome: object) -> None:
        if done == 3:
            raise KeyboardInterrupt

    mailer = Mailer([cloudmails.provider()])
    with pytest.raises(KeyboardInterrupt):
        mailer.send_many(
            [_message(i) for i in range(40)], concurrency=concurrency, on_progress=progress
        )
    time.sleep(0.3)  # the sends under way finish on their threads
    assert 3 <= len(cloudmails.accepted) <= 3 + concurrency


def test_ctrl_c_in_the_calling_thread_stops_the_batch(sandbox) -> None:
    """A real SIGINT, delivered to the main thread while it waits for the senders."""
    cloudmails = sandbox["cloudmails"]
    cloudmails.latency = Latency(0.05)
    mailer = Mailer([cloudmails.provider()])
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            mailer.send_many([_message(i) for i in range(200)], concurrency=4)  # 2.5 s
    finally:
        timer.cancel()
    time.sleep(0.3)  # the sends under way finish on their threads
    assert 4 <= len(cloudmails.accepted) < 60


def test_no_connection_is_discarded_at_concurrency_32(sandbox, caplog) -> None:
    cloudmails = sandbox["cloudmails"]
    cloudmails.latency = Latency(0.05)
    mailer = Mailer([cloudmails.provider()])
    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        outcomes = mailer.send_many([_message(i) for i in range(96)], concurrency=32)
    assert _kinds(outcomes) == ["SendResult"] * 96
    assert "pool is full" not in caplog.text


def test_threads_beyond_an_unsized_pool_discard_connections(sandbox, caplog) -> None:
    """What the sizing prevents: 32 threads through one provider of the default size."""
    cloudmails = sandbox["cloudmails"]
    cloudmails.latency = Latency(0.05)
    provider = cloudmails.provider()
    barrier = threading.Barrier(32)

    def send(i: int) -> SendResult:
        barrier.wait()
        return provider.send(_message(i))

    with (
        caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"),
        ThreadPoolExecutor(32) as pool,
    ):
        list(pool.map(send, range(32)))
    assert "Connection pool is full, discarding connection" in caplog.text


def test_a_sandbox_fault_is_one_messages_outcome(sandbox) -> None:
    cloudmails = sandbox["cloudmails"]
    cloudmails.faults.queue(None, times=2)
    cloudmails.faults.queue(Fault.DROP_AFTER)  # the third request: accepted, no answer
    mailer = Mailer([cloudmails.provider()])
    outcomes = mailer.send_many([_message(i) for i in range(5)], concurrency=1)
    assert (
        _kinds(outcomes) == ["SendResult", "SendResult", "AllProvidersFailed"] + ["SendResult"] * 2
    )
    assert isinstance(outcomes[2], AllProvidersFailed) and outcomes[2].ambiguous


def test_a_key_given_twice_in_a_batch_is_sent_once(sandbox) -> None:
    mailer = Mailer([sandbox["cloudmails"].provider()])
    messages = [_message(0, idempotency_key="k-0"), _message(1), _message(0, idempotency_key="k-0")]
    first, _, again = mailer.send_many(messages, concurrency=1)
    assert isinstance(first, SendResult) and isinstance(again, SendResult)
    assert again.replayed and again.message_ids == first.message_ids
    assert len(sandbox["cloudmails"].accepted) == 2


def test_send_many_failed_is_still_importable_and_deprecated() -> None:
    assert issubclass(SendManyFailed, AllProvidersFailed)
    assert "Deprecated" in (SendManyFailed.__doc__ or "")
