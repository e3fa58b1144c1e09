"""The base every generated client extends: one call path for every operation.

``_call`` validates the request against the spec; ``_send`` (which an adapter that
checked every request of a message up front calls directly) encodes it, sends it, reads the envelope (the status code, from
the body or the HTTP status), and returns the decoded answer on a success code or
raises the error class the code's category names.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import msgspec
import urllib3

from .._naming import ident
from .._vocab import ErrorCategory
from ..errors import MalformedResponseError, ValidationError, error_class_for
from ..ir import Operation, Spec
from .encoding import Signer, prepare
from .secrets import Secret, redact
from .transport import Answer, Transport, check_base_url
from .validation import check_request

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "timeout_seconds"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0

# What decoding an unreadable body raises: msgspec raises UnicodeDecodeError, not a
# DecodeError, for invalid UTF-8 inside a JSON string.
_UNREADABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: no credential holds one

# What an HTTP status means when the body carries no readable code.
_HTTP_CATEGORIES = {
    400: ErrorCategory.VALIDATION,
    401: ErrorCategory.AUTHENTICATION,
    403: ErrorCategory.PERMISSION,
    404: ErrorCategory.NOT_FOUND,
    409: ErrorCategory.CONFLICT,
    413: ErrorCategory.VALIDATION,
    422: ErrorCategory.VALIDATION,
    429: ErrorCategory.RATE_LIMIT,
}


class BaseClient:
    """Shared by the generated clients; see their own docstrings for the operations."""

    spec: ClassVar[Spec]
    envelope_decoder: ClassVar[msgspec.json.Decoder[Any]]
    request_types: ClassVar[dict[str, type[msgspec.Struct]]]
    decoders: ClassVar[dict[str, msgspec.json.Decoder[Any]]]

    def __init__(
        self,
        *,
        credentials: Mapping[str, str],
        region: str | None = None,
        base_url: str | None = None,
        timeout: float | urllib3.Timeout = DEFAULT_TIMEOUT,
        ca_certs: str | None = None,
        signed: bool = False,
    ) -> None:
        spec = self.spec
        self.name = spec.provider.name
        expected = sorted(spec.auth.body) if spec.auth.body else [spec.auth.bearer or ""]
        # the credentials of auth.sets are optional here: the operations that use them ask
        optional = sorted(c for creds in spec.auth.sets.values() for c in creds.body)
        missing = [c for c in expected if not credentials.get(c)]
        unknown = sorted(set(credentials) - set(expected) - set(optional))
        if missing or unknown:
            problem = (
                f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
            )
            raise ValidationError(
                f"{problem}; expected credentials: {', '.join(expected)}"
                + (f" (and optionally {', '.join(optional)})" if optional else ""),
                field="credentials",
                provider=self.name,
            )
        for name, value in credentials.items():
            if isinstance(value, str) and _CONTROL.search(value):
                # a key read from a file often keeps its newline; sent, it would split a
                # header or change the key (the value itself is never echoed)
                raise ValidationError(
                    f"the credential {name} contains a line break or another control character",
                    field=name,
                    provider=self.name,
                )
        self._secrets = {name: Secret(value) for name, value in credentials.items() if value}
        # sign the requests of credential sets that define a signing scheme, rather than
        # sending their key
        self.signed = signed
        if base_url is None:
            region = region or spec.default_region
            if region not in spec.regions:
                raise ValidationError(
                    f"unknown region {region!r}; choose one of {', '.join(spec.regions)}",
                    field="region",
                    provider=self.name,
                )
            self.base_url = spec.regions[region].base_url
            self._bases = dict(spec.extra_bases)
        else:
            # base_url replaces every base, extra ones included: the sandbox and test
            # servers answer all of a provider's paths on one address
            self.base_url = check_base_url(base_url)
            self._bases = dict.fromkeys(spec.extra_bases, self.base_url)
        if not isinstance(timeout, urllib3.Timeout):
            # urllib3 would raise ValueError here, or accept nan/inf and fail at send time
            timeout = timeout_seconds(timeout, self.name)
        self._transport = Transport(self.name, timeout=timeout, ca_certs=ca_certs)
        self._plans = {name: _plan(op) for name, op in spec.operations.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def _call(self, operation: str, request: msgspec.Struct, decoder: msgspec.json.Decoder[T]) -> T:
        values = {name: getattr(request, attr) for name, attr in self._plans[operation]}
        check_request(self.name, self.spec.operations[operation], values)
        return self._send(operation, values, decoder)

    def _send(
        self, operation: str, values: Mapping[str, Any], decoder: msgspec.json.Decoder[T]
    ) -> T:
        """Send ``operation`` with parameter ``values`` that check_request has passed
        (an adapter that checks every request of a message before the first calls this)."""
        op = self.spec.operations[operation]
        body_credentials: dict[str, str] = {}
        headers: dict[str, str] = {}
        signer: Signer | None = None
        if op.auth == "default":
            if self.spec.auth.bearer:
                headers["Authorization"] = "Bearer " + self._secrets[self.spec.auth.bearer].reveal()
            else:
                body_credentials = {
                    wire: self._secrets[c].reveal() for c, wire in self.spec.auth.body.items()
                }
        elif op.auth != "none":
            body_credentials, signer = self._credential_set(operation, op.auth)
        base = self._bases[op.base] if op.base else self.base_url
        self._transport.warm(base)  # a provider that is down fails before the encoding
        prepared = prepare(
            op, base, values, body_credentials=body_credentials, headers=headers, signer=signer
        )
        answer = self._transport.send(
            prepared.method, prepared.url, prepared.headers, prepared.body
        )
        return self._read(op, answer, decoder)

    def _credential_set(self, operation: str, name: str) -> tuple[dict[str, str], Signer | None]:
        """The body credentials of ``auth.sets[name]``, and a signer when signing."""
        creds = self.spec.auth.sets[name]
        missing = [c for c in creds.body if c not in self._secrets]
        if missing:
            raise ValidationError(
                f"{operation} needs the credentials {', '.join(creds.body)}; "
                f"pass {', '.join(missing)} to mailspec.provider()",
                field="credentials",
                provider=self.name,
            )
        signing = creds.signing if self.signed else None
        body = {
            wire: self._secrets[c].reveal()
            for c, wire in creds.body.items()
            if signing is None or c != signing.key
        }
        if signing is None:
            return body, None
        if signing.timestamp is not None:
            body[signing.timestamp] = str(int(time.time() * 1000))
        key = self._secrets[signing.key].reveal()
        return body, Signer(signing.param, signing.algorithm, key)

    def _read(self, op: Operation, answer: Answer, decoder: msgspec.json.Decoder[T]) -> T:
        code, message = self._envelope(op, answer)
        row = self.spec.codes.get(code) if code is not None else None
        if row is not None and row.category == ErrorCategory.SUCCESS and 200 <= answer.status < 300:
            try:
                return decoder.decode(answer.body)
            except _UNREADABLE as exc:
                raise self._malformed(op, answer, f"unexpected answer shape: {exc}") from None
        if row is None and (code is None or self.spec.envelope.code_from == "http"):
            # no readable code, or an HTTP status the spec does not list (a 502 from a
            # proxy): the status class says what it means
            category = _HTTP_CATEGORIES.get(
                answer.status,
                ErrorCategory.SERVER if answer.status >= 500 else ErrorCategory.UNKNOWN,
            )
        else:
            category = row.category if row is not None else ErrorCategory.UNKNOWN
        if category == ErrorCategory.SUCCESS:  # a success code on a failed HTTP status
            category = ErrorCategory.SERVER if answer.status >= 500 else ErrorCategory.UNKNOWN
        text = redact(
            message or (row.message if row else f"HTTP {answer.status}"), self._secrets.values()
        )
        error_class = error_class_for(category)
        raise error_class(
            self.name,
            code if code is not None else answer.status,
            text,
            http_status=answer.status,
            retryable=row.retryable if row is not None and row.category == category else None,
            retry_after=_retry_after(answer),
        )

    def _envelope(self, op: Operation, answer: Answer) -> tuple[int | None, str | None]:
        """The status code and message of an answer; raises MalformedResponseError when
        a body that must carry them cannot be read."""
        try:
            envelope = self.envelope_decoder.decode(answer.body) if answer.body else None
        except _UNREADABLE:
            envelope = None
        message = getattr(envelope, "message", None) if envelope is not None else None
        if self.spec.envelope.code_from == "http":
            return answer.status, message if isinstance(message, str) else None
        code = getattr(envelope, "code", None) if envelope is not None else None
        if code is None:
            if 200 <= answer.status < 300:
                raise self._malformed(op, answer, "the answer carries no status code")
            return None, None  # an HTTP error page: the status says enough
        return code, message if isinstance(message, str) else None

    def _malformed(self, op: Operation, answer: Answer, why: str) -> MalformedResponseError:
        preview = redact(answer.body[:120].decode("utf-8", "replace"), self._secrets.values())
        # a 2xx on a call that changes something may have done it: say so
        ambiguous = 200 <= answer.status < 300 and op.method != "GET"
        return MalformedResponseError(
            self.name,
            f"{why} (HTTP {answer.status}, body {preview!r})",
            http_status=answer.status,
            ambiguous=ambiguous,
        )


def _plan(op: Operation) -> list[tuple[str, str]]:
    """(parameter name, request attribute) pairs, named by the generator's sanitizer."""
    return [(name, ident(name)) for name in op.params]


def _retry_after(answer: Answer) -> float | None:
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def timeout_seconds(value: object, provider: str | None = None) -> float:
    """``value`` as a timeout: a finite number of seconds > 0, else ValidationError."""
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        return float(value)
    raise ValidationError(
        f"expected a finite number of seconds > 0, got {value!r}",
        field="timeout",
        provider=provider,
    )
