"""AsyncMailer checks the suppression list before any request and awaits the delivery
methods; an ASGI receiver (uvicorn, on 127.0.0.1) given the AsyncMailer awaits its
``record``. Sandboxes A and B over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import pytest
import uvicorn
from delivery_support import SECRET, Pair, message
from time_support import FakeClock

from mailspec import AsyncMailer, DeliveryState, Suppressed
from mailspec.webhooks.asgi import WebhookASGIApp


class _Uvicorn:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hooks"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        end = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < end, "uvicorn did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def test_async_mailer_records_checks_suppressions_and_redelivers(pair: Pair) -> None:
    clock = FakeClock(1_700_000_000.0)
    mailer = AsyncMailer(
        [pair.a.provider(), pair.b.provider()], redeliver_after=60, clock=clock, sleep=clock.sleep
    )
    served = _Uvicorn(WebhookASGIApp("cloudmails", mailer=mailer, secret=SECRET))
    pair.a.send_webhooks(served.url, secret=SECRET)

    async def scenario() -> None:
        pair.a.set_outcome("bounced")
        bounced = await mailer.send(message("wes@example.org"))
        pair.flush()
        assert (await mailer.timeline(bounced)).state is DeliveryState.BOUNCED
        assert mailer.suppressions.get("WES@example.org") is not None
        before = pair.requests()
        with pytest.raises(Suppressed):
            await mailer.send(message("wes@example.org"))
        assert pair.requests() == before

        pair.a.set_outcome("failed")
        dropped = await mailer.send(message("xia@example.org"))
        assert await mailer.poll() == 1
        (redone,) = await mailer.redeliver_due()
        assert redone.provider == "aurorasendcloud"
        assert redone.idempotency_key == dropped.idempotency_key
        assert await mailer.redeliver_due() == []
        # B's status records, listed by date over the loop: the bounce at A is not there
        done = await mailer.sync_suppressions()
        assert done["aurorasendcloud"] == "0 added from 1 status records"
        await mailer.aclose()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        served.stop()
    assert (len(pair.a.accepted), len(pair.b.accepted)) == (2, 1)
