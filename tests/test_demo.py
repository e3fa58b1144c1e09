"""`mailspec demo` fails over between sandbox providers, and its figures agree with what
the sandbox servers recorded."""

from __future__ import annotations

import json
import subprocess
import sys

from mailspec.demo import ProviderFigures, run_demo
from mailspec.registry import spec
from mailspec.vocabulary import EventType


def queued_events_expected(figures: dict[str, ProviderFigures]) -> int:
    """The messages held by providers whose documents name a queued event."""
    return sum(
        f.recorded
        for name, f in figures.items()
        if any(e.type == EventType.QUEUED for e in spec(name).webhooks.events.values())
    )


def test_demo_fails_over_and_agrees_with_the_sandboxes() -> None:
    report = run_demo(30)
    figures = report.delivered_by
    primary, secondary = list(figures)[:2]
    accepted = sum(f.accepted for f in figures.values())
    assert accepted + len(report.errors) == 30  # every message has exactly one outcome
    assert figures[primary].retried >= 2  # two rate-limit answers, retried on the spot
    assert figures[primary].failed_over >= 1  # then it goes down, and the Mailer moves on
    assert figures[primary].skipped >= 1  # and its breaker stops trying it
    # its lost answer is resolved: the same key sent again, processed once
    assert figures[secondary].resolved == 1 and figures[secondary].ambiguous == 0
    assert report.errors == []
    for f in figures.values():
        assert f.recorded == f.accepted + f.ambiguous
    assert report.agrees
    assert sum(report.states.values()) == accepted
    assert report.states["bounced"] > 0 and report.states["delivered"] > 0
    # the sandboxes posted signed webhooks, and the demo's WebhookApp verified each:
    # one queued event per message held where the provider posts one (SendCloud's
    # `request`; Postmark documents none), then its outcome, for every message
    assert report.unreported == 0
    assert report.events["queued"] == queued_events_expected(figures)
    assert report.events["bounced"] == sum(i % 7 == 3 for i in range(30))  # as the demo set
    # every event brought back the message's metadata (Postmark echoes its Metadata, the
    # SendCloud platform its custom headers)
    assert report.without_metadata == 0


def test_demo_command_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailspec", "demo", "--messages", "12", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["agrees_with_sandbox"] is True
    assert report["messages"] == 12
    held = sum(p["recorded"] for p in report["providers"].values())
    accepted = sum(p["accepted"] for p in report["providers"].values())
    ambiguous = sum(p["ambiguous"] for p in report["providers"].values())
    assert held == accepted + ambiguous
    assert report["messages_without_webhook_event"] == 0
    assert report["webhook_events"]["queued"] == queued_events_expected(
        {name: ProviderFigures(**p) for name, p in report["providers"].items()}
    )
    assert "sandbox-api-key" not in done.stdout + done.stderr
