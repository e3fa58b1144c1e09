"""Bounds on what a server at ``base_url`` can make a send cost: an answer's size (an
endless chunked answer, a huge ``Content-Length``), its shape (JSON nested 100,000
levels deep) and its time (an answer trickled a few bytes a second). Each ends in a
typed error whose ``ambiguous`` says whether the provider may have accepted the
message, within a bound on memory or time, and is recorded as such on a Mailer's
attempt. Raw-socket servers on 127.0.0.1; every server loop stops by itself."""

from __future__ import annotations

import json
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from reliability_support import RawListener, plain_message, read_request

import mailspec
from mailspec import AllProvidersFailed, MalformedResponseError

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
