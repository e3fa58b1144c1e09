"""``AsyncMailer``: the :class:`~mailspec.Mailer`, awaited, over non-blocking sockets.

It runs a Mailer, built from the same arguments, whose ``send()``/``status()`` work
unchanged (validation, the ledger, the strategy, retries with
backoff, the deadline, breakers, rate limits, ``on_ambiguous``, ``on_unsupported``,
``on_attempt``, telemetry), in a greenlet on the event loop's thread
(:mod:`.bridge`). Only the I/O differs: the providers' requests, built and read by the
same client code, go out through :class:`~mailspec.runtime.async_http.AsyncHTTP` on the
running loop, and the Mailer's sleeps (backoff, Retry-After, a rate-limit wait) are
``asyncio.sleep``. No thread is made per send, and other tasks run while a send waits.

The state store's calls (ledger, breakers, rate limiters, pauses) go to a few threads
of the AsyncMailer's own (:data:`STORE_THREADS`), so that a store that waits (a SQLite
file another process holds locked, a Redis server that pauses) holds up the sends that
need it and nothing else on the loop; each call is whole, with the store's own timeout,
and a cancellation waits for it (:func:`.bridge.offload`). The in-process memory store
(the default) answers at once and is called on the loop. Providers that talk SMTP are
refused: smtplib has no non-blocking form.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..checks.arguments import function
from ..errors import ValidationError
from ..message import Message
from ..results import DeliveryStatus, SendResult
from ..runtime.async_http import DEFAULT_CONNECTIONS, AsyncHTTP
from ..runtime.bounds import Budget
from ..runtime.client import BaseClient
from ..runtime.transport import Answer, Transport, through
from ..stores.base import calls_through
from . import bridge
from .breaker import Breaker
from .bulk import Outcome, Progress, messages_of, workers
from .core import Mailer, MailProvider
from .ledger import Ledger
from .store import MemoryStore, StateStore
from .suppressions import SuppressionList
from .timeline import Timeline

if TYPE_CHECKING:
    from ..webhooks.events import Event

__all__ = ["AsyncMailer", "Outcome"]

log = logging.getLogger("mailspec.mailer")

T = TypeVar("T")

DEFAULT_CONCURRENCY = 8  # as Mailer.send_many
STORE_THREADS = 8  # store calls under way at once, each AsyncMailer (others wait for a thread)


class AsyncMailer:
    """A :class:`~mailspec.Mailer` for asyncio code: ``await send()``, ``await
    status()``, ``await send_many()``.

    Takes every parameter :class:`~mailspec.Mailer` takes, with the same meaning, and:

    - ``sleep``: as the Mailer's, but may also be a coroutine function (default
      ``asyncio.sleep``); a plain function is called as it is (a test's fake clock);
    - ``connections``: the most connections open to one provider host, on each event
      loop. By default 10, and as many as :meth:`send_many` has sends under way when
      that is more (as :meth:`Mailer.send_many` keeps ``concurrency`` connections);
      given, a cap that holds whatever the concurrency. A request that finds them all
      busy waits for one until the send's deadline (not its provider's timeout, which
      counts from its turn); one whose turn does not come with time enough left to
      finish is not started (:class:`~mailspec.errors.RequestNotStarted`: a skipped
      attempt, never ambiguous, never a breaker failure).

    :attr:`mailer` is the Mailer it runs: called from sync code, it sends as any
    Mailer does (blocking), sharing this one's breakers, limits and ledger.

    Only HTTP providers (those :func:`mailspec.provider` builds for an HTTP API) can be
    given: an SMTP provider is a ValidationError. One AsyncMailer may serve many
    concurrent tasks, on one loop or on several, one after another (the connections
    of each loop are its own); ``await aclose()`` (or ``async with``) closes the
    running loop's idle connections.
    """

    def __init__(
        self,
        providers: Sequence[MailProvider],
        *,
        sleep: Callable[[float], Awaitable[None] | None] | None = None,
        connections: int | None = None,
        **options: Any,
    ) -> None:
        self._start(sleep, connections)
        self._adopt(Mailer(providers, sleep=self._sleep, **options))

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        sleep: Callable[[float], Awaitable[None] | None] | None = None,
        connections: int | None = None,
        **options: Any,
    ) -> AsyncMailer:
        """An AsyncMailer from the ``MAILSPEC_*`` variables, as :meth:`Mailer.from_env`
        reads them; ``options`` go to the constructor and win."""
        self = cls.__new__(cls)
        self._start(sleep, connections)
        self._adopt(Mailer.from_env(environ, sleep=self._sleep, **options))
        return self

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        sleep: Callable[[float], Awaitable[None] | None] | None = None,
        connections: int | None = None,
        **options: Any,
    ) -> AsyncMailer:
        """An AsyncMailer from a mapping of settings, as :meth:`Mailer.from_config`
        reads it; ``options`` go to the constructor and win."""
        self = cls.__new__(cls)
        self._start(sleep, connections)
        self._adopt(Mailer.from_config(config, sleep=self._sleep, **options))
        return self

    def _start(
        self, sleep: Callable[[float], Awaitable[None] | None] | None, connections: int | None
    ) -> None:
        if connections is not None and (
            not isinstance(connections, int) or isinstance(connections, bool) or connections < 1
        ):
            raise ValidationError("must be a whole number, at least 1", field="connections")
        function(sleep, "sleep")
        self._async_sleep = sleep or asyncio.sleep
        # given, a cap on the sockets; by default, as many as send_many has sends under way
        self._connections_follow = connections is None
        self._http = AsyncHTTP(connections or DEFAULT_CONNECTIONS)
        self._io = _LoopIO(self._http)
        self._threads: ThreadPoolExecutor | None = None  # for store calls, made when needed

    def _adopt(self, mailer: Mailer) -> None:
        """Run ``mailer``, whose providers must all send over HTTP."""
        for key in mailer.providers:
            if not isinstance(getattr(mailer.provider(key), "client", None), BaseClient):
                raise ValidationError(
                    f"{key!r} does not send over HTTP (an SMTP provider?): an AsyncMailer "
                    "sends through HTTP APIs only; use a Mailer for it",
                    field="providers",
                )
        self.mailer = mailer
        # the in-process store answers from a dict, at once; any other may wait (a
        # SQLite lock, a Redis pause), so its calls go to threads, off the loop
        self._store_waits = not isinstance(mailer.store, MemoryStore)

    def __repr__(self) -> str:
        return f"<AsyncMailer {self.mailer.strategy} [{', '.join(self.providers)}]>"

    # --- what the Mailer has --------------------------------------------------------

    @property
    def providers(self) -> list[str]:
        """The providers' keys, in the order given (as :attr:`Mailer.providers`)."""
        return self.mailer.providers

    @property
    def store(self) -> StateStore:
        return self.mailer.store

    @property
    def ledger(self) -> Ledger | None:
        return self.mailer.ledger

    def provider(self, key: str) -> MailProvider:
        return self.mailer.provider(key)

    def breaker(self, key: str) -> Breaker | None:
        return self.mailer.breaker(key)

    # --- sending --------------------------------------------------------------------

    async def send(self, message: Message) -> SendResult:
        """:meth:`Mailer.send`, awaited. Cancelled once a request of it was written,
        the attempt is recorded as ambiguous (the ledger keeps its key as maybe sent,
        so a second send of the key never reaches another provider) and the
        CancelledError goes on."""
        return await self._run(partial(self.mailer.send, message))

    async def status(
        self,
        result: SendResult,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]:
        """:meth:`Mailer.status`, awaited."""
        return await self._run(
            partial(self.mailer.status, result, since=since, until=until, recipient=recipient)
        )

    async def send_many(
        self,
        messages: Iterable[Message],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: Progress | None = None,
    ) -> list[Outcome]:
        """:meth:`Mailer.send_many` on the loop: one outcome per message, in input
        order, its :class:`~mailspec.SendResult` or the exception its send raised (one
        failure never stops the others), ``concurrency`` sends under way at a time
        (tasks, not threads), each under the providers' rate limits as :meth:`send`
        is. Where ``connections`` was given, at most as many sends as the providers'
        connections together carry are under way (``connections`` times the
        providers): one more would only wait for a connection. ``on_progress(done, total, outcome)`` is called after each message (an
        exception it raises is logged and ignored). Cancelling the call cancels the
        sends under way (those already written are recorded as ambiguous, as
        :meth:`send` says) and sends no more."""
        batch = messages_of(messages)
        function(on_progress, "on_progress")
        tasks = workers(concurrency, len(batch))  # a ValidationError before any send
        if self._connections_follow:
            self._http.ensure_connections(tasks)  # as Mailer.send_many grows its pools
        else:
            # a send past what the connections carry would only wait for one, after its
            # checks, claim and encoding: on one loop, that work delays the sends that
            # hold a connection, and the whole batch with them
            tasks = min(tasks, self._http.connections * len(self.providers))
        outcomes: list[Outcome | None] = [None] * len(batch)
        queued = iter(range(len(batch)))  # shared: each index is taken by one worker
        done = 0

        async def worker() -> None:
            nonlocal done
            for index in queued:
                try:
                    outcome: Outcome = await self.send(batch[index])
                except Exception as exc:  # this message's outcome, not the batch's
                    outcome = exc
                outcomes[index] = outcome
                done += 1
                if on_progress is not None:
                    _progress(on_progress, done, len(batch), outcome)

        async with asyncio.TaskGroup() as group:
            for _ in range(tasks):
                group.create_task(worker())
        return cast(list[Outcome], outcomes)  # every worker filled what it took

    # --- after acceptance: as the Mailer's (mailer/delivery.py) ----------------------

    @property
    def suppressions(self) -> SuppressionList:
        """The Mailer's suppression list (its calls are the store's: local, and quick;
        its ``sync()`` asks the providers: await :meth:`sync_suppressions` instead).
        :meth:`send` leaves suppressed recipients out, as :meth:`Mailer.send` does."""
        return self.mailer.suppressions

    async def record(self, events: Iterable[Event]) -> int:
        """:meth:`Mailer.record`, awaited."""
        given = list(events)
        return await self._run(partial(self.mailer.record, given))

    async def timeline(self, result_or_key: SendResult | str) -> Timeline:
        """:meth:`Mailer.timeline`, awaited."""
        return await self._run(partial(self.mailer.timeline, result_or_key))

    async def sync_suppressions(self) -> dict[str, str]:
        """``suppressions.sync()``, awaited: its status lookups go out on the loop."""
        return await self._run(self.mailer.suppressions.sync)

    async def poll(self) -> int:
        """:meth:`Mailer.poll`, awaited: the status lookups go out on the loop."""
        return await self._run(self.mailer.poll)

    async def redeliver_due(self) -> list[SendResult]:
        """:meth:`Mailer.redeliver_due`, awaited: the redeliveries go out on the loop."""
        return await self._run(self.mailer.redeliver_due)

    async def aclose(self) -> None:
        """Close the idle connections this AsyncMailer keeps on the running loop, and
        let its store threads end (store calls under way finish first; later ones
        start new threads)."""
        self._http.close()
        threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=False)

    async def __aenter__(self) -> AsyncMailer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, function: Callable[[], T]) -> T:
        """``function()`` in a greenlet whose requests go out on the running loop."""
        context = contextvars.copy_context()
        context.run(through, self._io)
        if self._store_waits:
            context.run(calls_through, self._store_call)
        return await bridge.run(function, context)

    def _store_call(self, call: Callable[[], T]) -> T:
        """A store call of the Mailer's, in a thread, the loop going on meanwhile. At
        most STORE_THREADS at once: the others queue for a thread."""
        if self._threads is None:
            self._threads = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="mailspec-store")
        return bridge.offload(call, self._threads)

    def _sleep(self, seconds: float) -> None:
        """The Mailer's sleep: awaited on the loop when ``sleep`` is a coroutine
        function; a plain ``time.sleep`` when :attr:`mailer` is called from sync code."""
        pending = self._async_sleep(seconds)
        if not inspect.isawaitable(pending):
            return
        if bridge.inside():
            bridge.wait(pending)
            return
        if inspect.iscoroutine(pending):
            pending.close()  # never awaited: nothing to warn about
        time.sleep(seconds)


class _LoopIO:
    """A transport's requests, from inside :func:`bridge.run`, sent on the loop."""

    def __init__(self, http: AsyncHTTP) -> None:
        self._http = http

    def warm(self, transport: Transport, url: str, budget: Budget) -> None:
        bridge.wait(self._http.warm(transport, url, budget))

    def send(
        self,
        transport: Transport,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
        budget: Budget,
    ) -> Answer:
        return bridge.wait(self._http.send(transport, method, url, headers, body, budget))


def _progress(callback: Progress, done: int, total: int, outcome: Outcome) -> None:
    try:
        callback(done, total, outcome)
    except Exception:
        log.exception("the on_progress callback failed (ignored)")
