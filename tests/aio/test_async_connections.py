"""AsyncMailer's connections under load, against sandbox providers that take their time
to answer (their latency setting), over real HTTP on 127.0.0.1: waiting for a free
connection is the send's queue, bounded by its deadline, not by the provider's
timeout; a request whose turn comes too late is not started at all (a clean skip, not
an ambiguous attempt nor a breaker failure); send_many keeps as many connections as it
has sends under way unless ``connections`` caps them. Real clocks throughout: these
are about time."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from mailspec import (
    AllProvidersFailed,
    AsyncMailer,
    Message,
    RequestNotStarted,
    SendResult,
)
from mailspec.mailer.breaker import BreakerState
from mailspec.sandbox import Fault, Latency, Sandbox


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 40))  # a hung test fails, not hangs


def message(i: int) -> Message:
    return Message(
        from_email="noreply@example.com",
        to=[f"user{i}@example.org"],
        subject="Hi",
        html="<p>x</p>",
    )


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    """CloudMails (it cannot be asked about an ambiguous send) answering in 0.3 s."""
    with Sandbox(["cloudmails"], latency=0.3) as running:
        yield running


def test_a_send_waits_for_a_connection_until_its_deadline_not_its_timeout(
    slow: Sandbox,
) -> None:
    """Six sends through one connection to a provider answering in 0.3 s, each request
    allowed 1 s: the last waits 1.5 s for its turn, then gets its whole second. Had
    the wait spent the provider's timeout, the fourth would have started with 0.1 s
    left (ambiguous) and the fifth and sixth never (breaker failures)."""
    server = slow["cloudmails"]
    mailer = AsyncMailer([server.provider(timeout=1.0)], connections=1, deadline=30)

    async def six() -> list[Any]:
        return await asyncio.gather(*(mailer.send(message(i)) for i in range(6)))

    results = run(six())
    assert all(isinstance(r, SendResult) for r in results)
    assert [[a.outcome for a in r.attempts] for r in results] == [["accepted"]] * 6
    assert server.requests == 6 and len(server.accepted) == 6
    breaker = mailer.breaker("cloudmails")
    assert breaker is not None and breaker.state() == BreakerState()


def test_a_turn_that_comes_too_late_is_a_clean_skip(slow: Sandbox) -> None:
    """One connection, answers in 0.6 s, a 2.5 s deadline: a request must start by
    1.5 s (it is not started with less than a second left), so three go out (at 0,
    0.6 and 1.2 s) and three are not started: skipped attempts, not ambiguous, no
    request made, and the breaker (threshold 1) untouched."""
    server = slow["cloudmails"]
    server.latency = Latency(0.6)
    attempts: list[Any] = []
    mailer = AsyncMailer(
        [server.provider(timeout=5.0)],
        connections=1,
        deadline=2.5,
        breaker_threshold=1,
        on_attempt=attempts.append,
    )

    async def six() -> list[Any]:
        return await asyncio.gather(
            *(mailer.send(message(i)) for i in range(6)), return_exceptions=True
        )

    outcomes = run(six())
    sent = [o for o in outcomes if isinstance(o, SendResult)]
    failed = [o for o in outcomes if isinstance(o, AllProvidersFailed)]
    assert len(sent) == 3 and len(failed) == 3
    assert server.requests == 3 and len(server.accepted) == 3
    for failure in failed:
        assert not failure.ambiguous
        (attempt,) = failure.attempts
        assert attempt.outcome == "skipped"
        assert isinstance(attempt.error, RequestNotStarted) and not attempt.error.ambiguous
        assert "no free connection" in str(attempt.error)
    assert sorted(a.outcome for a in attempts) == ["accepted"] * 3 + ["skipped"] * 3
    breaker = mailer.breaker("cloudmails")
    assert breaker is not None and breaker.state() == BreakerState()
    # not started, the key was given back: the message goes out when sent again
    again = run(mailer.send(message(0)))
    assert isinstance(again, SendResult) and server.requests == 4


class Highest(random.Random):
    """Full jitter at its ceiling: a backoff of exactly ``backoff``."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_a_request_is_not_started_with_too_little_time_left() -> None:
    """A provider answering in 0.6 s fails once; the retry after a 1 s backoff would
    start with 0.4 s of a 2 s deadline left, less than the least time a request is
    started with (1 s, or the provider's whole timeout when shorter), so it is not
    made: a clean end, where the request would have been cut off mid-way and, to
    CloudMails (which cannot be asked), left the send ambiguous."""
    with Sandbox(["cloudmails"], latency=0.6) as sandbox:
        server = sandbox["cloudmails"]
        server.faults.queue(Fault.SERVER_ERROR)
        mailer = AsyncMailer(
            [server.provider(timeout=5.0)],
            deadline=2.0,
            backoff=1.0,
            backoff_max=1.0,
            random=Highest(),
            breaker_threshold=None,
        )
        with pytest.raises(AllProvidersFailed) as caught:
            run(mailer.send(message(0)))
    failed, skipped = caught.value.attempts
    assert failed.outcome == "failed" and skipped.outcome == "skipped"
    assert isinstance(skipped.error, RequestNotStarted)
    assert "too little time left" in str(skipped.error)
    assert not caught.value.ambiguous and server.requests == 1


@pytest.mark.parametrize(
    ("connections", "most"),
    [(None, 50), (10, 10)],
    ids=["following-concurrency", "capped-at-10"],
)
def test_send_many_under_latency_sends_everything(connections: int | None, most: int) -> None:
    """The README's ``send_many(concurrency=50)``, 100 messages, a provider answering
    in 0.1-0.4 s and allowing each request 0.8 s. By default the connections follow
    the concurrency (as Mailer.send_many's do); capped at 10, the sends queue for them
    within their deadline. Either way every message is sent once, none ambiguous, no
    breaker opens. Before, 10 connections queued 50 sends past the provider's timeout:
    requests started with milliseconds left (ambiguous) and "no free connection"
    opened the breaker."""
    with Sandbox(["cloudmails"], latency=(0.1, 0.4), latency_seed=3) as sandbox:
        server = sandbox["cloudmails"]
        options: dict[str, Any] = {} if connections is None else {"connections": connections}
        mailer = AsyncMailer([server.provider(timeout=0.8)], rate_limit=False, **options)

        async def batch() -> tuple[list[Any], float, list[Any]]:
            began = time.monotonic()
            outcomes = await mailer.send_many([message(i) for i in range(100)], concurrency=50)
            took = time.monotonic() - began
            pools = list(mailer._http._pools[asyncio.get_running_loop()].values())
            await mailer.aclose()
            return outcomes, took, pools

        outcomes, took, pools = run(batch())
        assert [type(o).__name__ for o in outcomes] == ["SendResult"] * 100
        assert server.requests == 100 and len(server.accepted) == 100
        assert [pool.size for pool in pools] == [most]  # the most connections it may open
    if connections is None:
        assert took < 3.0  # 50 at a time: two or three rounds of 0.1-0.4 s


def test_send_many_keeps_no_more_sends_under_way_than_its_connections_carry(
    slow: Sandbox,
) -> None:
    """Eight messages, concurrency 8, one connection fixed, a provider answering in
    0.3 s, each request allowed 1 s and each send 2 s, so a request starts within the
    send's first second. A send's deadline runs from its start: had all eight started
    at once (each claiming its key and encoding, then waiting for the one connection),
    the fifth and later would have found their turn too late. One under way at a
    time, each has its whole deadline: all are sent, in turn."""
    server = slow["cloudmails"]
    mailer = AsyncMailer([server.provider(timeout=1.0)], connections=1, deadline=2.0)

    async def batch() -> tuple[list[Any], float]:
        began = time.monotonic()
        outcomes = await mailer.send_many([message(i) for i in range(8)], concurrency=8)
        took = time.monotonic() - began
        await mailer.aclose()
        return outcomes, took

    outcomes, took = run(batch())
    assert [type(o).__name__ for o in outcomes] == ["SendResult"] * 8
    assert server.requests == 8
    assert took >= 8 * 0.3  # one request at a time on the one connection
