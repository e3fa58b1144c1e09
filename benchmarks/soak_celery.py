"""The chaos soak across processes: Celery worker processes send through three sandbox
providers that inject every kind of fault at random (seeded), while workers are killed
with SIGKILL at random moments and replaced; then every message is reconciled against
what the sandboxes hold and what the ledger on the shared Redis store recorded.

The setting is the one :mod:`mailspec.celery` is for: a redis-server of our own as the
broker, the result backend and the Mailers' store (breakers, buckets and the ledger
shared by every worker), tasks acknowledged late and redelivered when their worker
dies. Used by ``tests/celery/test_celery_soak.py`` (a smaller size) and by
``scripts/soak --celery`` (5,000 messages, 10 kills).

What is checked (every violation is listed, none is tolerated):

- every task ends (success or failure) within the wait, and no sandbox holds a message
  twice or two sandboxes one message: **0 duplicates**;
- a task that succeeded names a provider that holds the message, and the ledger
  recorded that provider: **0 lost**;
- a task that failed with nothing on the ledger (a definite failure) is held by nobody;
  one that failed with the key left on the ledger, its providers noted (ambiguous:
  left to the user), is held at most by those providers;
- nobody holds a message that was never queued.

The share of messages left ambiguous is reported (the goal is under 0.5 %).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from celery.result import AsyncResult

import mailspec
from mailspec import Message
from mailspec.celery import enqueue
from mailspec.mailer.ledger import Claimed, Ledger, Recorded
from mailspec.sandbox import Fault, Sandbox

from .services import CeleryWorkers, RedisServer
from .soak import DEFAULT_RATES, PROVIDERS, soak_message

# the broker hands a dead worker's task to another after this long; a send's deadline
# stays below it, so a live worker's task is seldom handed out twice (when it is, the
# ledger makes the second delivery wait for the first, then replay it)
VISIBILITY = 4.0
DEADLINE = 3.0
# a task not ended after this long with nothing else ending meanwhile was lost by the
# broker (a worker killed as it took the task off the queue): queued again, same key
REQUEUE_AFTER = 20.0
MAILER_OPTIONS = {
    "max_attempts": 3,
    "backoff": 0.002,
    "backoff_max": 0.02,
    "breaker_threshold": 5,
    "breaker_cooldown": 0.05,
    "rate_limit_wait": 0.005,
}


@dataclass
class CelerySoakReport:
    messages: int
    workers: int
    kills_planned: int
    seconds: float = 0.0
    kills: int = 0
    sent: int = 0  # tasks that succeeded
    replayed: int = 0  # ... of which answered from the ledger (a redelivered task)
    failed: int = 0  # tasks that failed with nothing sent
    ambiguous: int = 0  # tasks that failed, the message maybe sent: left to the user
    unfinished: int = 0
    requeued: int = 0  # tasks the broker lost, queued again with the same key
    duplicates: int = 0
    lost: int = 0
    requests: int = 0  # at all the sandboxes
    by_provider: dict[str, int] = field(default_factory=dict)
    ambiguous_at: dict[str, int] = field(default_factory=dict)  # providers noted, joined
    faults: dict[str, int] = field(default_factory=dict)
    ambiguous_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ambiguous_share(self) -> float:
        return self.ambiguous / self.messages if self.messages else 0.0

    def lines(self) -> list[str]:
        return [
            f"celery soak: {self.messages} messages, {self.workers} workers, "
            f"{self.kills} of {self.kills_planned} kills (SIGKILL), {self.seconds:.1f}s",
            f"  sent {self.sent} (replayed from the ledger {self.replayed}), failed {self.failed}, "
            f"ambiguous {self.ambiguous} ({self.ambiguous_share:.2%}), unfinished {self.unfinished}, "
            f"queued again {self.requeued}",
            f"  duplicates {self.duplicates}, lost {self.lost}, "
            f"requests at the sandboxes {self.requests}",
            f"  accepted by provider: {self.by_provider}; ambiguous at: {self.ambiguous_at}",
            f"  faults injected: {self.faults}",
            f"  violations: {len(self.violations)}",
        ]


def message_key(seed: int, i: int) -> str:
    return f"soak-{seed}-{i}"


def run_celery_soak(
    messages: int = 5000,
    *,
    workers: int = 4,
    kills: int = 10,
    seed: int = 7,
    rates: dict[Fault | str, float] | None = None,
    timeout: float = 0.3,
    slow_seconds: float = 0.45,
    wait_timeout: float | None = None,
    directory: Path | None = None,
) -> CelerySoakReport:
    """Queue ``messages`` to ``workers`` Celery workers, SIGKILL ``kills`` of them at
    random moments (each replaced at once), wait for every task, and reconcile."""
    report = CelerySoakReport(messages, workers, kills)
    wait_timeout = wait_timeout if wait_timeout is not None else 120.0 + messages / 10
    with tempfile.TemporaryDirectory(prefix="mailspec-celery-soak-") as made:
        root = directory or Path(made)
        redis_server = RedisServer(root).start()
        try:
            with Sandbox(list(PROVIDERS), slow_seconds=slow_seconds) as sandbox:
                for n, server in enumerate(sandbox):
                    server.faults.randomly(rates or DEFAULT_RATES, seed=seed + n)
                urls = [f"{server.url}&timeout={timeout}" for server in sandbox]
                pool = CeleryWorkers(
                    redis_server,
                    root,
                    urls,
                    visibility=VISIBILITY,
                    deadline=DEADLINE,
                    extra_env={"TEST_MAILER_OPTIONS": json.dumps(MAILER_OPTIONS)},
                )
                try:
                    _run(report, sandbox, pool, seed, wait_timeout)
                finally:
                    pool.stop()
        finally:
            redis_server.stop()
    return report


def _run(
    report: CelerySoakReport,
    sandbox: Sandbox,
    pool: CeleryWorkers,
    seed: int,
    wait_timeout: float,
) -> None:
    started = [pool.start(wait=False) for _ in range(report.workers)]
    for process in started:
        pool.wait_ready(process)
    began = time.monotonic()
    pending = {i: enqueue(pool.send, _keyed(seed, i)) for i in range(report.messages)}
    # kill when this many messages have been accepted somewhere: random moments spread
    # over the first 90 % of the run
    rng = random.Random(seed)
    marks = sorted(
        rng.randrange(1, max(2, report.messages * 9 // 10)) for _ in range(report.kills_planned)
    )
    outcomes: dict[int, AsyncResult] = {}
    deadline = began + wait_timeout
    progress_at = time.monotonic()
    while pending and time.monotonic() < deadline:
        held = sum(len(s.accepted) for s in sandbox)
        while marks and held >= marks[0] and pool.alive():
            marks.pop(0)
            pool.kill(rng.choice(pool.alive()))
            report.kills += 1
            pool.start(wait=False)  # a replacement, ready within a second or two
        for i, result in list(pending.items()):
            if result.ready():
                outcomes[i] = pending.pop(i)
                progress_at = time.monotonic()
        if pending and time.monotonic() - progress_at > REQUEUE_AFTER:
            for i in pending:
                pending[i] = enqueue(pool.send, _keyed(seed, i))
            report.requeued += len(pending)
            progress_at = time.monotonic()
        time.sleep(0.05)
    report.seconds = time.monotonic() - began
    report.unfinished = len(pending)
    if pending:
        report.violations.append(
            f"{len(pending)} task(s) unfinished after {wait_timeout:.0f} s "
            f"(first: message {min(pending)})"
        )
    _settle(sandbox)
    ledger = Ledger(mailspec.store(pool.store_url))
    _reconcile(report, sandbox, outcomes, ledger, seed)


def _keyed(seed: int, i: int) -> Message:
    return msgspec.structs.replace(soak_message(i), idempotency_key=message_key(seed, i))


def _settle(sandbox: Sandbox) -> None:
    """Wait until no sandbox's record count has changed for a second: a SLOW answer
    is accepted after the client gave up."""
    last, stable_since = -1, time.monotonic()
    end = time.monotonic() + 10
    while time.monotonic() < end:
        count = sum(len(s.accepted) for s in sandbox)
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > 1.0:
            return
        time.sleep(0.05)


def _reconcile(
    report: CelerySoakReport,
    sandbox: Sandbox,
    outcomes: dict[int, AsyncResult],
    ledger: Ledger,
    seed: int,
) -> None:
    v = report.violations
    held: dict[str, list[str]] = defaultdict(list)
    faults: Counter[str] = Counter()
    for server in sandbox:
        report.requests += server.requests
        for record in server.accepted:
            held[record.recipient].append(server.name)
        faults.update({f.value: n for f, n in server.faults.injected.items() if n})
    report.faults = dict(faults)
    queued = {soak_message(i).to[0] for i in range(report.messages)}
    strangers = set(held) - queued
    if strangers:
        v.append(f"sandboxes hold {len(strangers)} recipient(s) nobody queued")
    for i, result in sorted(outcomes.items()):
        holders = held.get(soak_message(i).to[0], [])
        if len(holders) > 1:
            report.duplicates += 1
            v.append(f"message {i}: held {len(holders)} times, by {sorted(holders)}")
        entry = ledger.lookup(message_key(seed, i))
        if result.successful():
            _succeeded(report, i, result.result, holders, entry)
        else:
            _failed(report, i, result.result, holders, entry)


def _succeeded(
    report: CelerySoakReport,
    i: int,
    summary: Any,
    holders: list[str],
    entry: Claimed | Recorded | None,
) -> None:
    v = report.violations
    report.sent += 1
    provider = summary.get("provider") if isinstance(summary, dict) else None
    report.by_provider[str(provider)] = report.by_provider.get(str(provider), 0) + 1
    if summary.get("replayed"):
        report.replayed += 1
    if provider not in holders:
        report.lost += 1
        v.append(f"message {i}: the task says {provider} took it, which does not hold it")
    recorded = msgspec.json.decode(entry.outcome) if isinstance(entry, Recorded) else None
    if not isinstance(recorded, dict) or recorded.get("provider") != provider:
        v.append(f"message {i}: sent by {provider}, but the ledger has {entry!r}")


def _failed(
    report: CelerySoakReport,
    i: int,
    error: Any,
    holders: list[str],
    entry: Claimed | Recorded | None,
) -> None:
    v = report.violations
    if isinstance(entry, Recorded):
        v.append(f"message {i}: the task failed ({error!r}) but the ledger recorded it sent")
    elif isinstance(entry, Claimed):
        report.ambiguous += 1  # left on the ledger: sending the key again resolves it
        at = "+".join(entry.tried) or "(none noted)"
        report.ambiguous_at[at] = report.ambiguous_at.get(at, 0) + 1
        report.ambiguous_errors.append(f"message {i}: {str(error)[:300]}")
        outside = set(holders) - set(entry.tried)
        if outside:
            v.append(f"message {i}: ambiguous at {entry.tried}, but held by {sorted(outside)}")
    else:
        report.failed += 1
        if holders:
            report.lost += 1  # reported not sent, so the user may send it again
            v.append(f"message {i}: failed with nothing on the ledger, but {holders} hold it")
