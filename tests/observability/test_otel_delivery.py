"""Metrics and spans of what happens after acceptance: events recorded (a provider's
retry counted as a repeat), suppressions, and a redelivery, against sandboxes over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from otel_support import Sdk
from test_otel import points
from time_support import FakeClock

from mailspec import EventType, Mailer, Message, Suppressed
from mailspec.sandbox import Sandbox
from mailspec.webhooks import Event


def count(sdk: Sdk, name: str, **attrs: Any) -> int:
    want = {(f"mailspec.{k}", v) for k, v in attrs.items()}
    return sum(int(p.value) for key, p in points(sdk, name).items() if want <= set(key))


def test_events_suppressions_and_a_redelivery_are_counted(sdk: Sdk) -> None:
    clock = FakeClock(1_700_000_000.0)
    with Sandbox(["cloudmails", "sendcloud"]) as sandbox:
        sandbox["cloudmails"].set_outcome("queued")
        mailer = Mailer(
            [sandbox["cloudmails"].provider(), sandbox["sendcloud"].provider()],
            redeliver_after=60,
            clock=clock,
        )
        before = {
            "new": count(sdk, "mailspec.events", event_type="bounced", repeat=False),
            "repeat": count(sdk, "mailspec.events", repeat=True),
            "added": count(sdk, "mailspec.suppressions", action="added"),
            "left_out": count(sdk, "mailspec.suppressions", action="left_out"),
            "redelivered": count(sdk, "mailspec.redeliveries", outcome="accepted"),
        }
        html = "<p>Hi</p>"
        first = mailer.send(
            Message(from_email="a@shop.example", to="uma@example.org", subject="s", html=html)
        )
        bounce = Event(
            provider="cloudmails", type=EventType.BOUNCED, event="bounced",
            message_id="some-other-message", recipient="vic@example.org",
        )  # fmt: skip
        assert mailer.record([bounce, bounce]) == 1
        with pytest.raises(Suppressed):
            mailer.send(
                Message(from_email="a@shop.example", to="vic@example.org", subject="s", html=html)
            )
        clock.advance(61)
        sdk.spans.clear()
        (redone,) = mailer.redeliver_due()
        assert redone.provider == "sendcloud" and redone.idempotency_key == first.idempotency_key
    assert count(sdk, "mailspec.events", event_type="bounced", repeat=False) == before["new"] + 1
    assert count(sdk, "mailspec.events", repeat=True) == before["repeat"] + 1
    assert count(sdk, "mailspec.suppressions", action="added") == before["added"] + 1
    assert count(sdk, "mailspec.suppressions", action="left_out") == before["left_out"] + 1
    assert count(sdk, "mailspec.redeliveries", outcome="accepted") == before["redelivered"] + 1
    (send_span,) = [s for s in sdk.spans.get_finished_spans() if s.name == "mailspec.send"]
    attributes = dict(send_span.attributes or {})
    assert attributes["mailspec.redelivery"] is True
    assert attributes["mailspec.provider"] == "sendcloud"
