"""Local servers that behave like each provider, driven by the same specs as the clients.

They check requests against the spec (auth, required fields, formats, limits), answer
with the documented envelopes and codes, keep what they accepted so ``status()`` can
report it, and inject faults on demand. Real HTTP on 127.0.0.1, for the demo and for
tests — yours included::

    with Sandbox(["aurorasendcloud", "cloudmails"]) as sandbox:
        aurora = sandbox["aurorasendcloud"].provider()
        sandbox["cloudmails"].faults.queue("rate_limit", times=2)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from .emulator import Accepted, Outcome
from .faults import Fault, FaultPlan
from .latency import Latency, LatencySetting, parse_latency
from .server import SandboxServer

__all__ = [
    "Accepted",
    "Fault",
    "FaultPlan",
    "Latency",
    "Outcome",
    "Sandbox",
    "SandboxServer",
    "parse_latency",
]


class Sandbox:
    """Several sandbox servers started and stopped together; index by provider name.
    ``latency`` and ``latency_seed`` go to every server (see :class:`SandboxServer`)."""

    def __init__(
        self,
        providers: Iterable[str] | None = None,
        *,
        ports: Mapping[str, int] | None = None,
        slow_seconds: float = 2.0,
        numbers_as_strings: bool = False,
        latency: LatencySetting = None,
        latency_seed: int = 0,
    ) -> None:
        from ..registry import available

        names = list(providers) if providers is not None else available()
        ports = ports or {}
        self.servers = {
            n: SandboxServer(
                n,
                port=ports.get(n, 0),
                slow_seconds=slow_seconds,
                numbers_as_strings=numbers_as_strings,
                latency=latency,
                latency_seed=latency_seed,
            )
            for n in names
        }

    def __getitem__(self, name: str) -> SandboxServer:
        return self.servers[name]

    def __iter__(self) -> Iterator[SandboxServer]:
        return iter(self.servers.values())

    def send_webhooks(self, base_url: str, *, secret: str | None = None) -> None:
        """Every server whose provider posts webhooks posts them to
        ``base_url/<provider>`` from now on (see :meth:`SandboxServer.send_webhooks`)."""
        for server in self.servers.values():
            if server.spec.webhooks is not None:
                server.send_webhooks(f"{base_url.rstrip('/')}/{server.name}", secret=secret)

    def start(self) -> Sandbox:
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
