"""Failover across the mainstream providers, each a sandbox driven by its spec, over
real HTTP on 127.0.0.1: the faults are the provider's own answers (its rate-limit
and server codes, in its own envelope), and what each server recorded is counted."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest
from mailer_support import FakeClock

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message
from mailspec.sandbox import Fault, Sandbox

MESSAGE = Message(
    from_email="Shop <orders@shop.example>",
    to=["Ann Lee <ann@example.org>"],
    subject="Your order",
    text="It ships today.",
    html="<p>It ships today.</p>",
    idempotency_key="order-1042",
)


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(request.param) as running:
        yield running


def mailer(sandbox: Sandbox, clock: FakeClock) -> Mailer:
    providers = [server.provider(timeout=2.0) for server in sandbox]
    return Mailer(providers, clock=clock, sleep=clock.sleep, breaker_threshold=None)


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


@pytest.mark.parametrize("sandbox", [["ses", "sendgrid"]], indirect=True)
def test_ses_throttled_fails_over_to_sendgrid(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["ses"].faults.queue(Fault.RATE_LIMIT, times=3)
    result = mailer(sandbox, clock).send(MESSAGE)
    assert result.provider == "sendgrid"
    failed = [a for a in result.attempts if a.provider == "ses"]
    assert [type(a.error) for a in failed] == [mailspec.RateLimitError] * 3
    assert held(sandbox) == {"ses": 0, "sendgrid": 1}
    (row,) = sandbox["sendgrid"].accepted
    assert row.recipient == "ann@example.org"


@pytest.mark.parametrize("sandbox", [["sendgrid", "ses"]], indirect=True)
def test_sendgrid_down_fails_over_to_ses(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["sendgrid"].faults.randomly({Fault.SERVER_ERROR: 1.0})
    result = mailer(sandbox, clock).send(MESSAGE)
    assert result.provider == "ses"
    assert all(isinstance(a.error, mailspec.ProviderServerError) for a in result.attempts[:-1])
    assert held(sandbox) == {"sendgrid": 0, "ses": 1}


@pytest.mark.parametrize("sandbox", [["ses", "sendgrid"]], indirect=True)
def test_every_mainstream_provider_failing_fails_the_send_with_each_reason(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    for server in sandbox:
        server.faults.randomly({Fault.SERVER_ERROR: 1.0})
    with pytest.raises(AllProvidersFailed) as failed:
        mailer(sandbox, clock).send(MESSAGE)
    assert {a.provider for a in failed.value.attempts} == {"ses", "sendgrid"}
    assert held(sandbox) == {"ses": 0, "sendgrid": 0}


@pytest.mark.parametrize("sandbox", [["postmark", "mailgun"]], indirect=True)
def test_postmark_down_fails_over_to_mailgun(sandbox: Sandbox, clock: FakeClock) -> None:
    sandbox["postmark"].faults.randomly({Fault.SERVER_ERROR: 1.0})
    result = mailer(sandbox, clock).send(MESSAGE)
    assert result.provider == "mailgun"
    assert [a.provider for a in result.attempts].count("postmark") == 3  # retried, then moved
    assert held(sandbox) == {"postmark": 0, "mailgun": 1}
    (row,) = sandbox["mailgun"].accepted
    assert row.params["subject"] == "Your order"


@pytest.mark.parametrize(
    "sandbox",
    [["postmark", "resend", "aurorasendcloud", "sparkpost", "mailjet", "brevo"]],
    indirect=True,
)
def test_a_pool_of_mainstream_and_first_providers_moves_down_the_list(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    # each provider down in turn: every message goes to the first one still up
    names = [server.name for server in sandbox]
    pool = mailer(sandbox, clock)
    for i, name in enumerate(names):
        result = pool.send(msgspec.structs.replace(MESSAGE, idempotency_key=f"order-{i}"))
        assert result.provider == name
        sandbox[name].faults.randomly({Fault.SERVER_ERROR: 1.0})
    assert held(sandbox) == dict.fromkeys(names, 1)


@pytest.mark.parametrize("sandbox", [["postmark", "mailgun"]], indirect=True)
def test_a_message_postmark_cannot_carry_goes_to_mailgun_without_a_request(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    two_tags = msgspec.structs.replace(MESSAGE, tags=["order", "shipping"])  # Postmark: one Tag
    result = mailer(sandbox, clock).send(two_tags)
    assert result.provider == "mailgun"
    (skipped, _) = result.attempts
    assert (skipped.provider, skipped.outcome) == ("postmark", "skipped")
    assert sandbox["postmark"].requests == 0
    assert sandbox["mailgun"].accepted[0].params["tags"] == ["order", "shipping"]
