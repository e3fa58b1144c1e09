"""Helpers for the webhook tests (imported as ``webhooks_support``; no other test folder
uses that name).

Signatures here are computed with ``hmac``/``hashlib`` directly, never with
``mailspec.webhooks.sign``, so a bug in the library's signing cannot hide in both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mailspec.spec_model import Spec, Webhooks

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"

# a secret no output, error or log record may ever contain
SECRET = "SENTINEL-webhook-key-7f3a9c"
NOW = 1_700_000_000  # a fixed "now" (2023-11-14T22:13:20Z): tests pass it, nothing sleeps
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

_tokens = itertools.count()


def hmac_hex(key: str, timestamp: str | int, token: str) -> str:
    """SendCloud's documented scheme, written out: HMAC-SHA256(key, str(ts) + token)."""
    return hmac.new(key.encode(), (str(timestamp) + token).encode(), hashlib.sha256).hexdigest()


def fresh_token() -> str:
    """A token no other test uses (the process-wide replay guard is shared)."""
    return f"tok-{next(_tokens):06d}-{id(_tokens):x}"


def signed(
    event: str = "deliver",
    *,
    key: str = SECRET,
    timestamp: str | int = NOW,
    token: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One SendCloud-style event, signed with ``key``."""
    token = token or fresh_token()
    return {
        "event": event,
        "emailId": "1700000000000_42_1_1.sc-10_9_4_41-inbound0$ann@example.org",
        "recipient": "ann@example.org",
        "timestamp": timestamp,
        "token": token,
        "signature": hmac_hex(key, timestamp, token),
        **fields,
    }


def form_body(event: dict[str, Any]) -> bytes:
    return urlencode({k: str(v) for k, v in event.items()}).encode()


def json_body(events: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def spec_with_webhooks(webhooks_yaml: str) -> Spec:
    """A small provider spec whose ``webhooks`` section is ``webhooks_yaml`` (the rest is
    CloudMails'), loaded and checked as ``mailspec spec check`` would: a spec the
    checks refuse fails the test that wrote it."""
    from mailspec.codegen.checks import check
    from mailspec.codegen.loader import load_text

    text = (SPEC_DIR / "cloudmails.yaml").read_text(encoding="utf-8")
    start = text.index("\nwebhooks:\n") + 1
    end = text.index("\n\n", start) + 1
    text = text[:start] + textwrap.dedent(webhooks_yaml).strip() + "\n" + text[end:]
    text = text.replace("name: cloudmails", "name: hookshape", 1)
    located = load_text(text, "spec/hookshape.yaml")
    check(located)
    return located.spec


def spec_request(
    hooks: Webhooks, event: str, *, key: str = SECRET, encoding: str = "json", **fields: Any
) -> tuple[bytes, dict[str, str]]:
    """One event posted as a spec's ``webhooks`` section says, whatever its scheme reads:
    the body (``encoding``) and the request headers, the payload's fields at their paths
    (nested ones too: ``data.to[0]``), signed with ``key`` as an ``hmac`` scheme says
    (sources in headers or in the payload; the HMAC computed here with ``hmac`` and
    ``hashlib``), the signing time ``NOW``. Other schemes (ECDSA, basic auth, a token)
    are left to the tests of their own: their events get no proof here."""
    from mailspec.spec_paths import parse_source, parse_template, write_path

    names = hooks.fields
    iso = "2023-11-14T22:13:20Z"
    payload: dict[str, Any] = {}
    plain = {names.event: event, names.message_id: "spec-event-message-1"}
    plain[names.recipient] = "ann@example.org"
    plain[names.timestamp] = NOW if hooks.timestamp_format == "epoch" else iso
    for path, value in {**plain, **fields}.items():
        if path:
            write_path(payload, parse_source(path).steps, value)
    headers = dict(JSON if encoding == "json" else FORM)
    scheme = hooks.signature
    if scheme is None or scheme.scheme != "hmac" or scheme.signed is None:
        return _encoded(payload, encoding), headers
    stamp: Any = NOW if scheme.timestamp_format == "epoch" else iso
    token = fresh_token()

    def put(source_text: str | None, value: Any) -> None:
        if source_text is None:
            return
        source = parse_source(source_text)
        if source.kind == "header":
            headers[source.name] = str(value)
        elif source.kind == "field":
            write_path(payload, source.steps, value)

    put(scheme.timestamp, stamp)
    put(scheme.id, token)
    body = _encoded(payload, encoding)
    signed = b""
    for part in parse_template(scheme.signed):
        if part.kind == "text":
            signed += part.name.encode()
        elif part.kind == "body":
            signed += body
        elif part.kind == "header":
            signed += headers[part.name].encode()
        else:
            signed += str(_read(payload, part.steps)).encode()
    secret = key.removeprefix(scheme.key_prefix)
    raw_key = base64.b64decode(secret) if scheme.key == "base64" else secret.encode()
    digest = hmac.new(raw_key, signed, getattr(hashlib, scheme.algorithm)).digest()
    text = base64.b64encode(digest).decode() if scheme.encoding == "base64" else digest.hex()
    put(scheme.signature, scheme.prefix + text)
    if parse_source(scheme.signature or "").kind == "field":
        body = _encoded(payload, encoding)  # the signature travels in the payload itself
    return body, headers


def _read(payload: Any, steps: tuple[Any, ...]) -> Any:
    for step in steps:
        payload = payload[step]
    return payload


def _encoded(payload: dict[str, Any], encoding: str) -> bytes:
    return json_body(payload) if encoding == "json" else form_body(payload)


def webhook_key(hooks: Webhooks) -> str:
    """A signing secret of the form the spec's scheme takes: Svix's ``whsec_`` and base64
    where the key is base64 bytes, else the plain test secret."""
    scheme = hooks.signature
    if scheme is not None and scheme.key == "base64":
        return scheme.key_prefix + base64.b64encode(SECRET.encode()).decode()
    return SECRET
