"""AWS Signature Version 4: the headers that authenticate one HTTP request to AWS.

:func:`sign` returns the headers to add to a request (``Authorization``, ``X-Amz-Date``,
and ``X-Amz-Security-Token`` with temporary credentials); the request must then go out
exactly as signed: the same method, URL, body and signed headers. Standard library
only. The steps are those of AWS's "Create a signed AWS API request" (the canonical
request, the string to sign, the signing key derived from date, region, service and
``aws4_request``), checked against AWS's published test suite and against botocore.

The choices this signer makes where the text leaves room:

- **Services other than S3.** The canonical URI is the URL's path with its dot
  segments and empty segments removed, URI-encoded once more. ``url`` is the URL as it
  goes on the wire, its path already encoded once, so a segment is encoded twice (an
  object named ``a b`` travels as ``a%20b`` and is signed as ``a%2520b``), as AWS asks
  of every service but S3. A character no request line can carry (a space, non-ASCII
  text) is signed as if it travelled as it is, as AWS's test suite has it; but an HTTP
  client (urllib3, so mailspec's Transport) percent-encodes it before sending, and the
  signature then fails: pass the URL encoded, as mailspec's request encoder writes it.
- **The query** is read as form data, the way mailspec writes it (``+`` is a space, so
  a literal plus travels as ``%2B``), then every name and value is encoded with
  RFC 3986's unreserved characters left alone and the pairs sorted by encoded name,
  then value. A parameter without ``=`` has an empty value.
- **Headers.** Every header given is signed, and ``Host`` (from the URL when the
  headers lack it, with its port unless it is the scheme's default), except those a
  proxy or the HTTP client may change on the way: hop-by-hop headers, ``User-Agent``,
  ``X-Amzn-Trace-Id`` (botocore leaves the same ones out), and ``Authorization``, which
  this makes. Names are lower-cased and sorted, values trimmed with runs of spaces and
  tabs collapsed to one space, and the values of one name (a mapping that yields a
  name twice, such as urllib3's ``HTTPHeaderDict``, or two spellings of it) joined with
  commas in the order given. A line break or other control character is refused: it
  would split the header on the wire (RFC 9110 has no line folding); so is non-ASCII
  text, whose bytes on the wire no standard fixes.
- **The headers ``sign`` adds** replace any of the same name among those given
  (case-insensitively; the caller must replace them the same way). The payload's
  SHA-256 is in the canonical request always, but no ``X-Amz-Content-Sha256`` header is
  added: SES v2 and the other non-S3 services do not ask for it, and S3, which does,
  also wants a canonical URI encoded only once, which this signer does not make. A
  caller that sends the header anyway gets it signed, and it must hold the body's hash.
- **The time** is ``now``, by default the current time; a naive datetime is refused
  rather than guessed at (``datetime.now()`` is local time), an aware one is converted
  to UTC.
- **The session token** is signed when given (as botocore does; the suite's "added
  after signing" variant is for services that want it unsigned, and SES takes it
  signed).

A bad argument raises :class:`mailspec.ValidationError` naming the argument, before
anything is computed; no error quotes a credential (nor chains an exception that
does), and nothing is logged. The session token is a header, so it is in what
:func:`sign` returns and in a :func:`canonical_request`.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote_to_bytes, urlsplit

from ..errors import ValidationError

__all__ = ["ALGORITHM", "canonical_request", "sign", "string_to_sign"]

ALGORITHM = "AWS4-HMAC-SHA256"

# Headers a hop may add, rewrite or drop (RFC 9110 7.6.1 and proxies' habits), so a
# signature over them could break on the way; botocore leaves out the same ones.
_UNSIGNED = frozenset(
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 5.6.2: a header name
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, spaces and tabs
_BLANKS = re.compile(r"[ \t]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_METHOD = re.compile(r"[A-Z]+")
_SCOPE_PART = re.compile(r"[A-Za-z0-9_.-]+")  # a region or service name: it joins a path
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_-]+")  # it goes into the Authorization header
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    now: datetime.datetime | None = None,
) -> dict[str, str]:
    """The headers that sign this request: ``Authorization``, ``X-Amz-Date`` and, with a
    ``session_token``, ``X-Amz-Security-Token``. Add them to ``headers`` (replacing any
    of the same name, whatever its case) and send the request as it was signed."""
    when = _utc(now)
    _check_credentials(access_key_id, secret_access_key, session_token)
    scope = _scope(when, region, service)
    added = {"X-Amz-Date": _amz_date(when)}
    if session_token is not None:
        added["X-Amz-Security-Token"] = session_token
    superseded = {name.lower() for name in added}
    kept = [
        (name, value) for name, value in _header_items(headers) if name.lower() not in superseded
    ]
    canonical = _canonical(method, url, [*kept, *added.items()], body)
    signature = hmac.new(
        _signing_key(secret_access_key, when, region, service),
        _string_to_sign(canonical.text, when, scope).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={canonical.signed_headers}, Signature={signature}"
    )
    return {"Authorization": authorization, **added}


def canonical_request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> str:
    """The canonical request of a request whose headers are all there (``X-Amz-Date``
    included): what an AWS error answer shows when a signature does not match, and what
    to compare it with. It holds every signed header's value, a session token's too:
    keep it out of logs."""
    return _canonical(method, url, _header_items(headers), body).text


def string_to_sign(canonical: str, *, now: datetime.datetime, region: str, service: str) -> str:
    """The string the signing key signs, for a :func:`canonical_request`."""
    when = _utc(now)
    return _string_to_sign(canonical, when, _scope(when, region, service))


# --- the canonical request --------------------------------------------------------------


@dataclass(frozen=True)
class _Canonical:
    text: str
    signed_headers: str  # the names, lower-cased, sorted and joined by ";"


def _canonical(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> _Canonical:
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        raise ValidationError("must be an HTTP method in capitals, such as POST", field="method")
    if not isinstance(body, bytes):
        raise ValidationError("must be bytes", field="body")
    parts = _split_url(url)
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = _signed_headers(headers, default_host=_host(parts))
    if signed.get("x-amz-content-sha256", payload_hash) != payload_hash:
        raise ValidationError(
            "X-Amz-Content-Sha256 must be the hex SHA-256 of the body", field="headers"
        )
    names = sorted(signed)
    lines = [
        method,
        _canonical_uri(parts.path),
        _canonical_query(parts.query),
        *(f"{name}:{signed[name]}" for name in names),
        "",  # the canonical headers end with a line break of their own
        ";".join(names),
        payload_hash,
    ]
    return _Canonical("\n".join(lines), ";".join(names))


def _split_url(url: str) -> SplitResult:
    if not isinstance(url, str):
        raise ValidationError("must be a string", field="url")
    # urlsplit quietly drops tabs and line breaks and strips leading blanks: refuse
    # them, so the URL signed is the URL sent
    if _CONTROL.search(url) or url.startswith(" "):
        raise ValidationError("contains a control character or leading blanks", field="url")
    if not _encodable(url):
        raise ValidationError("is not valid Unicode text", field="url")
    parts = _parsed(url)
    if parts is None:
        raise ValidationError("is not a valid URL", field="url")
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValidationError("must be an http or https URL", field="url")
    if not parts.hostname or not parts.hostname.isascii():
        raise ValidationError("must have a host name in ASCII (IDNA A-labels)", field="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("must not carry credentials", field="url")
    if parts.fragment or "#" in url:
        raise ValidationError("must not have a fragment (it is never sent)", field="url")
    return parts


def _parsed(url: str) -> SplitResult | None:
    """``url`` split, or None when it does not parse (the error is not raised from here:
    nothing chained to a ValidationError may quote the URL)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsed on access: an invalid port raises here
    except ValueError:
        return None
    return parts


def _host(parts: SplitResult) -> str:
    """The Host header an HTTP client sends for this URL: the host name in lower case,
    an IPv6 address in brackets, the port unless it is the scheme's default."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{parts.port}"
    return host


def _canonical_uri(path: str) -> str:
    # quote keeps RFC 3986's unreserved characters and "/", and encodes "%" too: the
    # second encoding of a path that travels encoded once
    return quote(_remove_dot_segments(path), safe="/")


def _remove_dot_segments(path: str) -> str:
    """The path without "." segments, ".." with the segment before it, and empty
    segments (AWS collapses repeated slashes); a trailing slash stays, "/" at least.
    (RFC 3986 5.2.4 as AWS's test suite and botocore apply it.)"""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    if not kept:
        return "/"
    return "/" + "/".join(kept) + ("/" if path.endswith("/") else "")


def _canonical_query(query: str) -> str:
    pairs = []
    for field in query.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_query_encode(name), _query_encode(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _query_encode(text: str) -> str:
    """A query name or value as SigV4 writes it: form-decoded to its bytes, then every
    byte but the unreserved ones percent-encoded, in capitals."""
    return quote(unquote_to_bytes(text.replace("+", " ")), safe="-_.~")


def _header_items(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    if not isinstance(headers, Mapping):
        raise ValidationError("must be a mapping of names to values", field="headers")
    items = list(headers.items())  # each value of a multi-valued mapping (HTTPHeaderDict)
    for name, value in items:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValidationError("a header name is not an HTTP token", field="headers")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            # the name is safe to show; the value may be a credential
            raise ValidationError(
                f"{name}: a header value must be ASCII without control characters",
                field="headers",
            )
    return items


def _signed_headers(headers: list[tuple[str, str]], *, default_host: str) -> dict[str, str]:
    """Lower-cased name to canonical value, for every header that is signed."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower not in _UNSIGNED:
            values.setdefault(lower, []).append(_BLANKS.sub(" ", value).strip(" "))
    values.setdefault("host", [default_host])
    return {name: ",".join(each) for name, each in values.items()}


# --- the string to sign and the key -----------------------------------------------------


def _string_to_sign(canonical: str, when: datetime.datetime, scope: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{_amz_date(when)}\n{scope}\n{digest}"


def _scope(when: datetime.datetime, region: str, service: str) -> str:
    for name, value in (("region", region), ("service", service)):
        if not isinstance(value, str) or not _SCOPE_PART.fullmatch(value):
            raise ValidationError("must be letters, digits, '-', '_' or '.'", field=name)
    return f"{_amz_date(when)[:8]}/{region}/{service}/aws4_request"


def _signing_key(secret: str, when: datetime.datetime, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (_amz_date(when)[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _amz_date(when: datetime.datetime) -> str:
    """``20150830T123600Z``: ISO 8601 basic format, in UTC, to the second."""
    # by hand: strftime writes a year below 1000 with fewer than four digits
    return (
        f"{when.year:04}{when.month:02}{when.day:02}"
        f"T{when.hour:02}{when.minute:02}{when.second:02}Z"
    )


def _utc(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if not isinstance(now, datetime.datetime):
        raise ValidationError("must be a datetime", field="now")
    if now.utcoffset() is None:
        raise ValidationError("must carry a time zone (a naive time is ambiguous)", field="now")
    try:
        return now.astimezone(datetime.UTC)
    except OverflowError:  # the first or last day of the calendar, pushed past it
        pass
    raise ValidationError("is out of range", field="now")


# --- credentials --------------------------------------------------------------------------


def _check_credentials(
    access_key_id: str, secret_access_key: str, session_token: str | None
) -> None:
    """Refuse malformed credentials without repeating them."""
    if not isinstance(access_key_id, str) or not _ACCESS_KEY_ID.fullmatch(access_key_id):
        raise ValidationError("must be letters, digits, '-' or '_'", field="access_key_id")
    if not isinstance(secret_access_key, str) or not secret_access_key:
        raise ValidationError("must be a non-empty string", field="secret_access_key")
    if not _encodable(secret_access_key):
        raise ValidationError("is not valid Unicode text", field="secret_access_key")
    if session_token is not None and (
        not isinstance(session_token, str) or not _VISIBLE_ASCII.fullmatch(session_token)
    ):
        raise ValidationError("must be visible ASCII text", field="session_token")


def _encodable(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form (no lone surrogates). Python's own encoding
    error would quote the offending text, which may be a credential."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
