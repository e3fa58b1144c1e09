"""Turn checked parameter values into an HTTP request: form, JSON, query or multipart.

Lists are joined with the spec's separator, ``json`` parameters become a JSON string
inside a form, and credentials are added where the spec's ``auth`` puts them. Nothing
here does I/O: a transport, sync or async, sends the :class:`HttpRequest` as it is.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from typing import Any
from urllib.parse import quote

import msgspec
import urllib3

from .. import wire_paths as wirepath
from ..checks.addresses import parse_mailbox
from ..errors import ValidationError
from ..message import Attachment
from ..spec_model import AddressKeys, FileKeys, Operation, Param
from .signing import signature

__all__ = ["HttpRequest", "Signer", "encode_request", "form_urlencode", "json_object"]

_json = msgspec.json.Encoder()

# --- application/x-www-form-urlencoded, byte for byte what urllib.parse.urlencode makes --
# urlencode quotes every key and value with quote_plus, which walks the UTF-8 bytes one
# by one in Python: most of the cost of a send with a 2 KB html body. The same bytes come
# from whole-string operations: short strings go through a 256-entry table, long ones
# get one str.replace per unsafe character they actually contain.

_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"  # quote's
_TABLE = [chr(b) if b in _SAFE else "+" if b == 0x20 else f"%{b:02X}" for b in range(256)]
# "%" first (the replacements introduce it), " " last (after "+" became "%2B")
_REPLACE = [(chr(b), _TABLE[b]) for b in range(256) if b not in _SAFE and b not in b" %"]
_REPLACE_ASCII = [(c, r) for c, r in _REPLACE if c.isascii()]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.~-]")
_SHORT = 96  # below this, the table is quicker than scanning for every unsafe character


def _quote_plus(text: str) -> str:
    """``urllib.parse.quote_plus(text)`` (UTF-8, strict), faster."""
    if len(text) < _SHORT:
        if _UNSAFE.search(text) is None:
            return text
        return "".join(map(_TABLE.__getitem__, text.encode("utf-8")))
    if text.isascii():
        replacements = _REPLACE_ASCII
    else:
        # one character per UTF-8 byte, so that each byte is replaced by its escape
        text, replacements = text.encode("utf-8").decode("latin-1"), _REPLACE
    if "%" in text:
        text = text.replace("%", "%25")
    for char, escape in replacements:
        if char in text:
            text = text.replace(char, escape)
    return text.replace(" ", "+") if " " in text else text


def form_urlencode(pairs: Iterable[tuple[str, str]]) -> str:
    """``urllib.parse.urlencode(pairs)`` for string keys and values: the same text."""
    return "&".join(_quote_plus(k) + "=" + _quote_plus(v) for k, v in pairs)


@dataclass(frozen=True)
class Signer:
    """Sign a request: ``param`` (wire name) carries the ``algorithm`` digest keyed by ``key``."""

    param: str
    algorithm: str
    key: str = field(repr=False)


@dataclass(frozen=True)
class HttpRequest:
    """The bytes of one request. Its headers and body hold credentials, so its repr
    shows the method and the URL's path only."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.url.split('?', 1)[0]})"


def _date(param: Param, value: datetime.date) -> str | int:
    """A date or time in the parameter's ``date_format`` (a date alone as midnight UTC,
    where the format wants a time)."""
    if param.date_format in ("rfc2822", "epoch"):
        moment = (
            value
            if isinstance(value, datetime.datetime)
            else datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
        )
        if param.date_format == "epoch":
            return int(moment.timestamp())
        return email.utils.format_datetime(moment)
    return value.isoformat()


def _scalar(param: Param, value: Any) -> str:
    if param.type == "list[str]":
        return (param.join or ",").join(value)
    if param.type in ("json", "object", "list[object]"):
        return _json.encode(value).decode("utf-8")
    if param.type == "bool":
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return str(_date(param, value))
    return str(value)


_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e]")


def _header_value(name: str, text: str) -> str:
    """A parameter's text as a request header value: printable ASCII only, so that no
    line break can add a header of its own (the value is not quoted: it may be a key)."""
    if _HEADER_UNSAFE.search(text):
        raise ValidationError("a header value takes printable ASCII characters only", field=name)
    return text


def encode_request(
    operation: Operation,
    base_url: str,
    values: Mapping[str, Any],
    *,
    body_credentials: Mapping[str, str],
    headers: Mapping[str, str],
    signer: Signer | None = None,
    extra: Mapping[str, Any] | None = None,
    query_credentials: Mapping[str, str] | None = None,
    path: str | None = None,
) -> HttpRequest:
    """``values`` maps parameter names to values; None means not given. ``extra`` maps
    wire names no parameter declares to values, sent at the top level as given (a
    form value that is not a string as JSON). A ``signer`` adds a signature over every
    other pair (form and query encodings). ``query_credentials`` go in the query
    string whatever the encoding; ``path`` is the operation's path with its settings
    placeholders already filled (default the spec's)."""
    path = operation.path if path is None else path
    in_query = list((query_credentials or {}).items())
    pairs: list[tuple[str, str]] = list(body_credentials.items())
    files: list[tuple[str, Attachment, str]] = []  # wire name, file, the part's file name
    as_json = operation.encoding == "json"  # its body comes from json_object() below
    in_headers: dict[str, str] = {}
    given = _given(operation, values)
    for name, param, value in given:
        wire = param.wire or name
        if param.location == "path":
            path = path.replace(f"{{{name}}}", quote(_scalar(param, value), safe=""))
        elif param.location == "header":
            in_headers[wire] = _header_value(name, _scalar(param, value))
        elif as_json:
            continue
        elif param.type == "files":
            by_id = param.filename_from == "content_id"
            files += [
                (wire, a, (a.content_id or a.filename) if by_id else a.filename) for a in value
            ]
        else:
            pairs += _form_fields(param, wire, value)
    if not as_json:
        pairs += [(name, _extra_scalar(value)) for name, value in (extra or {}).items()]
    if signer is not None:
        pairs.append((signer.param, signature(pairs, algorithm=signer.algorithm, key=signer.key)))
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    out_headers = {**headers, **in_headers}
    if operation.encoding == "query":
        query = form_urlencode(in_query + pairs)
        return HttpRequest(operation.method, f"{url}?{query}" if query else url, out_headers, None)
    if in_query:
        url += "?" + form_urlencode(in_query)
    if operation.encoding == "json":
        out_headers["Content-Type"] = "application/json"
        document = _json_object(given)
        if operation.body is not None:  # the body is one parameter's value (a batch array)
            param = operation.params[operation.body]
            body = document.get(param.wire or operation.body, [])
            return HttpRequest(operation.method, url, out_headers, _json.encode(body))
        json_body = _merged({**body_credentials, **document}, extra or {})
        return HttpRequest(operation.method, url, out_headers, _json.encode(json_body))
    if files:
        fields: list[tuple[str, Any]] = list(pairs)
        fields += [(wire, (name, a.content, a.declared_type)) for wire, a, name in files]
        body, content_type = urllib3.encode_multipart_formdata(fields)
        out_headers["Content-Type"] = content_type
        return HttpRequest(operation.method, url, out_headers, body)
    out_headers["Content-Type"] = "application/x-www-form-urlencoded"
    return HttpRequest(operation.method, url, out_headers, form_urlencode(pairs).encode("ascii"))


def _merged(document: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` (options no parameter declares) merged into ``document``: an object
    into an object key by key, all the way down (``{"tracking_settings":
    {"subscription_tracking": ...}}`` keeps the tracking the message asked for, as
    anymail's ``esp_extra``), anything else replacing what is there."""
    out = dict(document)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _given(operation: Operation, values: Mapping[str, Any]) -> list[tuple[str, Param, Any]]:
    """The parameters a request carries, in spec order, with their values: those given,
    and constants; the inline parts of a ``files`` parameter with ``inline_to`` are the
    other parameter's (Mailgun's ``attachment`` and ``inline``)."""
    moved: dict[str, list[Attachment]] = {}
    for name, param in _inline_sources(operation):
        files = values.get(name)
        if files:
            moved[param.inline_to or ""] = [a for a in files if a.content_id]
    out: list[tuple[str, Param, Any]] = []
    for name, param in operation.params.items():
        value: Any = values.get(name)
        if value is None and param.const is None and name not in moved:
            continue  # most parameters of a request: not given
        # a constant `beside` another parameter goes only where that one has a value
        beside_ok = param.beside is None or values.get(param.beside) is not None
        if param.const is not None and value is None and beside_ok:
            value = param.const
        if param.type == "files" and param.inline_to is not None and value:
            value = [a for a in value if not a.content_id]
        if name in moved:
            value = [*(value or []), *moved[name]]
        if value is None:
            continue
        out.append((name, param, value))
    return out


def _form_fields(param: Param, wire: str, value: Any) -> list[tuple[str, str]]:
    """One parameter as form (or query) fields: one field, one per item (``repeat``:
    ``o:tag=a&o:tag=b``) or one per entry of an object (``prefix``: ``h:X-Order=7``)."""
    if param.repeat and isinstance(value, list):
        return [(wire, str(item)) for item in value]
    if param.prefix is not None and isinstance(value, Mapping):
        return [(param.prefix + key, _entry_text(item)) for key, item in value.items()]
    return [(wire, _scalar(param, value))]


def _entry_text(value: Any) -> str:
    """An object's entry as one field's text: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else _json.encode(value).decode("utf-8")


def _extra_scalar(value: Any) -> str:
    """An extra field's value in a form: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else _json.encode(value).decode("utf-8")


_INLINE_SOURCES: dict[int, tuple[Operation, list[tuple[str, Param]]]] = {}
_MAX_KNOWN_OPERATIONS = 512  # specs' operations: few, but a program may load specs anew


def _inline_sources(operation: Operation) -> list[tuple[str, Param]]:
    """The ``files`` parameters of ``operation`` whose inline parts go to another
    (``inline_to``): found once per operation, since most have none."""
    known = _INLINE_SOURCES.get(id(operation))
    if known is not None and known[0] is operation:
        return known[1]
    sources = [
        (name, param)
        for name, param in operation.params.items()
        if param.type == "files" and param.inline_to is not None
    ]
    if len(_INLINE_SOURCES) >= _MAX_KNOWN_OPERATIONS:
        _INLINE_SOURCES.clear()
    _INLINE_SOURCES[id(operation)] = (operation, sources)  # kept alive: its id stays its own
    return sources


def json_object(operation: Operation, values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object a json-encoded ``operation`` sends for ``values`` (credentials and
    path parameters aside), e.g. to nest one message inside a batch. Each parameter is
    written in its declared wire form: a joined string, ``{key, value}`` pairs, entries
    named by a prefix at the top level, attachment objects with the provider's keys,
    address objects; a wire path (``personalizations[0].to``) places it inside nested
    objects and lists (:mod:`mailspec.wire_paths`)."""
    return _json_object(_given(operation, values))


def _json_object(given: list[tuple[str, Param, Any]]) -> dict[str, Any]:
    """:func:`json_object` of the parameters :func:`_given` picked."""
    out: dict[str, Any] = {}
    for name, param, value in given:
        if param.location in ("path", "header"):
            continue
        wire = param.wire or name
        written: Any
        if param.type == "files":
            written = [_attachment_json(a, param.keys or _DEFAULT_KEYS) for a in value]
        elif param.address is not None:
            written = _address_json(param.address, value)
        elif param.type == "list[str]" and param.join is not None:
            written = param.join.join(value)
        elif param.pairs is not None and isinstance(value, Mapping):
            written = _pairs(param, value)
        elif param.prefix is not None and isinstance(value, Mapping):
            out.update({param.prefix + k: v for k, v in value.items()})
            continue
        elif param.number_wire is not None and _is_number_text(value):
            written = int(value)  # Postmark's TemplateId: 1234
            wire = param.number_wire
        elif param.type == "json":  # an object sent as a JSON string (SES's TemplateData)
            written = _json.encode(value).decode("utf-8")
        else:
            written = _date(param, value) if isinstance(value, datetime.date) else value
        if wirepath.is_path(wire):  # a place inside nested objects and lists
            wirepath.put(out, wire, written)
        else:
            out[wire] = written
    return out


def _pairs(param: Param, value: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An object as ``{key, value}`` objects; an entry holding a list is one object per
    item, under the same name (one ``X-Tag`` header per tag)."""
    assert param.pairs is not None
    keys = param.pairs
    return [
        {keys.key: k, keys.value: item}
        for k, v in value.items()
        for item in (v if isinstance(v, list) else [v])
    ]


def _address_json(keys: AddressKeys, value: Any) -> Any:
    """Mailboxes (``Ann <ann@example.org>`` or an address; one or a list) as address
    objects (``{"email": ..., "name": ...}``), the name left out where there is none,
    and given back as written (encoded words, which a header needs, decoded)."""
    if isinstance(value, list):
        return [_address_json(keys, item) for item in value]
    box = parse_mailbox(value)
    out = {keys.email: box.address}
    if box.name:
        name = box.name
        if "=?" in name:  # the encoded words mime.display_name wrote for a header
            name = str(make_header(decode_header(name)))
        out[keys.name] = name
    return out


def _is_number_text(value: Any) -> bool:
    """Text of ASCII decimal digits (an id a `number_wire` parameter sends as a number)."""
    return isinstance(value, str) and value.isascii() and value.isdecimal()


_DEFAULT_KEYS = FileKeys()


def _attachment_json(attachment: Attachment, keys: FileKeys) -> dict[str, Any]:
    # ASSUMED for JSON APIs that document "attachment objects" without fields (CloudMails):
    # filename, base64 content, content_type (a text type with its charset), and
    # content_id for inline parts; a spec names other keys with `keys:`.
    # A spec whose provider reads the type from the file name (Brevo) names no
    # content_type key: none is sent.
    out: dict[str, Any] = {
        keys.filename: attachment.filename,
        keys.content: base64.b64encode(attachment.content).decode("ascii"),
    }
    if keys.content_type is not None:
        kind = attachment.declared_type
        if keys.utf8_text:  # the provider declares the charset itself: the type alone
            kind = kind.split(";", 1)[0].strip()
        out[keys.content_type] = kind
    if attachment.content_id is not None:
        out[keys.content_id] = keys.content_id_prefix + attachment.content_id
        out.update(keys.inline)  # an inline part's own marks (SendGrid's disposition)
    return out
