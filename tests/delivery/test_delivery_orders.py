"""A message's timeline does not depend on the order its events arrive in, nor on how
often each arrives: the events are a real provider's webhooks (the sandbox's posts,
parsed by a receiver), recorded in 1,000 random orders, with random repeats, each into
a fresh store."""

from __future__ import annotations

import random

from delivery_support import SECRET, B, Pair, Receiver, message

from mailspec import DeliveryState, EventType, Mailer
from mailspec.mailer import MemoryStore

ORDERS = 1000


def _posted_events(pair: Pair):
    """One message through B, and every event B reports about it (as parsed from the
    posts to a receiver): queued, then soft bounced, delivered, opened, clicked and
    complained, with B's own times."""
    collector = Receiver(B)
    pair.receivers.append(collector)
    pair.b.send_webhooks(collector.url, secret=SECRET)
    sender = Mailer([pair.b.provider()])
    result = sender.send(message("gil@example.org"))
    (row,) = pair.b.accepted
    pair.b.report(row.message_id, "soft_bounced", "clicked", "opened", "complained")
    assert pair.b.webhooks is not None and pair.b.webhooks.flush(10)
    return result, collector.events


def _summary(mailer: Mailer, result):
    timeline = mailer.timeline(result)
    return timeline.state, timeline.duplicates, timeline.events


def test_a_thousand_orders_end_in_the_same_timeline(pair: Pair) -> None:
    result, events = _posted_events(pair)
    assert {e.type for e in events} == {
        EventType.QUEUED, EventType.DELIVERED, EventType.SOFT_BOUNCED,
        EventType.OPENED, EventType.CLICKED, EventType.COMPLAINED,
    }  # fmt: skip
    outcomes = set()
    first = None
    for seed in range(ORDERS):
        rng = random.Random(seed)
        arriving = events + rng.sample(events, rng.randint(0, len(events)))  # repeats
        rng.shuffle(arriving)
        mailer = Mailer([pair.b.provider()], store=MemoryStore())
        assert mailer.record(arriving) == len(events)  # every repeat counted once
        state, duplicates, ordered = _summary(mailer, result)
        outcomes.add((state, duplicates, tuple((e.type, e.timestamp) for e in ordered)))
        first = first or ordered
    assert len(outcomes) == 1
    ((state, duplicates, _),) = outcomes
    assert state is DeliveryState.COMPLAINED and duplicates == 0
    assert [e.type for e in first or []] == [
        EventType.COMPLAINED, EventType.SOFT_BOUNCED, EventType.CLICKED,
        EventType.OPENED, EventType.DELIVERED, EventType.QUEUED,
    ]  # fmt: skip


def test_shuffled_and_repeated_over_http_the_receiver_keeps_each_event_once(pair: Pair) -> None:
    mailer = pair.mailer()
    pair.a.set_outcome("queued", report=False)
    for seed in range(5):
        result = mailer.send(message(f"hal{seed}@example.org"))
        row = pair.a.accepted[-1]
        assert pair.a.webhooks is not None
        pair.a.webhooks.hold()
        pair.a.report(row.message_id, "delivered", "opened", "complained", "bounced")
        pair.a.webhooks.release(order="shuffled", repeat=3, seed=seed)
        pair.flush()
        timeline = mailer.timeline(result)
        assert timeline.state is DeliveryState.COMPLAINED
        assert len(timeline.events) == 4
