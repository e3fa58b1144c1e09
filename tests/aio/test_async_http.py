"""The async HTTP layer keeps the sync transport's bounds and error kinds: each case is
sent once through a Mailer and once through an AsyncMailer (one attempt each) to a raw
server on 127.0.0.1 scripted byte by byte, and both must end alike."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mailspec
from mailspec import AllProvidersFailed, AsyncMailer, Mailer, Message, SendResult

Script = Callable[[socket.socket], None]  # what the server does with one request


class RawServer:
    """A TCP server on 127.0.0.1: for each request on a connection (keep-alive), reads
    it whole and runs ``script`` on the socket; counts connections."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                self.requests += 1
                self.script(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


def answer(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", *extra]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in extra):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


OK = b'{"message_id": "m-1"}'


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    running = RawServer(request.param)
    yield running
    running.close()


def message() -> Message:
    return Message(
        from_email="noreply@example.com", to=["ann@example.org"], subject="Hi", html="<p>x</p>"
    )


def send(via: str, url: str, **provider_options: Any) -> tuple[Any, ...]:
    """One attempt through the chosen Mailer: what it came to."""
    provider_options.setdefault("timeout", 0.5)
    provider_options.setdefault("api_key", "k")
    provider = mailspec.provider("cloudmails", base_url=url, **provider_options)
    options: dict[str, Any] = {"max_attempts": 1, "rate_limit": False}
    try:
        if via == "sync":
            result: SendResult = Mailer([provider], **options).send(message())
        else:
            result = asyncio.run(AsyncMailer([provider], **options).send(message()))
    except AllProvidersFailed as exc:
        (attempt,) = exc.attempts
        error = attempt.error
        return ("failed", type(error).__name__, getattr(error, "ambiguous", None), str(error))
    return ("accepted", result.message_ids)


def both(url: str, **options: Any) -> tuple[Any, ...]:
    sync, looped = send("sync", url, **options), send("async", url, **options)
    assert sync[:3] == looped[:3]  # the same outcome, error class and ambiguity
    return looped


def reply(data: bytes) -> Script:
    return lambda conn: conn.sendall(data)


def trickle(conn: socket.socket) -> None:
    conn.sendall(answer(OK)[: -len(OK)] + b'{"message')  # then a byte every 0.1 s
    for _ in range(20):
        time.sleep(0.1)
        conn.sendall(b" ")


def silent(conn: socket.socket) -> None:
    time.sleep(1.5)


def hang_up(conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def chunked_forever(conn: socket.socket) -> None:
    conn.sendall(answer(b"", "Transfer-Encoding: chunked"))
    chunk = b"x" * 4096
    for _ in range(100):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


@pytest.mark.parametrize("server", [reply(answer(OK))], indirect=True)
def test_accepted_alike(server: RawServer) -> None:
    assert both(server.url) == ("accepted", ["m-1"])
    assert server.connections == 2  # one each


@pytest.mark.parametrize("server", [reply(answer(b"x" * 5000))], indirect=True)
def test_an_announced_answer_over_the_cap_is_refused(server: RawServer) -> None:
    outcome = both(server.url, max_answer_bytes=1000)
    assert outcome[1] == "MalformedResponseError" and outcome[2] is True  # a 2xx to a send
    assert "5,000 bytes" in outcome[3]


@pytest.mark.parametrize("server", [chunked_forever], indirect=True)
def test_a_chunked_answer_is_given_up_on_past_the_cap(server: RawServer) -> None:
    outcome = both(server.url, max_answer_bytes=10_000)
    assert outcome[1] == "MalformedResponseError" and "runs past" in outcome[3]


@pytest.mark.parametrize(
    "server", [reply(answer(gzip.compress(OK), "Content-Encoding: gzip"))], indirect=True
)
def test_a_gzip_answer_is_decoded(server: RawServer) -> None:
    assert both(server.url) == ("accepted", ["m-1"])


@pytest.mark.parametrize("server", [trickle], indirect=True)
def test_a_trickled_answer_ends_by_the_timeout_ambiguously(server: RawServer) -> None:
    started = time.monotonic()
    outcome = send("async", server.url)
    assert time.monotonic() - started < 1.5  # 0.5 s, not 2 s of trickle
    assert outcome[1:3] == ("TransportError", True) and "whole answer" in outcome[3]
    assert both(server.url)[1:3] == ("TransportError", True)


@pytest.mark.parametrize("server", [silent], indirect=True)
def test_a_server_that_never_answers_times_out_ambiguously(server: RawServer) -> None:
    outcome = both(server.url)
    assert outcome[1:3] == ("TransportError", True) and "timed out" in outcome[3]


@pytest.mark.parametrize("server", [hang_up], indirect=True)
def test_a_connection_dropped_after_the_request_is_ambiguous(server: RawServer) -> None:
    assert both(server.url)[1:3] == ("TransportError", True)


@pytest.mark.parametrize("server", [reply(answer(OK, "Connection: close"))], indirect=True)
def test_connection_close_is_honoured_and_the_next_send_reconnects(server: RawServer) -> None:
    provider = mailspec.provider("cloudmails", api_key="k", base_url=server.url, timeout=2)

    async def twice() -> list[SendResult]:
        mailer = AsyncMailer([provider], rate_limit=False)
        return [await mailer.send(message()), await mailer.send(message())]

    results = asyncio.run(twice())
    assert [r.message_ids for r in results] == [["m-1"], ["m-1"]]
    assert [len(r.attempts) for r in results] == [1, 1]  # no failed attempt in between
    assert server.connections == 2


@pytest.mark.parametrize("server", [reply(answer(OK))], indirect=True)
def test_a_kept_connection_is_reused(server: RawServer) -> None:
    provider = mailspec.provider("cloudmails", api_key="k", base_url=server.url, timeout=2)

    async def thrice() -> None:
        mailer = AsyncMailer([provider], rate_limit=False)
        for _ in range(3):
            await mailer.send(message())

    asyncio.run(thrice())
    assert server.requests == 3 and server.connections == 1


def answer_then_hang_up_idle(conn: socket.socket) -> None:
    conn.sendall(answer(OK))  # keep-alive, as far as the client knows
    time.sleep(0.1)
    conn.shutdown(socket.SHUT_RDWR)  # the server's idle timeout


@pytest.mark.parametrize("server", [answer_then_hang_up_idle], indirect=True)
def test_a_connection_the_server_closed_while_idle_is_not_reused(server: RawServer) -> None:
    provider = mailspec.provider("cloudmails", api_key="k", base_url=server.url, timeout=2)

    async def apart() -> list[SendResult]:
        mailer = AsyncMailer([provider], rate_limit=False)
        first = await mailer.send(message())
        await asyncio.sleep(0.4)  # the server has closed the connection by now
        return [first, await mailer.send(message())]

    results = asyncio.run(apart())
    assert [len(r.attempts) for r in results] == [1, 1]  # no failed attempt in between
    assert server.connections == 2 and server.requests == 2


def test_a_refused_connection_is_not_ambiguous() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        outcome = both(f"http://127.0.0.1:{sock.getsockname()[1]}/v1")
    assert outcome[1:3] == ("TransportError", False) and "could not connect" in outcome[3]


@pytest.mark.parametrize("server", [reply(answer(OK))], indirect=True)
def test_a_header_value_that_cannot_be_sent_is_refused_before_writing(server: RawServer) -> None:
    """A key HTTP cannot carry (not Latin-1) in the Authorization header: refused
    before a byte goes out, not ambiguously, by both, and the error chains to nothing
    that could echo the key."""
    key = "ключ-secret"
    outcome = both(server.url, api_key=key)
    assert outcome[1:3] == ("TransportError", False) and "cannot be sent" in outcome[3]
    provider = mailspec.provider("cloudmails", api_key=key, base_url=server.url, timeout=2)
    with pytest.raises(AllProvidersFailed) as caught:
        asyncio.run(AsyncMailer([provider], max_attempts=1).send(message()))
    chain: list[BaseException] = []
    error: BaseException | None = caught.value.attempts[0].error
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert chain and all(key not in str(e) and "ключ" not in str(e) for e in chain)
    assert server.requests == 0
