"""The delivery outcome across two providers, over real HTTP: sandboxes A (CloudMails)
and B (AuroraSendCloud) post their webhooks to receivers recording into the Mailer.
Each test is one row of the scenario table: requests at A, requests at B, the final
state, the duplicates."""

from __future__ import annotations

import msgspec
import pytest
from delivery_support import SECRET, Pair, message

from mailspec import AllProvidersFailed, DeliveryState, EventType, Suppressed
from mailspec.sandbox import Fault


def _accepted_by_a(pair: Pair, mailer, to: str = "ann@example.org"):
    result = mailer.send(message(to))
    assert result.provider == "cloudmails"
    pair.flush()
    return result


def test_a_bounce_at_a_stops_the_next_send_before_any_request_at_a_or_b(pair: Pair) -> None:
    mailer = pair.mailer()
    pair.a.set_outcome("bounced")
    first = _accepted_by_a(pair, mailer)
    assert mailer.timeline(first).state is DeliveryState.BOUNCED
    suppression = mailer.suppressions.get("ANN@example.org")
    assert suppression is not None and suppression.reason == "bounced"
    assert suppression.provider == "cloudmails"
    before = pair.requests()

    with pytest.raises(Suppressed) as caught:
        mailer.send(message("Ann@Example.org"))

    assert pair.requests() == before == (1, 0)  # no request at A, none at B
    assert mailer.timeline(first).duplicates == 0
    assert caught.value.addresses == ["Ann@Example.org"]
    assert not caught.value.retryable


def test_a_suppressed_recipient_is_left_out_and_listed(pair: Pair) -> None:
    mailer = pair.mailer()
    # a mailbox with a display name is its bare address, any case
    kept = mailer.suppressions.add("Bob Smith <BOB@Example.org>", "complained")
    assert (kept.address, kept.reason, kept.provider) == ("bob@example.org", "complained", None)
    result = mailer.send(message("ann@example.org", "bob@example.org"))
    assert result.suppressed == ["bob@example.org"]
    assert [row.recipient for row in pair.a.accepted] == ["ann@example.org"]


def test_a_message_left_with_cc_only_goes_on_and_none_left_is_suppressed(pair: Pair) -> None:
    """Only a message left to nobody is Suppressed. One left to its cc alone goes on:
    both APIs here need a `to`, so each skips it by rule (no request), as for any
    cc-only message; SMTP would send it."""
    mailer = pair.mailer()
    mailer.suppressions.add("ann@example.org", "bounced")
    mailer.suppressions.add("cy@example.org", "complained")
    with pytest.raises(AllProvidersFailed) as caught:
        mailer.send(msgspec.structs.replace(message("ann@example.org"), cc=["bob@example.org"]))
    assert all(attempt.outcome == "skipped" for attempt in caught.value.attempts)
    with pytest.raises(Suppressed) as suppressed:
        mailer.send(msgspec.structs.replace(message("ann@example.org"), cc=["cy@example.org"]))
    assert suppressed.value.addresses == ["ann@example.org", "cy@example.org"]
    assert pair.requests() == (0, 0)


def test_a_complaint_at_b_suppresses_the_address_at_a_too(pair: Pair) -> None:
    mailer = pair.mailer()
    pair.a.faults.queue(Fault.SERVER_ERROR, times=3)  # A down: B takes the message
    pair.b.set_outcome("complained")
    result = mailer.send(message("dan@example.org"))
    assert result.provider == "aurorasendcloud"
    pair.flush()
    assert mailer.timeline(result).state is DeliveryState.COMPLAINED
    before = pair.requests()
    with pytest.raises(Suppressed):
        mailer.send(message("dan@example.org"))  # A is up again: still not asked
    assert pair.requests() == before == (3, 1)


def test_the_same_event_twice_counts_once(pair: Pair) -> None:
    mailer = pair.mailer()
    pair.b.set_outcome("queued")  # B reports nothing beyond acceptance by itself
    result = mailer.send(
        message("eve@example.org"),
    )
    assert result.provider == "cloudmails"
    pair.flush()
    (row,) = pair.a.accepted
    posted = pair.a.report(row.message_id, "delivered", repeat=2)  # a provider's retry
    assert posted == 2
    pair.flush()
    timeline = mailer.timeline(result)
    assert [e.type for e in timeline.events] == [EventType.DELIVERED]
    assert timeline.duplicates == 0
    # held back and released three times over, shuffled: still one of each
    pair.a.webhooks.hold()
    pair.a.report(row.message_id, "opened", "clicked")
    pair.a.webhooks.release(order="shuffled", repeat=3, seed=7)
    pair.flush()
    types = [e.type for e in mailer.timeline(result).events]
    assert types == [EventType.CLICKED, EventType.OPENED, EventType.DELIVERED]
    assert mailer.timeline(result).duplicates == 0
    assert pair.requests() == (1, 0)


def test_drop_after_accept_at_a_is_delivered_once_by_b_and_a_late_delivery_is_a_duplicate(
    pair: Pair,
) -> None:
    mailer = pair.mailer(redeliver_after=600)
    pair.a.set_outcome("failed")  # accepted, then dropped: its status lookup says failed
    first = _accepted_by_a(pair, mailer)
    assert mailer.redeliver_due() == []  # nothing known yet, and not late

    assert mailer.poll() == 1  # A's status lookup: failed
    assert mailer.timeline(first).state is DeliveryState.FAILED
    redone = mailer.redeliver_due()
    assert [r.provider for r in redone] == ["aurorasendcloud"]
    assert redone[0].idempotency_key == first.idempotency_key
    pair.flush()
    assert mailer.redeliver_due() == []  # at most once
    assert mailer.poll() == 0

    (row,) = pair.a.accepted
    pair.a.advance(row.message_id, "delivered")  # A delivered it after all, late
    pair.flush()
    timeline = mailer.timeline(first.idempotency_key or "")
    assert timeline.state is DeliveryState.DELIVERED
    assert timeline.duplicates == 1
    assert [s.redelivery for s in timeline.sends] == [False, True]
    assert len(pair.a.accepted) == 1 and len(pair.b.accepted) == 1
    assert pair.requests() == (2, 1)  # A: the send and one status lookup; B: the send
    assert mailer.timeline(first) == timeline  # by result or by key, the same


def test_a_late_delivery_known_from_a_status_lookup_is_a_duplicate_too(pair: Pair) -> None:
    """CloudMails' status record names no recipient: its delivery still counts for the
    message's recipient, beside B's redelivery (reported by a webhook, with one)."""
    from mailspec.webhooks import Event

    mailer = pair.mailer(redeliver_after=600)
    pair.a.set_outcome("failed")
    first = _accepted_by_a(pair, mailer)
    assert mailer.poll() == 1
    assert len(mailer.redeliver_due()) == 1
    pair.flush()
    assert mailer.timeline(first).duplicates == 0
    (row,) = pair.a.accepted
    looked_up = Event(
        provider="cloudmails", type=EventType.DELIVERED, event="delivered",
        message_id=row.message_id,
    )  # fmt: skip
    assert mailer.record([looked_up]) == 1
    timeline = mailer.timeline(first)
    assert timeline.duplicates == 1 and timeline.state is DeliveryState.DELIVERED


def test_silence_at_a_is_redelivered_by_b_after_redeliver_after(pair: Pair) -> None:
    mailer = pair.mailer(redeliver_after=600)
    pair.a.set_outcome("queued", report=False)  # A never says anything
    first = _accepted_by_a(pair, mailer)
    pair.clock.advance(599)
    assert mailer.redeliver_due() == []
    pair.clock.advance(1)
    (redone,) = mailer.redeliver_due()
    assert redone.provider == "aurorasendcloud"
    pair.flush()
    timeline = mailer.timeline(first)
    assert timeline.state is DeliveryState.DELIVERED and timeline.duplicates == 0
    assert pair.requests() == (1, 1)


def test_a_recipient_bounce_is_never_redelivered(pair: Pair) -> None:
    mailer = pair.mailer(redeliver_after=600)
    pair.a.set_outcome("bounced")
    first = _accepted_by_a(pair, mailer)
    pair.clock.advance(3600)
    assert mailer.redeliver_due() == []
    assert mailer.poll() == 0  # settled: no longer asked about
    assert pair.requests() == (1, 0)
    assert mailer.timeline(first).state is DeliveryState.BOUNCED


def test_without_redeliver_after_nothing_is_ever_due(pair: Pair) -> None:
    mailer = pair.mailer()
    pair.a.set_outcome("failed")
    _accepted_by_a(pair, mailer)
    pair.clock.advance(10**6)
    assert mailer.redeliver_due() == []
    assert pair.requests() == (1, 0)


def test_an_event_for_something_that_is_not_an_address_is_kept_and_suppresses_nothing(
    pair: Pair,
) -> None:
    from mailspec.webhooks import Event

    mailer = pair.mailer()
    odd = Event(
        provider="cloudmails", type=EventType.BOUNCED, event="bounced",
        message_id="clou-999", recipient="not an address",
    )  # fmt: skip
    assert mailer.record([odd]) == 1
    assert list(mailer.suppressions) == []
    assert "not an address" not in mailer.suppressions
    # an id no provider makes is not kept (it would become a store key), nor one missing;
    # their recipients are still suppressed
    huge = msgspec.structs.replace(odd, message_id="x" * 5000, recipient="uli@example.org")
    none = msgspec.structs.replace(odd, message_id=None, recipient="val@example.org")
    assert mailer.record([huge, none]) == 0
    assert [s.address for s in mailer.suppressions] == ["uli@example.org", "val@example.org"]


def test_a_bounce_at_one_account_suppresses_the_address_at_the_other() -> None:
    from delivery_support import Receiver

    from mailspec import Mailer
    from mailspec.sandbox import SandboxServer

    first, second = SandboxServer("cloudmails").start(), SandboxServer("cloudmails").start()
    mailer = Mailer([first.provider(), second.provider()])
    assert mailer.providers == ["cloudmails", "cloudmails#2"]
    receiver = Receiver("cloudmails", mailer)
    try:
        first.send_webhooks(receiver.url, secret=SECRET)
        first.set_outcome("bounced")
        result = mailer.send(message("wyn@example.org"))
        assert first.webhooks is not None and first.webhooks.flush(10)
        assert mailer.timeline(result).state is DeliveryState.BOUNCED
        with pytest.raises(Suppressed):
            mailer.send(message("wyn@example.org"))
        assert (first.requests, second.requests) == (1, 0)
    finally:
        first.stop()
        second.stop()
        receiver.close()
