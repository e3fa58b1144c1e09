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
import re
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mailspec.spec_model import Spec, Webhooks, WebhookSignature

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


def spec_event(hooks: Webhooks, event: str, *, key: str = SECRET, **fields: Any) -> dict[str, Any]:
    """One event laid out as a spec's ``webhooks`` section says (its field paths, the
    event type's own paths first, nested where a path is; inside its ``records`` path
    as JSON text, as SNS carries an SES event; SendCloud-style signature fields, signed
    with ``key``, for an HMAC scheme reading the payload): for a provider whose payload
    no test writes out by hand. A scheme that signs in headers: :func:`spec_headers`."""
    names = hooks.fields
    row = hooks.events.get(event)
    own = row.fields if row is not None else None

    def path(role: str) -> str | None:
        return (getattr(own, role, None) if own is not None else None) or getattr(names, role)

    raw: dict[str, Any] = {}
    put_path(raw, names.event, event)
    message_id, recipient, timestamp = path("message_id"), path("recipient"), path("timestamp")
    if message_id:
        put_path(raw, message_id, "spec-event-message-1")
    if recipient:
        put_path(raw, recipient, "ann@example.org")
    signature = hooks.signature
    if (
        signature is not None
        and signature.scheme == "hmac"
        and signature.signed == f"{{{signature.timestamp}}}{{{signature.id}}}"
    ):  # SendCloud-style: HMAC(key, timestamp + token), each a payload field
        token = fresh_token()
        put_path(raw, str(signature.timestamp), NOW)
        put_path(raw, str(signature.id), token)
        put_path(raw, str(signature.signature), hmac_hex(key, NOW, token))
    elif timestamp:
        put_path(
            raw, timestamp, NOW if hooks.timestamp_format == "epoch" else "2023-11-14T22:13:20Z"
        )
    raw = {**raw, **fields}
    if hooks.records not in (".", ""):
        envelope: dict[str, Any] = {}
        put_path(envelope, hooks.records, json.dumps(raw))
        return envelope
    return raw


def spec_headers(hooks: Webhooks, key: str = SECRET) -> dict[str, str]:
    """The request headers proving an event came from the provider, for a scheme that
    proves it in headers: HTTP basic auth (any user name, ``key`` as the password)."""
    signature = hooks.signature
    if signature is not None and signature.scheme == "basic_auth":
        return {"Authorization": "Basic " + base64.b64encode(f"hooks:{key}".encode()).decode()}
    return {}


def put_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a payload path (``a.b``, ``a[0].b``, ``list[0]``) in ``target``,
    making the objects and one-item lists on the way."""
    steps: list[str | int] = []
    for part in path.split("."):
        name, *indexes = part.replace("]", "").split("[")
        if name:
            steps.append(name)
        steps += [int(i) for i in indexes]
    node: Any = target
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if following is None:
            if isinstance(step, int):
                while len(node) <= step:
                    node.append(None)
            node[step] = value
            return
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(step, int):
            while len(node) <= step:
                node.append(None)
            if node[step] is None:
                node[step] = fresh
            node = node[step]
        else:
            node = node.setdefault(step, fresh)


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


def header_signed(signature: WebhookSignature | None) -> bool:
    """The scheme signs the request in its headers (Svix's HMAC, SendGrid's ECDSA), not
    inside each event (SendCloud, Mailgun)."""
    if signature is None or signature.scheme not in ("hmac", "ecdsa_p256"):
        return False
    return "{header:" in (signature.signed or "") or "{body}" in (signature.signed or "")


def _ecdsa_pair() -> tuple[Any, str]:
    """A fresh P-256 key pair: the private key, and the public key as SendGrid shows
    its verification key (base64 DER), the receiver's secret."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()


def sign_headers(
    signature: WebhookSignature, body: bytes, *, timestamp: int = NOW
) -> tuple[dict[str, str], str]:
    """Headers signing ``body`` in a header-signed scheme, written out here with
    ``hmac``/``cryptography`` from the scheme's keys, and the secret that verifies them:
    the HMAC key (``SECRET``, with the scheme's key prefix, as base64 where the scheme
    reads it so), or a fresh ECDSA key pair's public key."""
    headers = dict(JSON)
    one_time = fresh_token()
    for source, value in ((signature.timestamp, str(timestamp)), (signature.id, one_time)):
        if source and source.startswith("header:") and source != signature.signature:
            headers[source.removeprefix("header:")] = value

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "body":
            return body.decode()
        return headers[name.removeprefix("header:")]

    message = re.sub(r"\{([^}]+)\}", fill, signature.signed or "").encode()
    target = (signature.signature or "").removeprefix("header:")
    if signature.scheme == "ecdsa_p256":
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        private, public = _ecdsa_pair()
        der = private.sign(message, ec.ECDSA(hashes.SHA256()))
        headers[target] = signature.prefix + base64.b64encode(der).decode()
        return headers, public
    raw_key = SECRET.encode()
    secret = SECRET
    if signature.key == "base64":
        secret = signature.key_prefix + base64.b64encode(raw_key).decode()
    elif signature.key_prefix:
        secret = signature.key_prefix + SECRET
    algorithm = {"sha1": hashlib.sha1, "sha512": hashlib.sha512}.get(
        signature.algorithm, hashlib.sha256
    )
    digest = hmac.new(raw_key, message, algorithm).digest()
    text = base64.b64encode(digest).decode() if signature.encoding == "base64" else digest.hex()
    headers[target] = signature.prefix + text
    return headers, secret
