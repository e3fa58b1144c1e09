"""The base every generated client extends: one call path for every operation.

A call goes in three steps, and only the middle one does I/O:

1. :meth:`BaseClient.prepare` checks the parameter values against the operation's
   spec and returns a :class:`Call` (a ValidationError here means nothing was sent);
2. :meth:`BaseClient.execute` connects (before encoding, so that a provider that is
   down costs only the connect), encodes the call with :func:`~.encoding.encode_request`
   and has the transport move the bytes;
3. :func:`~.answers.read_answer` turns the answer into the decoded response or the
   typed error its code names.

:meth:`BaseClient.call` does all three; the generated methods wrap it, and an adapter
that sends a message in several requests prepares them all before executing the first.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
import urllib3

from .._naming import ident
from ..checks.request import check_request
from ..errors import ValidationError, mark_written
from ..spec_model import Operation, Spec
from .answers import read_answer
from .bounds import max_answer_bytes as answer_bytes
from .encoding import HttpRequest, Signer, encode_request
from .secrets import Secret
from .transport import Transport, check_base_url

__all__ = ["DEFAULT_TIMEOUT", "BaseClient", "Call", "timeout_seconds"]

DEFAULT_TIMEOUT = 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: no credential holds one


@dataclass(frozen=True, slots=True)
class Call:
    """One operation with parameter values that passed the spec's checks, and ``extra``
    wire fields no parameter declares (``Message.provider_options``), sent at the top
    level of the request as given."""

    operation: str
    values: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)


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
        max_answer_bytes: int | None = None,
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
            if not isinstance(value, str):
                # the type only: the value is a credential, never echoed
                raise ValidationError(
                    f"the credential {name} must be a string, got {type(value).__name__}",
                    field=name,
                    provider=self.name,
                )
            if _CONTROL.search(value):
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
            if not isinstance(region, str) or region not in spec.regions:
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
        if max_answer_bytes is not None:
            max_answer_bytes = answer_bytes(max_answer_bytes, self.name)
        self._transport = Transport(
            self.name, timeout=timeout, ca_certs=ca_certs, max_answer_bytes=max_answer_bytes
        )
        self._plans = {name: _plan(op) for name, op in spec.operations.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        self._transport.close()

    def ensure_pool_size(self, size: int) -> None:
        """Keep at least ``size`` keep-alive connections per server, for that many
        threads sending through this client at once (see :class:`~.transport.Transport`)."""
        self._transport.ensure_pool_size(size)

    def prepare(
        self, operation: str, values: Mapping[str, Any], extra: Mapping[str, Any] | None = None
    ) -> Call:
        """Check ``values`` (parameter name → value, None where not given) against the
        operation's spec, and that the client holds the credentials the operation
        needs; ``extra`` wire fields may not be where the credentials go.
        ValidationError, no I/O."""
        op = self.spec.operations[operation]
        taken = self._credential_wires()
        for name in extra or {}:
            if name in taken:
                raise ValidationError(
                    f"{name!r} is where the credentials go; it cannot be an extra field",
                    field="provider_options",
                    provider=self.name,
                )
        if op.auth not in ("default", "none"):
            missing = [c for c in self.spec.auth.sets[op.auth].body if c not in self._secrets]
            if missing:
                raise ValidationError(
                    f"{operation} needs the credentials "
                    f"{', '.join(self.spec.auth.sets[op.auth].body)}; "
                    f"pass {', '.join(missing)} to mailspec.provider()",
                    field="credentials",
                    provider=self.name,
                )
        check_request(self.name, op, values)
        return Call(operation, values, dict(extra or {}))

    def execute(self, call: Call) -> Any:
        """Send a prepared call and read its answer: the decoded response, or the typed
        error of its code."""
        op = self.spec.operations[call.operation]
        base = self._bases[op.base] if op.base else self.base_url
        budget = self._transport.start()  # the request's time runs from the connect on
        self._transport.warm(base, budget)  # a provider that is down fails before the encoding
        request = self.encode(call)
        answer = self._transport.send(
            request.method, request.url, request.headers, request.body, budget
        )
        try:
            return read_answer(
                self.spec,
                op,
                answer,
                self.decoders[call.operation],
                self.envelope_decoder,
                self._secrets.values(),
            )
        except BaseException as exc:
            if not isinstance(exc, Exception):  # interrupted with the answer in hand
                mark_written(exc, self.name)
            raise

    def call(self, operation: str, values: Mapping[str, Any]) -> Any:
        """:meth:`prepare`, then :meth:`execute`."""
        return self.execute(self.prepare(operation, values))

    def encode(self, call: Call) -> HttpRequest:
        """The HTTP request of ``call``, with the credentials its operation's ``auth``
        names (signed where the client was built with ``signed=True``). No I/O."""
        op = self.spec.operations[call.operation]
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
            body_credentials, signer = self._credential_set(op.auth)
        base = self._bases[op.base] if op.base else self.base_url
        return encode_request(
            op,
            base,
            call.values,
            body_credentials=body_credentials,
            headers=headers,
            signer=signer,
            extra=call.extra,
        )

    def _credential_wires(self) -> set[str]:
        """The wire names credentials travel under, in any of the spec's sets."""
        auth = self.spec.auth
        wires = set(auth.body.values())
        for credentials in auth.sets.values():
            wires.update(credentials.body.values())
        return wires

    def values_of(self, operation: str, request: msgspec.Struct) -> dict[str, Any]:
        """The parameter values a generated request struct holds, by parameter name."""
        return {name: getattr(request, attr) for name, attr in self._plans[operation]}

    def _credential_set(self, name: str) -> tuple[dict[str, str], Signer | None]:
        """The body credentials of ``auth.sets[name]``, and a signer when signing."""
        creds = self.spec.auth.sets[name]  # prepare() made sure the client holds them
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


def _plan(op: Operation) -> list[tuple[str, str]]:
    """(parameter name, request attribute) pairs, named by the generator's sanitizer."""
    return [(name, ident(name)) for name in op.params]


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
