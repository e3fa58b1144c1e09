"""HTTP/1.1 for a client, without I/O: the bytes of a request, and an answer read from
the bytes that come back, however the network splits them. Both transports use it
(the sync one over urllib3's pooled sockets, the async one over asyncio streams), so
an answer reads the same either way.

The reader is strict where HTTP/1.1 implementations disagree, and reads an answer as
h11 reads it wherever h11 and http.client both accept it (a differential fuzz test
holds it to that): the status line ``HTTP/1.x NNN reason`` (and ``HTTP/0.9``, which
both read as 1.0), header names that are tokens, no whitespace before the colon, no
NUL or bare CR anywhere, obsolete folded lines joined with a space, at most
:data:`MAX_HEAD` bytes and :data:`MAX_FIELDS` lines of head. A body is framed by
``Transfer-Encoding: chunked`` (the only transfer coding accepted), else by a
``Content-Length`` (repeats must agree), else by the connection closing; HEAD answers,
204 and 304 have none, and interim 1xx answers are skipped. It is kept within the
size cap (:mod:`.bounds`: an announced length over it is refused before any of the
body is read), gzip and deflate bodies decoded within it.

What the reader refuses raises :class:`BadAnswer`; a connection that closes before
the answer is whole raises :class:`Cut`. Neither message quotes the answer, which may
echo a credential.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import urllib3

from .bounds import AnswerBody, too_large

__all__ = [
    "MAX_FIELDS",
    "MAX_HEAD",
    "Answer",
    "AnswerReader",
    "BadAnswer",
    "Cut",
    "NotWritten",
    "request",
]

MAX_HEAD = 16 << 10  # bytes of status line and headers (and of a chunk line, a trailer), as h11
MAX_FIELDS = 100  # header lines in one head, as http.client

_DEFAULTS = (("user-agent", "User-Agent: mailspec"), ("accept", "Accept: application/json"))
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})  # Content-Length: 0 without a body

_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # in a header value (a tab is allowed)
_TARGET_BAD = re.compile(r"[\x00-\x20\x7f]")  # as http.client refuses in a request target

_END_OF_HEAD = re.compile(rb"\n\r?\n")
# a head is read as Latin-1 text (every byte a character), once its line ends are "\n"
_STATUS_LINE = re.compile(r"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: .*)?")
_NEVER_IN_HEAD = re.compile(r"[\x00\r\x0b\x0c]")  # NUL, a bare CR, VT, FF: what h11 refuses
_FOLDED = re.compile(r"(?:\A|\n)[ \t]")  # an obsolete continuation line
_FOLD = re.compile(r"\n[ \t]+")
_DIGITS = re.compile(r"[0-9]{1,20}")  # a Content-Length: at most 20 digits, as h11
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;.*)?[ \t]*\r\n")
# the usual head, which the general reading above would read the same: HTTP/1.1, CRLF
# line ends, a status line and header fields of printable ASCII (no tab, no folding),
# each field's value not empty and without spaces after it. Possessive quantifiers: a
# head that is not of this shape fails in one pass, without backtracking.
_PLAIN_NAME = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]++"  # a token, as _TOKEN
_PLAIN_VALUE = rb"[!-~][ -~]*+(?<! )"  # printable ASCII, no space at either end
_PLAIN_HEAD = re.compile(
    rb"HTTP/1\.1 ([0-9]{3})(?: [ -~]*+)?\r\n((?:"
    + _PLAIN_NAME
    + rb": *+"
    + _PLAIN_VALUE
    + rb"\r\n)*+)"
)
_PLAIN_FIELD = re.compile("(" + _PLAIN_NAME.decode() + "): *+(" + _PLAIN_VALUE.decode() + ")\r\n")
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})

# what the reader is reading
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER, _UNTIL_CLOSE, _DONE = range(8)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes


class NotWritten(Exception):
    """The request was refused before any of it was written (a header value that
    cannot be sent); it carries nothing of the value, which may be a credential."""


class BadAnswer(Exception):
    """The server's answer is not HTTP/1.1 this reader accepts (the message says what,
    never quoting the answer)."""


class Cut(ConnectionError):
    """The connection closed before the whole answer came."""


def request(
    method: str,
    target: str,
    authority: str,
    headers: Mapping[str, str],
    body: bytes | None,
) -> bytes:
    """One request, head and body, as one bytes object (one write). ``Host``,
    ``Accept-Encoding: identity``, ``User-Agent: mailspec`` and ``Accept:
    application/json`` come first unless ``headers`` name them (in any case), then
    ``headers`` in their order, then the ``Content-Length`` of ``body`` (0 for a POST,
    PUT or PATCH without one). Raises :class:`NotWritten` for a method, target, header
    name or value HTTP cannot carry: a name that is no token, a control character
    (a tab aside), a value that is not Latin-1."""
    given = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {authority}")
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: identity")
    lines += [line for name, line in _DEFAULTS if name not in given]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "content-length" not in given and "transfer-encoding" not in given:
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        elif method in _BODY_EXPECTED:
            lines.append("Content-Length: 0")
    if not _sendable(method, target, headers):
        raise NotWritten
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        head = None  # raised below, outside the handler: the error quotes the value
    if head is None:
        raise NotWritten
    return head + body if body else head


def _sendable(method: str, target: str, headers: Mapping[str, str]) -> bool:
    """Whether HTTP/1.1 can carry these as they are (Latin-1 is checked on encoding)."""
    try:
        values = "\t".join(headers.values())
    except TypeError:  # a value that is not a string
        return False
    return (
        _TOKEN.fullmatch(method) is not None
        and _TARGET_BAD.search(target) is None
        and all(_TOKEN.fullmatch(name) for name in headers)
        and _CONTROL.search(values) is None
    )


class AnswerReader:
    """One answer to a ``method`` request, read from the bytes :meth:`feed` is given;
    its body at most ``cap`` bytes (decoded), past which the size cap's
    MalformedResponseError (:func:`.bounds.too_large`, naming ``provider``) is
    raised."""

    __slots__ = (
        "_body",
        "_buf",
        "_close",
        "_inflate",
        "_left",
        "_state",
        "cap",
        "headers",
        "method",
        "provider",
        "status",
    )

    def __init__(self, method: str, cap: int, provider: str) -> None:
        self.method, self.cap, self.provider = method, cap, provider
        self.status = 0
        self.headers = urllib3.HTTPHeaderDict()
        self._buf = b""
        self._state = _HEAD
        self._left = 0  # body bytes still to come: of the Content-Length, or of a chunk
        self._close = False  # the connection cannot carry another request
        self._body = AnswerBody(cap)
        self._inflate: zlib._Decompress | None = None

    def feed(self, data: bytes | memoryview) -> Answer | None:
        """Read ``data``, the next bytes of the connection (``b""``: it closed). The
        whole answer once it has come, else None: feed it more."""
        if not data:
            return self._eof()
        self._buf = self._buf + data if self._buf else bytes(data)
        return self._advance()

    def reusable(self) -> bool:
        """Whether the connection may carry another request after this answer: HTTP/1.1
        without ``Connection: close``, the body framed by length, nothing after it."""
        return self._state == _DONE and not self._close and not self._buf

    def _advance(self) -> Answer | None:
        """Read what has come as far as it goes: the answer, or None to wait."""
        while True:
            state = self._state
            if state == _HEAD:
                if not self._head():
                    return None
            elif state == _LENGTH:
                if not self._length_body():
                    return None
            elif state == _UNTIL_CLOSE:
                self._add(self._buf)
                self._buf = b""
                return None
            elif state == _DONE:
                return Answer(self.status, self.headers, self._body.value())
            elif not self._chunked():
                return None

    def _eof(self) -> Answer | None:
        state = self._state
        if state == _UNTIL_CLOSE:
            self._state = _DONE
            self._close = True
            return Answer(self.status, self.headers, self._body.value())
        if state == _DONE:
            return Answer(self.status, self.headers, self._body.value())
        if state == _HEAD and not self._buf and not self.status:
            raise Cut("the server closed the connection without an answer")
        if state == _HEAD:
            raise Cut("the connection closed before the answer's head was whole")
        raise Cut("the connection closed before the answer's body was whole")

    # the head

    def _head(self) -> bool:
        """Read a status line and headers when they have all come: True once a final
        answer's are read (a 1xx one is skipped), False to wait for more."""
        buf = self._buf
        if not buf:
            return False
        if buf[0] < 0x21:  # a blank line, whitespace or a control: no status line
            raise BadAnswer("no status line")
        end = _END_OF_HEAD.search(buf)
        if end is None:
            if len(buf) > MAX_HEAD:
                raise BadAnswer(f"the answer's head runs past {MAX_HEAD:,} bytes")
            return False
        if end.end() > MAX_HEAD:
            raise BadAnswer(f"the answer's head runs past {MAX_HEAD:,} bytes")
        self._buf = buf[end.end() :]
        block = buf[: end.start() + 1]
        if block.count(b"\n") > MAX_FIELDS + 1:  # the status line and the header lines
            raise BadAnswer(f"more than {MAX_FIELDS} header lines")
        plain = _PLAIN_HEAD.fullmatch(block)
        if plain is not None:  # the usual head, read by two regular expressions
            version, status = "1.1", int(plain.group(1))
            fields = _Fields(_PLAIN_FIELD.findall(block[plain.start(2) :].decode("ascii")))
        else:
            lines = _lines(block, "the answer's head", 1)
            status_line = _STATUS_LINE.fullmatch(lines[0])
            if status_line is None:
                raise BadAnswer("not an HTTP status line")
            version, status = status_line.group(1), int(status_line.group(2))
            if not version.startswith("1.") and version != "0.9":
                raise BadAnswer("not an HTTP/1 answer")
            fields = _Fields(_pairs(lines, 1))
        if status < 200:
            if status < 100 or status == 101:  # 101: a protocol switch never asked for
                raise BadAnswer(f"HTTP {status} to a plain request")
            return True  # an interim answer (100 Continue, 103 Early Hints): the next
        self.status = status
        self._close = version < "1.1" or fields.close
        self._frame(fields)
        return True

    def _frame(self, fields: _Fields) -> None:
        """Keep the headers and pick how the body is framed."""
        add = self.headers.add
        for name, value in fields.items:
            add(name, value)
        if self.method == "HEAD" or self.status in (204, 304):
            self._state = _DONE
        elif fields.chunked:
            self._state = _CHUNK_SIZE
        elif fields.length is not None:
            if fields.length > self.cap:
                raise self._too_large(announced=fields.length)
            self._left = fields.length
            self._state = _LENGTH if fields.length else _DONE
        else:
            self._state = _UNTIL_CLOSE
            self._close = True
        self._inflate = _decoder(self.headers.get("Content-Encoding"))

    # the body

    def _length_body(self) -> bool:
        buf, left = self._buf, self._left
        if len(buf) < left:
            self._add(buf)
            self._buf, self._left = b"", left - len(buf)
            return False
        self._add(buf[:left] if len(buf) > left else buf)
        self._buf, self._left = buf[left:], 0
        self._state = _DONE
        return True

    def _chunked(self) -> bool:
        """Read what has come of a chunked body: True to go on, False to wait."""
        buf, state = self._buf, self._state
        if not buf:
            return False
        if state == _CHUNK_SIZE:
            end = buf.find(b"\r\n")
            if end < 0 or end + 2 > MAX_HEAD:
                if end < 0 and len(buf) <= MAX_HEAD:
                    return False
                raise BadAnswer(f"a chunk-size line runs past {MAX_HEAD:,} bytes")
            size = _CHUNK_LINE.fullmatch(buf, 0, end + 2)
            if size is None:
                raise BadAnswer("not a chunk-size line")
            self._left = int(size.group(1), 16)
            self._buf = buf[end + 2 :]
            self._state = _CHUNK_DATA if self._left else _TRAILER
        elif state == _CHUNK_DATA:
            piece = buf[: self._left]
            self._add(piece)
            self._left -= len(piece)
            self._buf = buf[len(piece) :]
            if not self._left:
                self._state = _CHUNK_END
        elif state == _CHUNK_END:
            if not b"\r\n".startswith(buf[:2]):
                raise BadAnswer("a chunk not followed by CRLF")
            if len(buf) < 2:
                return False
            self._buf = buf[2:]
            self._state = _CHUNK_SIZE
        else:
            return self._trailer()
        return True

    def _trailer(self) -> bool:
        """The trailer after the last chunk: checked as headers are, then dropped."""
        buf = self._buf
        if buf[:1] == b"\n" or buf[:2] == b"\r\n":
            self._buf = buf[1 if buf[:1] == b"\n" else 2 :]
            self._state = _DONE
            return True
        end = _END_OF_HEAD.search(buf)
        if end is None or end.end() > MAX_HEAD:
            if end is None and len(buf) <= MAX_HEAD:
                return False
            raise BadAnswer(f"the answer's trailer runs past {MAX_HEAD:,} bytes")
        _Fields(_pairs(_lines(buf[: end.start() + 1], "the trailer", 0), 0))
        self._buf = buf[end.end() :]
        self._state = _DONE
        return True

    def _add(self, data: bytes) -> None:
        """Keep a piece of the body, decoded, within the cap."""
        if not data:
            return
        inflate = self._inflate
        if inflate is not None:
            try:
                data = inflate.decompress(data, self.cap + 1 - self._body.size)
            except zlib.error:
                raise BadAnswer("a compressed body that does not decompress") from None
        if not self._body.add(data) or (inflate is not None and inflate.unconsumed_tail):
            raise self._too_large()

    def _too_large(self, announced: int | None = None) -> Exception:
        return too_large(self.provider, self.method, self.status, self.cap, announced)


def _lines(block: bytes, what: str, start: int) -> list[str]:
    """The lines of a head or trailer (``block``: up to the last line's end), as
    Latin-1 text, each without its CRLF or LF; an obsolete continuation line (one
    starting with a space or tab) joined to the line before with a space, as h11
    reads them, unless it would continue ``lines[start - 1]`` (the status line)."""
    text = block.replace(b"\r\n", b"\n").decode("latin-1")
    if _NEVER_IN_HEAD.search(text):
        raise BadAnswer(f"a NUL, bare CR or other control character in {what}")
    lines = text.split("\n")
    lines.pop()  # the empty string after the last line's end
    if _FOLDED.search(text):
        if len(lines) > start and lines[start][:1] in (" ", "\t"):
            raise BadAnswer(f"a continuation line before any header in {what}")
        lines = _FOLD.sub(" ", text).split("\n")
        lines.pop()
    return lines


def _pairs(lines: list[str], start: int) -> list[tuple[str, str]]:
    """The ``NAME: VALUE`` lines of ``lines[start:]`` as pairs, each name a token and
    each value without the whitespace around it."""
    pairs = []
    for i in range(start, len(lines)):
        name, colon, value = lines[i].partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise BadAnswer("a header line that is not NAME: VALUE")
        pairs.append((name, value.strip(" \t")))
    return pairs


class _Fields:
    """Header fields (``(name, value)`` pairs, as :func:`_pairs` makes them) checked as
    h11 checks them: one Content-Length value however often repeated (kept once),
    chunked the only Transfer-Encoding (lower-cased, as h11 gives it); and what they
    say of the framing."""

    __slots__ = ("_length_text", "chunked", "close", "items", "length")

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.items: list[tuple[str, str]] = []
        self.length: int | None = None
        self._length_text = ""
        self.chunked = self.close = False
        for name, value in pairs:
            lowered = name.lower()
            if lowered not in _FRAMING:
                pass
            elif lowered == "content-length":
                value = self._length(value)
                if not value:
                    continue  # the same again: kept once
            elif lowered == "transfer-encoding":
                value = value.lower()
                if self.chunked or value != "chunked":
                    raise BadAnswer("a Transfer-Encoding other than chunked")
                self.chunked = True
            else:  # connection
                self.close = self.close or "close" in [
                    v.strip(" \t") for v in value.lower().split(",")
                ]
            self.items.append((name, value))

    def _length(self, value: str) -> str:
        """Take a Content-Length: its one number, as written (h11 compares repeats as
        written); "" when it repeats the one taken."""
        lengths = {v.strip(" \t") for v in value.split(",")}
        one = lengths.pop()
        if lengths or not _DIGITS.fullmatch(one):
            raise BadAnswer("a Content-Length that is not one number")
        if self._length_text:
            if one != self._length_text:
                raise BadAnswer("conflicting Content-Length headers")
            return ""
        self._length_text, self.length = one, int(one)
        return one


def _decoder(encoding: str | None) -> zlib._Decompress | None:
    """A decompressor for a gzip or deflate body (as urllib3 decodes them); others are
    kept as they came."""
    if encoding is None:
        return None
    encoding = encoding.strip(" \t").lower()  # str.strip() would take \x1c and the like too
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    return None
