"""Circuit breakers: open after consecutive failures, skip, half-open probe, close."""

from __future__ import annotations

import threading

import pytest
from mailer_support import AUTH_FAILED, GARBAGE, OK, PROVIDER_INVALID, SERVER_ERROR, make_message

from mailspec import (
    AuthenticationError,
    Mailer,
    MalformedResponseError,
    ProviderServerError,
    ProviderValidationError,
    RateLimitError,
    TransportError,
)
from mailspec.mailer import Breaker, BreakerState, CircuitOpen, MemoryStore, counts_as_failure
from mailspec.mailer.breaker import Gate


def breaker_mailer(servers_, fast, **options):
    options.setdefault("max_attempts", 1)
    return Mailer(
        [s.provider() for s in servers_],
        breaker_threshold=2,
        breaker_cooldown=10.0,
        **options,
        **fast,
    )


def test_breaker_opens_skips_half_opens_and_closes(servers, fast, clock) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR
    mailer = breaker_mailer([a, b], fast)
    for _ in range(2):  # two consecutive failures: open
        assert mailer.send(make_message()).provider == "aurorasendcloud#2"
    assert len(a.received) == 2

    skipped = mailer.send(make_message())
    assert skipped.provider == "aurorasendcloud#2"
    first = skipped.attempts[0]
    assert first.outcome == "skipped" and isinstance(first.error, CircuitOpen)
    assert first.error.until == pytest.approx(1000.0 + 10.0)
    assert len(a.received) == 2  # no request while open

    clock.advance(9.9)
    mailer.send(make_message())
    assert len(a.received) == 2  # still open

    clock.advance(0.2)  # the cooldown has passed: one probe goes through
    a.default = OK
    probe = mailer.send(make_message("probe"))
    assert probe.provider == "aurorasendcloud" and a.subjects() == ["probe"]
    breaker = mailer.breaker("aurorasendcloud")
    assert breaker is not None and breaker.state() == BreakerState()  # closed again
    assert mailer.send(make_message("after")).provider == "aurorasendcloud"


def test_failed_probe_reopens_for_another_cooldown(servers, fast, clock) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR
    mailer = breaker_mailer([a, b], fast)
    mailer.send(make_message())
    mailer.send(make_message())
    clock.advance(10.0)
    probe = mailer.send(make_message())  # the probe fails
    assert [x.outcome for x in probe.attempts] == ["failed", "accepted"]
    assert len(a.received) == 3
    clock.advance(5.0)
    again = mailer.send(make_message())
    assert isinstance(again.attempts[0].error, CircuitOpen)  # re-opened at the probe's failure
    assert len(a.received) == 3
    clock.advance(5.0)
    mailer.send(make_message())
    assert len(a.received) == 4  # the next probe


def test_breaker_stops_retries_on_a_provider_mid_send(servers, fast) -> None:
    """Retries on one provider also count, and stop once the breaker opens."""
    a, b = servers(2)
    a.default = SERVER_ERROR
    result = breaker_mailer([a, b], fast, max_attempts=5).send(make_message())
    assert [(x.outcome, type(x.error).__name__) for x in result.attempts] == [
        ("failed", "ProviderServerError"),
        ("failed", "ProviderServerError"),
        ("skipped", "CircuitOpen"),
        ("accepted", "NoneType"),
    ]
    assert len(a.received) == 2


def test_answers_about_the_message_do_not_open_the_breaker(servers, fast) -> None:
    a, b = servers(2)
    a.default = PROVIDER_INVALID
    mailer = breaker_mailer([a, b], fast)
    for _ in range(4):
        mailer.send(make_message())
    assert len(a.received) == 4  # never skipped


def test_success_resets_the_count(servers, fast) -> None:
    a, b = servers(2)
    a.queue(SERVER_ERROR, OK, SERVER_ERROR, OK, SERVER_ERROR)
    mailer = breaker_mailer([a, b], fast)
    for _ in range(5):
        mailer.send(make_message())
    assert len(a.received) == 5  # never two failures in a row


def test_authentication_failures_open_the_breaker(servers, fast) -> None:
    a, b = servers(2)
    a.default = AUTH_FAILED
    mailer = breaker_mailer([a, b], fast)
    for _ in range(4):
        mailer.send(make_message())
    assert len(a.received) == 2


def test_ambiguous_failures_count_too(servers, fast) -> None:
    a, b = servers(2)
    a.default = GARBAGE
    mailer = breaker_mailer([a, b], fast, on_ambiguous="failover")
    for _ in range(4):
        mailer.send(make_message())
    assert len(a.received) == 2


def test_disabled_breaker_never_skips(servers, fast) -> None:
    a, b = servers(2)
    a.default = SERVER_ERROR
    mailer = Mailer([a.provider(), b.provider()], max_attempts=1, breaker_threshold=None, **fast)
    for _ in range(8):
        mailer.send(make_message())
    assert len(a.received) == 8 and mailer.breaker("aurorasendcloud") is None


# --- the breaker alone ---------------------------------------------------------------------


def test_only_one_probe_is_let_through_across_threads() -> None:
    breaker = Breaker(MemoryStore(), "p", threshold=1, cooldown=10.0)
    assert breaker.failure(0.0) is True
    assert breaker.allow(5.0) is Gate.OPEN
    gates: list[Gate] = []
    lock = threading.Lock()

    def ask() -> None:
        gate = breaker.allow(10.0)
        with lock:
            gates.append(gate)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gates.count(Gate.PROBE) == 1 and gates.count(Gate.OPEN) == 15


def test_a_probe_that_never_reports_is_forgotten_after_a_cooldown() -> None:
    breaker = Breaker(MemoryStore(), "p", threshold=1, cooldown=10.0)
    breaker.failure(0.0)
    assert breaker.allow(10.0) is Gate.PROBE
    assert breaker.allow(15.0) is Gate.OPEN
    assert breaker.allow(20.0) is Gate.PROBE


def test_a_released_probe_lets_the_next_caller_probe() -> None:
    breaker = Breaker(MemoryStore(), "p", threshold=1, cooldown=10.0)
    breaker.failure(0.0)
    assert breaker.allow(10.0) is Gate.PROBE
    breaker.release()
    assert breaker.allow(10.0) is Gate.PROBE


def test_what_counts_as_a_failure() -> None:
    assert counts_as_failure(TransportError("p", "refused", ambiguous=False))
    assert counts_as_failure(TransportError("p", "timeout", ambiguous=True))
    assert counts_as_failure(MalformedResponseError("p", "x", http_status=200, ambiguous=True))
    assert counts_as_failure(ProviderServerError("p", 501, "x"))
    assert counts_as_failure(AuthenticationError("p", 40005, "x"))
    assert not counts_as_failure(ProviderValidationError("p", 40806, "x"))
    # slow down is not down: the Mailer pauses the provider instead
    assert not counts_as_failure(RateLimitError("p", 50000, "x"))
