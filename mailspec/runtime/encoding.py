"""Turn validated parameter values into an HTTP request: form, JSON, query or multipart.

Lists are joined with the spec's separator, ``json`` parameters become a JSON string
inside a form, and credentials are added where the spec's ``auth`` puts them.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
import urllib3

from ..ir import Operation, Param
from ..message import Attachment

__all__ = ["Prepared", "json_object", "prepare"]

_json = msgspec.json.Encoder()


@dataclass(frozen=True)
class Prepared:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def _scalar(param: Param, value: Any) -> str:
    if param.type == "list[str]":
        return (param.join or ",").join(value)
    if param.type in ("json", "object", "list[object]"):
        return _json.encode(value).decode("utf-8")
    if param.type == "bool":
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def prepare(
    operation: Operation,
    base_url: str,
    values: Mapping[str, Any],
    *,
    body_credentials: Mapping[str, str],
    headers: Mapping[str, str],
) -> Prepared:
    """``values`` maps parameter names to values; None means not given."""
    path = operation.path
    pairs: list[tuple[str, str]] = list(body_credentials.items())
    files: list[Attachment] = []
    files_wire = ""
    for name, param in operation.params.items():
        value = values.get(name)
        if value is None:
            continue
        wire = param.wire or name
        if param.location == "path":
            path = path.replace(f"{{{name}}}", quote(_scalar(param, value), safe=""))
        elif param.type == "files":
            files, files_wire = list(value), wire
        else:
            pairs.append((wire, _scalar(param, value)))
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    out_headers = dict(headers)
    if operation.encoding == "query":
        query = urlencode(pairs)
        return Prepared(operation.method, f"{url}?{query}" if query else url, out_headers, None)
    if operation.encoding == "json":
        out_headers["Content-Type"] = "application/json"
        json_body = {**body_credentials, **json_object(operation, values)}
        return Prepared(operation.method, url, out_headers, _json.encode(json_body))
    if files:
        fields: list[tuple[str, Any]] = list(pairs)
        fields += [(files_wire, (a.filename, a.content, a.content_type)) for a in files]
        body, content_type = urllib3.encode_multipart_formdata(fields)
        out_headers["Content-Type"] = content_type
        return Prepared(operation.method, url, out_headers, body)
    out_headers["Content-Type"] = "application/x-www-form-urlencoded"
    return Prepared(operation.method, url, out_headers, urlencode(pairs).encode("ascii"))


def json_object(operation: Operation, values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object a json-encoded ``operation`` sends for ``values`` (credentials and
    path parameters aside), e.g. to nest one message inside a batch."""
    out: dict[str, Any] = {}
    for name, param in operation.params.items():
        value = values.get(name)
        if value is None or param.location == "path":
            continue
        wire = param.wire or name
        if param.type == "files":
            out[wire] = [_attachment_json(a) for a in value]
        else:
            out[wire] = value.isoformat() if isinstance(value, datetime.date) else value
    return out


def _attachment_json(attachment: Attachment) -> dict[str, Any]:
    # ASSUMED for JSON APIs (CloudMails documents "attachment objects" without fields):
    # filename, base64 content, content_type, and content_id for inline parts.
    out: dict[str, Any] = msgspec.to_builtins(attachment)
    if out.get("content_id") is None:
        out.pop("content_id", None)
    return out
