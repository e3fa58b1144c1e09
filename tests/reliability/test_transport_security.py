"""Transport security: certificates are always verified for https (a
self-signed certificate is refused before anything is sent; a custom CA bundle via
``ca_certs=`` is honoured), and every socket operation has a timeout, so no call can
hang: a server that accepts and never answers, one that never accepts, and one that
trickles its answer (a plain ``timeout`` bounds the whole request). (Plain http to loopback only: tests/http/test_http_transport.py.)"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
import urllib3
from reliability_support import RawListener, plain_message, read_request

import mailspec
from mailspec import TransportError

OK = json.dumps({"message_id": "tls-1"}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(OK)))
        self.end_headers()
        self.wfile.write(OK)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[tuple[str, list[str]]]:
    """An https server on 127.0.0.1 whose certificate a private CA signed."""
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    hits: list[str] = []
    handler = type("H", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/v1", hits
    httpd.shutdown()
    httpd.server_close()


def test_untrusted_certificate_is_refused_before_anything_is_sent(https_server) -> None:
    url, hits = https_server
    provider = mailspec.provider("cloudmails", api_key="k", base_url=url, timeout=2)
    with pytest.raises(TransportError) as info:
        provider.send(plain_message())
    assert info.value.ambiguous is False  # the handshake failed: nothing was sent
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()
    assert hits == []


def test_untrusted_certificate_never_reaches_the_provider_through_a_mailer(https_server) -> None:
    url, hits = https_server
    mailer = mailspec.Mailer(
        [mailspec.provider("cloudmails", api_key="k", base_url=url, timeout=2)],
        backoff=0.0,
        backoff_max=0.0,
        rate_limit=False,
    )
    with pytest.raises(mailspec.AllProvidersFailed) as info:
        mailer.send(plain_message())
    assert info.value.ambiguous is False
    assert all(isinstance(a.error, TransportError) for a in info.value.attempts)
    assert hits == []


def test_a_custom_ca_bundle_is_honoured(https_server, ca: trustme.CA, tmp_path) -> None:
    url, hits = https_server
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    provider = mailspec.provider(
        "cloudmails", api_key="k", base_url=url, timeout=2, ca_certs=str(bundle)
    )
    assert provider.send(plain_message()).message_ids == ["tls-1"]
    assert hits == ["/v1/send"]


def test_a_certificate_for_another_host_is_refused(ca: trustme.CA, tmp_path) -> None:
    """Hostname verification is on too: a CA-valid certificate for another name fails."""
    cert = ca.issue_cert("mail.example.org")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    hits: list[str] = []
    handler = type("H", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    try:
        provider = mailspec.provider(
            "cloudmails",
            api_key="k",
            base_url=f"https://127.0.0.1:{httpd.server_address[1]}/v1",
            timeout=2,
            ca_certs=str(bundle),
        )
        with pytest.raises(TransportError) as info:
            provider.send(plain_message())
        assert info.value.ambiguous is False
        assert hits == []
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- timeouts ----------------------------------------------------------------------------


def _silent(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    stop.wait(10)  # accept, read, never answer


def _mute_tls(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait(10)  # accept the TCP connection, never start the TLS handshake


@pytest.mark.parametrize("op", ["send", "status"])
def test_a_server_that_never_answers_times_out(op) -> None:
    server = RawListener(_silent)
    try:
        provider = mailspec.provider(
            "aurorasendcloud", api_user="u", api_key="k", base_url=server.url, timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            provider.send(plain_message()) if op == "send" else provider.status(["id-1"])
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 0.25 <= elapsed < 1.5
    assert info.value.ambiguous is True  # the request did arrive (for a GET: harmless)


def test_a_urllib3_total_timeout_bounds_the_whole_request() -> None:
    """A generated client also takes a urllib3.Timeout; its ``total`` budget (here far
    below the connect and read timeouts) is what stops a silent server."""
    from mailspec.generated.aurorasendcloud import AurorasendcloudClient
    from mailspec.generated.aurorasendcloud.models import SendRequest

    server = RawListener(_silent)
    client = AurorasendcloudClient(
        credentials={"api_user": "u", "api_key": "k"},
        base_url=server.url,
        timeout=urllib3.Timeout(connect=5.0, read=5.0, total=0.3),
    )
    request = SendRequest(
        from_email="a@example.com", to=["b@example.org"], subject="s", html="<p>h</p>"
    )
    try:
        for _ in range(2):  # the budget starts again with every request
            started = time.monotonic()
            with pytest.raises(TransportError) as info:
                client.send(request)
            assert 0.25 <= time.monotonic() - started < 1.5
            assert info.value.ambiguous is True
    finally:
        client.close()
        server.close()


def test_a_tls_handshake_that_never_comes_times_out() -> None:
    server = RawListener(_mute_tls)
    try:
        provider = mailspec.provider(
            "cloudmails", api_key="k", base_url=f"https://127.0.0.1:{server.port}/v1", timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            provider.send(plain_message())
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 1.5
    # the handshake comes before the request: nothing was sent, so another provider may
    # be tried at once
    assert info.value.ambiguous is False
    assert "could not connect" in str(info.value)


def _trickle(pause: float):
    body = json.dumps(
        {"result": True, "statusCode": 200, "message": "ok", "info": {"emailIdList": ["t-1"]}}
    ).encode()
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        for i in range(0, len(answer), 12):  # 12 bytes at a time
            if stop.wait(pause):
                return
            conn.sendall(answer[i : i + 12])

    return behaviour, len(answer)


def test_a_plain_timeout_bounds_the_whole_answer_not_each_read() -> None:
    """Documented behaviour (SECURITY.md): ``timeout=N`` bounds the whole request. A
    server that trickles its answer with pauses shorter than the timeout (each read
    alone would be in time) is cut off at N seconds, ambiguously."""
    behaviour, size = _trickle(0.05)
    server = RawListener(behaviour)
    try:
        provider = mailspec.provider(
            "aurorasendcloud", api_user="u", api_key="k", base_url=server.url, timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            provider.send(plain_message())
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert (size // 12) * 0.05 > 0.6  # the whole trickle would take twice the timeout
    assert 0.25 <= elapsed < 0.6
    assert info.value.ambiguous is True
    assert "0.3 s timeout" in str(info.value)


def test_a_urllib3_timeout_without_total_bounds_each_read_only() -> None:
    """A ``urllib3.Timeout`` keeps urllib3's meaning: without ``total``, its ``read``
    bounds each read, so the same trickle is read to the end."""
    from mailspec.generated.aurorasendcloud import AurorasendcloudClient
    from mailspec.generated.aurorasendcloud.models import SendRequest

    behaviour, size = _trickle(0.05)
    server = RawListener(behaviour)
    client = AurorasendcloudClient(
        credentials={"api_user": "u", "api_key": "k"},
        base_url=server.url,
        timeout=urllib3.Timeout(connect=0.3, read=0.3),
    )
    request = SendRequest(
        from_email="a@example.com", to=["b@example.org"], subject="s", html="<p>h</p>"
    )
    try:
        started = time.monotonic()
        response = client.send(request)
        elapsed = time.monotonic() - started
    finally:
        client.close()
        server.close()
    assert response.info is not None and response.info.email_id_list == ["t-1"]
    assert elapsed > 0.3 and elapsed >= (size // 12) * 0.05 * 0.8  # longer than the timeout


def test_a_trickle_that_pauses_past_the_timeout_fails_ambiguously() -> None:
    behaviour, _ = _trickle(0.6)
    server = RawListener(behaviour)
    try:
        provider = mailspec.provider(
            "aurorasendcloud", api_user="u", api_key="k", base_url=server.url, timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            provider.send(plain_message())
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert info.value.ambiguous is True
    assert elapsed < 1.5
