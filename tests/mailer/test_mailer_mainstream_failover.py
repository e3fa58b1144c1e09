"""Failover across the mainstream providers, each a sandbox driven by its spec, over
real HTTP on 127.0.0.1: the faults are the provider's own answers (its rate-limit
and server codes, in its own envelope), and what each server recorded is counted."""

from __future__ import annotations

from collections.abc import Iterator

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
