"""The bulk case: ``Mailer.send_many`` against a provider that takes 0.1 s to answer.

A CloudMails sandbox runs in a process of its own (``mailspec sandbox cloudmails
--latency 0.1``), so its work is not on the clients' interpreter. Three comparisons, each
of contenders interleaved round by round in a shuffled order, the verdict the median of
the per-round ratios:

- ``send_many(concurrency=64)`` of N messages against the ideal, N x 0.1 s / 64 (every
  thread always waiting on an answer, nothing else costing time);
- the same against raw urllib3: a ``ThreadPoolExecutor(64)`` posting the same request
  (the bytes mailspec sends, captured once) on one pool of 64 connections, checking
  each answer's status and id;
- thread scaling: 1, 4, 16 and 64 threads, one shared Mailer (``send_many`` at that
  concurrency) against raw urllib3 with as many threads, 8 messages a thread, so
  that every size takes about the same time.

Every "Connection pool is full, discarding connection" warning urllib3 logs during the
Mailer's runs is counted: the pools are sized for the threads, so the goal is none.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import urllib3

from .bench import Report, _capture_body, interleaved, message

LATENCY = 0.1  # seconds each answer waits at the sandbox
THREADS = 64
SCALING = (1, 4, 16, 64)
PER_THREAD = 8  # messages a thread sends in the scaling runs


class _Discards(logging.Handler):
    """Counts urllib3's warnings of a connection closed because its pool was full."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "Connection pool is full" in record.getMessage():
            self.count += 1


@contextmanager
def _sandbox(latency: float) -> Iterator[dict[str, Any]]:
    """A CloudMails sandbox in its own process: its base URL and credentials."""
    command = [sys.executable, "-m", "mailspec", "sandbox", "cloudmails", "--json"]
    command += ["--latency", str(latency), "--seconds", "3600"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILSPEC_")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # the JSON listing, then the server runs
            lines.append(line)
            if line.rstrip() == "]":
                break
        (row,) = json.loads("".join(lines))
        yield row
    finally:
        process.terminate()
        process.wait(timeout=10)


def case_bulk(report: Report, messages: int, rounds: int) -> None:
    import mailspec
    from mailspec import Mailer, SendResult

    discards = _Discards()
    pool_log = logging.getLogger("urllib3.connectionpool")
    pool_log.addHandler(discards)
    with _sandbox(LATENCY) as row:
        provider = mailspec.provider("cloudmails", base_url=row["base_url"], **row["credentials"])
        mailer = Mailer([provider], rate_limit=False)
        msg = message()
        headers, body = _capture_body(provider, msg)
        url = row["base_url"] + "/send"
        raw_pool = urllib3.PoolManager(maxsize=THREADS, block=True)
        wire_headers = {"User-Agent": "mailspec", "Accept": "application/json", **headers}

        def raw_post(_: int) -> None:
            answer = raw_pool.request(
                "POST", url, body=body, headers=wire_headers, retries=False, redirect=False
            )
            assert answer.status == 200 and json.loads(answer.data)["message_id"]

        def bulk(count: int, threads: int) -> Callable[[], None]:
            batch = [msg] * count  # a fresh idempotency key each: the Mailer makes them

            def run() -> None:
                outcomes = mailer.send_many(batch, concurrency=threads)
                assert all(isinstance(o, SendResult) for o in outcomes), outcomes[:3]

            return run

        def raw(count: int, threads: int) -> Callable[[], None]:
            def run() -> None:
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(raw_post, range(count)))

            return run

        bulk(THREADS, THREADS)()  # connections opened, pools sized: not what is measured
        raw(THREADS, THREADS)()
        discards.count = 0

        mine, theirs = f"send_many({messages}, concurrency=64)", f"urllib3 x64 threads, {messages}"
        contenders = {mine: bulk(messages, THREADS), theirs: raw(messages, THREADS)}
        samples = interleaved(contenders, rounds=rounds, batch=1, warmup=0)
        ideal = messages * LATENCY / THREADS
        samples[f"ideal: {messages} x {LATENCY} s / 64"] = [ideal] * rounds
        report.add("bulk", samples)
        report.ratio("bulk", "send_many(64) / ideal", samples, mine, list(samples)[-1], "<=", 1.25)
        report.ratio("bulk", "send_many(64) / urllib3 x64", samples, mine, theirs, "<=", 1.1)

        scaling: dict[str, Callable[[], None]] = {}
        for threads in SCALING:
            count = threads * PER_THREAD
            scaling[f"send_many({count}, concurrency={threads})"] = bulk(count, threads)
            scaling[f"urllib3 x{threads} threads, {count}"] = raw(count, threads)
        scaled = interleaved(scaling, rounds=rounds, batch=1, warmup=0)
        report.add("bulk", scaled)
        names = list(scaling)
        for threads, (m, r) in zip(SCALING, zip(names[::2], names[1::2], strict=True), strict=True):
            report.ratio("bulk", f"{threads} threads: Mailer / urllib3", scaled, m, r, "<=", 1.1)
        for row_ in report.rows:
            if row_.case == "bulk":
                row_.unit = "s"
    pool_log.removeHandler(discards)
    report.goal("bulk", "connections discarded (count)", discards.count, "<=", 0)
    report.notes.append(
        f"bulk: a CloudMails sandbox in its own process, {LATENCY} s added to every answer; "
        f"each row is one whole run (wall time), {rounds} rounds; scaling runs send "
        f"{PER_THREAD} messages a thread; the ideal is messages x latency / threads"
    )
