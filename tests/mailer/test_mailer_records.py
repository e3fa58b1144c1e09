"""Whatever stops a send after its first request went out, what did go out is recorded:
a PartialDeliveryError (copies of one message), with the original exception as
``cause`` and ``__cause__`` — mailspec's own errors and any other exception alike. Real sandbox servers count what they accepted.

Text that cannot be encoded (a lone surrogate) is refused before any request of its
message; a failure inside a later request is a provider style's step that raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mailer_support import FakeClock

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message, PartialDeliveryError, ValidationError
from mailspec.adapters.base import Step
from mailspec.sandbox import Fault, Sandbox

UNENCODABLE = "\ud800"
TO = ["ann@example.org", "bob@example.org", "cy@example.org"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["sendcloud", "aotsend"]) as running:
        yield running


def _mailer(sandbox: Sandbox, clock: FakeClock, *names: str, **options: object) -> Mailer:
    providers = [sandbox[n].provider(timeout=2) for n in names]
    return Mailer(providers, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


def _html(html: str) -> Message:
    return Message(from_email="shop@example.com", to=TO[:1], subject="Hi", html=html)


def _template(bad_for: str | None = None) -> Message:
    """A template message to every address of TO; ``bad_for``'s variable cannot be encoded."""
    per = {bad_for: {"a": UNENCODABLE}} if bad_for else {}
    return Message(
        from_email="shop@example.com",
        to=TO,
        template="T-1",
        variables={"a": "b"},
        recipient_variables=per,
    )


def test_send_many_a_message_that_cannot_be_encoded_fails_alone(sandbox, clock):
    ok = _html("<p>fine</p>")
    outcomes = _mailer(sandbox, clock, "sendcloud").send_many(
        [ok, ok, _html(f"<p>{UNENCODABLE}</p>"), ok], concurrency=1
    )
    assert [type(o).__name__ for o in outcomes[:2] + outcomes[3:]] == ["SendResult"] * 3
    failed = outcomes[2]
    assert isinstance(failed, ValidationError) and failed.field == "html"
    assert len(sandbox["sendcloud"].accepted) == 3  # the three results are what went out


def test_a_copy_that_cannot_be_encoded_is_refused_before_any_copy_goes_out(sandbox):
    aotsend = sandbox["aotsend"].provider()
    with pytest.raises(ValidationError) as info:
        aotsend.send(_template(bad_for=TO[1]))
    assert info.value.field is not None and "recipient_variables" in info.value.field
    assert sandbox["aotsend"].accepted == []


def test_the_mailer_reports_a_partial_delivery_and_sends_nothing_elsewhere(sandbox, clock):
    aotsend = _step_fails(sandbox["aotsend"].provider(timeout=2), 2, LookupError("x-custom"))
    mailer = Mailer([aotsend, sandbox["sendcloud"].provider(timeout=2)], clock=clock,
                    sleep=clock.sleep)  # fmt: skip
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(_template())
    (attempt,) = info.value.attempts
    assert isinstance(attempt.error, PartialDeliveryError)
    assert attempt.error.sent_to == TO[:2]
    assert info.value.ambiguous
    assert sandbox["sendcloud"].accepted == []
    # the provider accepted every request it was sent: its breaker counts no failure
    breaker = mailer.breaker("aotsend")
    assert breaker is not None and breaker.state().failures == 0


def test_an_exception_after_a_failover_keeps_the_attempts(sandbox, clock):
    # aotsend sends the first copy, then fails; at-least-once moves on to sendcloud,
    # whose one request raises before it is sent
    aotsend = _step_fails(sandbox["aotsend"].provider(timeout=2), 1, LookupError("x-custom"))
    cause = LookupError("x-other")
    sendcloud = _step_fails(sandbox["sendcloud"].provider(timeout=2), 0, cause)
    mailer = Mailer([aotsend, sendcloud], clock=clock, sleep=clock.sleep,
                    on_ambiguous="failover")  # fmt: skip
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(_template())
    assert [(a.provider, a.outcome) for a in info.value.attempts] == [("aotsend", "failed")]
    assert info.value.ambiguous  # the first copy may be delivered: the caller must know
    assert info.value.__cause__ is cause
    assert sandbox["sendcloud"].accepted == []


def _step_fails(provider: mailspec.adapters.base.Provider, index: int, exc: BaseException):
    """The same provider (same client, same server) whose request number ``index``
    raises ``exc`` instead of going out: a bug in a user's own provider style."""

    class StepFails(type(provider)):  # type: ignore[misc]
        made = 0  # the steps made so far, for every message

        def _step(self, recipients: list[str], call: Any) -> Step:
            number, StepFails.made = StepFails.made, StepFails.made + 1
            if number != index:
                return super()._step(recipients, call)

            def fail() -> list[str]:
                raise exc

            return Step(recipients, fail)

    return StepFails(provider.client)


def test_any_exception_after_the_first_request_is_a_partial_delivery(sandbox):
    cause = LookupError("unknown encoding: x-custom")
    provider = _step_fails(sandbox["aotsend"].provider(), 1, cause)
    with pytest.raises(PartialDeliveryError) as info:
        provider.send(_template())
    assert info.value.cause is cause and info.value.__cause__ is cause
    assert (info.value.sent_to, info.value.pending) == (TO[:1], TO[1:])
    assert "LookupError" in str(info.value)
    assert len(sandbox["aotsend"].accepted) == 1


def test_an_interrupt_after_the_first_request_goes_on_with_a_note_of_what_was_sent(sandbox):
    provider = _step_fails(sandbox["aotsend"].provider(), 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt) as info:
        provider.send(_template())
    (note,) = info.value.__notes__
    assert "sent to 1 of 3 recipients" in note


def test_a_partial_batch_step_adds_the_recipients_it_reached(sandbox):
    # Provider.send_many: one step per message, each of them steps per recipient
    sandbox["aotsend"].faults.queue(None, times=5)
    sandbox["aotsend"].faults.queue(Fault.SERVER_ERROR)
    aotsend = sandbox["aotsend"].provider()
    one = Message(from_email="shop@example.com", to=["z@example.org"], template="T-1")
    with pytest.raises(PartialDeliveryError) as info:
        aotsend.send_many([one, _template(), _template()])
    error = info.value
    assert error.sent_to == ["z@example.org", *TO, TO[0]]
    assert error.pending == TO[1:]
    assert isinstance(error.cause, mailspec.ProviderError)
    assert len(sandbox["aotsend"].accepted) == 5
