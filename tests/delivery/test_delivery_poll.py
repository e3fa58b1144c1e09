"""poll() keeps to each provider's documented rate (AuroraSendCloud: 3,000 a minute, so
50 a second, a burst of 50) through the Mailer's token bucket, never waiting for a
token: what the rate does not allow now is asked on a later poll. The clock is faked;
the sandbox is real."""

from __future__ import annotations

from delivery_support import message
from time_support import FakeClock

from mailspec import DeliveryState, Mailer
from mailspec.sandbox import SandboxServer


def test_poll_asks_no_faster_than_the_providers_rate() -> None:
    clock = FakeClock(1_700_000_000.0)
    with SandboxServer("aurorasendcloud") as sandbox:
        sandbox.set_outcome("queued")
        mailer = Mailer([sandbox.provider()], redeliver_after=3600, clock=clock, sleep=clock.sleep)
        results = [mailer.send(message(f"p{i}@example.org")) for i in range(30)]
        clock.advance(10)  # the bucket is full again: 50 tokens
        mailer.send(message("burst@example.org"))  # 49 left
        sent = sandbox.requests
        assert mailer.poll() == 31  # 31 lookups, within the 49 tokens
        assert sandbox.requests == sent + 31
        assert mailer.poll() == 0  # 18 tokens: 18 lookups, nothing new to record
        assert sandbox.requests == sent + 31 + 18  # the rest waits for tokens
        clock.advance(1)  # 50 more
        mailer.poll()
        assert sandbox.requests == sent + 31 + 18 + 31
    assert mailer.timeline(results[0]).state is DeliveryState.SENDING
