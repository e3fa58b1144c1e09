"""The ledger's promises through two Mailers sharing each store (memory, SQLite, a real
redis-server), as two processes would: a key used for a different message is refused
before any request, and a sender whose key another took over — its lease run out on the
other's clock, which runs ahead — makes no further request. Only the clocks are faked;
what is counted is what the sandbox servers received over HTTP."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from stores_support import FakeClock

from mailspec import (
    AllProvidersFailed,
    Attempt,
    ClaimLost,
    IdempotencyConflict,
    Mailer,
    Message,
    SendInProgress,
)
from mailspec.mailer import Claimed, Ledger, Pause
from mailspec.mailer.breaker import Gate
from mailspec.sandbox import Fault, Sandbox

LEASE = 60.0  # each send's claim; the deadline is half of it
SKEWS = [61.0, 120.0]  # how far the second sender's clock runs ahead: past the lease


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["aurorasendcloud", "cloudmails"]) as running:
        yield running


def receipt(key: str, **fields: Any) -> Message:
    return Message(
        **{
            "from_email": "shop@example.com",
            "to": "ann@example.org",
            "subject": "Your receipt",
            "html": "<p>Thanks</p>",
            **fields,
        },
        idempotency_key=key,
    )


def sender(backend, sandbox, names: list[str], clock: FakeClock, **options: Any) -> Mailer:
    """A Mailer on the backend's store, as one more process would open it."""
    options.setdefault("sleep", clock.sleep)
    return Mailer(
        [sandbox[name].provider() for name in names],
        store=backend.open(),
        clock=clock,
        deadline=LEASE / 2,
        claim_lease=LEASE,
        **options,
    )


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


# --- one key, one message -------------------------------------------------------------------


def test_a_key_used_for_another_message_is_refused_by_every_sender(backend, sandbox) -> None:
    clock = FakeClock()
    one, two = (sender(backend, sandbox, ["cloudmails"], clock) for _ in range(2))
    first = one.send(receipt("order-1042"))
    with pytest.raises(IdempotencyConflict) as caught:
        two.send(receipt("order-1042", to="bob@example.org", html="<p>Other</p>"))
    assert caught.value.idempotency_key == "order-1042" and caught.value.provider is None
    outcomes = two.send_many([receipt("order-1042", subject="Your invoice"), receipt("order-1042")])
    assert isinstance(outcomes[0], IdempotencyConflict)
    assert not isinstance(outcomes[1], Exception)
    assert outcomes[1].replayed and outcomes[1].message_ids == first.message_ids
    assert sandbox["cloudmails"].requests == 1
    assert [row.recipient for row in sandbox["cloudmails"].accepted] == ["ann@example.org"]


# --- fencing: a sender overtaken by its lease -----------------------------------------------


def overtaken(
    backend, sandbox, skew: float, names: list[str], **options: Any
) -> tuple[Mailer, FakeClock, Callable[[Message], None], dict[str, Any]]:
    """A sender ``a`` (and its clock) beside a sender ``b`` whose clock runs ``skew``
    seconds ahead, on one store. ``b_sends(message)`` makes ``b`` send it once, when
    ``a`` next sleeps or records an attempt (``a`` has claimed the key by then), noting
    in ``seen`` what came of it and how many requests the sandbox had received then."""
    a_clock = FakeClock()
    b_clock = FakeClock(a_clock() + skew)
    b = sender(backend, sandbox, names, b_clock)
    seen: dict[str, Any] = {}
    waiting: list[Message] = []

    def interleave() -> None:
        if not waiting:
            return
        try:
            seen["b"] = b.send(waiting.pop())
        except AllProvidersFailed as exc:
            seen["b"] = exc
        seen["requests"] = sum(server.requests for server in sandbox)

    def sleep(seconds: float) -> None:
        a_clock.sleep(seconds)
        interleave()

    def on_attempt(attempt: Attempt) -> None:
        interleave()

    a = sender(backend, sandbox, names, a_clock, sleep=sleep, on_attempt=on_attempt, **options)
    return a, a_clock, waiting.append, seen


@pytest.mark.parametrize("skew", SKEWS)
def test_a_sender_overtaken_by_its_lease_makes_no_request(backend, sandbox, skew) -> None:
    """``a`` claims the key, then waits out CloudMails' rate-limit pause (half a second
    on its clock). Meanwhile ``b``, whose clock runs past ``a``'s lease, takes the key
    over and sends it. ``a`` then finds the key is no longer its own and stops, with no
    request: sent once (before fencing, ``a`` sent it too: twice)."""
    a, a_clock, b_sends, seen = overtaken(backend, sandbox, skew, ["cloudmails"])
    Pause(a.store, "cloudmails").extend(a_clock(), 0.5)
    b_sends(receipt("order-1042"))
    with pytest.raises(ClaimLost) as caught:
        a.send(receipt("order-1042"))
    lost = caught.value
    assert isinstance(lost, SendInProgress) and lost.idempotency_key == "order-1042"
    assert lost.attempts == [] and lost.retry_after == 0.0  # b has recorded its outcome
    assert str(pickle.loads(pickle.dumps(lost))) == str(lost)  # as a result backend keeps it
    assert seen["b"].provider == "cloudmails" and not seen["b"].replayed
    assert sandbox["cloudmails"].requests == seen["requests"] == 1
    assert held(sandbox) == {"aurorasendcloud": 0, "cloudmails": 1}
    again = a.send(receipt("order-1042"))  # asked again: b's outcome
    assert again.replayed and again.message_ids == seen["b"].message_ids


@pytest.mark.parametrize("skew", SKEWS)
def test_an_overtaken_sender_does_not_retry(backend, sandbox, skew) -> None:
    """CloudMails refuses ``a``'s first attempt for certain (a server error); while
    ``a`` waits to retry, ``b`` takes the key over. The fence stops the retry. (On a
    shared store ``b`` finds CloudMails noted, cannot ask it, and stops as ambiguous; on
    memory:// nothing is noted and ``b`` sends it.)"""
    a, _, b_sends, seen = overtaken(backend, sandbox, skew, ["cloudmails"], max_attempts=3)
    sandbox["cloudmails"].faults.queue(Fault.SERVER_ERROR)
    b_sends(receipt("order-7"))
    with pytest.raises(ClaimLost) as caught:
        a.send(receipt("order-7"))
    assert [x.outcome for x in caught.value.attempts] == ["failed"]  # before it stopped
    assert sandbox["cloudmails"].requests == seen["requests"]  # none from a after b
    assert held(sandbox)["cloudmails"] <= 1


@pytest.mark.parametrize("skew", SKEWS)
def test_an_overtaken_sender_does_not_fail_over(backend, sandbox, skew) -> None:
    """AuroraSendCloud refuses ``a``'s attempt for certain; as it is recorded, ``b``
    takes the key over and sends it (to AuroraSendCloud: noted by ``a``, deduplicating
    the key, it is resolved there). The fence stops ``a`` before CloudMails: one copy,
    where before fencing CloudMails got a second."""
    names = ["aurorasendcloud", "cloudmails"]
    a, _, b_sends, seen = overtaken(backend, sandbox, skew, names, max_attempts=1)
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR)
    b_sends(receipt("order-9"))
    with pytest.raises(ClaimLost):
        a.send(receipt("order-9"))
    assert seen["b"].provider == "aurorasendcloud"
    assert held(sandbox) == {"aurorasendcloud": 1, "cloudmails": 0}
    assert sandbox["cloudmails"].requests == 0


def test_a_sender_whose_key_is_held_again_is_told_how_long(backend, sandbox) -> None:
    """Taken over by a sender still at it: ClaimLost says when its lease ends."""
    a_clock = FakeClock()
    b = Ledger(backend.open())

    def take_over(seconds: float) -> None:
        a_clock.sleep(seconds)
        entry = b.lookup("order-3")
        if isinstance(entry, Claimed) and entry.owner != "b":
            b.claim("order-3", "b", LEASE, entry.lease_until + 1)  # b's clock, ahead

    a = sender(backend, sandbox, ["cloudmails"], a_clock, sleep=take_over)
    Pause(a.store, "cloudmails").extend(a_clock(), 0.5)
    with pytest.raises(ClaimLost) as caught:
        a.send(receipt("order-3"))
    # b's lease ends a lease and a second after a's, on a's clock: 0.5 s have passed
    assert caught.value.retry_after == pytest.approx(LEASE + 1 + LEASE - 0.5)
    assert sandbox["cloudmails"].requests == 0


def test_an_overtaken_sender_gives_back_its_breaker_probe(backend, sandbox) -> None:
    """Stopped before its request, the send's half-open probe tested nothing: the next
    send may probe at once, rather than find the breaker open for a cooldown."""
    a_clock = FakeClock()
    b = Ledger(backend.open())

    def take_over(seconds: float) -> None:
        a_clock.sleep(seconds)
        entry = b.lookup("order-5")
        if isinstance(entry, Claimed) and entry.owner != "b":
            b.claim("order-5", "b", LEASE, entry.lease_until + 1)

    a = sender(backend, sandbox, ["cloudmails"], a_clock, sleep=take_over, breaker_threshold=1)
    breaker = a.breaker("cloudmails")
    breaker.failure(a_clock())  # opened: a probe may go after the cooldown
    a_clock.advance(breaker.cooldown)
    Pause(a.store, "cloudmails").extend(a_clock(), 0.5)
    with pytest.raises(ClaimLost):
        a.send(receipt("order-5"))
    assert breaker.gate(a_clock())[0] is Gate.PROBE  # not OPEN: no probe in flight
    assert sandbox["cloudmails"].requests == 0
