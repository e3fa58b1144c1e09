"""``mailspec demo``: failover between sandbox providers, and a summary that is checked
against what the sandbox servers themselves recorded.

The story: the first provider rate-limits twice (retried on the spot), then goes down
part-way (the Mailer fails over, and its breaker stops trying it); one answer from the
second provider is lost after the message was accepted (ambiguous), and resolved by
sending the same idempotency key again, which that provider processes once. Some
recipients bounce. The sandboxes post their providers' signed webhook
events to a local :class:`~mailspec.webhooks.WebhookApp`, which verifies each one.
Everything runs on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from .errors import AllProvidersFailed, MailspecError
from .mailer import Mailer
from .message import Message
from .registry import available
from .results import Attempt, SendResult
from .sandbox import Fault, Sandbox
from .sandbox.collector import webhook_receiver
from .webhooks import Event

__all__ = ["DemoReport", "run_demo"]

ORDER = ("postmark", "sendcloud", "mailgun", "cloudmails")


@dataclass
class ProviderFigures:
    accepted: int = 0
    retried: int = 0
    failed_over: int = 0
    ambiguous: int = 0  # left ambiguous: reported, not sent again
    resolved: int = 0  # ambiguous, then resolved by resending the key to the same provider
    skipped: int = 0
    recorded: int = 0  # what the sandbox server itself holds


@dataclass
class DemoReport:
    messages: int
    delivered_by: dict[str, ProviderFigures] = field(default_factory=dict)
    states: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)  # verified webhook events, by type
    unreported: int = 0  # messages a sandbox holds that no webhook event was about
    without_metadata: int = 0  # verified events that did not bring the message's metadata

    @property
    def agrees(self) -> bool:
        """Every message the sandboxes hold is one we were told was accepted, or one
        reported as ambiguous; nothing else."""
        return all(f.recorded == f.accepted + f.ambiguous for f in self.delivered_by.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "providers": {name: vars(f) for name, f in self.delivered_by.items()},
            "states": dict(sorted(self.states.items())),
            "errors": self.errors,
            "agrees_with_sandbox": self.agrees,
            "webhook_events": dict(sorted(self.events.items())),
            "messages_without_webhook_event": self.unreported,
            "events_without_metadata": self.without_metadata,
        }


def _message(i: int) -> Message:
    return Message(
        from_email="noreply@shop.example",
        from_name="Shop",
        to=[f"customer{i:03d}@example.org"],
        subject=f"Your order #{1000 + i}",
        html=f"<p>Hi Customer {i}, your order has shipped.</p>",
        text=f"Hi Customer {i}, your order has shipped.",
        tags=["order-shipped"],
        metadata={"order_id": str(1000 + i)},
    )


def _count(report: DemoReport, attempts: list[Attempt]) -> None:
    for i, attempt in enumerate(attempts):
        figures = report.delivered_by.setdefault(attempt.provider, ProviderFigures())
        following = attempts[i + 1] if i + 1 < len(attempts) else None
        if attempt.outcome == "accepted":
            figures.accepted += 1
        elif attempt.outcome == "skipped":
            figures.skipped += 1
        elif attempt.error is not None and attempt.error.ambiguous:
            resent = following is not None and following.provider == attempt.provider
            if resent:
                figures.resolved += 1
            else:
                figures.ambiguous += 1
        elif following is not None and following.provider == attempt.provider:
            figures.retried += 1
        elif following is not None:
            figures.failed_over += 1


def run_demo(messages: int = 40, *, progress: TextIO | None = None) -> DemoReport:
    report = DemoReport(messages)
    received: list[Event] = []
    known = set(available())
    with (
        Sandbox([n for n in ORDER if n in known], slow_seconds=0.5) as sandbox,
        webhook_receiver(sandbox.servers, received.append) as (url, secret),
    ):
        sandbox.send_webhooks(url, secret=secret)
        names = list(sandbox.servers)
        primary, secondary = sandbox[names[0]], sandbox[names[1 % len(names)]]
        mailer = Mailer(
            [server.provider(timeout=2.0) for server in sandbox],
            strategy="failover",
            backoff=0.01,
            deadline=10.0,
            breaker_threshold=3,
            breaker_cooldown=60.0,
        )
        for i in range(messages):
            recipient = f"customer{i:03d}@example.org"
            if i % 7 == 3:
                for server in sandbox:
                    server.set_outcome("bounced", sub_status=406, recipient=recipient)
            elif i % 11 == 5:
                for server in sandbox:
                    server.set_outcome("soft_bounced", sub_status=507, recipient=recipient)
        primary.faults.queue(Fault.RATE_LIMIT, times=2)
        results: list[SendResult] = []
        for i in range(messages):
            if i == messages // 3:
                primary.faults.randomly({Fault.SERVER_ERROR: 1.0}, seed=1)  # the primary goes down
            if i == messages // 2:
                secondary.faults.queue(Fault.DROP_AFTER)  # accepted, but the answer is lost
            try:
                result = mailer.send(_message(i))
                results.append(result)
                _count(report, list(result.attempts))
            except AllProvidersFailed as exc:
                _count(report, list(exc.attempts))
                report.errors.append(f"message {i}: {exc}")
            except MailspecError as exc:
                report.errors.append(f"message {i}: {exc}")
            if progress is not None:
                _bar(progress, i + 1, messages)
        if progress is not None:
            progress.write("\n")
        for server in sandbox:
            server.faults.clear()  # the primary is back: every provider can report status
        for result in results:
            for status in mailer.status(result):
                report.states[status.state.value] += 1
        for server in sandbox:
            report.delivered_by.setdefault(server.name, ProviderFigures()).recorded = len(
                server.accepted
            )
            if server.webhooks is not None:
                server.webhooks.flush()
        reported = {event.message_id for event in received}
        report.events.update(event.type.value for event in received)
        report.without_metadata = sum("order_id" not in event.metadata for event in received)
        report.unreported = sum(
            a.message_id not in reported
            for server in sandbox
            if server.webhooks is not None
            for a in server.accepted
        )
    return report


def _bar(out: TextIO, done: int, total: int, width: int = 30) -> None:
    filled = width * done // total
    out.write(f"\rsending [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    out.flush()


def print_report(report: DemoReport, out: TextIO = sys.stdout) -> None:
    head = f"{'provider':<16} {'accepted':>8} {'retried':>8} {'failed over':>11} {'resolved':>8} {'ambiguous':>9} {'skipped':>7} {'sandbox holds':>13}"
    print(head, file=out)
    print("-" * len(head), file=out)
    for name, f in report.delivered_by.items():
        row = f"{name:<16} {f.accepted:>8} {f.retried:>8} {f.failed_over:>11} {f.resolved:>8} {f.ambiguous:>9} {f.skipped:>7} {f.recorded:>13}"
        print(row, file=out)
    print(file=out)
    print(
        "delivery states: " + ", ".join(f"{k} {v}" for k, v in sorted(report.states.items())),
        file=out,
    )
    for line in report.errors:
        print(f"not sent: {line}", file=out)
    print(
        "webhook events (verified): "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.events.items())),
        file=out,
    )
    verdict = "yes" if report.agrees else "NO"
    print(
        f"every message the sandboxes hold was reported accepted or ambiguous: {verdict}", file=out
    )
    verdict = "yes" if report.unreported == 0 else f"NO ({report.unreported} without)"
    print(f"every message the sandboxes hold was reported by a webhook event: {verdict}", file=out)
    verdict = "yes" if report.without_metadata == 0 else f"NO ({report.without_metadata} without)"
    print(f"every webhook event brought back the message's metadata: {verdict}", file=out)
