"""The answer reader of :mod:`mailspec.runtime.http11` against h11 and http.client, on
the same bytes: generated answers (valid ones, and the same mutated), each also split
at random places.

- Both accept: the reader accepts, and reads what h11 reads (status, headers in
  order, body, whether the connection may be reused) and, where http.client reads the
  same, that too.
- Both refuse: the reader refuses, with its own typed errors (BadAnswer, Cut).
- They disagree: the reader may do either; it goes h11's way, except where it is
  stricter than both (recorded in :data:`DISAGREEMENTS`, and checked there).

h11 is given the bytes 4 KiB at a time, so that its 16 KiB limit on an incomplete
head applies however the generator split them; http.client reads from a buffer that
stands in for the socket it would read."""

from __future__ import annotations

import gzip
import http.client
import io
import zlib
from dataclasses import dataclass, replace

import h11
import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailspec.runtime.http11 import MAX_HEAD, AnswerReader, BadAnswer, Cut

CAP = 1 << 20

# Where h11 and http.client read one answer differently, and which way the reader goes:
DISAGREEMENTS = {
    # http.client skips 100 Continue only and gives any other 1xx as the answer
    "interim 1xx other than 100": "skipped, as h11 does: the final answer is the verdict",
    # http.client keeps trailing whitespace in a value, and "\r\n " in a folded one
    "value whitespace, folded lines": "stripped and joined with a space, as h11 does",
    # http.client reads "Content-Length: 5, 5" as no length (until close)
    "a repeated equal Content-Length": "one length, as h11 does",
    # http.client reads a bad length as none; h11 refuses it
    "Content-Length not digits": "refused, as h11 does",
    # http.client drops the lines after one without a colon into the body; h11 refuses
    "a header line without a colon, space before the colon": "refused",
    # h11 has no limit on the number of header lines; http.client allows 100
    "over 100 header lines": "refused, as http.client does",
    # http.client reuses an HTTP/1.0 connection that says keep-alive; h11 never does
    "HTTP/1.0 keep-alive": "not reused, as h11 does",
    # http.client reads HTTP/1.5 as 1.1 and refuses HTTP/2.0; h11 reads both
    "HTTP/2.0 status line": "refused, as http.client does",
    # both read HTTP/1.5 (as 1.1) and HTTP/0.9 (as 1.0)
    "HTTP/1.5, HTTP/0.9": "read as both read them",
    # h11 would read bytes after a whole answer as the start of the next one
    "bytes after the answer": "read, the connection not reused (h11's keep-alive compared without)",
    # http.client reads a head cut short by the connection closing; h11 refuses it
    "a head cut short": "refused",
    # http.client discards a trailer unread; h11 checks it as headers
    "a malformed trailer": "refused",
    # http.client reads chunk sizes with int(): "0x5", " 5", "5_0"; h11 wants hex digits
    "chunk sizes int() reads": "refused",
}


@dataclass(frozen=True)
class Read:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    reusable: bool | None  # None: not known (http.client)


def as_callers_see(fields: object) -> tuple[tuple[bytes, bytes], ...]:
    """Header fields as an HTTPHeaderDict gives them (the repeats of a name together,
    names in the order they first came), the form an Answer hands callers."""
    headers = urllib3.HTTPHeaderDict()
    for name, value in fields:  # type: ignore[attr-defined]
        if isinstance(name, bytes):
            name, value = name.decode("latin-1"), value.decode("latin-1")
        headers.add(name, value)
    return tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


def decode(body: bytes, headers: tuple[tuple[bytes, bytes], ...]) -> bytes:
    """The body as the reader gives it: gzip or deflate decoded."""
    for name, value in headers:
        if name.lower() == b"content-encoding":
            coding = value.strip().lower()
            if coding in (b"gzip", b"x-gzip"):
                return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body)
            if coding == b"deflate":
                return zlib.decompressobj().decompress(body)
    return body


def read_ours(pieces: list[bytes], method: str) -> Read | Exception:
    reader = AnswerReader(method, CAP, "test")
    try:
        for piece in [*pieces, b""]:
            answer = reader.feed(piece)
            if answer is not None:
                break
        else:  # pragma: no cover - the reader answers or raises at the end
            raise AssertionError("no answer after the connection closed")
    except (BadAnswer, Cut) as exc:
        return exc
    headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items())
    return Read(answer.status, headers, answer.body, reader.reusable())


def read_h11(data: bytes, method: str) -> Read | Exception:
    conn = h11.Connection(h11.CLIENT)
    length = [] if method in ("GET", "HEAD") else [("Content-Length", "0")]
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x"), *length]))
    conn.send(h11.EndOfMessage())
    pieces = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    status, headers, body, closed = 0, (), b"", False
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                closed = not pieces  # h11 reads until the close as a whole answer
                conn.receive_data(pieces.pop(0) if pieces else b"")
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, as_callers_see(event.headers.raw_items())
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return ConnectionError("closed")
    except h11.ProtocolError as exc:
        return exc
    left = conn.trailing_data[0] or any(pieces)
    done = conn.our_state is h11.DONE and conn.their_state is h11.DONE
    reusable = done and not left and not closed
    try:
        return Read(status, headers, decode(body, headers), reusable)
    except zlib.error as exc:
        return exc


class _Socket:
    """What http.client reads an answer from: the socket's file."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self._data)


def read_http_client(data: bytes, method: str) -> Read | Exception:
    response = http.client.HTTPResponse(_Socket(data), method=method)  # type: ignore[arg-type]
    try:
        response.begin()
        body = response.read()
    except Exception as exc:
        return exc
    headers = as_callers_see(response.getheaders())
    try:
        return Read(response.status, headers, decode(body, headers), None)
    except zlib.error as exc:
        return exc


# answers

TOKENS = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~",
    min_size=1,
    max_size=12,
)
NAMES = st.one_of(
    st.sampled_from(
        ["Content-Type", "Date", "Server", "X-Request-Id", "Retry-After", "Vary", "Set-Cookie"]
    ),
    TOKENS,
)
VALUE_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f")
VALUES = st.lists(st.text(VALUE_CHARS, min_size=1, max_size=10), max_size=4).map(" ".join)
OWS = st.sampled_from(["", " ", "  ", "\t", " \t"])


@st.composite
def fields(draw: st.DrawFn) -> list[bytes]:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        value = draw(OWS) + draw(VALUES) + draw(OWS)
        lines.append(f"{draw(NAMES)}:{value}".encode("latin-1"))
    return lines


def chunked(body: bytes, draw: st.DrawFn) -> bytes:
    out, at = b"", 0
    while at < len(body):
        size = draw(st.integers(1, max(1, len(body) - at)))
        ext = draw(st.sampled_from(["", ";a=b", ";x", ';q="1;2"', "  "]))
        hex_size = f"{size:x}" if draw(st.booleans()) else f"{size:X}"
        out += f"{hex_size}{ext}\r\n".encode() + body[at : at + size] + b"\r\n"
        at += size
    out += b"0" + draw(st.sampled_from([b"", b";end"])) + b"\r\n"
    trailer = draw(st.sampled_from([b"", b"X-Sum: 1\r\n", b"A: 1\r\nB: 2\r\n"]))
    return out + trailer + b"\r\n"


@st.composite
def answers(draw: st.DrawFn) -> tuple[bytes, str]:
    method = draw(st.sampled_from(["GET", "POST", "HEAD"]))
    version = draw(st.sampled_from(["1.1", "1.1", "1.1", "1.0"]))
    eol = b"\r\n" if draw(st.integers(0, 9)) else b"\n"
    head = b""
    for interim in draw(st.lists(st.sampled_from([100, 100, 102, 103]), max_size=2)):
        head += f"HTTP/1.1 {interim} Continue".encode() + eol + eol
    status = draw(st.sampled_from([200, 200, 201, 202, 204, 301, 304, 400, 404, 429, 500, 503]))
    reason = draw(st.sampled_from([" OK", " Not Found", "", " ", " Très bien"]))
    lines = [f"HTTP/{version} {status}{reason}".encode("latin-1"), *draw(fields())]
    body = draw(st.binary(max_size=300))
    coding = draw(st.sampled_from([None, None, "gzip", "deflate", "x-gzip"]))
    if coding is not None:
        lines.append(f"Content-Encoding: {coding}".encode())
        body = gzip.compress(body) if "gzip" in coding else zlib.compress(body)
    if draw(st.integers(0, 4)) == 0:
        lines.append(draw(st.sampled_from([b"Connection: close", b"Connection: keep-alive"])))
    framing = draw(st.sampled_from(["length", "length", "chunked", "close"]))
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}".encode())
        wire = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"Chunked"])))
        wire = chunked(body, draw)
    else:
        wire = body
    if method == "HEAD" or status in (204, 304):
        wire = b""
    order = draw(st.permutations(range(1, len(lines))))
    lines = [lines[0], *(lines[i] for i in order)]
    return head + eol.join(lines) + eol + eol + wire, method


ASCII_VALUES = st.lists(
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=10),
    max_size=4,
).map(" ".join)


@st.composite
def plain_answers(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """An answer of the usual shape (HTTP/1.1, CRLF line ends, printable ASCII, spaces
    around values), which the reader reads by a quicker path; and the same answer with
    LF line ends in its head, read by the general path."""
    status = draw(st.sampled_from([100, 200, 201, 202, 204, 304, 400, 404, 429, 500, 503]))
    reason = draw(st.sampled_from([" OK", " Not Found", "", " ", " A: b"]))
    lines = [f"HTTP/1.1 {status}{reason}".encode()]
    # mostly tidy (no space after a value, none empty): the quick path's own shape
    tidy = draw(st.integers(0, 3)) > 0
    after = st.just("") if tidy else st.sampled_from(["", " ", "  "])
    for _ in range(draw(st.integers(0, 8))):
        value = draw(ASCII_VALUES.filter(bool) if tidy else ASCII_VALUES)
        before = draw(st.sampled_from(["", " ", "  "]))
        lines.append(f"{draw(NAMES)}:{before}{value}{draw(after)}".encode())
    body = draw(st.binary(max_size=100))
    framing = draw(st.sampled_from(["length", "repeated", "chunked", "close"]))
    if framing in ("length", "repeated"):
        lines.append(f"Content-Length: {len(body)}".encode())
        if framing == "repeated":
            lines.append(f"content-length:  {len(body)} ".encode())
        wire = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        wire = chunked(body, draw)
    else:
        wire = body
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([b"Connection: close", b"Connection: keep-alive"])))
    if status in (204, 304):
        wire = b""
    order = draw(st.permutations(range(1, len(lines))))
    lines = [lines[0], *(lines[i] for i in order)]
    if status == 100:  # an interim answer, then the final one
        lines = [b"HTTP/1.1 100 Continue", b"", b"HTTP/1.1 200 OK", *lines[1:]]
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    return head + wire, head.replace(b"\r\n", b"\n") + wire


BAD_STATUS = [
    b"HTTP/2.0 200 OK",
    b"HTTP/1.1 2000 OK",
    b"HTTP/1.1 20 OK",
    b"ICY 200 OK",
    b"HTTP/1.1 099 X",
    b"HTTP/1.1 101 Switching",
    b"HTTP/1.1\t200 OK",
    b"HTTP/1.1 200\tOK",
    b"http/1.1 200 OK",
    b"HTTP/1.5 200 OK",
    b"HTTP/0.9 200 OK",
    b" HTTP/1.1 200 OK",
]
BAD_FIELDS = [
    b"Content-Length : 3",
    b"Content-Length: abc",
    b"Content-Length: -1",
    b"Content-Length: +3",
    b"Content-Length: 3, 4",
    b"Content-Length: 1\r\nContent-Length: 2",
    b"Content-Length: 3, 3",
    b"Transfer-Encoding: gzip",
    b"Transfer-Encoding: chunked, chunked",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    b"Bad Name: x",
    b"NoColon",
    b"X: a\x00b",
    b"X: a\rb",
    b" folded: first",
    b"X: a\x0bb",
    b"X: caf\xc3\xa9",
    b"X: v\r\n continued",
    b"\xffX: y",
    b"Connection: close, keep-alive",
    b"Long: " + b"x" * 24000,
]
BAD_CHUNKS = [
    b"g\r\n",
    b"0x5\r\n",
    b" 5\r\n",
    b"-1\r\n",
    b"5_0\r\n",
    b"5\n",
    b"123456789012345678901\r\n",
]
INSERTS = [b"\x00", b" ", b"\r", b"\n", b"\t", b"\x80", b":", b"\xff", b"\r\n", b"0", b";"]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    data, method = draw(answers())
    kind = draw(
        st.sampled_from(["status", "field", "chunk", "byte", "insert", "delete", "cut", "many"])
    )
    if kind == "status":
        first, _, rest = data.partition(b"\n")
        data = (
            draw(st.sampled_from(BAD_STATUS))
            + (b"\r" if first.endswith(b"\r") else b"")
            + b"\n"
            + rest
        )
    elif kind == "field":
        first, _, rest = data.partition(b"\r\n")
        data = first + b"\r\n" + draw(st.sampled_from(BAD_FIELDS)) + b"\r\n" + rest
    elif kind == "chunk" and b"\r\n\r\n" in data:
        head, _, body = data.partition(b"\r\n\r\n")
        data = head + b"\r\n\r\n" + draw(st.sampled_from(BAD_CHUNKS)) + body
    elif kind == "byte" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    elif kind == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INSERTS)) + data[at:]
    elif kind == "delete" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + data[at + 1 :]
    elif kind == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "many":
        data = data.replace(b"\r\n", b"\r\nX-Many: 1\r\n", 1).replace(
            b"X-Many: 1\r\n", b"X-Many: 1\r\n" * 101, 1
        )
    return data, method


def split(data: bytes, draw: st.DrawFn) -> list[bytes]:
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [piece for piece in pieces if piece]  # a read gives b"" only at the close


def same_as_http_client(ours: Read, theirs: Read) -> bool:
    """What http.client reads the same, compared: status, body, header names and the
    values it keeps whole (Content-Length and Transfer-Encoding as h11 gives them)."""
    plain = {b"content-length", b"transfer-encoding"}

    def view(read: Read) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        return (
            read.status,
            read.body,
            [(k.lower(), v.strip(b" \t")) for k, v in read.headers if k.lower() not in plain],
        )

    return view(ours) == view(theirs)


def check(data: bytes, method: str, pieces: list[bytes]) -> None:
    whole = read_ours([data], method)
    split_read = read_ours(pieces, method)
    if isinstance(whole, Read) and isinstance(split_read, Read):
        # bytes after a whole answer make the connection unusable once they have come;
        # before they come (split right after the answer), nothing can tell
        assert split_read.reusable or not whole.reusable
        whole_read, split_read = (replace(r, reusable=None) for r in (whole, split_read))
        assert whole_read == split_read, "the reading depends on where the bytes were split"
    else:
        assert repr(whole) == repr(split_read), "the reading depends on where the bytes were split"
    reference, stdlib = read_h11(data, method), read_http_client(data, method)
    if isinstance(reference, Read) and isinstance(stdlib, Read):
        assert whole == reference, (data, reference)
        if same_as_http_client(reference, stdlib):
            assert same_as_http_client(whole, stdlib)
    elif not isinstance(reference, Read) and not isinstance(stdlib, Read):
        assert isinstance(whole, (BadAnswer, Cut)), (data, reference, stdlib)
    elif isinstance(whole, Read):  # they disagree: where the reader accepts, it reads as h11
        assert isinstance(reference, Read), (data, reference, stdlib)
        assert whole == reference, (data, reference)


FUZZ = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.data())
def test_valid_answers_read_as_h11_and_http_client_read_them(data: st.DataObject) -> None:
    answer, method = data.draw(answers())
    pieces = split(answer, data.draw)
    check(answer, method, pieces)
    assert isinstance(read_ours([answer], method), Read)


@FUZZ
@given(st.data())
def test_mutated_answers_refused_where_both_refuse(data: st.DataObject) -> None:
    answer, method = data.draw(mutated())
    check(answer, method, split(answer, data.draw))


@FUZZ
@given(st.data())
def test_plain_answers_read_as_h11_reads_them_and_as_the_general_path_does(
    data: st.DataObject,
) -> None:
    answer, with_lf = data.draw(plain_answers())
    check(answer, "GET", split(answer, data.draw))
    quick = read_ours([answer], "GET")
    assert isinstance(quick, Read)
    assert replace(quick, reusable=None) == replace(read_ours([with_lf], "GET"), reusable=None)


SAMPLE = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    b"X-Folded: a\r\n b\r\n\r\n"
    b'4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n'
)


@pytest.mark.parametrize("at", range(1, len(SAMPLE)))
def test_an_answer_split_anywhere_reads_the_same(at: int) -> None:
    read = read_ours([SAMPLE[:at], SAMPLE[at:]], "POST")
    assert read == Read(
        200,
        (
            (b"Content-Type", b"application/json"),
            (b"Transfer-Encoding", b"chunked"),
            (b"X-Folded", b"a b"),
        ),
        b'{"a":1}',
        True,
    )
    assert read == read_h11(SAMPLE, "POST")


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", "conflicting"),
        (b"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\nabc", "NAME: VALUE"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", "Transfer-Encoding"),
        (b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/1"),
        (b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 100 + b"\r\n", "header lines"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * MAX_HEAD + b"\r\n\r\n", "bytes"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
            "chunk-size",
        ),
        (b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", "NUL"),
    ],
)
def test_a_malformed_answer_is_refused_with_what_is_wrong(answer: bytes, why: str) -> None:
    status_line, _, rest = answer.partition(b"\r\n")
    echoing = status_line + b"\r\nX-Echo: key-SECRET\r\n" + rest  # an answer may echo a key
    with pytest.raises(BadAnswer, match=why) as info:
        AnswerReader("POST", CAP, "test").feed(echoing)
    assert "SECRET" not in str(info.value)
