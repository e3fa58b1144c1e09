"""A soak of delivery: many messages through two sandbox providers that report after
acceptance as providers do, sent by worker processes that are killed with SIGKILL and
replaced, with the webhooks held back, then posted shuffled and twice, recorded by
receivers into one shared store, then polled and redelivered by two processes at once.

    python -m benchmarks.delivery_soak                  # 5,000 messages (a few minutes)
    python -m benchmarks.delivery_soak --messages 400   # what the test runs

Every address has a fate at both providers (the providers' sandboxes are told per
recipient): delivered; bounced, complained or unsubscribed (the recipient's answer, at
either provider); dropped by A after accepting it (A's status lookup says ``failed``;
B delivers it); or silence at A (no report at all; B delivers it). Addresses recur
across messages, so a bounce in one round must stop every later message to it.

Messages go out round by round. In each round:

1. ``WORKERS`` processes send their shares (``Mailer`` over A and B, ``round_robin``,
   the shared store); one is killed with SIGKILL part-way and a replacement sends its
   whole share again under the same idempotency keys.
2. The sandboxes' webhooks, held back while sending, are posted shuffled, each twice, to
   receivers (:class:`mailspec.webhooks.WebhookApp` given ``mailer=``).
3. After ``redeliver_after``, ``poll()`` and then two processes at once run
   ``redeliver_due()``; one is killed with SIGKILL once it has redelivered a message
   (likely mid-way through the next). After the last round, once the killed one's
   claims have run out, one more run resolves what it may have sent.

What is checked at the end (after a last posting of the held webhooks):

- **to suppressed addresses**: messages a provider accepted in a round for an address
  that was suppressed before that round began (must be 0);
- **lost**: messages that were neither accepted, nor refused as suppressed, nor
  reported ambiguous to their sender; and messages dropped or unreported by A that were
  not redelivered (must be 0);
- **redeliveries**: each dropped or silent message is redelivered (the ledger records
  its ``<key>/redelivery``) and the providers hold exactly one copy of each message
  plus one of its redelivery (copies beyond: must be 0), and no message whose
  recipient bounced, complained or unsubscribed is redelivered (must be 0).

A message whose sender was killed after its request went out is reported ambiguous to
the replacement (``AllProvidersFailed``, ``ambiguous``): it is counted apart, with how
many of those the providers hold (at most one copy each).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

ROOT = Path(__file__).resolve().parent.parent
SECRET = "soak-webhook-key"
FATES = {  # share of addresses
    "delivered": 0.70,
    "bounced": 0.08,
    "complained": 0.05,
    "unsubscribed": 0.04,
    "dropped": 0.07,  # A accepts, then drops it (status: failed); B delivers
    "silent": 0.06,  # A says nothing at all; B delivers
}
REDELIVER_AFTER = 1.0
DEADLINE = 5.0


# --- the worker processes -------------------------------------------------------------


def _mailer_env(store: str, providers: Sequence[str]) -> dict[str, str]:
    return {
        "MAILSPEC_PROVIDERS": " ".join(providers),
        "MAILSPEC_STORE": store,
        "MAILSPEC_STRATEGY": "round_robin",
        "MAILSPEC_RATE_LIMIT": "false",
        "MAILSPEC_DEADLINE": str(DEADLINE),
        "MAILSPEC_CLAIM_LEASE": str(DEADLINE + 1),
        "MAILSPEC_REDELIVER_AFTER": str(REDELIVER_AFTER),
        "MAILSPEC_BACKOFF": "0.05",
    }


def _send_share(path: Path) -> None:
    """Send each message of the share (``KEY ADDRESS`` lines), printing its outcome."""
    from mailspec import AllProvidersFailed, Mailer, Message, SendInProgress, Suppressed

    mailer = Mailer.from_env()
    for line in path.read_text().splitlines():
        key, address = line.split()
        message = Message(
            from_email="orders@shop.example",
            to=[address],
            subject=f"order {key}",
            html="<p>Your order</p>",
            idempotency_key=key,
        )
        for _ in range(20):  # a killed sender's lease runs out within DEADLINE + 1 s
            try:
                result = mailer.send(message)
                print("accepted", key, result.provider, flush=True)
            except SendInProgress as exc:
                time.sleep(exc.retry_after + 0.05)
                continue
            except Suppressed:
                print("suppressed", key, "-", flush=True)
            except AllProvidersFailed as exc:
                print("ambiguous" if exc.ambiguous else "failed", key, "-", flush=True)
            break


def _redeliver() -> None:
    from mailspec import Mailer

    for result in Mailer.from_env().redeliver_due():
        print("redelivered", result.idempotency_key, result.provider, flush=True)


# --- the receivers ----------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Receiver:
    def __init__(self, provider: str, mailer: Any) -> None:
        from mailspec.webhooks import WebhookApp

        app = WebhookApp(provider, mailer=mailer, secret=SECRET)
        self.server = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_Quiet
        )
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the run ------------------------------------------------------------------------------


@dataclass
class Report:
    messages: int
    rounds: int
    workers_killed: int = 0
    redeliverers_killed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    to_suppressed: int = 0
    lost: int = 0
    redelivered: int = 0
    redelivery_copies_beyond_one: int = 0
    recipient_refusals_redelivered: int = 0
    due_not_redelivered: int = 0
    ambiguous_held_by_a_provider: int = 0
    suppressed_addresses: int = 0
    seconds: float = 0.0

    def ok(self) -> bool:
        return (
            self.to_suppressed == 0
            and self.lost == 0
            and self.redelivery_copies_beyond_one == 0
            and self.recipient_refusals_redelivered == 0
            and self.due_not_redelivered == 0
        )

    def lines(self) -> list[str]:
        return [
            f"messages {self.messages} in {self.rounds} rounds, {self.seconds:.1f} s; "
            f"sender workers killed: {self.workers_killed}, redelivering workers killed: "
            f"{self.redeliverers_killed}",
            "outcomes at send: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
            f"suppressed addresses at the end: {self.suppressed_addresses}",
            f"messages to suppressed addresses: {self.to_suppressed}",
            f"lost: {self.lost}",
            f"redelivered: {self.redelivered}; copies beyond one: "
            f"{self.redelivery_copies_beyond_one}; dropped/silent not redelivered: "
            f"{self.due_not_redelivered}; recipient refusals redelivered: "
            f"{self.recipient_refusals_redelivered}",
            f"ambiguous after a kill, held by a provider: {self.ambiguous_held_by_a_provider}",
        ]


def _fates(addresses: int, rng: random.Random) -> dict[str, str]:
    names, weights = list(FATES), list(FATES.values())
    return {f"u{i}@example.org": rng.choices(names, weights)[0] for i in range(addresses)}


def _tell_sandboxes(a: Any, b: Any, fates: dict[str, str]) -> None:
    for address, fate in fates.items():
        if fate in ("bounced", "complained", "unsubscribed"):
            sub = "406" if fate == "bounced" else None
            a.set_outcome(fate, recipient=address)
            b.set_outcome(fate, sub_status=sub, recipient=address)
        elif fate == "dropped":
            a.set_outcome("failed", recipient=address)
        elif fate == "silent":
            a.set_outcome("queued", recipient=address, report=False)


def _workers(
    shares: list[Path], env: dict[str, str], kill: int | None, rng: random.Random
) -> Iterator[str]:
    """Run one sender per share; kill sender ``kill`` part-way and send its share again.
    Yields every output line, the replacement's last (its outcomes are the final word)."""
    processes = [_spawn(["send", str(share)], env) for share in shares]
    if kill is not None:
        victim = processes[kill]
        wanted = rng.randint(3, max(4, len(shares[kill].read_text().splitlines()) // 2))
        seen: list[str] = []
        assert victim.stdout is not None
        while len(seen) < wanted:
            line = victim.stdout.readline()
            if not line:
                break
            seen.append(line)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        yield from seen
        processes[kill] = _spawn(["send", str(shares[kill])], env)
    for process in processes:
        out, _ = process.communicate(timeout=600)
        yield from out.splitlines()


def _redeliverers(env: dict[str, str], *, kill: bool) -> Iterator[str]:
    """Two ``redeliver_due()`` processes at once; with ``kill``, the first is killed with
    SIGKILL once it has redelivered one message (mid-way through the next, likely).
    Yields each redelivery line, and ``""`` for a process killed."""
    processes = [_spawn(["redeliver"], env) for _ in range(2)]
    if kill:
        victim = processes.pop(0)
        assert victim.stdout is not None
        first = victim.stdout.readline()
        if first:
            yield first.strip()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        yield ""
    for process in processes:
        output, _ = process.communicate(timeout=600)
        yield from output.splitlines()


def _spawn(job: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.delivery_soak", *job],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )


def run(
    messages: int = 5000,
    *,
    rounds: int = 5,
    workers: int = 4,
    store: str | None = None,
    seed: int = 0,
    out: Any = None,
) -> Report:
    """Run the soak; ``store`` is a shared store URL (default: a SQLite file in a
    temporary folder)."""
    from mailspec import Mailer
    from mailspec.sandbox import SandboxServer

    started = time.monotonic()
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="delivery-soak-"))
    store = store or f"sqlite:///{folder / 'state.db'}"
    fates = _fates(max(50, messages * 3 // 10), rng)
    report = Report(messages, rounds)
    a, b = SandboxServer("cloudmails").start(), SandboxServer("aurorasendcloud").start()
    env = _mailer_env(store, [a.url, b.url])
    recorder = Mailer.from_env(env)
    receivers = [_Receiver("cloudmails", recorder), _Receiver("aurorasendcloud", recorder)]
    posters = [
        a.send_webhooks(receivers[0].url, secret=SECRET),
        b.send_webhooks(receivers[1].url, secret=SECRET),
    ]
    _tell_sandboxes(a, b, fates)
    final: dict[str, str] = {}
    redelivered: Counter[str] = Counter()
    accepted_rows_before = 0, 0
    to_suppressed = 0
    try:
        addresses = list(fates)
        plan = [(f"k{i:06d}", rng.choice(addresses)) for i in range(messages)]
        per_round = -(-messages // rounds)
        for number in range(rounds):
            batch = plan[number * per_round : (number + 1) * per_round]
            if not batch:
                break
            suppressed_before = {s.address for s in recorder.suppressions}
            for poster in posters:
                poster.hold()
            shares = []
            for w in range(workers):
                share = folder / f"round{number}-share{w}.txt"
                share.write_text("".join(f"{k} {addr}\n" for k, addr in batch[w::workers]))
                shares.append(share)
            kill = rng.randrange(workers)
            report.workers_killed += 1
            for line in _workers(shares, env, kill, rng):
                what, key, _provider = line.split()
                final[key] = what
            # what the providers accepted in this round, to whom
            rows = a.accepted[accepted_rows_before[0] :] + b.accepted[accepted_rows_before[1] :]
            to_suppressed += sum(1 for row in rows if row.recipient in suppressed_before)
            accepted_rows_before = len(a.accepted), len(b.accepted)
            for poster in posters:
                poster.release(order="shuffled", repeat=2, seed=rng.randrange(1 << 30))
            for poster in posters:
                poster.flush(120)
            time.sleep(REDELIVER_AFTER + 0.1)
            recorder.poll()
            suppressed_before = {s.address for s in recorder.suppressions}
            for line in _redeliverers(env, kill=True):
                if line:
                    redelivered[line.split()[1]] += 1
                else:
                    report.redeliverers_killed += 1
            rows = a.accepted[accepted_rows_before[0] :] + b.accepted[accepted_rows_before[1] :]
            to_suppressed += sum(1 for row in rows if row.recipient in suppressed_before)
            accepted_rows_before = len(a.accepted), len(b.accepted)
            if out is not None:
                print(f"round {number + 1}/{rounds} done", file=out, flush=True)
        # a killed redeliverer's claim runs out after the lease: then one more run
        # resolves what it may have sent (sent the key again, B processes it once)
        time.sleep(DEADLINE + 1.5)
        for line in _redeliverers(env, kill=False):
            redelivered[line.split()[1]] += 1
        for poster in posters:
            poster.flush(120)
        _check(report, plan, fates, final, redelivered, a, b, recorder)
        report.to_suppressed = to_suppressed
    finally:
        for poster in posters:
            poster.close()
        a.stop()
        b.stop()
        for receiver in receivers:
            receiver.close()
    report.seconds = time.monotonic() - started
    return report


def _check(
    report: Report,
    plan: list[tuple[str, str]],
    fates: dict[str, str],
    final: dict[str, str],
    redelivered: Counter[str],
    a: Any,
    b: Any,
    recorder: Any,
) -> None:
    copies: Counter[str] = Counter()
    for row in [*a.accepted, *b.accepted]:
        copies[str(row.params["subject"]).removeprefix("order ")] += 1
    # the ledger's record of each redelivery is the truth (a process killed after
    # recording one never printed it); two processes printing one key is a second copy
    from mailspec.mailer.claims import recorded_result
    from mailspec.mailer.delivery import redelivery_key

    printed = redelivered
    redelivered = Counter(
        {
            key: 1
            for key, _ in plan
            if recorded_result(recorder.ledger, redelivery_key(key)) is not None
        }
    )
    report.outcomes = Counter(final.get(key, "none") for key, _ in plan)
    report.redelivered = sum(redelivered.values())
    report.suppressed_addresses = sum(1 for _ in recorder.suppressions)
    for key, address in plan:
        outcome = final.get(key)
        if outcome not in ("accepted", "suppressed", "ambiguous"):
            report.lost += 1
            continue
        if outcome == "ambiguous":
            report.ambiguous_held_by_a_provider += copies[key] > 0
            continue
        if outcome != "accepted":
            continue
        fate = fates[address]
        first = "cloudmails" if _first_at_a(recorder, key) else "aurorasendcloud"
        due = fate in ("dropped", "silent") and first == "cloudmails"
        if due and redelivered[key] == 0:
            report.due_not_redelivered += 1
            report.lost += 1
        report.redelivery_copies_beyond_one += max(0, printed[key] - 1)
        report.redelivery_copies_beyond_one += max(0, copies[key] - 1 - (redelivered[key] > 0))
        if fate in ("bounced", "complained", "unsubscribed") and redelivered[key]:
            report.recipient_refusals_redelivered += 1


def _first_at_a(recorder: Any, key: str) -> bool:
    sends = recorder._delivery.sends(key)
    return bool(sends) and sends[0].provider == "cloudmails"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "send":
        _send_share(Path(args[1]))
        return 0
    if args and args[0] == "redeliver":
        _redeliver()
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.delivery_soak")
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--store", default=None, help="a shared store URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(args)
    report = run(
        options.messages,
        rounds=options.rounds,
        workers=options.workers,
        store=options.store,
        seed=options.seed,
        out=sys.stderr,
    )
    if options.json:
        print(json.dumps({**report.__dict__, "outcomes": dict(report.outcomes)}, indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
