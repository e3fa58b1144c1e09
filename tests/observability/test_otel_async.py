"""AsyncMailer's spans: each concurrent send's span is a child of the span its caller's
task had open, and each attempt a child of its own send, although the sends run
interleaved on one loop (each in a greenlet with a copy of its task's context)."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from otel_support import Sdk

from mailspec import AsyncMailer, Message
from mailspec.sandbox import Fault, Sandbox


def test_concurrent_sends_keep_their_own_parents(sdk: Sdk) -> None:
    tracer = trace.get_tracer("caller")
    with Sandbox(["cloudmails", "sendcloud"]) as sandbox:
        sandbox["cloudmails"].faults.randomly({Fault.SERVER_ERROR: 0.3}, seed=3)
        providers = [sandbox[n].provider(timeout=2) for n in ("cloudmails", "sendcloud")]
        mailer = AsyncMailer(providers, backoff=0.001, backoff_max=0.002, rate_limit=False)

        async def caller(i: int) -> None:
            with tracer.start_as_current_span(f"caller-{i}"):
                await mailer.send(
                    Message(
                        from_email="noreply@example.com",
                        to=[f"user{i}@example.org"],
                        subject="Hi",
                        html="<p>x</p>",
                    )
                )

        async def all_at_once() -> None:
            await asyncio.gather(*(caller(i) for i in range(20)))

        asyncio.run(all_at_once())

    spans = sdk.spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    sends = [s for s in spans if s.name == "mailspec.send"]
    attempts = [s for s in spans if s.name == "mailspec.attempt"]
    assert len(sends) == 20 and len(attempts) > 20  # some sends were retried
    callers = {by_id[s.parent.span_id].name for s in sends if s.parent is not None}
    assert callers == {f"caller-{i}" for i in range(20)}  # one send under each caller
    children: dict[int, int] = {}
    for attempt in attempts:
        assert attempt.parent is not None
        assert by_id[attempt.parent.span_id].name == "mailspec.send"
        children[attempt.parent.span_id] = children.get(attempt.parent.span_id, 0) + 1
    for send in sends:  # no attempt strayed under another send
        assert children[send.context.span_id] == send.attributes["mailspec.attempts"]
