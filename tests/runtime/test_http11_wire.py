"""Both transports (Transport.send and AsyncHTTP.send) against a raw socket server on
127.0.0.1 that answers as a test tells it: what the differential fuzz cannot show
(timing, the connection's end, reuse) over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from mailspec import MalformedResponseError, TransportError
from mailspec.runtime.async_http import AsyncHTTP
from mailspec.runtime.transport import Answer, Transport

Behaviour = Callable[[socket.socket], None]


class Server:
    """Accepts connections on 127.0.0.1 and runs ``answer(conn)`` for each request
    read (a connection is kept for the next one unless the answer closed it)."""

    def __init__(self, answer: Behaviour) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1/send"
        self.answer, self.connections, self.requests = answer, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            with contextlib.suppress(OSError), conn:
                conn.settimeout(3)
                while not self._stop.is_set() and self._read_request(conn):
                    self.requests += 1
                    self.answer(conn)

    @staticmethod
    def _read_request(conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            body += conn.recv(65536)
        return True

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], Server]]:
    servers: list[Server] = []

    def start(answer: Behaviour) -> Server:
        servers.append(Server(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def sync_send(transport: Transport, url: str) -> Answer:
    return transport.send("POST", url, {"Content-Type": "application/json"}, b"{}")


def async_send(transport: Transport, url: str) -> Answer:
    http = AsyncHTTP()

    async def go() -> Answer:
        try:
            return await http.send(
                transport,
                "POST",
                url,
                {"Content-Type": "application/json"},
                b"{}",
                transport.start(),
            )
        finally:
            http.close()

    return asyncio.run(go())


SENDS = pytest.mark.parametrize("send", [sync_send, async_send], ids=["sync", "async"])


def answering(*parts: bytes, pause: float = 0.0, close: bool = False) -> Behaviour:
    def answer(conn: socket.socket) -> None:
        for part in parts:
            conn.sendall(part)
            time.sleep(pause)
        if close:
            conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    return answer


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@SENDS
def test_a_chunked_answer_in_pieces_is_read_whole(serve, send) -> None:
    server = serve(
        answering(
            OK + b"Transfer-Encoding: chunked\r\n\r\n",
            b'3;x=1\r\n{"a',
            b'\r\n4\r\n":1}\r\n',
            b"0\r\nT: 1\r\n\r\n",
        )
    )
    answer = send(Transport("test", timeout=2.0), server.url)
    assert (answer.status, answer.body, answer.headers["Content-Type"]) == (
        200,
        b'{"a":1}',
        "application/json",
    )


@SENDS
def test_an_answer_read_until_the_close(serve, send) -> None:
    server = serve(answering(OK + b"\r\n", b'{"a":', b"1}", close=True))
    assert send(Transport("test", timeout=2.0), server.url).body == b'{"a":1}'


@SENDS
def test_a_gzip_answer_is_decoded(serve, send) -> None:
    body = gzip.compress(b'{"ok": true}')
    server = serve(
        answering(OK + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    )
    assert send(Transport("test", timeout=2.0), server.url).body == b'{"ok": true}'


@SENDS
def test_100_continue_first_then_the_answer(serve, send) -> None:
    server = serve(answering(b"HTTP/1.1 100 Continue\r\n\r\n", OK + b"Content-Length: 2\r\n\r\n{}"))
    answer = send(Transport("test", timeout=2.0), server.url)
    assert (answer.status, answer.body) == (200, b"{}")


@SENDS
def test_a_trickled_answer_ends_by_the_budget(serve, send) -> None:
    head = OK + b"Content-Length: 100\r\n\r\n"
    server = serve(answering(head, *[b"x"] * 100, pause=0.05))
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        send(Transport("test", timeout=0.5), server.url)
    assert info.value.ambiguous is True
    assert "timed out" in str(info.value) and "0.5 s timeout" in str(info.value)
    assert time.monotonic() - started < 1.5  # each byte comes within the per-read timeout


@SENDS
def test_a_body_cut_short_is_an_ambiguous_dropped_connection(serve, send) -> None:
    server = serve(answering(OK + b'Content-Length: 50\r\n\r\n{"a"', close=True))
    with pytest.raises(TransportError) as info:
        send(Transport("test", timeout=2.0), server.url)
    assert info.value.ambiguous is True
    assert "connection dropped" in str(info.value) and "body" in str(info.value)


@SENDS
def test_a_malformed_answer_is_an_ambiguous_transport_error(serve, send) -> None:
    server = serve(
        answering(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", close=True
        )
    )
    with pytest.raises(TransportError) as info:
        send(Transport("test", timeout=2.0), server.url)
    assert info.value.ambiguous is True
    assert "malformed answer: conflicting Content-Length" in str(info.value)


@SENDS
@pytest.mark.parametrize("framing", ["announced", "chunked"])
def test_an_answer_over_the_cap_is_refused(serve, send, framing) -> None:
    if framing == "announced":
        server = serve(answering(OK + b"Content-Length: 5000\r\n\r\n", close=True))
    else:
        chunk = b"800\r\n" + b"x" * 0x800 + b"\r\n"
        server = serve(
            answering(OK + b"Transfer-Encoding: chunked\r\n\r\n", chunk, chunk, close=True)
        )
    transport = Transport("test", timeout=2.0, max_answer_bytes=3000)
    with pytest.raises(MalformedResponseError) as info:
        send(transport, server.url)
    assert "3,000-byte cap" in str(info.value)
    assert ("announces 5,000 bytes" in str(info.value)) == (framing == "announced")


@SENDS
def test_keep_alive_reuses_one_connection_and_close_does_not(serve, send) -> None:
    transport = Transport("test", timeout=2.0)
    kept = serve(answering(OK + b"Content-Length: 2\r\n\r\n{}"))
    if send is sync_send:  # the async pools live as long as their event loop, one per send here
        for _ in range(3):
            assert send(transport, kept.url).body == b"{}"
        assert (kept.connections, kept.requests) == (1, 3)
    closing = serve(answering(OK + b"Connection: close\r\nContent-Length: 2\r\n\r\n{}"))
    for _ in range(2):
        assert send(transport, closing.url).body == b"{}"
    assert closing.connections == 2


def test_a_keep_alive_connection_the_server_dropped_while_idle_is_replaced(serve) -> None:
    def answer_then_hang_up(conn: socket.socket) -> None:
        conn.sendall(OK + b"Content-Length: 2\r\n\r\n{}")
        conn.shutdown(socket.SHUT_RDWR)

    server = serve(answer_then_hang_up)
    transport = Transport("test", timeout=2.0)
    assert sync_send(transport, server.url).body == b"{}"
    time.sleep(0.1)  # the close has come: urllib3 sees the idle connection dropped
    assert sync_send(transport, server.url).body == b"{}"
    assert server.connections == 2


def test_a_request_on_a_connection_that_closes_unanswered_is_ambiguous(serve) -> None:
    def hang_up(conn: socket.socket) -> None:
        conn.shutdown(socket.SHUT_RDWR)

    server = serve(hang_up)
    with pytest.raises(TransportError) as info:
        sync_send(Transport("test", timeout=2.0), server.url)
    assert info.value.ambiguous is True
    assert "connection dropped: the server closed the connection without an answer" in str(
        info.value
    )
