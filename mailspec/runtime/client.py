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

import base64
import dataclasses
import importlib
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import msgspec
import urllib3

from .._naming import ident
from ..checks.request import check_request
from ..errors import MalformedResponseError, UnsupportedOperation, ValidationError, mark_written
from ..spec_model import Operation, SigV4, Spec, auth_keywords, fill_template
from .answers import read_answer
from .bounds import max_answer_bytes as answer_bytes
from .bounds import may_have_acted
from .encoding import HttpRequest, Signer, encode_request, form_urlencode
from .numbers import AnswerDecoder
from .secrets import Secret
from .transport import Answer, Transport, check_base_url

__all__ = ["DEFAULT_TIMEOUT", "AnswerHook", "BaseClient", "Call", "RequestHook", "timeout_seconds"]

# the two hook points of a spec's `hooks` (see spec_model.Hooks)
RequestHook = Callable[[str, HttpRequest], HttpRequest]
AnswerHook = Callable[[str, int, Mapping[str, str], bytes], bytes]

DEFAULT_TIMEOUT = 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: no credential holds one


@dataclass(frozen=True, slots=True)
class Call:
    """One operation with parameter values that passed the spec's checks, and ``extra``
    wire fields no parameter declares (``Message.provider_options``), sent at the top
    level of the request as given. ``url``, where given, is asked instead of the
    operation's path and query: a next page's URL from an answer (next-URL paging), on
    the base URL's host only."""

    operation: str
    values: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None


class BaseClient:
    """Shared by the generated clients; see their own docstrings for the operations."""

    spec: ClassVar[Spec]
    envelope_decoder: ClassVar[AnswerDecoder[Any]]
    request_types: ClassVar[dict[str, type[msgspec.Struct]]]
    decoders: ClassVar[dict[str, AnswerDecoder[Any]]]

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
        expected, optional = auth_keywords(spec.auth)
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
        if spec.region_required and base_url is None and region is None:
            raise ValidationError(
                f"{self.name} needs a region; choose one of {', '.join(spec.regions)}",
                field="region",
                provider=self.name,
            )
        region = region or spec.default_region
        if base_url is None and (not isinstance(region, str) or region not in spec.regions):
            raise ValidationError(
                f"unknown region {region!r}; choose one of {', '.join(spec.regions)}",
                field="region",
                provider=self.name,
            )
        # the region (a signing scope too) and the settings fill {placeholders} of base
        # URLs and paths; they are no secrets, so the filled URLs may be shown
        self.region = region if isinstance(region, str) else spec.default_region
        self._fills = {s: credentials[s] for s in spec.auth.settings}
        self._fills["region"] = self.region
        if base_url is None:
            self.base_url = self._filled(spec.regions[self.region].base_url)
            self._bases = {name: self._filled(url) for name, url in spec.extra_bases.items()}
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
        # each operation's parameters with a default of their own, to fill where not given
        self._defaults = {
            name: [
                (p, param.default) for p, param in op.params.items() if param.default is not None
            ]
            for name, op in spec.operations.items()
        }
        # the spec's `hooks`, which the registry resolves in the user's package
        self.request_hook: RequestHook | None = None
        self.answer_hook: AnswerHook | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _filled(self, template: str) -> str:
        """A base URL or path with its region and settings placeholders filled, each
        value percent-encoded so that it stays one host label or path segment."""
        return fill_template(template, self._fills, lambda v: quote(v, safe=""))

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
        for name in extra or {}:
            if name in self._credential_wires():
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
        if op.auth == "default" and self.spec.auth.aws_sigv4 is not None:
            _sigv4_sign(self.name)  # UnsupportedOperation before any I/O where it is missing
        defaults = {
            name: dict(default)
            for name, default in self._defaults[operation]
            if values.get(name) is None
        }
        if defaults:  # an object no Message field filled (Postmark's TemplateModel: {})
            values = {**values, **defaults}
        check_request(self.name, op, values)
        return Call(operation, values, dict(extra or {}))

    def execute(self, call: Call) -> Any:
        """Send a prepared call and read its answer: the decoded response, or the typed
        error of its code."""
        return self.exchange(call)[0]

    def exchange(self, call: Call) -> tuple[Any, Mapping[str, str]]:
        """:meth:`execute`, with the answer's headers (where an operation's
        ``ids_header`` is)."""
        op = self.spec.operations[call.operation]
        base = self._bases[op.base] if op.base else self.base_url
        budget = self._transport.start()  # the request's time runs from the connect on
        self._transport.warm(base, budget)  # a provider that is down fails before the encoding
        request = self.encode(call)
        answer = self._transport.send(
            request.method, request.url, request.headers, request.body, budget
        )
        if self.answer_hook is not None:
            answer = self._hooked_answer(op, call.operation, answer)
        try:
            decoded = read_answer(
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
        return decoded, answer.headers

    def call(self, operation: str, values: Mapping[str, Any]) -> Any:
        """:meth:`prepare`, then :meth:`execute`."""
        return self.execute(self.prepare(operation, values))

    def encode(self, call: Call) -> HttpRequest:
        """The HTTP request of ``call``, with the credentials its operation's ``auth``
        names (signed where the client was built with ``signed=True``). No I/O."""
        op = self.spec.operations[call.operation]
        auth = self.spec.auth
        body_credentials: dict[str, str] = {}
        query_credentials: dict[str, str] = {}
        headers: dict[str, str] = {}
        signer: Signer | None = None
        if op.auth == "default":
            headers = self._auth_headers()
            body_credentials = {wire: self._secrets[c].reveal() for c, wire in auth.body.items()}
            query_credentials = {wire: self._secrets[c].reveal() for c, wire in auth.query.items()}
        elif op.auth != "none":
            body_credentials, signer = self._credential_set(op.auth)
        base = self._bases[op.base] if op.base else self.base_url
        request = encode_request(
            op,
            base,
            call.values,
            body_credentials=body_credentials,
            query_credentials=query_credentials,
            headers=headers,
            signer=signer,
            extra=call.extra,
            path=self._filled(op.path),
        )
        if call.url is not None:
            request = self._at_url(request, call.url, base, signer)
        if self.request_hook is not None:
            request = self._hooked_request(call.operation, request)
        if op.auth == "default" and auth.aws_sigv4 is not None:
            request = self._signed_v4(request, auth.aws_sigv4)
        return request

    def _at_url(
        self, request: HttpRequest, url: str, base: str, signer: Signer | None
    ) -> HttpRequest:
        """``request`` sent to ``url`` (a next page's URL, whole or relative to
        ``base``) with the credentials it carries: the URL's own query, plus the
        credentials the operation sends in the query. A URL on another host than the
        base URL is refused, so the credentials never go anywhere else."""
        target = urljoin(base.rstrip("/") + "/", url)
        here, there = urlsplit(base), urlsplit(target)
        if (there.scheme, there.hostname, there.port) != (here.scheme, here.hostname, here.port):
            raise MalformedResponseError(
                self.name,
                f"the next page's URL is on {there.hostname or 'no host'}, not the "
                f"provider's {here.hostname}: not followed (the credentials stay here)",
                http_status=None,
                ambiguous=False,
            )
        if signer is not None:
            raise UnsupportedOperation(
                self.name, "a next page's URL", "a signed request signs its own fields"
            )
        sent = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        credentials = {k: v for k, v in sent.items() if k in self._credential_wires()}
        if credentials:
            target += ("&" if there.query else "?") + form_urlencode(list(credentials.items()))
        return HttpRequest(request.method, target, request.headers, None)

    def _hooked_request(self, operation: str, request: HttpRequest) -> HttpRequest:
        """The spec's request hook applied; a hook that fails or returns something
        else is a ValidationError (nothing was sent)."""
        assert self.request_hook is not None
        try:
            hooked = self.request_hook(operation, request)
        except Exception as exc:  # the user's code: one typed error, never a bare one
            raise ValidationError(
                f"the request hook raised {type(exc).__name__}: {exc}",
                field="hooks",
                provider=self.name,
            ) from exc
        if not isinstance(hooked, HttpRequest):
            raise ValidationError(
                f"the request hook returned {type(hooked).__name__}, not an HttpRequest",
                field="hooks",
                provider=self.name,
            )
        return hooked

    def _hooked_answer(self, op: Operation, operation: str, answer: Answer) -> Answer:
        """The spec's answer hook applied to the body; a hook that fails makes the
        answer unreadable (ambiguous where the provider may have acted on it)."""
        assert self.answer_hook is not None
        try:
            body = self.answer_hook(operation, answer.status, answer.headers, answer.body)
            if not isinstance(body, bytes):
                raise TypeError(f"it returned {type(body).__name__}, not bytes")
        except Exception as exc:
            raise MalformedResponseError(
                self.name,
                f"the answer hook failed on HTTP {answer.status}: {type(exc).__name__}: {exc}",
                http_status=answer.status,
                ambiguous=may_have_acted(op.method, answer.status),
            ) from exc
        return dataclasses.replace(answer, body=body)

    def _auth_headers(self) -> dict[str, str]:
        """The headers the spec's default auth puts credentials in: a bearer token,
        named headers (templates of credentials), HTTP basic."""
        auth = self.spec.auth
        values = {name: secret.reveal() for name, secret in self._secrets.items()}
        headers: dict[str, str] = {}
        if auth.bearer:
            headers["Authorization"] = "Bearer " + values[auth.bearer]
        for name, template in auth.headers.items():
            headers[name] = fill_template(template, values, str)
        if auth.basic is not None:
            pair = ":".join(
                fill_template(t, values, str) for t in (auth.basic.username, auth.basic.password)
            )
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return headers

    def _signed_v4(self, request: HttpRequest, scheme: SigV4) -> HttpRequest:
        """``request`` with the AWS Signature Version 4 headers of the client's keys."""
        token = self._secrets.get(scheme.session_token) if scheme.session_token else None
        added = _sigv4_sign(self.name)(
            request.method,
            request.url,
            request.headers,
            request.body or b"",
            access_key_id=self._secrets[scheme.access_key_id].reveal(),
            secret_access_key=self._secrets[scheme.secret_access_key].reveal(),
            region=self.region,
            service=scheme.service,
            session_token=token.reveal() if token is not None else None,
        )
        return HttpRequest(request.method, request.url, {**request.headers, **added}, request.body)

    def _credential_wires(self) -> set[str]:
        """The wire names credentials travel under, in any of the spec's sets."""
        auth = self.spec.auth
        wires = {*auth.body.values(), *auth.query.values()}
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


def _sigv4_sign(provider: str) -> Callable[..., dict[str, str]]:
    """``mailspec.runtime.sigv4.sign``, imported when a spec first asks for it; an
    installation without that module cannot sign, which is UnsupportedOperation."""
    try:
        module = importlib.import_module("mailspec.runtime.sigv4")
    except ImportError:
        raise UnsupportedOperation(
            provider,
            "AWS Signature Version 4 (auth: aws_sigv4)",
            "this installation has no mailspec.runtime.sigv4 to sign with",
        ) from None
    sign: Callable[..., dict[str, str]] = module.sign
    return sign


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
