"""Provider lookup: ``provider()``, ``provider_from_url()`` and ``explain_code()``.

Generated packages and adapters are imported only when a provider is first asked for,
so ``import mailspec`` stays cheap whatever the number of specs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import parse_qs, unquote, urlsplit

from .contract import Capabilities
from .errors import UnsupportedOperation, ValidationError
from .results import CodeInfo
from .vocabulary import ErrorCategory

if TYPE_CHECKING:
    from .adapters.base import Provider
    from .adapters.smtp import SmtpProvider
    from .spec_model import Code, Spec

__all__ = [
    "available",
    "capability_matrix",
    "code_table",
    "explain_code",
    "provider",
    "provider_from_url",
    "spec",
]

# API style (a spec's provider.style) -> the adapter class that speaks it
_STYLES = {
    "sendcloud": ("mailspec.adapters.sendcloud", "SendCloudStyle"),
    "cloudmails": ("mailspec.adapters.cloudmails", "CloudMailsStyle"),
    "aotsend": ("mailspec.adapters.aotsend", "AotSendStyle"),
}


def _providers() -> dict[str, str]:
    # imported by name: generated/ installs as mailspec.generated (see setup.py)
    providers: dict[str, str] = importlib.import_module("mailspec.generated").PROVIDERS
    return providers


def available() -> list[str]:
    """The names of every provider with a generated package."""
    return sorted(_providers())


def _package(name: str, submodule: str = "") -> Any:
    providers = _providers()
    if not isinstance(name, str) or name not in providers:
        raise ValidationError(
            f"unknown provider {name!r}; known: {', '.join(sorted(providers))}", field="provider"
        )
    return importlib.import_module(providers[name] + submodule)


TRANSPORTS = ("http", "smtp")


@overload
def provider(
    name: str,
    *,
    transport: Literal["http"] = "http",
    base_url: str | None = None,
    region: str | None = None,
    timeout: float | None = None,
    max_answer_bytes: int | None = None,
    ca_certs: str | None = None,
    signed: bool = False,
    smtp_host: None = None,
    smtp_port: None = None,
    starttls: None = None,
    **credentials: str,
) -> Provider: ...


@overload
def provider(
    name: str,
    *,
    transport: Literal["smtp"],
    base_url: str | None = None,
    region: str | None = None,
    timeout: float | None = None,
    max_answer_bytes: int | None = None,
    ca_certs: str | None = None,
    signed: bool = False,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    starttls: bool | None = None,
    **credentials: str,
) -> SmtpProvider: ...


def provider(
    name: str,
    *,
    transport: str = "http",
    base_url: str | None = None,
    region: str | None = None,
    timeout: float | None = None,
    max_answer_bytes: int | None = None,
    ca_certs: str | None = None,
    signed: bool = False,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    starttls: bool | None = None,
    **credentials: str,
) -> Provider | SmtpProvider:
    """Build one provider, e.g. ``provider("aurorasendcloud", api_user=..., api_key=..., region="us")``.

    ``base_url`` replaces the provider's base URL exactly as its documents write it
    (operation paths are relative to it); plain ``http://`` is accepted for loopback
    addresses only. ``timeout`` (seconds, default 10) bounds every request as a whole,
    connect to the answer's last byte, and so each socket operation within it; in a
    :class:`~mailspec.Mailer`, the send's remaining ``deadline`` cuts it shorter.
    ``max_answer_bytes`` caps the size of an answer (default 1 MiB for a send, 16 MiB
    for a GET such as ``status()``); a larger one is not read and raises
    MalformedResponseError (ambiguous when its status said a send succeeded).
    ``signed=True`` signs the requests of operations whose credentials the spec lets be
    signed (AuroraSendCloud's SMS), so their key is never sent.

    ``transport="smtp"`` sends over SMTP instead, where the spec names an SMTP login
    (``auth.smtp``; else UnsupportedOperation): to the region's server, port 587 with
    STARTTLS by default. ``smtp_host``/``smtp_port`` replace them, ``starttls``
    defaults to whether the port is one of the spec's STARTTLS ports, ``timeout``
    bounds the connect and every reply, and ``ca_certs`` verifies the STARTTLS
    certificate. Without STARTTLS the host must be loopback. ``status()`` still uses
    the REST API, with ``base_url``. See :mod:`mailspec.adapters.smtp`.
    """
    if transport not in TRANSPORTS:
        raise ValidationError(
            f"unknown transport {transport!r}; expected {' or '.join(TRANSPORTS)}",
            field="transport",
        )
    smtp_options = {"smtp_host": smtp_host, "smtp_port": smtp_port, "starttls": starttls}
    if transport != "smtp":
        given = [option for option, value in smtp_options.items() if value is not None]
        if given:
            raise ValidationError(
                f"{', '.join(given)} apply to transport='smtp' only", field=given[0]
            )
    package = _package(name)
    if transport == "smtp" and package.SPEC.auth.smtp is None:
        raise UnsupportedOperation(name, "transport='smtp'", "its spec names no SMTP login")
    module, cls = _STYLES[package.SPEC.provider.style]
    adapter = getattr(importlib.import_module(module), cls)
    options: dict[str, Any] = {
        "region": region,
        "base_url": base_url,
        "ca_certs": ca_certs,
        "signed": signed,
    }
    if timeout is not None:
        options["timeout"] = timeout
    if max_answer_bytes is not None:
        options["max_answer_bytes"] = max_answer_bytes
    instance: Provider = adapter(package.CLIENT(credentials=credentials, **options))
    if transport == "smtp":
        smtp: SmtpProvider = importlib.import_module("mailspec.adapters.smtp").SmtpProvider.build(
            instance,
            credentials,
            region=region,
            host=smtp_host,
            port=smtp_port,
            starttls=starttls,
            timeout=timeout,
            ca_certs=ca_certs,
        )
        return smtp
    return instance


def provider_from_url(url: str, **options: Any) -> Provider | SmtpProvider:
    """A provider from one string, for configuration in an environment variable:
    ``aurorasendcloud://USER:KEY@us``, ``cloudmails://KEY@?base_url=http://127.0.0.1:8025/v1``,
    ``aurorasendcloud+smtp://USER:KEY@us`` (over SMTP).

    The user-info part holds the credentials in the order the spec lists them
    (percent-encode reserved characters); the host is the region; ``base_url``,
    ``timeout`` and ``max_answer_bytes`` (and, over SMTP, ``smtp_host`` and
    ``smtp_port``) may follow as query parameters.
    """
    if not isinstance(url, str):
        raise ValidationError(f"expected a URL string, got {type(url).__name__}", field="url")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket in the host; never echo the URL
        raise ValidationError(
            "not a valid URL (an unclosed '[' in the host?)", field="url"
        ) from None
    name, plus, transport = parts.scheme.partition("+")
    if not name or "@" not in parts.netloc or (plus and transport != "smtp"):
        # never echo the URL: it holds credentials
        raise ValidationError("expected PROVIDER[+smtp]://CREDENTIALS@REGION", field="url")
    if transport:
        options.setdefault("transport", transport)
    auth = spec(name).auth
    userinfo, _, host = parts.netloc.rpartition("@")
    values = [unquote(v) for v in userinfo.split(":")]
    names = list(auth.body) if auth.body else [auth.bearer] if auth.bearer else []
    if len(values) != len(names):
        raise ValidationError(
            f"{name} URLs carry {len(names)} credential(s): {':'.join(names).upper()}", field="url"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    known = _SMTP_URL_OPTIONS if transport else _URL_OPTIONS
    unknown = set(query) - set(known)
    if unknown:
        raise ValidationError(
            f"unknown option(s) {', '.join(sorted(unknown))}; expected {', '.join(known)}",
            field="url",
        )
    for key, value in query.items():
        try:
            options.setdefault(key, known[key](value))
        except ValueError:
            raise ValidationError(f"{key}: expected a number, got {value!r}", field="url") from None
    credentials: dict[str, Any] = dict(zip(names, values, strict=True))
    return provider(name, region=unquote(host) or None, **options, **credentials)


# the options a provider URL's query may carry, and how to read each (over SMTP, more)
_URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    "base_url": str,
    "timeout": float,
    "max_answer_bytes": int,
}
_SMTP_URL_OPTIONS: dict[str, Callable[[str], Any]] = {
    **_URL_OPTIONS,
    "smtp_host": str,
    "smtp_port": int,
}


def spec(provider_name: str) -> Spec:
    """A provider's resolved spec (its generated ``spec.SPEC``)."""
    resolved: Spec = _package(provider_name, ".spec").SPEC
    return resolved


def explain_code(provider_name: str, code: int) -> CodeInfo:
    """The row of a provider's status-code table; category ``unknown`` for a code its
    spec does not list."""
    codes: dict[int, Code] = _package(provider_name, ".codes").CODES
    row = codes.get(code)
    if row is None:
        return CodeInfo(
            provider_name,
            code,
            "not in the provider's documented codes",
            ErrorCategory.UNKNOWN,
            False,
        )
    return CodeInfo(
        provider_name, code, row.message, row.category, bool(row.retryable), row.partial
    )


def code_table(provider_name: str) -> list[CodeInfo]:
    """Every row of a provider's status-code table, by code."""
    codes: dict[int, Code] = _package(provider_name, ".codes").CODES
    return [explain_code(provider_name, code) for code in sorted(codes)]


def capability_matrix() -> dict[str, Capabilities]:
    """What every provider can do, from its spec (imports every generated package)."""
    from .contract import Capabilities as capabilities

    return {name: capabilities.of(spec(name)) for name in available()}
