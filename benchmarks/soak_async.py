"""The chaos soak of benchmarks/soak.py through an :class:`~mailspec.AsyncMailer`:
every message sent concurrently on one event loop (``send_many``), the same faults at
random, reconciled by the same checks against what each sandbox holds."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any, Literal

from mailspec import AsyncMailer
from mailspec.sandbox import Fault, Sandbox

from .soak import (
    DEFAULT_RATES,
    PROVIDERS,
    SoakReport,
    _settle,
    reconcile,
    soak_message,
    soak_options,
)


def run_async_soak(
    messages: int = 2000,
    *,
    concurrency: int = 32,
    on_ambiguous: Literal["stop", "failover"] = "stop",
    seed: int = 7,
    rates: dict[Fault | str, float] | None = None,
    timeout: float = 0.3,
    slow_seconds: float = 0.45,
    rate_limit: bool = True,
) -> SoakReport:
    report = SoakReport(on_ambiguous, messages, concurrency)
    with Sandbox(list(PROVIDERS), slow_seconds=slow_seconds) as sandbox:
        for n, server in enumerate(sandbox):
            server.faults.randomly(rates if rates is not None else DEFAULT_RATES, seed=seed + n)
        mailer = AsyncMailer(
            [server.provider(timeout=timeout) for server in sandbox],
            **soak_options(on_ambiguous, rate_limit),
        )

        async def everything() -> list[Any]:
            async with mailer:
                return await mailer.send_many(
                    [soak_message(i) for i in range(messages)], concurrency=concurrency
                )

        started = time.monotonic()
        outcomes = asyncio.run(everything())
        report.seconds = time.monotonic() - started
        _settle(sandbox, slow_seconds)
        held: dict[str, list[str]] = defaultdict(list)
        for server in sandbox:
            for record in server.accepted:
                held[record.recipient].append(server.name)
            report.faults[server.name] = {
                f.value: n for f, n in server.faults.injected.items() if n
            }
        reconcile(report, outcomes, held, mailer.mailer)
    return report
