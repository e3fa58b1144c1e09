"""The providers' signature schemes, each implemented once and chosen by the spec.

A spec's ``webhooks.signature`` names a scheme and where its inputs are (sources:
``header:NAME``, ``query:NAME``, ``body``, or a payload path; see :mod:`.paths`):

- ``hmac``: the signature is the HMAC (sha256, sha1 or sha512; hex or base64) of the
  ``signed`` template, keyed by the secret (its text, or its base64 bytes after an
  optional ``key_prefix`` such as Svix's ``whsec_``). A source may hold several
  signatures (``separator``), those marked with ``prefix`` (Svix's ``v1,``) are
  checked, and any one matching is enough (a key rotation).
- ``ecdsa_p256``: the signature is the base64 DER ECDSA P-256/SHA-256 signature of
  ``signed``; the secret is the provider's base64 (or PEM) public key. Needs the
  ``cryptography`` package (``pip install 'mailspec[webhooks-ecdsa]'``).
- ``basic_auth``: the request's HTTP basic credentials are the secret
  (``user:password``, or a password alone, whatever the user name).
- ``token``: the ``signature`` source (a header or a query parameter) is the secret.

Comparisons take constant time. With a ``timestamp`` source, a signing time more than
the tolerance from now is refused; with an ``id`` source, the id is returned for the
replay guard (so the same request is accepted once). A scheme whose sources read the
payload (``timestamp``, ``token``) is checked per event; one that reads only the
request (headers, body) once per request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigError, WebhookVerificationError
from ..spec_model import WebhookSignature
from ..spec_paths import PathError, Source, parse_source, parse_template, per_event, read_path
from .payload import header
from .timestamps import parse_timestamp

__all__ = [
    "ECDSA_EXTRA",
    "Request",
    "hmac_signature",
    "require_backend",
    "sign",
    "signed_text",
    "verify_request",
]

ECDSA_EXTRA = "pip install 'mailspec[webhooks-ecdsa]'"
_DIGESTS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1, "sha512": hashlib.sha512}
_MAX_SIGNATURES = 16  # a header naming more is not a key rotation


@dataclass(frozen=True)
class Request:
    """What a signature may cover: the raw body, the headers (any case), the URL."""

    body: bytes
    headers: Mapping[str, str]
    url: str | None = None


class _Refused(Exception):
    """One check failed; the text says which (never with the secret)."""


def sign(secret: str, timestamp: str | int, token: str) -> str:
    """The SendCloud/Mailgun-style signature of one event: hex HMAC-SHA256 of
    ``str(timestamp) + token`` keyed by ``secret``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        raise TypeError("timestamp must be text or an integer")
    return hmac.new(secret.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def hmac_signature(scheme: WebhookSignature, secret: str, message: bytes) -> str:
    """The signature ``scheme`` writes for ``message`` (without its ``prefix``)."""
    digest = hmac.new(_hmac_key(scheme, secret), message, _DIGESTS[scheme.algorithm]).digest()
    return digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()


def require_backend(scheme: WebhookSignature) -> None:
    """ConfigError, saying what to install, when the scheme needs a missing package."""
    if scheme.scheme != "ecdsa_p256":
        return
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"ECDSA webhook signatures need the cryptography package: {ECDSA_EXTRA}",
            field="cryptography",
        ) from None


def verify_request(
    provider: str,
    scheme: WebhookSignature,
    request: Request,
    records: Sequence[dict[str, Any]],
    *,
    secret: str,
    now: float,
    tolerance: float,
) -> list[tuple[str, float]]:
    """Check the request; return the ``(id, expires_at)`` of each proof for the replay
    guard, or raise :class:`WebhookVerificationError` for the first that fails."""
    require_backend(scheme)
    try:
        if scheme.scheme == "basic_auth":
            _check_basic_auth(request, secret)
            return []
        if scheme.scheme == "token":
            _check_token(scheme, request, secret)
            return []
    except _Refused as exc:
        raise WebhookVerificationError(provider, str(exc)) from None
    if not per_event(scheme):
        return _verified(provider, "the request", scheme, request, None, secret, now, tolerance)
    ids: list[tuple[str, float]] = []
    for index, record in enumerate(records):
        where = f"event {index}"
        ids += _verified(provider, where, scheme, request, record, secret, now, tolerance)
    return ids


def _verified(
    provider: str,
    where: str,
    scheme: WebhookSignature,
    request: Request,
    record: dict[str, Any] | None,
    secret: str,
    now: float,
    tolerance: float,
) -> list[tuple[str, float]]:
    try:
        return _check_signed(scheme, request, record, secret, now, tolerance)
    except _Refused as exc:
        raise WebhookVerificationError(provider, f"{where}: {exc}") from None


def _check_signed(
    scheme: WebhookSignature,
    request: Request,
    record: dict[str, Any] | None,
    secret: str,
    now: float,
    tolerance: float,
) -> list[tuple[str, float]]:
    """One proof (an event's, or the request's): present, valid, fresh."""
    written = _read(scheme.signature, request, record)  # a signature is text, never a number
    given = _signatures(scheme, _text(written) if isinstance(written, str) else None)
    if not given:
        raise _Refused("no signature")
    one_time = _text(_read(scheme.id, request, record)) if scheme.id else None
    if scheme.id and not one_time:
        raise _Refused("no token")
    when = _signing_time(scheme, request, record)
    message = signed_text(scheme, request, record)
    if not _matches(scheme, secret, message, given):
        raise _Refused("signature does not match")
    if when is not None and abs(now - when) > tolerance:
        age = "in the future" if when > now else "stale"
        raise _Refused(f"timestamp is {age} (more than {tolerance:g} s from now)")
    if one_time is None:
        return []
    return [(one_time, (when if when is not None else now) + tolerance)]


def signed_text(scheme: WebhookSignature, request: Request, record: dict[str, Any] | None) -> bytes:
    """The bytes the ``signed`` template names, concatenated; a number is signed as
    its digits, as the provider sent it."""
    pieces = []
    for part in parse_template(scheme.signed or ""):
        if part.kind == "body":
            pieces.append(request.body)
            continue
        value = part.name if part.kind == "text" else _read_source(part, request, record)
        text = _text(value)
        if text is None:
            raise _Refused(f"no {_label(part)} to check the signature with")
        pieces.append(text.encode())
    return b"".join(pieces)


def _signing_time(
    scheme: WebhookSignature, request: Request, record: dict[str, Any] | None
) -> float | None:
    if scheme.timestamp is None:
        return None
    value = _read(scheme.timestamp, request, record)
    # signed as sent, so text or an integer's digits: a float has no one spelling
    if value == "" or isinstance(value, bool) or not isinstance(value, str | int):
        raise _Refused("no valid timestamp")
    try:
        return parse_timestamp(value, scheme.timestamp_format).timestamp()
    except ValueError:
        raise _Refused("no valid timestamp") from None


def _matches(scheme: WebhookSignature, secret: str, message: bytes, given: list[str]) -> bool:
    if scheme.scheme == "ecdsa_p256":
        return any(_ecdsa_valid(secret, message, signature) for signature in given)
    expected = hmac.new(_hmac_key(scheme, secret), message, _DIGESTS[scheme.algorithm]).digest()
    # every candidate is compared, so the time taken does not say which one matched
    results = [hmac.compare_digest(expected, _digest_bytes(scheme, g)) for g in given]
    return any(results)


def _digest_bytes(scheme: WebhookSignature, text: str) -> bytes:
    """A written signature as bytes (b"" when it cannot be read: it matches nothing)."""
    try:
        if scheme.encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return b""


def _hmac_key(scheme: WebhookSignature, secret: str) -> bytes:
    if scheme.key_prefix and secret.startswith(scheme.key_prefix):
        secret = secret[len(scheme.key_prefix) :]
    if scheme.key == "text":
        return secret.encode()
    try:
        return base64.b64decode(secret, validate=True)
    except (ValueError, binascii.Error):
        raise _Refused("the webhook key is not base64, as this scheme's keys are") from None


def _signatures(scheme: WebhookSignature, text: str | None) -> list[str]:
    """The signatures a source offers: split, filtered by ``prefix``, stripped."""
    if not text:
        return []
    items = text.split(scheme.separator) if scheme.separator else [text]
    items = [item.strip() for item in items[:_MAX_SIGNATURES]]
    if scheme.prefix:
        items = [i[len(scheme.prefix) :] for i in items if i.startswith(scheme.prefix)]
    return [item for item in items if item]


def _ecdsa_valid(public_key: str, message: bytes, signature: str) -> bool:
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key_text = public_key.strip()
        if key_text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(key_text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(key_text, validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise _Refused("the webhook key is not a public key (base64 DER or PEM)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise _Refused("the webhook key is not an ECDSA P-256 public key")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return True


def _check_basic_auth(request: Request, secret: str) -> None:
    value = header(request.headers, "Authorization")
    scheme, _, credentials = (value or "").strip().partition(" ")
    if scheme.lower() != "basic":
        raise _Refused("no basic auth credentials")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise _Refused("basic auth credentials are not base64") from None
    _, colon, password = decoded.partition(b":")
    if not colon:
        raise _Refused("basic auth credentials are not user:password")
    # a secret with a colon is user:password; without, the password alone
    offered = decoded if ":" in secret else password
    if not hmac.compare_digest(offered, secret.encode()):
        raise _Refused("basic auth credentials do not match")


def _check_token(scheme: WebhookSignature, request: Request, secret: str) -> None:
    given = _text(_read(scheme.signature, request, None))
    if not given:
        raise _Refused("no token")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode()):
        raise _Refused("token does not match")


def _read(source: str | None, request: Request, record: dict[str, Any] | None) -> Any:
    if source is None:
        return None
    return _read_source(parse_source(source), request, record)


def _read_source(part: Source, request: Request, record: dict[str, Any] | None) -> Any:
    if part.kind == "header":
        return header(request.headers, part.name)
    if part.kind == "query":
        return _query(request.url, part.name)
    if part.kind == "body":
        return request.body.decode("utf-8", "replace")
    try:
        return read_path(record, part.steps) if record is not None else None
    except PathError:
        return None


def _query(url: str | None, name: str) -> str | None:
    if not url:
        return None
    try:
        values = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == name]
    except ValueError:
        return None
    return values[0] if len(values) == 1 else None  # two could let a proxy read another


def _text(value: Any) -> str | None:
    """A value as the text that was signed: text as is (if UTF-8 can carry it), an
    integer as its digits; None for anything else."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate JSON can carry
            return None
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _label(part: Source) -> str:
    return f"{part.kind} {part.name}" if part.kind != "field" else f"field {part.name}"
