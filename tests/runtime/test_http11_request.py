"""The request bytes of :func:`mailspec.runtime.http11.request`: read back by h11 as
a server reads them, and refused (NotWritten, quoting nothing) where HTTP cannot
carry a header."""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec.runtime.http11 import NotWritten, request

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1)
VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"))


def read_back(data: bytes) -> tuple[h11.Request, bytes]:
    server = h11.Connection(h11.SERVER)
    server.receive_data(data)
    head = server.next_event()
    assert isinstance(head, h11.Request)
    body = b""
    while not isinstance(event := server.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        body += event.data
    assert server.trailing_data == (b"", False)  # nothing after the request
    return head, body


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    headers=st.dictionaries(
        TOKEN.filter(lambda n: n.lower() not in ("content-length", "transfer-encoding", "host")),
        VALUE.map(lambda v: v.strip(" \t")),
        max_size=6,
    ),
    body=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_h11_reads_back_what_was_written(method, headers, body) -> None:
    head, sent = read_back(request(method, "/v1/send?x=1", "127.0.0.1:8080", headers, body))
    assert (head.method, head.target) == (method.encode(), b"/v1/send?x=1")
    given_lower = {name.lower() for name in headers}
    expected = [(b"host", b"127.0.0.1:8080"), (b"accept-encoding", b"identity")]
    expected += [
        (n.encode(), v.encode())
        for n, v in [("user-agent", "mailspec"), ("accept", "application/json")]
        if n not in given_lower
    ]
    expected += [(n.lower().encode(), v.encode("latin-1")) for n, v in headers.items()]
    if body is not None:
        expected.append((b"content-length", str(len(body)).encode()))
    elif method in ("POST", "PUT", "PATCH"):
        expected.append((b"content-length", b"0"))
    assert list(head.headers) == expected
    assert sent == (body or b"")


def test_given_headers_replace_the_defaults_whatever_their_case() -> None:
    data = request("POST", "/", "h", {"user-agent": "app/1", "ACCEPT": "*/*"}, b"{}")
    assert data.count(b"mailspec") == 0 and data.count(b"application/json") == 0
    assert data == (
        b"POST / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: identity\r\nuser-agent: app/1\r\n"
        b"ACCEPT: */*\r\nContent-Length: 2\r\n\r\n{}"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Key": "SECRET\r\nInjected: 1"},
        {"X-Key": "SECRET\n"},
        {"X-Key": "SECRET\x00"},
        {"X-Key": "SECRET\x7f"},
        {"X-Key": "SECRET-ключ"},
        {"X Key": "SECRET"},
        {"X-Key:": "SECRET"},
        {"": "SECRET"},
        {"X-Key": 1},
    ],
    ids=[
        "crlf",
        "lf",
        "nul",
        "del",
        "not-latin-1",
        "space-in-name",
        "colon-in-name",
        "empty-name",
        "not-str",
    ],
)
def test_a_header_http_cannot_carry_is_refused_quoting_nothing(headers) -> None:
    with pytest.raises(NotWritten) as info:
        request("POST", "/", "h", headers, b"{}")
    chain: BaseException | None = info.value
    while chain is not None:
        assert "SECRET" not in str(chain) and "SECRET" not in repr(chain)
        chain = chain.__cause__ or chain.__context__


@pytest.mark.parametrize(
    ("method", "target"), [("POST", "/a b"), ("POST", "/a\r\nX: 1"), ("PO ST", "/")]
)
def test_a_method_or_target_http_cannot_carry_is_refused(method, target) -> None:
    with pytest.raises(NotWritten):
        request(method, target, "h", {}, None)
