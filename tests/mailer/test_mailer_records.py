"""Whatever stops a send after its first request went out, what did go out is recorded:
a PartialDeliveryError (copies of one message) or a SendManyFailed (messages of a
batch), with the original exception as ``cause`` and ``__cause__`` — mailspec's own
errors and any other exception alike. Real sandbox servers count what they accepted.

A lone surrogate (``"\\ud800"``) is the natural probe: a Python ``str`` holds it, but it
has no UTF-8 encoding, so it fails only when a request is encoded.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mailer_support import FakeClock

import mailspec
from mailspec import AllProvidersFailed, Mailer, Message, PartialDeliveryError
from mailspec.adapters.base import Step
from mailspec.mailer import SendManyFailed
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


def test_send_many_keeps_the_results_sent_before_a_message_that_cannot_be_encoded(sandbox, clock):
    ok = _html("<p>fine</p>")
    with pytest.raises(SendManyFailed) as info:
        _mailer(sandbox, clock, "sendcloud").send_many([ok, ok, _html(f"<p>{UNENCODABLE}</p>")])
    error = info.value
    assert (error.index, len(error.results)) == (2, 2)
    assert [r.provider for r in error.results] == ["sendcloud", "sendcloud"]
    assert isinstance(error.cause, UnicodeEncodeError)
    assert error.__cause__ is error.cause is error.error
    assert "UnicodeEncodeError" in str(error)
    assert len(sandbox["sendcloud"].accepted) == 2  # the two results are what went out


def test_send_many_raises_a_failure_of_the_first_message_as_it_is(sandbox, clock):
    with pytest.raises(UnicodeEncodeError):
        _mailer(sandbox, clock, "sendcloud").send_many([_html(f"<p>{UNENCODABLE}</p>")])
    assert sandbox["sendcloud"].accepted == []


def test_a_copy_that_cannot_be_encoded_after_the_first_went_out_is_a_partial_delivery(sandbox):
    aotsend = sandbox["aotsend"].provider()
    with pytest.raises(PartialDeliveryError) as info:
        aotsend.send(_template(bad_for=TO[1]))
    error = info.value
    assert (error.sent_to, error.pending) == (TO[:1], TO[1:])
    assert isinstance(error.cause, UnicodeEncodeError)
    assert error.__cause__ is error.cause
    assert [a.recipient for a in sandbox["aotsend"].accepted] == TO[:1]


def test_the_mailer_reports_that_partial_delivery_and_sends_nothing_elsewhere(sandbox, clock):
    mailer = _mailer(sandbox, clock, "aotsend", "sendcloud")
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(_template(bad_for=TO[2]))
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
    # whose one request (every recipient's variables in it) cannot be encoded
    mailer = _mailer(sandbox, clock, "aotsend", "sendcloud", on_ambiguous="failover")
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(_template(bad_for=TO[1]))
    assert [(a.provider, a.outcome) for a in info.value.attempts] == [("aotsend", "failed")]
    assert info.value.ambiguous  # the first copy may be delivered: the caller must know
    assert isinstance(info.value.__cause__, UnicodeEncodeError)
    assert sandbox["sendcloud"].accepted == []


def _second_step_fails(provider: mailspec.adapters.base.Provider, exc: BaseException):
    """The same provider (same client, same server) whose second request's encoding
    raises ``exc``: a bug in a user's own provider style."""

    class SecondStepFails(type(provider)):  # type: ignore[misc]
        def _steps(self, message: Message) -> list[Step]:
            steps = super()._steps(message)

            def fail() -> list[str]:
                raise exc

            return [steps[0], Step(steps[1].recipients, fail), *steps[2:]]

    return SecondStepFails(provider.client)


def test_any_exception_after_the_first_request_is_a_partial_delivery(sandbox):
    cause = LookupError("unknown encoding: x-custom")
    provider = _second_step_fails(sandbox["aotsend"].provider(), cause)
    with pytest.raises(PartialDeliveryError) as info:
        provider.send(_template())
    assert info.value.cause is cause and info.value.__cause__ is cause
    assert (info.value.sent_to, info.value.pending) == (TO[:1], TO[1:])
    assert "LookupError" in str(info.value)
    assert len(sandbox["aotsend"].accepted) == 1


def test_an_interrupt_after_the_first_request_goes_on_with_a_note_of_what_was_sent(sandbox):
    provider = _second_step_fails(sandbox["aotsend"].provider(), KeyboardInterrupt())
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
