"""Bounds on what a server at ``base_url`` can make a send cost: an answer's size (an
endless chunked answer, a huge ``Content-Length``), its shape (JSON nested 100,000
levels deep) and its time (an answer trickled a few bytes a second). Each ends in a
typed error whose ``ambiguous`` says whether the provider may have accepted the
message, within a bound on memory or time, and is recorded as such on a Mailer's
attempt. Raw-socket servers on 127.0.0.1; every server loop stops by itself."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from reliability_support import RawListener, plain_message, read_request

import mailspec
from mailspec import AllProvidersFailed, MalformedResponseError, TransportError, ValidationError
from mailspec.deadline import within
from mailspec.runtime.bounds import MAX_READ_ANSWER, MAX_SEND_ANSWER

Behaviour = Callable[[socket.socket, threading.Event], None]

AURORA_OK = json.dumps(
    {"result": True, "statusCode": 200, "message": "ok", "info": {"emailIdList": ["b-1"]}},
    separators=(",", ":"),
).encode()
MB = 1 << 20


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], RawListener]]:
    """``serve(behaviour)``: a RawListener running ``behaviour`` per connection."""
    servers: list[RawListener] = []

    def start(behaviour: Behaviour) -> RawListener:
        servers.append(RawListener(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _provider(name: str, url: str, **options: Any) -> Any:
    """``name``'s provider at ``url``; ``timeout=5`` unless ``options`` say otherwise."""
    credentials = {"api_key": "k"} if name == "cloudmails" else {"api_user": "u", "api_key": "k"}
    base = url + "v1" if name == "cloudmails" else url
    return mailspec.provider(name, base_url=base, **{"timeout": 5, **credentials, **options})


def _mailer(*providers: Any, deadline: float = 30.0) -> mailspec.Mailer:
    return mailspec.Mailer(
        list(providers), deadline=deadline, backoff=0.0, backoff_max=0.0, rate_limit=False
    )


def _peak(call: Callable[[], object]) -> tuple[BaseException, int]:
    """What ``call`` raised, and the peak of Python memory allocated meanwhile."""
    tracemalloc.start()
    try:
        call()
    except BaseException as exc:  # the test asserts what it is
        error = exc
    else:
        raise AssertionError("expected an error")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return error, peak


# --- size ------------------------------------------------------------------------------


def _endless_chunked(status: int = 200, limit: int = 512 * MB) -> Behaviour:
    """Answer with chunk after chunk of JSON-looking bytes; stops after ``limit`` bytes
    (far past any cap), when the client hangs up or when the server is closed."""
    chunk = b"[" * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = 0
        while sent < limit and not stop.is_set():
            conn.sendall(frame)  # raises once the client has closed: the loop ends
            sent += len(chunk)

    return behaviour


def _announcing(length: int, status: int = 200) -> Behaviour:
    """Announce a ``length``-byte body, send a little of it and wait."""

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
            + b"[" * 4096
        )
        stop.wait(5)

    return behaviour


@pytest.mark.parametrize("name", ["aurorasendcloud", "cloudmails"])
def test_an_endless_chunked_answer_to_a_send_stops_at_the_cap(serve, name) -> None:
    server = serve(_endless_chunked())
    provider = _provider(name, server.url)
    started = time.monotonic()
    error, peak = _peak(lambda: provider.send(plain_message()))
    elapsed = time.monotonic() - started
    assert isinstance(error, MalformedResponseError), error
    assert error.ambiguous is True  # a 2xx to a send: it may have been accepted
    assert error.http_status == 200
    assert "1,048,576-byte cap" in str(error)
    assert peak < MAX_SEND_ANSWER + 3 * MB, peak
    assert elapsed < 5


def test_an_endless_chunked_status_page_stops_at_the_read_cap(serve) -> None:
    server = serve(_endless_chunked())
    provider = _provider("aurorasendcloud", server.url)
    error, peak = _peak(lambda: provider.status(["id-1"]))
    assert isinstance(error, MalformedResponseError), error
    assert error.ambiguous is False  # a GET changes nothing
    assert f"{MAX_READ_ANSWER:,}-byte cap" in str(error)
    assert MAX_SEND_ANSWER < peak < MAX_READ_ANSWER + 3 * MB, peak


@pytest.mark.parametrize(("status", "ambiguous"), [(200, True), (502, False)])
def test_a_huge_content_length_is_refused_before_reading(serve, status, ambiguous) -> None:
    server = serve(_announcing(1 << 30, status))
    provider = _provider("cloudmails", server.url)
    started = time.monotonic()
    error, peak = _peak(lambda: provider.send(plain_message()))
    elapsed = time.monotonic() - started
    assert isinstance(error, MalformedResponseError), error
    assert error.ambiguous is ambiguous  # an error status: the provider did not take it
    assert error.http_status == status
    assert "announces 1,073,741,824 bytes" in str(error)
    assert peak < 2 * MB, peak  # nothing of the body was read, let alone a gigabyte
    assert elapsed < 1  # no waiting for a body that is not coming


def test_an_endless_answer_through_a_mailer_is_recorded_and_not_sent_elsewhere(serve) -> None:
    endless = serve(_endless_chunked())
    hits: list[bytes] = []

    def ok(conn: socket.socket, stop: threading.Event) -> None:
        hits.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    other = serve(ok)
    # CloudMails first: it does not deduplicate, so an ambiguous send is not sent again
    mailer = _mailer(_provider("cloudmails", endless.url), _provider("aurorasendcloud", other.url))
    error, peak = _peak(lambda: mailer.send(plain_message()))
    assert isinstance(error, AllProvidersFailed), error
    assert error.ambiguous is True
    [attempt] = error.attempts  # one send, no retry, no failover: it may have gone out
    assert attempt.provider == "cloudmails" and attempt.outcome == "failed"
    assert isinstance(attempt.error, MalformedResponseError) and attempt.error.ambiguous
    assert peak < MAX_SEND_ANSWER + 3 * MB, peak
    assert hits == []


def test_max_answer_bytes_moves_the_cap(serve) -> None:
    """A chunked answer under the cap is read whole; one byte over it is refused."""
    body = json.dumps({"message_id": "m-1", "pad": "x" * 5000}).encode()

    def chunked(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(body), 1000):
                part = body[i : i + 1000]
                conn.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            conn.sendall(b"0\r\n\r\n")

    server = serve(chunked)
    fits = _provider("cloudmails", server.url, max_answer_bytes=len(body))
    assert fits.send(plain_message()).message_ids == ["m-1"]
    assert fits.send(plain_message()).message_ids == ["m-1"]  # the connection was kept
    tight = _provider("cloudmails", server.url, max_answer_bytes=len(body) - 1)
    with pytest.raises(MalformedResponseError) as info:
        tight.send(plain_message())
    assert info.value.ambiguous is True
    via_url = mailspec.provider_from_url(
        f"cloudmails://k@?base_url={server.url}v1&max_answer_bytes={len(body) - 1}"
    )
    with pytest.raises(MalformedResponseError):
        via_url.send(plain_message())


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1024", None])
def test_max_answer_bytes_is_checked_when_the_provider_is_built(value) -> None:
    if value is None:  # the default
        mailspec.provider("cloudmails", api_key="k", max_answer_bytes=value)
        return
    with pytest.raises(ValidationError) as info:
        mailspec.provider("cloudmails", api_key="k", max_answer_bytes=value)
    assert info.value.field == "max_answer_bytes"


# --- shape -----------------------------------------------------------------------------

DEEP = b'{"code": 200, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _answering(body: bytes, status: int = 200) -> Behaviour:
    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set() and read_request(conn):
            conn.sendall(
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    return behaviour


@pytest.mark.parametrize("name", ["aurorasendcloud", "cloudmails"])
def test_a_deeply_nested_2xx_to_a_send_is_malformed_and_ambiguous(serve, name) -> None:
    """aurorasendcloud reads its code from the body (the envelope decode fails),
    cloudmails from the HTTP status (the response decode fails)."""
    server = serve(_answering(DEEP))
    with pytest.raises(MalformedResponseError) as info:
        _provider(name, server.url).send(plain_message())
    assert info.value.ambiguous is True
    assert info.value.http_status == 200
    assert "recursion" in str(info.value)


def test_a_deeply_nested_status_page_is_malformed_not_ambiguous(serve) -> None:
    server = serve(_answering(DEEP))
    with pytest.raises(MalformedResponseError) as info:
        _provider("aurorasendcloud", server.url).status(["id-1"])
    assert info.value.ambiguous is False


def test_a_deeply_nested_2xx_through_a_mailer_is_recorded(serve) -> None:
    server = serve(_answering(DEEP))
    mailer = _mailer(_provider("cloudmails", server.url))
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(plain_message())
    assert info.value.ambiguous is True
    [attempt] = info.value.attempts
    assert attempt.outcome == "failed"
    assert isinstance(attempt.error, MalformedResponseError) and attempt.error.ambiguous


# --- time ------------------------------------------------------------------------------


def _trickled(rate: int, *, head_at_once: bool = False) -> tuple[Behaviour, int]:
    """A 149-byte AuroraSendCloud success, ``rate`` bytes a second (the head at once
    when ``head_at_once``); 149 / ``rate`` seconds at most, less once the client hangs
    up (a write fails) or the server is closed."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    size = 149 - len(head % 99)
    body = AURORA_OK.ljust(size)  # JSON may end in blanks
    head %= size
    answer = head + body
    assert len(answer) == 149

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        rest = answer
        if head_at_once:
            conn.sendall(head)
            rest = body
        for i in range(len(rest)):  # a byte at a time: each read is well in time
            if stop.wait(1 / rate):
                return
            conn.sendall(rest[i : i + 1])

    return behaviour, len(answer)


@pytest.mark.parametrize("head_at_once", [False, True], ids=["head-trickled", "body-trickled"])
def test_a_trickled_answer_ends_at_the_timeout(serve, head_at_once) -> None:
    behaviour, _ = _trickled(10, head_at_once=head_at_once)
    server = serve(behaviour)
    provider = _provider("aurorasendcloud", server.url, timeout=1)
    started = time.monotonic()
    with pytest.raises(TransportError) as info:
        provider.send(plain_message())
    elapsed = time.monotonic() - started
    assert info.value.ambiguous is True  # the whole request was written
    assert "1 s timeout" in str(info.value)
    assert 0.9 <= elapsed < 1.5, elapsed


def test_a_trickled_answer_through_a_mailer_ends_within_timeout_and_deadline(serve) -> None:
    """The 10 B/s trickle that took 14.9 s with timeout=1, deadline=2."""
    behaviour, _ = _trickled(10)
    server = serve(behaviour)
    # CloudMails: it does not deduplicate, so the ambiguous send is not sent again
    mailer = _mailer(_provider("cloudmails", server.url, timeout=1), deadline=2)
    started = time.monotonic()
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(plain_message())
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert info.value.ambiguous is True
    [attempt] = info.value.attempts  # ambiguous: neither retried nor sent elsewhere
    assert attempt.outcome == "failed" and attempt.duration < 1.5
    assert isinstance(attempt.error, TransportError) and attempt.error.ambiguous


def test_the_mailer_deadline_cuts_a_request_shorter_than_its_timeout(serve) -> None:
    behaviour, _ = _trickled(10)
    server = serve(behaviour)
    mailer = _mailer(_provider("aurorasendcloud", server.url, timeout=10), deadline=1)
    started = time.monotonic()
    with pytest.raises(AllProvidersFailed) as info:
        mailer.send(plain_message())
    elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5, elapsed
    [attempt] = info.value.attempts
    assert isinstance(attempt.error, TransportError) and attempt.error.ambiguous
    assert "send deadline" in str(attempt.error)


def test_a_spent_deadline_sends_nothing_and_is_not_ambiguous(serve) -> None:
    """Out of time before the first byte is written: nothing can have arrived."""
    requests: list[bytes] = []

    def record(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(0.5)
        with contextlib.suppress(OSError):
            requests.append(conn.recv(65536))

    server = serve(record)
    provider = _provider("aurorasendcloud", server.url)
    with within(0), pytest.raises(TransportError) as info:
        provider.send(plain_message())
    assert info.value.ambiguous is False
    assert info.value.retryable is True
    time.sleep(0.6)
    assert not any(requests)
