"""Network faults become TransportError, with ``ambiguous`` telling whether the request
may have reached the provider; plain http leaves only for loopback addresses."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from aurora_support import RawServer, message, ok_send

import mailspec
from mailspec import TransportError, ValidationError


def _provider(base_url: str, timeout: float = 2.0):
    return mailspec.provider(
        "aurorasendcloud", api_user="u", api_key="k", base_url=base_url, timeout=timeout
    )


def test_connection_refused_is_not_ambiguous(closed_port):
    p = _provider(f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(TransportError) as info:
        p.send(message())
    error = info.value
    assert error.ambiguous is False
    assert error.retryable is True
    assert error.provider == "aurorasendcloud"
    assert "connect" in str(error)


def test_connection_refused_on_status(closed_port):
    p = _provider(f"http://127.0.0.1:{closed_port}/")
    with pytest.raises(TransportError) as info:
        p.status(["id1"])
    assert info.value.ambiguous is False


def test_silent_server_times_out_ambiguously(raw_server):
    hold = threading.Event()

    def never_answer(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        hold.wait(5)  # keep the connection open, say nothing

    server = raw_server(never_answer)
    p = _provider(server.url, timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(TransportError) as info:
            p.send(message())
    finally:
        hold.set()
    elapsed = time.monotonic() - started
    assert info.value.ambiguous is True
    assert info.value.retryable is False
    assert "timed out" in str(info.value)
    assert 0.4 <= elapsed < 2.0
    assert len(server.requests) == 1
    assert server.requests[0].startswith(b"POST /api/mail/send HTTP/1.1\r\n")


def test_server_that_closes_after_reading_is_ambiguous(raw_server):
    def read_and_close(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.close()

    server = raw_server(read_and_close)
    with pytest.raises(TransportError) as info:
        _provider(server.url).send(message())
    assert info.value.ambiguous is True
    assert b"api_key=k" in server.requests[0]  # the whole request did arrive


def test_server_that_resets_after_reading_is_ambiguous(raw_server):
    def read_and_reset(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()

    server = raw_server(read_and_reset)
    with pytest.raises(TransportError) as info:
        _provider(server.url).send(message())
    assert info.value.ambiguous is True


def test_answer_cut_short_is_ambiguous(raw_server):
    body = b'{"result": true, "statusCode": 200, "message": "ok", "info": {"emailIdList": ["e1"]}}'

    def half_answer(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:20]
        )
        conn.close()

    server = raw_server(half_answer)
    with pytest.raises(TransportError) as info:
        _provider(server.url).send(message())
    assert info.value.ambiguous is True


def test_answer_that_is_not_http_is_ambiguous(raw_server):
    def babble(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        conn.close()

    server = raw_server(babble)
    with pytest.raises(TransportError) as info:
        _provider(server.url).send(message())
    assert info.value.ambiguous is True


def test_a_raw_well_formed_answer_is_read(raw_server):
    """The raw server itself works: the fault tests above fail for the fault, not the rig."""
    body = json.dumps(ok_send("raw-1")).encode()

    def answer(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        conn.close()

    server = raw_server(answer)
    assert _provider(server.url).send(message()).message_ids == ["raw-1"]


@pytest.mark.parametrize(
    "base_url",
    [
        "http://example.com/",
        "http://93.184.215.14/",
        "http://10.0.0.1:8080/",
        "http://127.0.0.1.example.com/",
        "http://[::ffff:93.184.215.14]/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "example.com",
        "",
    ],
)
def test_plain_http_off_loopback_is_refused_before_io(base_url):
    with pytest.raises(ValidationError) as info:
        _provider(base_url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://example.com/",
        "https://api.example.com/v2/",
        "http://127.0.0.1:9/",
        "http://127.5.6.7:9/",
        "http://localhost:9/",
        "http://[::1]:9/",
    ],
)
def test_https_and_loopback_http_are_allowed(base_url):
    assert _provider(base_url).client.base_url == base_url


def test_refused_base_url_error_names_the_host_only():
    with pytest.raises(ValidationError) as info:
        _provider("http://example.com/")
    assert "example.com" in str(info.value)
    assert "https" in str(info.value)


@pytest.mark.parametrize("base_url", ["https://example.com:99999/v1", "https://example.com:x/"])
def test_a_base_url_with_an_invalid_port_is_refused(base_url):
    with pytest.raises(ValidationError) as info:
        _provider(base_url)
    assert info.value.field == "base_url"
    assert "port" in str(info.value)


@pytest.mark.parametrize("key", ["KEY0123\n", "KEY0123\r\n", "KEY\t0123", "KEY\x000123"])
def test_a_credential_with_a_control_character_is_refused_at_once(key):
    """A key read from a file often keeps its newline; it would split a header."""
    with pytest.raises(ValidationError) as info:
        mailspec.provider("cloudmails", api_key=key)
    assert info.value.field == "api_key"
    assert "control character" in str(info.value)
    assert "0123" not in str(info.value) and "0123" not in repr(info.value)


def test_a_header_value_http_cannot_carry_fails_before_anything_is_sent(raw_server):
    received: list[bytes] = []

    def record(server: RawServer, conn: socket.socket) -> None:
        conn.settimeout(3)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        received.append(data)

    server = raw_server(record)
    key = "KEY-ключ-0123"  # not Latin-1, which HTTP header values are sent in
    p = mailspec.provider("cloudmails", api_key=key, base_url=server.url + "v1", timeout=2.0)
    msg = mailspec.Message(
        from_email="a@example.com", to=["b@example.org"], subject="s", html="<p>h</p>"
    )
    with pytest.raises(TransportError) as info:
        p.send(msg)
    assert info.value.ambiguous is False  # so a Mailer may try another provider
    assert "header" in str(info.value)
    chain: BaseException | None = info.value
    while chain is not None:  # what error reporters walk
        assert "ключ" not in str(chain) and "ключ" not in repr(chain), repr(chain)
        chain = chain.__cause__ or chain.__context__
    deadline = time.monotonic() + 3
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(data == b"" for data in received)  # connected at most, never written to
