"""The Mailer against the sandbox servers: real HTTP to spec-driven providers, faults
injected by the servers, outcomes counted from what each server recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from mailer_support import FakeClock

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message
from mailspec.sandbox import Fault, Sandbox

NAMES = ["aurorasendcloud", "sendcloud", "cloudmails", "aotsend"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(NAMES, slow_seconds=0.6) as running:
        yield running


def mailer(
    sandbox: Sandbox, clock: FakeClock, names: list[str] | None = None, **options: object
) -> Mailer:
    providers = [sandbox[n].provider(timeout=0.3) for n in names or NAMES]
    return Mailer(providers, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


def message(i: int = 0) -> Message:
    return Message(
        from_email="noreply@example.com", to=[f"user{i}@example.org"], subject="Hi", html="<p>x</p>"
    )


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


def test_failover_in_order(sandbox: Sandbox, clock: FakeClock) -> None:
    result = mailer(sandbox, clock).send(message())
    assert result.provider == "aurorasendcloud"
    assert held(sandbox) == {"aurorasendcloud": 1, "sendcloud": 0, "cloudmails": 0, "aotsend": 0}


def test_round_robin_spreads_the_load(sandbox: Sandbox, clock: FakeClock) -> None:
    names = ["aurorasendcloud", "sendcloud", "cloudmails"]
    m = mailer(sandbox, clock, names, strategy="round_robin")
    assert [m.send(message(i)).provider for i in range(6)] == names * 2
    assert held(sandbox) == {"aurorasendcloud": 2, "sendcloud": 2, "cloudmails": 2, "aotsend": 0}


def test_weighted_follows_the_weights(sandbox: Sandbox, clock: FakeClock) -> None:
    import random

    names = ["aurorasendcloud", "sendcloud"]
    m = mailer(sandbox, clock, names, strategy="weighted", weights=[3, 1], random=random.Random(5))
    for i in range(80):
        m.send(message(i))
    counts = held(sandbox)
    assert counts["aurorasendcloud"] + counts["sendcloud"] == 80
    assert 45 < counts["aurorasendcloud"] < 75  # about three in four (60)


def test_retry_then_success_on_the_same_provider(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=2)
    result = mailer(sandbox, clock).send(message())
    assert result.provider == "aurorasendcloud"
    assert [(a.provider, a.outcome) for a in result.attempts] == [
        ("aurorasendcloud", "failed"),
        ("aurorasendcloud", "failed"),
        ("aurorasendcloud", "accepted"),
    ]
    assert len(clock.sleeps) == 2 and all(0 <= s <= 1.0 for s in clock.sleeps)  # jittered backoff
    assert held(sandbox)["aurorasendcloud"] == 1 and held(sandbox)["sendcloud"] == 0


def test_rate_limit_answer_is_retried_then_fails_over(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.RATE_LIMIT, times=3)
    result = mailer(sandbox, clock).send(message())
    assert result.provider == "sendcloud"
    failed = [a for a in result.attempts if a.outcome == "failed"]
    assert [type(a.error) for a in failed] == [mailspec.RateLimitError] * 3
    assert held(sandbox)["aurorasendcloud"] == 0


def test_authentication_failure_moves_on_at_once(sandbox: Sandbox, clock: FakeClock) -> None:
    wrong = mailspec.provider("aurorasendcloud", base_url=sandbox["aurorasendcloud"].base_url,
                              api_user="nobody", api_key="wrong-key")  # fmt: skip
    m = Mailer([wrong, sandbox["sendcloud"].provider()], clock=clock, sleep=clock.sleep)
    result = m.send(message())
    assert result.provider == "sendcloud" and clock.sleeps == []
    assert isinstance(result.attempts[0].error, mailspec.AuthenticationError)


def test_invalid_message_stops_before_any_provider(sandbox: Sandbox, clock: FakeClock) -> None:
    bad = Message(from_email="noreply@example.com", to=["not-an-address"], subject="Hi", html="x")
    with pytest.raises(mailspec.ValidationError):
        mailer(sandbox, clock).send(bad)
    assert sum(server.requests for server in sandbox) == 0


def test_template_only_provider_is_skipped_for_a_plain_message(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    result = mailer(sandbox, clock, ["aotsend", "cloudmails"]).send(message())
    assert result.provider == "cloudmails"
    assert result.attempts[0].provider == "aotsend" and result.attempts[0].outcome == "skipped"
    assert sandbox["aotsend"].requests == 0


@pytest.mark.parametrize("fault", [Fault.DROP_AFTER, Fault.GARBAGE, Fault.SLOW])
def test_an_ambiguous_failure_is_resolved_where_the_provider_deduplicates(
    sandbox: Sandbox, clock: FakeClock, fault: Fault
) -> None:
    """AuroraSendCloud processes a repeated sendRequestId once (ASSUMED, as SendCloud):
    the same key is sent to it again, and it holds the message once."""
    sandbox["aurorasendcloud"].faults.queue(fault)
    result = mailer(sandbox, clock).send(message())
    assert result.provider == "aurorasendcloud"
    assert [a.outcome for a in result.attempts] == ["failed", "accepted"]
    assert result.attempts[0].error is not None and result.attempts[0].error.ambiguous
    assert sandbox["aurorasendcloud"].requests == 2  # the same key, twice
    assert held(sandbox) == {"aurorasendcloud": 1, "sendcloud": 0, "cloudmails": 0, "aotsend": 0}
    sent = [row.params["send_request_id"] for row in sandbox["aurorasendcloud"].accepted]
    assert sent == [result.idempotency_key]


@pytest.mark.parametrize("fault", [Fault.DROP_AFTER, Fault.GARBAGE, Fault.SLOW])
def test_an_ambiguous_failure_is_not_resent_where_it_cannot_be_resolved(
    sandbox: Sandbox, clock: FakeClock, fault: Fault
) -> None:
    """CloudMails documents no idempotency key: by default nothing is sent again."""
    sandbox["cloudmails"].faults.queue(fault)
    with pytest.raises(AllProvidersFailed) as caught:
        mailer(sandbox, clock, ["cloudmails", "sendcloud"]).send(message())
    assert caught.value.ambiguous
    assert caught.value.idempotency_key is not None
    assert sandbox["sendcloud"].requests == 0  # not sent anywhere else
    assert sandbox["cloudmails"].requests == 1  # nor again to the same provider


def test_ambiguous_failure_is_resent_when_opted_in(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["cloudmails"].faults.queue(Fault.DROP_AFTER)
    result = mailer(sandbox, clock, ["cloudmails", "sendcloud"], on_ambiguous="failover").send(
        message()
    )
    assert result.provider == "sendcloud"
    assert result.attempts[0].error is not None and result.attempts[0].error.ambiguous
    # at-least-once: both hold it, and the duplicate is the one reported ambiguous
    assert held(sandbox)["cloudmails"] == 1 and held(sandbox)["sendcloud"] == 1


def test_breaker_opens_skips_half_opens_and_closes(sandbox: Sandbox, clock: FakeClock) -> None:
    m = mailer(
        sandbox,
        clock,
        ["aurorasendcloud", "sendcloud"],
        breaker_threshold=3,
        breaker_cooldown=60,
        max_attempts=1,
    )
    sandbox["aurorasendcloud"].faults.randomly({Fault.SERVER_ERROR: 1.0})
    for i in range(3):  # three failures, each followed by failover
        assert m.send(message(i)).provider == "sendcloud"
    before = sandbox["aurorasendcloud"].requests
    skipped = m.send(message(3))
    assert (
        skipped.attempts[0].outcome == "skipped" and sandbox["aurorasendcloud"].requests == before
    )
    clock.advance(61)  # cooldown over: one probe goes through, fails, and re-opens it
    m.send(message(4))
    assert sandbox["aurorasendcloud"].requests == before + 1
    m.send(message(5))
    assert sandbox["aurorasendcloud"].requests == before + 1
    sandbox["aurorasendcloud"].faults.clear()  # the provider recovers
    clock.advance(61)
    assert m.send(message(6)).provider == "aurorasendcloud"  # the probe succeeds: closed
    assert m.send(message(7)).provider == "aurorasendcloud"


def test_deadline_is_respected(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["aurorasendcloud"].faults.randomly({Fault.SERVER_ERROR: 1.0})
    sandbox["sendcloud"].faults.randomly({Fault.SERVER_ERROR: 1.0})
    m = mailer(
        sandbox, clock, ["aurorasendcloud", "sendcloud"], deadline=2.0, backoff=1.5, max_attempts=10
    )
    with pytest.raises(AllProvidersFailed):
        m.send(message())
    assert sum(clock.sleeps) <= 2.0  # never slept past the deadline


def test_client_side_rate_limit_from_the_spec(sandbox: Sandbox, clock: FakeClock) -> None:
    m = mailer(sandbox, clock, ["aurorasendcloud"], rate_limit_wait=0.0)
    sent = 0
    with pytest.raises(AllProvidersFailed):
        for i in range(200):  # 3000/min is 50/s: the bucket holds one second's worth
            m.send(message(i))
            sent += 1
    assert sent == 50 and held(sandbox)["aurorasendcloud"] == 50


def test_concurrent_sends_are_each_accepted_exactly_once(sandbox: Sandbox) -> None:
    names = ["aurorasendcloud", "sendcloud", "cloudmails"]
    m = Mailer([sandbox[n].provider() for n in names], strategy="round_robin", rate_limit=False)
    results: list[mailspec.SendResult] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(25):
            result = m.send(message(offset * 100 + i))
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 200
    recipients = [a.recipient for server in sandbox for a in server.accepted]
    assert len(recipients) == 200 and len(set(recipients)) == 200  # no message lost or doubled
    for name in names:
        assert held(sandbox)[name] == sum(r.provider == name for r in results)


def test_status_asks_the_provider_that_accepted(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.RATE_LIMIT, times=3)
    sandbox["sendcloud"].set_outcome("bounced", sub_status=406)
    m = mailer(sandbox, clock, ["aurorasendcloud", "sendcloud"])
    result = m.send(message())
    assert result.provider == "sendcloud"
    (status,) = m.status(result)
    assert (status.provider, status.state, status.reason) == (
        "sendcloud",
        "bounced",
        "no_such_user",
    )


def _template_message(*to: str) -> Message:
    return Message(from_email="shop@example.com", to=list(to), template="T-1", variables={"a": "b"})


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RATE_LIMIT])
def test_a_partial_delivery_is_neither_retried_nor_sent_elsewhere(sandbox, clock, fault):
    # AOTsend takes one request per recipient: the second fails after the first went out
    sandbox["aotsend"].faults.queue(None)
    sandbox["aotsend"].faults.queue(fault)
    to = ["ann@example.org", "bob@example.org", "cy@example.org"]
    with pytest.raises(AllProvidersFailed) as info:
        mailer(sandbox, clock, ["aotsend", "sendcloud"]).send(_template_message(*to))
    (attempt,) = info.value.attempts  # the retryable cause was not retried
    error = attempt.error
    assert isinstance(error, mailspec.PartialDeliveryError)
    assert (error.sent_to, error.pending) == (to[:1], to[1:])
    assert info.value.ambiguous
    assert [a.recipient for a in sandbox["aotsend"].accepted] == to[:1]
    assert sandbox["sendcloud"].accepted == []  # nobody got it twice


def test_at_least_once_sends_a_partial_delivery_elsewhere(sandbox, clock):
    sandbox["aotsend"].faults.queue(None)
    sandbox["aotsend"].faults.queue(Fault.SERVER_ERROR)
    to = ["ann@example.org", "bob@example.org"]
    result = mailer(sandbox, clock, ["aotsend", "sendcloud"], on_ambiguous="failover").send(
        _template_message(*to)
    )
    assert result.provider == "sendcloud"
    assert isinstance(result.attempts[0].error, mailspec.PartialDeliveryError)
