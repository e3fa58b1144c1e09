"""Spans and metrics of real sends to the sandbox over HTTP, read with the
OpenTelemetry SDK's in-memory exporters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from otel_support import Sdk

from mailspec import AllProvidersFailed, Mailer, Message, ValidationError
from mailspec.sandbox import Fault, Sandbox

NAMES = ["aurorasendcloud", "sendcloud"]
TO = "ada@example.org"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(NAMES) as running:
        yield running


def mailer(sandbox: Sandbox, **options: Any) -> Mailer:
    providers = [sandbox[n].provider(timeout=2.0) for n in NAMES]
    return Mailer(providers, backoff=0.001, backoff_max=0.002, **options)


def message() -> Message:
    return Message(from_email="noreply@example.com", to=[TO], subject="Secret plans", text="x")


def tree(spans: tuple[ReadableSpan, ...]) -> str:
    """The spans as an indented tree with their attributes, for reading and reports."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
            attrs = " ".join(f"{k}={v}" for k, v in sorted((span.attributes or {}).items()))
            status = span.status.status_code.name
            lines.append(f"{'  ' * depth}{span.name} [{status}, {ms:.1f} ms] {attrs}")
            walk(span.context.span_id if span.context else None, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def points(sdk: Sdk, name: str) -> dict[tuple[tuple[str, Any], ...], Any]:
    """The data points of metric ``name`` keyed by their sorted attributes."""
    data = sdk.metrics.get_metrics_data()
    found: dict[tuple[tuple[str, Any], ...], Any] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[tuple(sorted((point.attributes or {}).items()))] = point
    return found


def test_a_failed_over_send_is_one_span_with_a_child_per_attempt(
    sandbox: Sandbox, sdk: Sdk
) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=3)
    result = mailer(sandbox).send(message())
    assert result.provider == "sendcloud"

    spans = sdk.spans.get_finished_spans()
    print(tree(spans))
    (send,) = [s for s in spans if s.name == "mailspec.send"]
    attempts = sorted(
        (s for s in spans if s.name == "mailspec.attempt"), key=lambda s: s.start_time or 0
    )
    assert send.attributes == {
        "mailspec.outcome": "accepted",
        "mailspec.provider": "sendcloud",
        "mailspec.attempts": 4,
        "mailspec.failover": True,
    }
    assert all(a.parent is not None and a.parent.span_id == send.context.span_id for a in attempts)
    assert [
        (
            a.attributes["mailspec.provider"],
            a.attributes["mailspec.outcome"],
            a.attributes["mailspec.retry"],
            a.attributes["mailspec.failover"],
            a.status.status_code,
        )
        for a in attempts
        if a.attributes is not None
    ] == [
        ("aurorasendcloud", "failed", 0, False, StatusCode.ERROR),
        ("aurorasendcloud", "failed", 1, False, StatusCode.ERROR),
        ("aurorasendcloud", "failed", 2, False, StatusCode.ERROR),
        ("sendcloud", "accepted", 0, True, StatusCode.UNSET),
    ]
    first = attempts[0].attributes or {}
    assert first["error.type"] == "ProviderServerError" and "mailspec.error.code" in first
    # each attempt's span lasts as long as the attempt did, inside the send's span
    for span, attempt in zip(attempts, result.attempts, strict=True):
        lasted = ((span.end_time or 0) - (span.start_time or 0)) / 1e9
        assert lasted == pytest.approx(attempt.duration, abs=1e-6)
    assert all(
        (send.start_time or 0) <= (a.start_time or 0) <= (a.end_time or 0) <= (send.end_time or 0)
        for a in attempts
    )


def test_no_address_subject_or_credential_in_any_attribute(sandbox: Sandbox, sdk: Sdk) -> None:
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=3)
    sandbox["sendcloud"].faults.queue(Fault.SERVER_ERROR, times=3)
    with pytest.raises(AllProvidersFailed):
        mailer(sandbox).send(message())
    mailer(sandbox).send(message())
    secrets = [v for n in NAMES for v in sandbox[n].credentials.values()]
    forbidden = [TO, "noreply@example.com", "Secret plans", *secrets]
    values = [
        str(v) for span in sdk.spans.get_finished_spans() for v in (span.attributes or {}).values()
    ]
    values += [span.status.description or "" for span in sdk.spans.get_finished_spans()]
    assert len(values) > 20
    assert not [v for v in values if any(f in v for f in forbidden)]


def test_a_failed_send_marks_its_span_failed(sandbox: Sandbox, sdk: Sdk) -> None:
    for name in NAMES:
        sandbox[name].faults.queue(Fault.SERVER_ERROR, times=3)
    with pytest.raises(AllProvidersFailed):
        mailer(sandbox).send(message())
    (send,) = [s for s in sdk.spans.get_finished_spans() if s.name == "mailspec.send"]
    assert send.status.status_code is StatusCode.ERROR
    assert send.attributes == {"mailspec.outcome": "failed", "error.type": "AllProvidersFailed"}


def test_metrics_count_attempts_failovers_and_latency(sandbox: Sandbox, sdk: Sdk) -> None:
    def count(name: str, **attrs: str) -> int:
        want = tuple(sorted({f"mailspec.{k}": v for k, v in attrs.items()}.items()))
        point = next((p for key, p in points(sdk, name).items() if set(want) <= set(key)), None)
        return int(point.value) if point is not None and hasattr(point, "value") else 0

    before_failed = count("mailspec.attempts", provider="aurorasendcloud", outcome="failed")
    before_failovers = count("mailspec.failovers", provider="sendcloud")
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=3)
    mailer(sandbox).send(message())
    assert count("mailspec.attempts", provider="aurorasendcloud", outcome="failed") == (
        before_failed + 3
    )
    assert count("mailspec.failovers", provider="sendcloud") == before_failovers + 1
    latency = points(sdk, "mailspec.attempt.duration")
    accepted = [p for k, p in latency.items() if ("mailspec.outcome", "accepted") in k]
    assert accepted and all(p.count >= 1 and p.sum > 0 for p in accepted)
    sends = points(sdk, "mailspec.send.duration")
    assert any(("mailspec.outcome", "accepted") in k for k in sends)


def test_the_breaker_gauge_shows_an_open_breaker(sandbox: Sandbox, sdk: Sdk) -> None:
    m = mailer(sandbox, breaker_threshold=2, max_attempts=2)
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=2)
    m.send(message())
    gauge = points(sdk, "mailspec.breaker.open")
    assert gauge[(("mailspec.provider", "aurorasendcloud"),)].value == 1
    assert gauge[(("mailspec.provider", "sendcloud"),)].value == 0


def test_telemetry_false_reports_nothing(sandbox: Sandbox, sdk: Sdk) -> None:
    mailer(sandbox, telemetry=False).send(message())
    assert sdk.spans.get_finished_spans() == ()


def test_a_mailer_whose_settings_were_refused_leaves_the_breaker_gauge_alone(
    sandbox: Sandbox, sdk: Sdk
) -> None:
    """A Mailer refused mid-construction (an unknown strategy, checked once the store is
    set up) and kept alive by its error's traceback is never read by the gauge: before,
    it was, and the SDK dropped every reading of the collection with an
    AttributeError."""
    with pytest.raises(ValidationError) as refused:
        mailer(sandbox, strategy="fastest")
    m = mailer(sandbox, breaker_threshold=2, max_attempts=2)
    sandbox["aurorasendcloud"].faults.queue(Fault.SERVER_ERROR, times=2)
    m.send(message())
    gauge = points(sdk, "mailspec.breaker.open")
    assert gauge[(("mailspec.provider", "aurorasendcloud"),)].value == 1
    assert refused.value is not None  # the traceback, and the half-built Mailer, live on
