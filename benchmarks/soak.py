"""The chaos soak: many threads send through one Mailer over three sandbox providers that
inject faults at random (seeded), then everything is reconciled against what each
sandbox recorded. Used by ``tests/reliability/test_soak.py`` (about 2,000 messages) and
by ``scripts/soak`` (10,000 and more); it lives beside the benchmark cases as project
tooling (not installed, not a test module), so the script does not import from tests/.

What is checked (:func:`reconcile`; every violation is listed, none is tolerated):

- every message has exactly one outcome: a ``SendResult`` or an ``AllProvidersFailed``
  (nothing else escapes ``send()``), and every worker thread finished (no deadlock);
- a result's provider holds the message (its recipient), and its last attempt is the
  one ``accepted`` attempt;
- no sandbox holds a message twice (nothing is resent to a provider that may have it);
- every sandbox that holds a message is accounted for by the message's attempts: the
  accepting one, or one whose attempt failed *ambiguously* (may have accepted);
- so, under ``on_ambiguous="stop"``: zero duplicates (no message held by two sandboxes);
  under ``"failover"``: every duplicate traces back to a reported ambiguous attempt;
- a failure that is not ambiguous is held by no sandbox;
- ``lost`` (accepted per the result, held by nobody) is zero;
- the Mailer's breakers and token buckets end in a consistent state (no probe left in
  flight, ``failures`` agrees with open/closed, tokens within the bucket's bounds).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from mailspec import AllProvidersFailed, Mailer, Message, SendResult
from mailspec.mailer.limiter import BucketState
from mailspec.sandbox import Fault, Sandbox

PROVIDERS = ("aurorasendcloud", "sendcloud", "cloudmails")

# per request, at each sandbox: about 13% of requests get a fault
DEFAULT_RATES: dict[Fault | str, float] = {
    Fault.RATE_LIMIT: 0.04,
    Fault.SERVER_ERROR: 0.04,
    Fault.SLOW: 0.01,
    Fault.DROP_BEFORE: 0.015,
    Fault.DROP_AFTER: 0.015,
    Fault.GARBAGE: 0.01,
}


@dataclass
class SoakReport:
    policy: str
    messages: int
    threads: int
    seconds: float = 0.0
    sent: int = 0  # accepted, per the SendResult
    failed: int = 0  # AllProvidersFailed returned to the caller
    failed_ambiguous: int = 0  # ... of which ambiguous
    retried: int = 0  # messages with a second attempt at the same provider
    failed_over: int = 0  # messages accepted by a provider other than the first tried
    ambiguous_attempts: int = 0
    duplicates: int = 0  # messages held by more than one sandbox
    duplicates_explained: int = 0  # ... each traced to a reported ambiguous attempt
    ambiguous_held: int = 0  # ambiguous failures a sandbox does hold
    lost: int = 0
    unfinished_threads: int = 0
    by_provider: dict[str, int] = field(default_factory=dict)
    faults: dict[str, dict[str, int]] = field(default_factory=dict)
    breakers: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        faults = {
            f: sum(per.get(f, 0) for per in self.faults.values()) for f in (x.value for x in Fault)
        }
        return [
            f"soak on_ambiguous={self.policy!r}: {self.messages} messages, {self.threads} threads, "
            f"{self.seconds:.1f}s",
            f"  sent {self.sent}, failed {self.failed} (ambiguous {self.failed_ambiguous}), "
            f"retried {self.retried}, failed over {self.failed_over}",
            f"  ambiguous attempts {self.ambiguous_attempts}, ambiguous failures held "
            f"{self.ambiguous_held}, duplicates {self.duplicates} "
            f"(explained {self.duplicates_explained}), lost {self.lost}",
            f"  accepted by provider: {self.by_provider}",
            f"  faults injected: {faults}",
            f"  breakers at the end: {self.breakers}",
            f"  violations: {len(self.violations)}",
        ]


def soak_message(i: int) -> Message:
    """Message ``i``: its recipient is unique, so a sandbox record names the message."""
    return Message(
        from_email="noreply@example.com",
        to=[f"m{i}@soak.example.org"],
        subject=f"soak {i}",
        html=f"<p>message {i}</p>",
    )


def soak_options(on_ambiguous: Literal["stop", "failover"], rate_limit: bool) -> dict[str, Any]:
    """The Mailer options of a soak: quick retries, breakers that open and close."""
    return {
        "on_ambiguous": on_ambiguous,
        "max_attempts": 3,
        "deadline": 10.0,
        "backoff": 0.002,
        "backoff_max": 0.02,
        "breaker_threshold": 5,
        "breaker_cooldown": 0.05,
        "rate_limit": rate_limit,
        "rate_limit_wait": 0.005,
    }


def run_soak(
    messages: int = 2000,
    *,
    threads: int = 8,
    on_ambiguous: Literal["stop", "failover"] = "stop",
    seed: int = 7,
    rates: dict[Fault | str, float] | None = None,
    timeout: float = 0.3,
    slow_seconds: float = 0.45,
    rate_limit: bool = True,
    join_timeout: float = 120.0,
) -> SoakReport:
    report = SoakReport(on_ambiguous, messages, threads)
    outcomes: list[Any] = [None] * messages
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in range(messages):
        work.put(i)
    with Sandbox(list(PROVIDERS), slow_seconds=slow_seconds) as sandbox:
        for n, server in enumerate(sandbox):
            server.faults.randomly(rates if rates is not None else DEFAULT_RATES, seed=seed + n)
        mailer = Mailer(
            [server.provider(timeout=timeout) for server in sandbox],
            **soak_options(on_ambiguous, rate_limit),
        )

        def worker() -> None:
            while True:
                try:
                    i = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcomes[i] = mailer.send(soak_message(i))
                except Exception as exc:  # recorded and reported as a violation below
                    outcomes[i] = exc

        started = time.monotonic()
        pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for t in pool:
            t.start()
        end = time.monotonic() + join_timeout
        for t in pool:
            t.join(timeout=max(0.0, end - time.monotonic()))
        report.unfinished_threads = sum(t.is_alive() for t in pool)
        report.seconds = time.monotonic() - started
        # a SLOW answer is accepted by the sandbox after the client gave up: let the
        # sandboxes finish every request before reading what they hold
        _settle(sandbox, slow_seconds)
        held: dict[str, list[str]] = defaultdict(list)
        for server in sandbox:
            for record in server.accepted:
                held[record.recipient].append(server.name)
            report.faults[server.name] = {
                f.value: n for f, n in server.faults.injected.items() if n
            }
        reconcile(report, outcomes, held, mailer)
    return report


def _settle(sandbox: Sandbox, slow_seconds: float) -> None:
    """Wait until no sandbox's record count changes for longer than a SLOW answer."""
    deadline = time.monotonic() + slow_seconds * 4 + 2
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sum(len(s.accepted) for s in sandbox)
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > slow_seconds + 0.1:
            return
        time.sleep(0.05)


def reconcile(
    report: SoakReport, outcomes: list[Any], held: dict[str, list[str]], mailer: Mailer
) -> None:
    v = report.violations
    if report.unfinished_threads:
        v.append(f"{report.unfinished_threads} worker thread(s) did not finish (deadlock?)")
    known = set()
    for i, outcome in enumerate(outcomes):
        recipient = soak_message(i).to[0]
        known.add(recipient)
        holders = held.get(recipient, [])
        for name, n in Counter(holders).items():
            if n > 1:
                v.append(f"message {i}: {name} holds it {n} times")
        holder_set = set(holders)
        if len(holder_set) > 1:
            report.duplicates += 1
        if isinstance(outcome, (SendResult, AllProvidersFailed)):
            attempts = outcome.attempts
        else:
            v.append(f"message {i}: no outcome or an unexpected one: {outcome!r}")
            continue
        tries = Counter(a.provider for a in attempts if a.outcome != "skipped")
        if any(n > 1 for n in tries.values()):
            report.retried += 1
        ambiguous = [
            a
            for a in attempts
            if a.outcome == "failed" and a.error is not None and a.error.ambiguous
        ]
        ambiguous_at = {a.provider for a in ambiguous}
        report.ambiguous_attempts += len(ambiguous)
        accepted = [a for a in attempts if a.outcome == "accepted"]
        if isinstance(outcome, SendResult):
            report.sent += 1
            report.by_provider[outcome.provider] = report.by_provider.get(outcome.provider, 0) + 1
            if len(accepted) != 1 or attempts[-1] is not accepted[0]:
                v.append(f"message {i}: a result whose attempts do not end in one acceptance")
            if accepted and accepted[0].provider != outcome.provider:
                v.append(f"message {i}: result names {outcome.provider}, attempt another")
            if not outcome.message_ids:
                v.append(f"message {i}: accepted without a message id")
            if outcome.provider not in holder_set:
                report.lost += 1
                v.append(f"message {i}: accepted by {outcome.provider}, which does not hold it")
            first = next((a.provider for a in attempts if a.outcome != "skipped"), None)
            if first != outcome.provider:
                report.failed_over += 1
            explained = ambiguous_at | {outcome.provider}
        else:
            report.failed += 1
            if accepted:
                v.append(f"message {i}: an error whose attempts include an acceptance")
            if not attempts:
                v.append(f"message {i}: an error with no attempts")
            text = str(outcome)
            for a in attempts:
                if a.error is None:
                    v.append(f"message {i}: a failed or skipped attempt without its error")
                elif a.outcome == "failed" and str(a.error) not in text:
                    v.append(f"message {i}: the error does not name the attempt at {a.provider}")
            if outcome.ambiguous != bool(ambiguous_at):
                v.append(f"message {i}: error.ambiguous disagrees with its attempts")
            if outcome.ambiguous:
                report.failed_ambiguous += 1
                if holder_set:
                    report.ambiguous_held += 1
            explained = ambiguous_at
        unexplained = holder_set - explained
        if unexplained:
            v.append(
                f"message {i}: held by {sorted(unexplained)} with neither an acceptance nor "
                f"an ambiguous attempt there (attempts: {[(a.provider, a.outcome) for a in attempts]})"
            )
        if len(holder_set) > 1:
            if report.policy == "stop":
                v.append(f"message {i}: held by {sorted(holder_set)} under on_ambiguous='stop'")
            elif not unexplained:
                report.duplicates_explained += 1
    strangers = set(held) - known
    if strangers:
        v.append(f"sandboxes hold {len(strangers)} recipient(s) nobody sent")
    _check_state(report, mailer)


def _check_state(report: SoakReport, mailer: Mailer) -> None:
    v, now = report.violations, time.monotonic()
    for key in mailer.providers:
        breaker = mailer.breaker(key)
        assert breaker is not None
        s = breaker.state()
        report.breakers[key] = "closed" if s.opened_at is None else f"open({s.failures})"
        if s.failures < 0:
            v.append(f"{key}: negative breaker failure count")
        if s.opened_at is None and s.failures >= breaker.threshold:
            v.append(f"{key}: {s.failures} failures but the breaker is closed")
        if s.opened_at is not None and (s.failures < breaker.threshold or s.opened_at > now):
            v.append(f"{key}: breaker open with {s.failures} failures at {s.opened_at}")
        if s.probe_at is not None:
            v.append(f"{key}: a half-open probe is still marked in flight after every send ended")
        raw = mailer.store.get(f"bucket:{key}")
        if raw is not None:
            bucket = msgspec.json.decode(raw, type=BucketState)
            entry = mailer._by_key[key].bucket
            assert entry is not None
            floor = -1.0 - mailer.rate_limit_wait * entry.rate  # reservations ahead
            if not (floor - 1e-9 <= bucket.tokens <= entry.burst + 1e-9) or bucket.updated > now:
                v.append(f"{key}: token bucket out of bounds: {bucket}")
