"""Mailer.send over real HTTP: order, retries, failover, ambiguity, capabilities, deadline."""

from __future__ import annotations

from typing import Any

import pytest
from mailer_support import (
    AUTH_FAILED,
    DROP,
    GARBAGE,
    OK,
    PROVIDER_INVALID,
    RATE_LIMITED,
    SERVER_ERROR,
    SLOW,
    Answer,
    TopRandom,
    make_message,
    rate_limited,
)

import mailspec
from mailspec import (
    AllProvidersFailed,
    Attachment,
    AuthenticationError,
    Mailer,
    MalformedResponseError,
    RateLimitError,
    SendResult,
    TransportError,
    ValidationError,
)


def outcomes(attempts: Any) -> list[tuple[str, str, str | None]]:
    return [
        (a.provider, a.outcome, type(a.error).__name__ if a.error is not None else None)
        for a in attempts
    ]


# --- strategies -----------------------------------------------------------------------


def test_failover_uses_the_first_provider_while_it_is_healthy(servers, fast) -> None:
    a, b = servers(2)
    mailer = Mailer([a.provider(), b.provider()], **fast)
    results = [mailer.send(make_message(f"m{i}")) for i in range(3)]
    assert [r.provider for r in results] == ["aurorasendcloud"] * 3
    assert results[0].message_ids == ["srv0-1"]
    assert outcomes(results[0].attempts) == [("aurorasendcloud", "accepted", None)]
    assert a.subjects() == ["m0", "m1", "m2"] and b.received == []


def test_round_robin_rotates_the_first_provider(servers, fast) -> None:
    servers_ = servers(3)
    mailer = Mailer([s.provider() for s in servers_], strategy="round_robin", **fast)
    results = [mailer.send(make_message(f"m{i}")) for i in range(6)]
    assert [r.provider for r in results] == [
        "aurorasendcloud",
        "aurorasendcloud#2",
        "aurorasendcloud#3",
    ] * 2
    assert [s.subjects() for s in servers_] == [["m0", "m3"], ["m1", "m4"], ["m2", "m5"]]


def test_round_robin_still_fails_over_to_the_others(servers, fast) -> None:
    a, b = servers(2)
    b.default = AUTH_FAILED
    mailer = Mailer([a.provider(), b.provider()], strategy="round_robin", **fast)
    first, second = mailer.send(make_message("m0")), mailer.send(make_message("m1"))
    assert first.provider == second.provider == "aurorasendcloud"
    assert outcomes(second.attempts) == [
        ("aurorasendcloud#2", "failed", "AuthenticationError"),
        ("aurorasendcloud", "accepted", None),
    ]


def test_weighted_draws_the_first_provider_by_weight(servers, clock) -> None:
    import random

    a, b = servers(2)
    mailer = Mailer(
        [a.provider(), b.provider()],
        strategy="weighted",
        weights=[3, 1],
        clock=clock,
        sleep=clock.sleep,
        random=random.Random(1234),
        rate_limit=False,
    )
    for i in range(120):
        mailer.send(make_message(f"m{i}"))
    assert len(a.accepted) + len(b.accepted) == 120
    assert 75 <= len(a.accepted) <= 105  # 90 expected; seeded, so this is deterministic


def test_weighted_zero_weight_is_fallback_only(servers, fast) -> None:
    a, b = servers(2)
    mailer = Mailer([a.provider(), b.provider()], strategy="weighted", weights=[0, 1], **fast)
    for i in range(5):
        assert mailer.send(make_message(f"m{i}")).provider == "aurorasendcloud#2"
    b.default = AUTH_FAILED
    assert mailer.send(make_message("fallback")).provider == "aurorasendcloud"
    assert a.subjects() == ["fallback"]


# --- retries ----------------------------------------------------------------------------


def test_retryable_error_is_retried_on_the_same_provider_with_backoff(servers, clock) -> None:
    a, b = servers(2)
    a.queue(SERVER_ERROR, SERVER_ERROR)  # then OK
    mailer = Mailer(
        [a.provider(), b.provider()],
        clock=clock,
        sleep=clock.sleep,
        random=TopRandom(),
        backoff=0.5,
    )
    result = mailer.send(make_message())
    assert result.provider == "aurorasendcloud"
    assert outcomes(result.attempts) == [
        ("aurorasendcloud", "failed", "ProviderServerError"),
        ("aurorasendcloud", "failed", "ProviderServerError"),
        ("aurorasendcloud", "accepted", None),
    ]
    assert clock.sleeps == [0.5, 1.0]  # exponential, at the jitter's ceiling
    assert len(a.received) == 3 and b.received == []


def test_jitter_stays_within_the_exponential_ceiling(servers, fast, clock) -> None:
    (a,) = servers(1)
    a.default = SERVER_ERROR
    mailer = Mailer([a.provider()], max_attempts=6, backoff=0.5, backoff_max=2.0, **fast)
    with pytest.raises(AllProvidersFailed):
        mailer.send(make_message())
    assert len(clock.sleeps) == 5
    for n, delay in enumerate(clock.sleeps, start=1):
        assert 0.0 <= delay <= min(2.0, 0.5 * 2 ** (n - 1))
    assert len(set(clock.sleeps)) == 5  # jittered, not a fixed schedule


def test_retry_after_from_a_rate_limit_answer_is_honoured(servers, fast, clock) -> None:
    (a,) = servers(1)
    a.queue(rate_limited("2"))
    result = Mailer([a.provider()], **fast).send(make_message())
    assert clock.sleeps == [2.0]
    error = result.attempts[0].error
    assert isinstance(error, RateLimitError) and error.retry_after == 2.0
    assert result.attempts[-1].outcome == "accepted"


def test_rate_limit_answer_without_retry_after_backs_off(servers, clock) -> None:
    (a,) = servers(1)
    a.queue(RATE_LIMITED)
    Mailer([a.provider()], clock=clock, sleep=clock.sleep, random=TopRandom(), backoff=0.25).send(
        make_message()
    )
    assert clock.sleeps == [0.25]


def test_exhausted_retries_move_on_to_the_next_provider(servers, fast) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR
    result = Mailer([a.provider(), b.provider()], max_attempts=2, **fast).send(make_message())
    assert result.provider == "aurorasendcloud#2"
    assert outcomes(result.attempts) == [
        ("aurorasendcloud", "failed", "ProviderServerError"),
        ("aurorasendcloud", "failed", "ProviderServerError"),
        ("aurorasendcloud#2", "accepted", None),
    ]
    assert len(a.received) == 2 and len(b.accepted) == 1


def test_connection_refused_is_retried_and_not_ambiguous(servers, fast, dead_url, clock) -> None:
    (b,) = servers(1)
    dead = mailspec.provider(
        "aurorasendcloud", api_user="u", api_key="k", base_url=dead_url, timeout=0.4
    )
    result = Mailer([dead, b.provider()], max_attempts=2, **fast).send(make_message())
    assert result.provider == "aurorasendcloud#2"
    errors = [a.error for a in result.attempts[:2]]
    assert all(isinstance(e, TransportError) and not e.ambiguous for e in errors)
    assert len(clock.sleeps) == 1  # one backoff between the two tries


# --- non-retryable ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [(AUTH_FAILED, AuthenticationError), (PROVIDER_INVALID, mailspec.ProviderValidationError)],
)
def test_non_retryable_error_moves_on_at_once(servers, fast, clock, answer, error) -> None:
    a, b = servers(2)
    a.default = answer
    result = Mailer([a.provider(), b.provider()], **fast).send(make_message())
    assert result.provider == "aurorasendcloud#2"
    assert isinstance(result.attempts[0].error, error)
    assert len(a.received) == 1 and clock.sleeps == []


def test_every_provider_failing_raises_with_every_attempt(servers, fast) -> None:
    a, b = servers(2)
    a.default, b.default = AUTH_FAILED, SERVER_ERROR
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider(), b.provider()], max_attempts=2, **fast).send(make_message())
    assert outcomes(caught.value.attempts) == [
        ("aurorasendcloud", "failed", "AuthenticationError"),
        ("aurorasendcloud#2", "failed", "ProviderServerError"),
        ("aurorasendcloud#2", "failed", "ProviderServerError"),
    ]
    assert caught.value.ambiguous is False


def test_invalid_message_raises_before_any_request(servers, fast) -> None:
    a, b = servers(2)
    mailer = Mailer([a.provider(), b.provider()], **fast)
    with pytest.raises(ValidationError) as caught:
        mailer.send(make_message(to=["not-an-address"]))
    assert caught.value.field == "to"
    with pytest.raises(ValidationError):
        mailer.send({"to": "x"})  # type: ignore[arg-type]
    assert a.received == [] and b.received == []


def test_a_provider_rule_skips_that_provider_and_the_next_is_tried(servers, fast, dead_url) -> None:
    """CloudMails takes one reply-to address (AuroraSendCloud takes up to 3): a rule of
    CloudMails, found out before any request (nothing listens at dead_url), so it is
    recorded as a skipped attempt and the next provider sends the message."""
    (a,) = servers(1)
    cloudmails = mailspec.provider("cloudmails", api_key="k", base_url=dead_url)
    message = make_message(reply_to=["r1@example.org", "r2@example.org"])
    result = Mailer([cloudmails, a.provider()], max_attempts=1, **fast).send(message)
    assert result.provider == "aurorasendcloud"
    assert outcomes(result.attempts) == [
        ("cloudmails", "skipped", "ValidationError"),
        ("aurorasendcloud", "accepted", None),
    ]
    refusal = result.attempts[0].error
    assert isinstance(refusal, ValidationError) and refusal.field == "reply_to"
    assert refusal.provider_rule is True and refusal.provider == "cloudmails"
    assert len(a.accepted) == 1


def test_a_provider_rule_after_a_failure_is_recorded_with_every_attempt(
    servers, fast, dead_url
) -> None:
    (a,) = servers(1)
    a.default = SERVER_ERROR
    cloudmails = mailspec.provider("cloudmails", api_key="k", base_url=dead_url)
    message = make_message(reply_to=["r1@example.org", "r2@example.org"])
    mailer = Mailer([a.provider(), cloudmails], max_attempts=1, **fast)
    with pytest.raises(AllProvidersFailed) as caught:
        mailer.send(message)
    assert outcomes(caught.value.attempts) == [
        ("aurorasendcloud", "failed", "ProviderServerError"),
        ("cloudmails", "skipped", "ValidationError"),
    ]
    assert caught.value.ambiguous is False
    assert len(a.received) == 1 and a.accepted == []


def test_a_rule_of_every_provider_says_none_can_carry_it(servers, fast, dead_url) -> None:
    """Each provider's own rule refuses the message: no request, and the error says
    why each one could not take it."""
    cloudmails = mailspec.provider("cloudmails", api_key="k", base_url=dead_url)
    (a,) = servers(1)
    # AuroraSendCloud takes a subject of at most 255 characters, CloudMails requires html
    message = make_message(subject="x" * 256, html=None, text="plain only")
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider(), cloudmails], max_attempts=1, **fast).send(message)
    assert "no provider of this Mailer can carry this message" in str(caught.value)
    assert outcomes(caught.value.attempts) == [
        ("aurorasendcloud", "skipped", "ValidationError"),
        ("cloudmails", "skipped", "ValidationError"),
    ]
    assert [e.field for e in (x.error for x in caught.value.attempts)] == ["subject", "html"]
    assert a.received == []


# --- ambiguous failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [(GARBAGE, MalformedResponseError), (DROP, TransportError), (SLOW, TransportError)],
    ids=["garbage-200", "dropped", "timeout"],
)
def test_an_ambiguous_failure_is_resolved_by_sending_the_key_again(
    servers, fast, answer, error
) -> None:
    """AuroraSendCloud processes a repeated sendRequestId once: the key goes to it again
    (whichever of on_ambiguous), and nothing goes elsewhere."""
    a, b = servers(2)
    a.queue(answer)
    result = Mailer([a.provider(), b.provider()], **fast).send(make_message())
    assert result.provider == "aurorasendcloud"
    assert outcomes(result.attempts) == [
        ("aurorasendcloud", "failed", error.__name__),
        ("aurorasendcloud", "accepted", None),
    ]
    keys = [r["sendRequestId"] for r in a.received]
    assert keys == [result.idempotency_key] * 2  # one key, on every try
    assert len(a.accepted) == 1 and b.received == []


def test_an_ambiguous_failure_left_unresolved_stops_there(servers, fast) -> None:
    """Every try at the provider ambiguous: not sent elsewhere by default."""
    a, b = servers(2)
    a.queue(DROP, DROP, DROP)
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider(), b.provider()], **fast).send(make_message())
    assert caught.value.ambiguous is True
    assert "may have accepted" in str(caught.value)
    assert len(a.received) == 3 and b.received == []
    assert caught.value.idempotency_key == a.received[0]["sendRequestId"]


def test_ambiguous_failure_fails_over_when_asked(servers, fast) -> None:
    a, b = servers(2)
    a.queue(DROP, DROP, DROP)
    result = Mailer([a.provider(), b.provider()], on_ambiguous="failover", **fast).send(
        make_message()
    )
    assert result.provider == "aurorasendcloud#2"
    assert [x.outcome for x in result.attempts] == ["failed", "failed", "failed", "accepted"]
    assert all(x.error is not None and x.error.ambiguous for x in result.attempts[:3])
    assert len(b.accepted) == 1


def test_ambiguous_everywhere_reports_ambiguous(servers, fast) -> None:
    a, b = servers(2)
    a.queue(GARBAGE)
    b.queue(SERVER_ERROR)
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider(), b.provider()], on_ambiguous="failover", max_attempts=1, **fast).send(
            make_message()
        )
    assert caught.value.ambiguous is True  # the first may have sent it
    assert len(a.received) == len(b.received) == 1


# --- capabilities -------------------------------------------------------------------------


def test_provider_without_template_send_is_skipped_for_a_template(servers, fast) -> None:
    a, b = servers(2)
    message = make_message(html=None, subject=None, template="welcome", variables={"n": "1"})
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider(), b.provider()], **fast).send(message)
    assert outcomes(caught.value.attempts) == [
        ("aurorasendcloud", "skipped", "UnsupportedOperation"),
        ("aurorasendcloud#2", "skipped", "UnsupportedOperation"),
    ]
    assert "can carry" in str(caught.value) and "template send" in str(caught.value)
    assert a.received == [] and b.received == []


def test_template_only_provider_is_skipped_for_a_plain_message(servers, fast) -> None:
    (a,) = servers(1)
    aot = mailspec.provider("aotsend", app_key="k", base_url=a.url)  # never contacted
    result = Mailer([aot, a.provider()], **fast).send(make_message())
    assert outcomes(result.attempts) == [
        ("aotsend", "skipped", "UnsupportedOperation"),
        ("aurorasendcloud", "accepted", None),
    ]


def test_recipient_limit_is_a_capability_not_a_message_error(servers, fast) -> None:
    (a,) = servers(1)
    many = [f"r{i}@example.org" for i in range(101)]  # the spec allows 100 per request
    with pytest.raises(AllProvidersFailed) as caught:
        Mailer([a.provider()], **fast).send(make_message(to=many))
    assert outcomes(caught.value.attempts) == [
        ("aurorasendcloud", "skipped", "UnsupportedOperation")
    ]
    assert a.received == []


def test_attachments_and_cc_go_where_supported(servers, fast) -> None:
    (a,) = servers(1)
    message = make_message(
        cc=["cc@example.org"], attachments=[Attachment("a.txt", b"hi", "text/plain")]
    )
    assert Mailer([a.provider()], **fast).send(message).provider == "aurorasendcloud"


# --- the deadline ------------------------------------------------------------------------


def test_deadline_bounds_the_retries(servers, clock) -> None:
    (a,) = servers(1)
    a.default = SERVER_ERROR
    mailer = Mailer(
        [a.provider()],
        max_attempts=10,
        deadline=2.0,
        backoff=0.5,
        clock=clock,
        sleep=clock.sleep,
        random=TopRandom(),
    )
    with pytest.raises(AllProvidersFailed):
        mailer.send(make_message())
    assert clock.sleeps == [0.5, 1.0]  # the next (2.0) would end past the deadline
    assert len(a.received) == 3


def test_retry_after_past_the_deadline_moves_on_without_sleeping(servers, fast, clock) -> None:
    a, b = servers(2)
    a.queue(rate_limited("120"))
    result = Mailer([a.provider(), b.provider()], deadline=30, **fast).send(make_message())
    assert result.provider == "aurorasendcloud#2" and clock.sleeps == []


def test_no_attempt_starts_after_the_deadline(servers, clock) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR

    def slow_sleep(seconds: float) -> None:
        clock.sleep(seconds)
        clock.advance(5.0)  # time passes elsewhere too

    mailer = Mailer(
        [a.provider(), b.provider()],
        deadline=4.0,
        clock=clock,
        sleep=slow_sleep,
        random=TopRandom(),
    )
    with pytest.raises(AllProvidersFailed) as caught:
        mailer.send(make_message())
    assert "deadline" in str(caught.value)
    assert len(a.received) == 1 and b.received == []


# --- send_many ------------------------------------------------------------------------


def test_send_many_returns_one_result_per_message_in_order(servers, fast) -> None:
    (a,) = servers(1)
    results = Mailer([a.provider()], **fast).send_many(
        [make_message(f"m{i}") for i in range(4)], concurrency=1
    )
    assert all(isinstance(r, SendResult) for r in results)
    assert [r.message_ids for r in results] == [[f"srv0-{i}"] for i in range(1, 5)]
    assert a.subjects() == ["m0", "m1", "m2", "m3"]


def test_send_many_failure_takes_its_place_and_the_rest_are_sent(servers, fast) -> None:
    (a,) = servers(1)
    a.queue(OK, OK, AUTH_FAILED)
    outcomes_ = Mailer([a.provider()], **fast).send_many(
        [make_message(f"m{i}") for i in range(4)], concurrency=1
    )
    assert [type(o).__name__ for o in outcomes_] == [
        "SendResult",
        "SendResult",
        "AllProvidersFailed",
        "SendResult",
    ]
    failed = outcomes_[2]
    assert isinstance(failed, AllProvidersFailed)
    assert outcomes(failed.attempts) == [("aurorasendcloud", "failed", "AuthenticationError")]
    assert a.subjects() == ["m0", "m1", "m3"]  # the message after the failure went too


def test_send_many_an_invalid_first_message_is_its_outcome(servers, fast) -> None:
    (a,) = servers(1)
    first, second = Mailer([a.provider()], **fast).send_many(
        [make_message(to=["bad"]), make_message("m1")], concurrency=1
    )
    assert isinstance(first, ValidationError) and first.field == "to"
    assert isinstance(second, SendResult) and a.subjects() == ["m1"]


def test_a_duplicate_request_answer_to_a_resent_key_counts_as_accepted(servers, fast) -> None:
    """A provider that deduplicates may refuse the repeat ("duplicate request", a
    conflict code) instead of answering as it did the first time: it has the message,
    so the send is accepted (ids unknown) and goes nowhere else."""
    a, b = servers(2)
    a.queue(DROP, Answer("envelope", code=40113))  # any conflict-category code
    result = Mailer([a.provider(), b.provider()], **fast).send(make_message())
    assert result.provider == "aurorasendcloud" and result.message_ids == []
    assert outcomes(result.attempts) == [
        ("aurorasendcloud", "failed", "TransportError"),
        ("aurorasendcloud", "failed", "ConflictError"),
        ("aurorasendcloud", "accepted", None),
    ]
    assert b.received == []


def test_a_conflict_answer_to_a_first_send_is_an_ordinary_refusal(servers, fast) -> None:
    a, b = servers(2)
    a.queue(Answer("envelope", code=40113))
    result = Mailer([a.provider(), b.provider()], **fast).send(make_message())
    assert result.provider == "aurorasendcloud#2"
    assert outcomes(result.attempts)[0] == ("aurorasendcloud", "failed", "ConflictError")
