"""The ``async`` case: :class:`mailspec.AsyncMailer` against the sync Mailer.

1. CPU per send, one send at a time to the local nginx: ``await AsyncMailer.send``
   vs ``Mailer.send``, interleaved rounds, this process's CPU time (nginx's is its
   own), median of the per-round ratios.
2. 1,000 sends on one event loop (``AsyncMailer.send_many``, 100 connections;
   concurrency 1,000, which the connections hold to 100 under way, and 100) to a
   server that answers after 50 ms, as a provider across a network would, against the sync way to overlap them:
   ``Mailer.send_many(concurrency=100)``, 100 threads sharing one Mailer. Wall time for the 1,000 and CPU per send, rounds
   interleaved.
"""

from __future__ import annotations

import asyncio
import gc
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

LATENCY = 0.05  # seconds the latency server takes to answer
CONCURRENT = 1000
CONNECTIONS = 100  # the AsyncMailer's per host, and the threads of the sync contender


def case_async(report: Any, base: str, rounds: int, batch: int, bursts: int) -> None:
    import mailspec
    from mailspec import AsyncMailer, Mailer

    from .bench import message, paired

    msg = msgspec.structs.replace(message(), from_name=None)

    def provider(url: str) -> Any:
        return mailspec.provider("cloudmails", api_key="bench-key", base_url=url + "/v1")

    # 1. one send at a time: what a send costs the sender
    sync = Mailer([provider(base)], rate_limit=False)
    loop = asyncio.new_event_loop()
    amailer = AsyncMailer([provider(base)], rate_limit=False)

    async def awaited(n: int) -> None:
        for _ in range(n):
            result = await amailer.send(msg)
            assert result.message_ids == ["m1"]

    def sync_batch() -> None:
        for _ in range(batch):
            assert sync.send(msg).message_ids == ["m1"]

    cpu = _interleaved(
        {
            "Mailer.send (sync), CPU": sync_batch,
            "AsyncMailer.send (awaited), CPU": lambda: loop.run_until_complete(awaited(batch)),
        },
        rounds=rounds,
        per=batch,
    )
    loop.run_until_complete(amailer.aclose())
    loop.close()
    report.add("async", {name: wall_cpu[1] for name, wall_cpu in cpu.items()})
    ratio, low, high = paired(
        cpu["AsyncMailer.send (awaited), CPU"][1], cpu["Mailer.send (sync), CPU"][1]
    )
    report.goals.append(_goal("AsyncMailer.send / Mailer.send, CPU", ratio, low, high, 1.5))

    # 2. a thousand at once against a provider 50 ms away
    with _LatencyServer(LATENCY) as far:
        shared = Mailer([provider(far)], rate_limit=False)
        messages = [msg] * CONCURRENT

        def threads() -> None:
            # its pools grow to the threads, so no connection is discarded and reopened
            outcomes = shared.send_many(messages, concurrency=CONNECTIONS)
            assert all(isinstance(o, mailspec.SendResult) for o in outcomes)

        def one_loop(concurrency: int) -> Callable[[], None]:
            def burst() -> None:
                async def sends() -> None:
                    async with AsyncMailer(
                        [provider(far)], rate_limit=False, connections=CONNECTIONS
                    ) as mailer:
                        outcomes = await mailer.send_many(messages, concurrency=concurrency)
                    assert all(isinstance(o, mailspec.SendResult) for o in outcomes)

                asyncio.run(sends())

            return burst

        threaded = f"{CONCURRENT} sends, Mailer c={CONNECTIONS} (threads)"
        looped = f"{CONCURRENT} sends, AsyncMailer c={CONCURRENT}"
        paced = f"{CONCURRENT} sends, AsyncMailer c={CONNECTIONS}"
        wall_cpu = _interleaved(
            {threaded: threads, looped: one_loop(CONCURRENT), paced: one_loop(CONNECTIONS)},
            rounds=bursts,
            per=1,
            warmup=1,
        )
    for name, (wall, cpu_) in wall_cpu.items():
        report.rows.append(_row(f"{name}, wall", sorted(wall)[len(wall) // 2], "s", len(wall)))
        per_send = [c / CONCURRENT for c in cpu_]
        report.rows.append(_row(f"{name}, CPU/send", sorted(per_send)[len(cpu_) // 2], "us", 0))
    for what, num, index, target in (
        (f"AsyncMailer c={CONCURRENT} / threads, wall", looped, 0, 1.5),
        (f"AsyncMailer c={CONNECTIONS} / threads, wall", paced, 0, 1.1),
        (f"AsyncMailer c={CONCURRENT} / threads, CPU", looped, 1, 1.0),
        (f"AsyncMailer c={CONNECTIONS} / threads, CPU", paced, 1, 1.0),
    ):
        ratio, low, high = paired(wall_cpu[num][index], wall_cpu[threaded][index])
        report.goals.append(_goal(what, ratio, low, high, target))
    # what the connections allow: every connection busy for the whole time
    ideal = CONCURRENT / CONNECTIONS * LATENCY
    for name in (looped, paced):
        walls = wall_cpu[name][0]
        ratio, low, high = paired(walls, [ideal] * len(walls))
        what = (
            f"{name.split(', ')[1]} / ideal ({CONCURRENT} x {LATENCY * 1000:g} ms / {CONNECTIONS})"
        )
        report.goals.append(_goal(what, ratio, low, high, 1.3))
    report.notes.append(
        f"async: {CONCURRENT} sends go to a local server answering after "
        f"{LATENCY * 1000:g} ms (benchmarks/latency_server.py); the AsyncMailer keeps "
        f"{CONNECTIONS} connections, Mailer.send_many runs {CONNECTIONS} threads; "
        f"c={CONCURRENT} (send_many's concurrency) asks for every send at once, and the "
        f"AsyncMailer, its connections fixed at {CONNECTIONS}, keeps as many under way as "
        f"they carry; c={CONNECTIONS} keeps as many under way as the threads do. CPU is "
        "this process's (the servers' is their own)"
    )


def _interleaved(
    contenders: dict[str, Callable[[], object]], *, rounds: int, per: int, warmup: int = 2
) -> dict[str, tuple[list[float], list[float]]]:
    """(wall seconds, CPU seconds) per unit (``per`` of them in one call) for each
    contender, ``rounds`` samples, in a shuffled order each round."""
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    out: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    rng = random.Random(6)
    gc.disable()
    try:
        for _ in range(rounds):
            rng.shuffle(names)
            for name in names:
                gc.collect()
                wall, cpu = time.perf_counter(), time.process_time()
                contenders[name]()
                out[name][0].append((time.perf_counter() - wall) / per)
                out[name][1].append((time.process_time() - cpu) / per)
    finally:
        gc.enable()
    return out


def _row(name: str, value: float, unit: str, n: int) -> Any:
    from .bench import Row

    return Row("async", name, value, unit, n)


def _goal(what: str, ratio: float, low: float, high: float, target: float) -> Any:
    from .bench import Goal

    return Goal("async", what, ratio, "<=", target, low, high)


class _LatencyServer:
    """``benchmarks.latency_server`` in a process of its own (the GIL of the sender is
    not shared with it), stopped by closing its stdin and then by its process id."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.latency_server", str(self.delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
