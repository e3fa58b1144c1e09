"""AsyncMailer against the sandbox over real HTTP on 127.0.0.1: the Mailer's outcomes
for the same faults, send_many, bounded connections, cancellation, TLS. Each test
runs its own event loop (``asyncio.run``); only time and randomness are faked."""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from time_support import FakeClock

import mailspec
from mailspec import AllProvidersFailed, AsyncMailer, Attempt, Mailer, Message, SendResult
from mailspec.sandbox import Fault, Sandbox

NAMES = ["cloudmails", "sendcloud"]  # CloudMails cannot be asked again; SendCloud dedupes


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 30))  # a hung test fails, not hangs


def message(i: int = 0, **fields: Any) -> Message:
    return Message(
        from_email="noreply@example.com",
        to=[f"user{i}@example.org"],
        subject="Hi",
        html="<p>x</p>",
        **fields,
    )


def held(sandbox: Sandbox) -> dict[str, int]:
    return {server.name: len(server.accepted) for server in sandbox}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(NAMES, slow_seconds=0.6) as running:
        yield running


def async_mailer(
    sandbox: Sandbox, names: list[str] | None = None, timeout: float = 0.3, **options: Any
) -> AsyncMailer:
    clock = options.pop("clock", FakeClock())
    providers = [sandbox[n].provider(timeout=timeout) for n in names or NAMES]
    return AsyncMailer(
        providers, clock=clock, sleep=clock.sleep, random=random.Random(7), **options
    )


def test_send_is_accepted(sandbox: Sandbox) -> None:
    mailer = async_mailer(sandbox)
    result = run(mailer.send(message()))
    assert isinstance(result, SendResult) and result.provider == "cloudmails"
    assert result.message_ids == [sandbox["cloudmails"].accepted[0].message_id]
    assert [(a.provider, a.outcome) for a in result.attempts] == [("cloudmails", "accepted")]
    assert held(sandbox) == {"cloudmails": 1, "sendcloud": 0}


def test_status_asks_the_provider_that_accepted(sandbox: Sandbox) -> None:
    mailer = async_mailer(sandbox)

    async def both() -> list[mailspec.DeliveryStatus]:
        return await mailer.status(await mailer.send(message()))

    (status,) = run(both())
    assert status.provider == "cloudmails" and status.state is mailspec.DeliveryState.DELIVERED


def test_fails_over_when_the_first_provider_is_down(sandbox: Sandbox) -> None:
    with socket.socket() as sock:  # bound, not listening: a refused connect
        sock.bind(("127.0.0.1", 0))
        down = mailspec.provider(
            "cloudmails", api_key="k", base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        )
        clock = FakeClock()
        mailer = AsyncMailer(
            [down, sandbox["sendcloud"].provider()], clock=clock, sleep=clock.sleep
        )
        result = run(mailer.send(message()))
    assert result.provider == "sendcloud"
    refused = [a for a in result.attempts if a.provider == "cloudmails"]
    assert len(refused) == 3 and all(a.error is not None for a in refused)
    assert all("could not connect" in str(a.error) for a in refused)
    assert held(sandbox)["sendcloud"] == 1


def test_retries_carry_one_idempotency_key(sandbox: Sandbox) -> None:
    """An unreadable answer at SendCloud, which deduplicates: sent again with the same
    key, it holds the message once."""
    sandbox["sendcloud"].faults.queue(Fault.GARBAGE)
    mailer = async_mailer(sandbox, ["sendcloud", "cloudmails"])
    result = run(mailer.send(message()))
    assert result.provider == "sendcloud"
    assert [a.outcome for a in result.attempts][:1] == ["failed"]
    (row,) = sandbox["sendcloud"].accepted
    assert row.params["send_request_id"] == result.idempotency_key
    assert sandbox["sendcloud"].requests == 2 and held(sandbox)["cloudmails"] == 0


# --- the same faults, the same outcomes as the sync Mailer -------------------------------


@dataclass(frozen=True)
class Case:
    faults: dict[str, list[Fault]]
    names: tuple[str, ...] = tuple(NAMES)
    on_ambiguous: str = "stop"


CASES = {
    "accepted": Case({}),
    "server errors, failover": Case({"cloudmails": [Fault.SERVER_ERROR] * 3}),
    "one server error, retried": Case({"cloudmails": [Fault.SERVER_ERROR]}),
    "rate limited, failover": Case({"cloudmails": [Fault.RATE_LIMIT] * 3}),
    "dropped before reading": Case({"cloudmails": [Fault.DROP_BEFORE]}),
    "dropped after accepting: stop": Case({"cloudmails": [Fault.DROP_AFTER]}),
    "garbage answer: stop": Case({"cloudmails": [Fault.GARBAGE]}),
    "timed out: stop": Case({"cloudmails": [Fault.SLOW]}),
    "garbage answer: failover": Case({"cloudmails": [Fault.GARBAGE]}, on_ambiguous="failover"),
    "ambiguous where it dedupes": Case(
        {"sendcloud": [Fault.DROP_AFTER]}, names=("sendcloud", "cloudmails")
    ),
    "everything down": Case(
        {"cloudmails": [Fault.SERVER_ERROR] * 3, "sendcloud": [Fault.SERVER_ERROR] * 3}
    ),
}


def outcome_of(send: Callable[[], Any]) -> tuple[Any, ...]:
    """What a send came to, comparable between the two Mailers."""
    try:
        result = send()
    except AllProvidersFailed as exc:
        return ("failed", exc.ambiguous, attempts_of(exc.attempts))
    return ("accepted", result.provider, attempts_of(result.attempts))


def attempts_of(attempts: list[Attempt]) -> list[tuple[Any, ...]]:
    return [
        (
            a.provider,
            a.outcome,
            type(a.error).__name__ if a.error else None,
            getattr(a.error, "ambiguous", None),
        )
        for a in attempts
    ]


def send_with(flavour: str, providers: list[Any], options: dict[str, Any]) -> tuple[Any, ...]:
    if flavour == "sync":
        mailer = Mailer(providers, **options)
        return outcome_of(lambda: mailer.send(message()))
    async_one = AsyncMailer(providers, **options)
    return outcome_of(lambda: run(async_one.send(message())))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_same_outcome_as_the_sync_mailer(case: Case) -> None:
    seen = []
    for flavour in ("sync", "async"):
        with Sandbox(case.names, slow_seconds=0.6) as sandbox:
            for name, faults in case.faults.items():
                for fault in faults:
                    sandbox[name].faults.queue(fault)
            clock = FakeClock()
            options: dict[str, Any] = {
                "clock": clock,
                "sleep": clock.sleep,
                "random": random.Random(7),
                "on_ambiguous": case.on_ambiguous,
            }
            providers = [sandbox[n].provider(timeout=0.3) for n in case.names]
            outcome = send_with(flavour, providers, options)
            seen.append((outcome, held(sandbox), sorted(clock.sleeps)))
    assert seen[0] == seen[1]


# --- send_many ---------------------------------------------------------------------------


def test_send_many_keeps_order_and_isolates_failures(sandbox: Sandbox) -> None:
    mailer = async_mailer(sandbox, ["cloudmails"])
    messages = [message(i) for i in range(30)]
    messages[7] = Message(from_email="not an address", to=["a@example.org"], html="<p>x</p>")
    messages[19] = message(19, idempotency_key="taken")
    progress: list[tuple[int, int, Any]] = []

    async def many() -> list[Any]:
        await mailer.send(message(19, idempotency_key="taken"))  # a replay, not a failure
        return await mailer.send_many(
            messages, concurrency=8, on_progress=lambda d, t, o: progress.append((d, t, o))
        )

    outcomes = run(many())
    assert len(outcomes) == 30
    assert isinstance(outcomes[7], mailspec.ValidationError)
    assert isinstance(outcomes[19], SendResult) and outcomes[19].replayed
    by_id = {row.message_id: row.recipient for row in sandbox["cloudmails"].accepted}
    for i, outcome in enumerate(outcomes):
        if i not in (7, 19):
            assert isinstance(outcome, SendResult)
            assert by_id[outcome.message_ids[0]] == f"user{i}@example.org"  # in input order
    assert [(d, t) for d, t, _ in progress] == [(d, 30) for d in range(1, 31)]
    assert sorted(map(id, outcomes)) == sorted(id(o) for _, _, o in progress)


def test_send_many_one_ambiguous_send_does_not_stop_the_others(sandbox: Sandbox) -> None:
    sandbox["cloudmails"].faults.queue(Fault.DROP_AFTER)
    mailer = async_mailer(sandbox, ["cloudmails"])
    outcomes = run(mailer.send_many([message(i) for i in range(10)], concurrency=1))
    assert isinstance(outcomes[0], AllProvidersFailed) and outcomes[0].ambiguous
    assert all(isinstance(o, SendResult) for o in outcomes[1:])
    assert held(sandbox)["cloudmails"] == 10  # the dropped one was accepted too


class CountingProxy:
    """A TCP relay on 127.0.0.1, on the test's loop, counting the connections made
    through it (in all, and open at once)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.total = self.open = self.most_open = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.total += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except ConnectionError:
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self.open -= 1


def test_concurrent_sends_on_one_loop_keep_to_the_documented_rate() -> None:
    """AuroraSendCloud documents 3,000 a minute: a bucket of 50 tokens refilled at 50/s.
    110 sends started at once on one loop wait for tokens (asyncio.sleep, the real
    clock), take over a second, and no second at the server holds more than the burst
    plus one second's refill."""
    with Sandbox(["aurorasendcloud"]) as sandbox:
        aurora = sandbox["aurorasendcloud"]

        async def sends() -> list[Any]:
            async with AsyncMailer([aurora.provider()], rate_limit_wait=5.0) as mailer:
                return await mailer.send_many([message(i) for i in range(110)], concurrency=110)

        started = time.monotonic()
        outcomes = run(sends())
        took = time.monotonic() - started
        assert [type(o).__name__ for o in outcomes] == ["SendResult"] * 110
        assert took >= (110 - 50) / 50 * 0.9
        times = sorted(a.accepted_at.timestamp() for a in aurora.accepted)
        busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times)
        assert busiest <= 50 + 50 + 3  # a few for the time between a token and its request


def test_200_concurrent_sends_use_a_bounded_number_of_connections(sandbox: Sandbox) -> None:
    server = sandbox["cloudmails"]
    proxy = CountingProxy(server.port)

    async def burst() -> list[Any]:
        port = await proxy.start()
        provider = mailspec.provider(
            "cloudmails", base_url=f"http://127.0.0.1:{port}/v1", timeout=10, **server.credentials
        )
        async with AsyncMailer([provider], connections=4, rate_limit=False) as mailer:
            outcomes = await mailer.send_many([message(i) for i in range(200)], concurrency=200)
        proxy.server.close()
        return outcomes

    outcomes = run(burst())
    assert all(isinstance(o, SendResult) for o in outcomes)
    assert held(sandbox)["cloudmails"] == 200
    assert proxy.most_open <= 4 and proxy.total <= 4  # kept alive and reused
    assert proxy.total >= 2  # and used concurrently


def test_no_thread_is_used_for_the_sends(sandbox: Sandbox) -> None:
    """The sends run on the loop's thread: the loop never made its default executor
    (what run_in_executor and asyncio.to_thread use)."""

    async def sends() -> tuple[list[Any], Any]:
        mailer = async_mailer(sandbox, timeout=5)
        outcomes = await mailer.send_many([message(i) for i in range(20)], concurrency=20)
        return outcomes, getattr(asyncio.get_running_loop(), "_default_executor", "unknown")

    outcomes, executor = run(sends())
    assert all(isinstance(o, SendResult) for o in outcomes)
    assert executor is None


# --- cancellation ------------------------------------------------------------------------


def test_cancelled_after_the_request_was_written_is_ambiguous(sandbox: Sandbox) -> None:
    """Cancelled while CloudMails (which cannot be asked) takes its time: the attempt is
    recorded ambiguous, and a second send of the key goes nowhere else."""
    server = sandbox["cloudmails"]
    server.slow_seconds = 1.0
    server.faults.queue(Fault.SLOW)
    attempts: list[Attempt] = []
    mailer = async_mailer(sandbox, timeout=5, on_attempt=attempts.append)

    async def cancel_in_flight() -> None:
        task = asyncio.create_task(mailer.send(message(idempotency_key="cut")))
        for _ in range(200):  # until the server has the request (2 s at most)
            if server.requests:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancel_in_flight())
    (attempt,) = attempts
    assert attempt.outcome == "failed" and attempt.error is not None and attempt.error.ambiguous
    assert "cancelled after the request was written" in str(attempt.error)
    with pytest.raises(AllProvidersFailed) as again:
        run(mailer.send(message(idempotency_key="cut")))
    assert again.value.ambiguous and "cannot be asked" in str(again.value)
    assert sandbox["sendcloud"].requests == 0


def test_cancelled_before_writing_gives_the_key_back(sandbox: Sandbox) -> None:
    """Cancelled while waiting for the only connection: nothing went out, so the key is
    free and a later send goes out normally."""
    server = sandbox["cloudmails"]
    server.slow_seconds = 0.5
    server.faults.queue(Fault.SLOW)
    mailer = async_mailer(sandbox, ["cloudmails"], timeout=5, connections=1)

    async def cancel_waiting() -> SendResult:
        busy = asyncio.create_task(mailer.send(message(1)))
        for _ in range(200):
            if server.requests:
                break
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(mailer.send(message(2, idempotency_key="queued")))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await busy
        return await mailer.send(message(2, idempotency_key="queued"))

    result = run(cancel_waiting())
    assert result.replayed is False and result.provider == "cloudmails"
    assert server.requests == 2 and held(sandbox)["cloudmails"] == 2


# --- TLS and what is refused -------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_url(ca: trustme.CA) -> Iterator[tuple[str, list[str]]]:
    """An https server on 127.0.0.1 answering like CloudMails, its certificate signed
    by a private CA."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.path)
            body = b'{"message_id": "tls-1"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/v1", hits
    httpd.shutdown()
    httpd.server_close()


def test_an_untrusted_certificate_is_refused_before_anything_is_sent(https_url) -> None:
    url, hits = https_url
    provider = mailspec.provider("cloudmails", api_key="k", base_url=url, timeout=2)
    mailer = AsyncMailer([provider], max_attempts=1)
    with pytest.raises(AllProvidersFailed) as caught:
        run(mailer.send(message()))
    (attempt,) = caught.value.attempts
    assert isinstance(attempt.error, mailspec.TransportError)
    assert not attempt.error.ambiguous and "TLS failure" in str(attempt.error)
    assert hits == []


def test_a_trusted_ca_is_honoured(https_url, ca: trustme.CA) -> None:
    url, hits = https_url
    with ca.cert_pem.tempfile() as bundle:
        provider = mailspec.provider(
            "cloudmails", api_key="k", base_url=url, timeout=2, ca_certs=bundle
        )
        result = run(AsyncMailer([provider]).send(message()))
    assert result.message_ids == ["tls-1"] and hits == ["/v1/send"]


def test_a_certificate_for_another_host_is_refused(https_url, ca: trustme.CA) -> None:
    url, hits = https_url  # its certificate names 127.0.0.1 only
    with ca.cert_pem.tempfile() as bundle:
        provider = mailspec.provider(
            "cloudmails",
            api_key="k",
            base_url=url.replace("127.0.0.1", "localhost"),
            timeout=2,
            ca_certs=bundle,
        )
        with pytest.raises(AllProvidersFailed) as caught:
            run(AsyncMailer([provider], max_attempts=1).send(message()))
    (attempt,) = caught.value.attempts
    assert "TLS failure" in str(attempt.error) and not caught.value.ambiguous
    assert hits == []


def test_an_smtp_provider_is_refused() -> None:
    with Sandbox(["aurorasendcloud"]) as sandbox:
        smtp = sandbox["aurorasendcloud"].provider(
            transport="smtp", smtp_host="127.0.0.1", smtp_port=2525, starttls=False
        )
        with pytest.raises(mailspec.ValidationError) as caught:
            AsyncMailer([smtp])
    assert caught.value.field == "providers" and "SMTP" in str(caught.value)


def test_its_mailer_serves_sync_code_too(sandbox: Sandbox) -> None:
    """The Mailer an AsyncMailer runs, called from sync code: the sync transport, and
    its backoff slept with time.sleep although the AsyncMailer's sleep is asyncio's."""
    sandbox["cloudmails"].faults.queue(Fault.SERVER_ERROR)
    providers = [sandbox[n].provider(timeout=0.3) for n in NAMES]
    mailer = AsyncMailer(providers, backoff=0.01, backoff_max=0.01)
    result = mailer.mailer.send(message())
    assert [(a.provider, a.outcome) for a in result.attempts] == [
        ("cloudmails", "failed"),
        ("cloudmails", "accepted"),
    ]
    assert run(mailer.send_many([])) == []


def test_two_concurrent_sends_of_one_key_send_once(sandbox: Sandbox) -> None:
    sandbox["cloudmails"].slow_seconds = 0.3
    sandbox["cloudmails"].faults.queue(Fault.SLOW)
    mailer = async_mailer(sandbox, timeout=2)

    async def both() -> list[Any]:
        first = asyncio.create_task(mailer.send(message(idempotency_key="once")))
        await asyncio.sleep(0.1)  # the first holds the key now
        second = await asyncio.gather(
            mailer.send(message(idempotency_key="once")), return_exceptions=True
        )
        return [await first, *second]

    first, second = run(both())
    assert isinstance(first, SendResult)
    assert isinstance(second, mailspec.SendInProgress)
    assert held(sandbox) == {"cloudmails": 1, "sendcloud": 0}


def test_without_the_extra_the_import_says_what_to_install() -> None:
    import subprocess
    import sys

    probe = (
        "import sys; sys.modules['greenlet'] = None\n"
        "import mailspec\n"
        "try:\n"
        "    mailspec.AsyncMailer\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "greenlet" in out and "mailspec[async]" in out


def test_from_env_reads_the_same_variables(sandbox: Sandbox) -> None:
    env = {
        "MAILSPEC_PROVIDERS": f"{sandbox['sendcloud'].url}, {sandbox['cloudmails'].url}",
        "MAILSPEC_DEADLINE": "5",
    }
    mailer = AsyncMailer.from_env(env, connections=2)
    assert mailer.providers == ["sendcloud", "cloudmails"] and mailer.mailer.deadline == 5.0
    assert run(mailer.send(message())).provider == "sendcloud"
    from_config = AsyncMailer.from_config({"providers": [sandbox["cloudmails"].url]})
    assert run(from_config.send(message())).provider == "cloudmails"
    with pytest.raises(mailspec.ConfigError) as caught:
        AsyncMailer.from_env(
            {"MAILSPEC_PROVIDERS": sandbox["cloudmails"].url, "MAILSPEC_DEADLINE": "x"}
        )
    assert caught.value.field == "MAILSPEC_DEADLINE"


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_bad_connections_and_concurrency_are_validation_errors(sandbox: Sandbox, bad: Any) -> None:
    providers = [sandbox["cloudmails"].provider()]
    with pytest.raises(mailspec.ValidationError) as caught:
        AsyncMailer(providers, connections=bad)
    assert caught.value.field == "connections"
    with pytest.raises(mailspec.ValidationError) as caught:
        run(AsyncMailer(providers).send_many([message()], concurrency=bad))
    assert caught.value.field == "concurrency"
    assert sandbox["cloudmails"].requests == 0


def test_an_asyncio_timeout_around_a_send_is_a_timeout_error(sandbox: Sandbox) -> None:
    """The caller's asyncio.timeout() still turns its cancellation into TimeoutError
    (the cancellation goes on as asyncio's own), and the attempt is ambiguous."""
    server = sandbox["cloudmails"]
    server.slow_seconds = 1.0
    server.faults.queue(Fault.SLOW)
    attempts: list[Attempt] = []
    mailer = async_mailer(sandbox, timeout=5, on_attempt=attempts.append)

    async def bounded() -> None:
        async with asyncio.timeout(0.3):
            await mailer.send(message(idempotency_key="bounded"))

    with pytest.raises(TimeoutError):
        run(bounded())
    assert [(a.outcome, a.error is not None and a.error.ambiguous) for a in attempts] == [
        ("failed", True)
    ]
    assert mailer.ledger is not None and mailer.ledger.lookup("bounded") is not None


def test_a_cancelled_send_many_cancels_as_asyncio_does(sandbox: Sandbox) -> None:
    """send_many inside a TaskGroup whose other task fails: the sends under way are
    cancelled, and the group raises the other task's error, not one about them."""
    server = sandbox["cloudmails"]
    server.slow_seconds = 1.0
    server.faults.randomly({Fault.SLOW: 1.0})
    mailer = async_mailer(sandbox, timeout=5)

    async def failing() -> None:
        await asyncio.sleep(0.3)
        raise KeyError("boom")

    async def group() -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(mailer.send_many([message(i) for i in range(4)], concurrency=4))
            tasks.create_task(failing())

    with pytest.raises(ExceptionGroup) as caught:
        run(group())
    assert [type(e) for e in caught.value.exceptions] == [KeyError]
