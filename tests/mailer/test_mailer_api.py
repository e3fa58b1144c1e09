"""Mailer.status, hooks (logging, on_attempt), configuration, provider keys."""

from __future__ import annotations

import logging

import pytest
from mailer_support import AUTH_FAILED, SERVER_ERROR, make_message

import mailspec
from mailspec import (
    Attempt,
    DeliveryState,
    Mailer,
    SendResult,
    UnsupportedOperation,
    ValidationError,
)


def test_status_asks_the_provider_that_accepted(servers, fast) -> None:
    a, b = servers(2)
    a.default = AUTH_FAILED
    mailer = Mailer([a.provider(), b.provider()], **fast)
    result = mailer.send(make_message())
    assert result.provider == "aurorasendcloud#2"
    statuses = mailer.status(result)
    assert a.status_requests == []
    assert len(b.status_requests) == 1
    assert b.status_requests[0]["path"] == "/api/data/emailStatus"
    assert b.status_requests[0]["emailIds"] == result.message_ids[0]
    assert [(s.message_id, s.state, s.recipient) for s in statuses] == [
        (result.message_ids[0], DeliveryState.DELIVERED, "a@b.co")
    ]


def test_status_of_an_unknown_provider_is_a_validation_error(servers, fast) -> None:
    (a,) = servers(1)
    mailer = Mailer([a.provider()], **fast)
    with pytest.raises(ValidationError) as caught:
        mailer.status(SendResult(provider="cloudmails", message_ids=["x"]))
    assert caught.value.field == "provider" and "cloudmails" in str(caught.value)


def test_status_where_the_provider_has_none(servers, fast) -> None:
    (a,) = servers(1)
    aot = mailspec.provider("aotsend", app_key="k", base_url=a.url)
    mailer = Mailer([a.provider(), aot], **fast)
    with pytest.raises(UnsupportedOperation) as caught:
        mailer.status(SendResult(provider="aotsend", message_ids=["x"]))
    assert caught.value.operation == "status"
    assert a.status_requests == []


def test_status_without_ids_asks_nothing(servers, fast) -> None:
    (a,) = servers(1)
    assert Mailer([a.provider()], **fast).status(SendResult("aurorasendcloud", [])) == []
    assert a.status_requests == []


def test_every_attempt_is_logged_without_credentials(servers, fast, caplog) -> None:
    a, b = servers(2)
    a.queue(SERVER_ERROR)
    b.default = AUTH_FAILED
    mailer = Mailer([a.provider(), b.provider()], max_attempts=1, **fast)
    with caplog.at_level(logging.DEBUG, logger="mailspec.mailer"):
        with pytest.raises(mailspec.AllProvidersFailed):
            mailer.send(make_message())
        mailer.send(make_message())
    records = [r for r in caplog.records if r.name == "mailspec.mailer"]
    seen = [(r.provider, r.outcome, r.error_class, r.levelname) for r in records]  # type: ignore[attr-defined]
    assert seen == [
        ("aurorasendcloud", "failed", "ProviderServerError", "WARNING"),
        ("aurorasendcloud#2", "failed", "AuthenticationError", "WARNING"),
        ("aurorasendcloud", "accepted", None, "DEBUG"),
    ]
    assert all(isinstance(r.duration, float) for r in records)  # type: ignore[attr-defined]
    assert "sekrit-key-9f2" not in caplog.text


def test_breaker_opening_is_logged(servers, fast, caplog) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR
    mailer = Mailer([a.provider(), b.provider()], max_attempts=1, breaker_threshold=1, **fast)
    with caplog.at_level(logging.WARNING, logger="mailspec.mailer"):
        mailer.send(make_message())
    assert any("circuit opened" in r.getMessage() for r in caplog.records)


def test_on_attempt_sees_each_attempt_and_cannot_break_a_send(servers, fast) -> None:
    a, b = servers(2)
    a.default = AUTH_FAILED
    seen: list[Attempt] = []

    def hook(attempt: Attempt) -> None:
        seen.append(attempt)
        raise RuntimeError("metrics backend down")

    result = Mailer([a.provider(), b.provider()], on_attempt=hook, **fast).send(make_message())
    assert seen == result.attempts
    assert [x.outcome for x in seen] == ["failed", "accepted"]


def test_durations_come_from_the_clock(servers, clock) -> None:
    (a,) = servers(1)

    def ticking() -> float:
        clock.advance(0.25)
        return clock()

    result = Mailer([a.provider()], clock=ticking, sleep=clock.sleep).send(make_message())
    assert result.attempts[0].duration == pytest.approx(0.25)


def test_same_name_providers_get_distinct_keys(servers, fast) -> None:
    servers_ = servers(3)
    mailer = Mailer([s.provider() for s in servers_], **fast)
    assert mailer.providers == ["aurorasendcloud", "aurorasendcloud#2", "aurorasendcloud#3"]
    assert mailer.provider("aurorasendcloud#3") is not mailer.provider("aurorasendcloud")
    assert "round_robin" not in repr(mailer) and "aurorasendcloud#2" in repr(mailer)
    with pytest.raises(ValidationError):
        mailer.provider("nope")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"strategy": "random"}, "strategy"),
        ({"weights": [1, 1]}, "weights"),
        ({"strategy": "weighted", "weights": [1]}, "weights"),
        ({"strategy": "weighted", "weights": [0, 0]}, "weights"),
        ({"strategy": "weighted", "weights": [-1, 2]}, "weights"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"deadline": 0}, "deadline"),
        ({"backoff": 10, "backoff_max": 1}, "backoff"),
        ({"on_ambiguous": "retry"}, "on_ambiguous"),
        ({"breaker_threshold": 0}, "breaker_threshold"),
        ({"rate_limit_wait": -1}, "rate_limit_wait"),
    ],
)
def test_bad_configuration_is_refused(servers, options, field) -> None:
    a, b = servers(2)
    with pytest.raises(ValidationError) as caught:
        Mailer([a.provider(), b.provider()], **options)
    assert caught.value.field == field


def test_a_mailer_needs_providers() -> None:
    with pytest.raises(ValidationError):
        Mailer([])


def test_mailer_is_exported_at_the_top() -> None:
    # that `import mailspec` (Mailer included) stays light: tests/test_packaging.py
    assert mailspec.Mailer.__module__ == "mailspec.mailer.core"
    assert "Mailer" in mailspec.__all__
