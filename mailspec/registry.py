"""Provider lookup: ``provider()``, ``provider_from_url()``, ``explain_code()``, and
``register()`` for packages of providers generated outside mailspec.

Generated packages and adapters are imported only when a provider is first asked for,
so ``import mailspec`` stays cheap whatever the number of specs. Every name a function
here takes is looked up in one table: mailspec's own providers (``mailspec.generated``),
then those of packages registered with :func:`register` or named by an entry point in
the group ``mailspec.providers`` (read once, when a provider is first looked up).

A package of providers that configuration names (an entry point, ``$MAILSPEC_PACKAGES``)
and that cannot be registered (it does not import, raises, exits, is not a generated
package, or names a provider another package has) is left out, with a warning on
``mailspec.registry`` naming it: mailspec's own providers and every other package keep
working, and asking for a provider that is then unknown says which package did not
load and why. A provider whose generated modules fail when it is first used is a
ValidationError naming it, never the exception its code raised.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
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
    "ENTRY_POINT_GROUP",
    "available",
    "capability_matrix",
    "code_table",
    "explain_code",
    "provider",
    "provider_from_url",
    "register",
    "register_from",
    "spec",
]


# generated/ installs as mailspec.generated (see setup.py)
_BUILTIN_PACKAGE = "mailspec.generated"
ENTRY_POINT_GROUP = "mailspec.providers"

log = logging.getLogger("mailspec.registry")


@dataclass(frozen=True)
class _Unloaded:
    """A package of providers that configuration named and that was left out:
    ``source`` says where it was named (``entry point 'x' of dist (mailspec.providers)``),
    ``name`` the provider name it was named under, ``problem`` why it was left out."""

    source: str
    name: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source} was not loaded: {self.problem}"


class _Table:
    """Provider name -> the module of its generated package, and which package of
    providers each name came from. Filled once with mailspec's own, then by
    :func:`register` and the entry points; guarded by one lock, as several threads
    may look a provider up for the first time at once."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.modules: dict[str, str] = {}
        self.origin: dict[str, str] = {}  # provider name -> package of providers
        self.packages: dict[str, list[str]] = {}  # package -> its provider names
        self.unloaded: list[_Unloaded] = []
        self.discovered = False

    def add(self, package: str) -> list[str]:
        """Register ``package``'s providers (a package registered before: its names)."""
        with self.lock:
            if package in self.packages:
                return self.packages[package]
            found = _read_package(package)
            for name in sorted(found):
                owner = self.origin.get(name)
                if owner is not None:
                    whose = "one of mailspec's own" if owner == _BUILTIN_PACKAGE else f"in {owner}"
                    raise ValidationError(
                        f"{package}: provider {name!r} is already {whose}; give it another "
                        "name (provider.name in its spec) and generate again",
                        field="provider",
                    )
            for name, module in found.items():
                self.modules[name] = module
                self.origin[name] = package
            self.packages[package] = sorted(found)
            return self.packages[package]

    def add_or_leave_out(self, package: str, source: str, name: str) -> list[str]:
        """:meth:`add`, or, for a package that cannot be registered, a warning and a
        record of it (for the error when a provider asked for is unknown)."""
        try:
            return self.add(package)
        except ValidationError as exc:
            self.leave_out(_Unloaded(source, name, str(exc)))
            return []

    def leave_out(self, unloaded: _Unloaded) -> None:
        with self.lock:
            self.unloaded.append(unloaded)
        log.warning("%s; its providers are left out", unloaded)

    def get(self) -> dict[str, str]:
        if not self.discovered:
            with self.lock:
                if not self.packages:
                    self.add(_BUILTIN_PACKAGE)
                if not self.discovered:
                    _discover(self)
                    self.discovered = True
        return self.modules


_TABLE = _Table()


def _read_package(package: str) -> dict[str, str]:
    """The ``PROVIDERS`` of a package ``mailspec generate`` wrote, with absolute module
    names (a generated package names its providers relative to itself, so it can be
    imported under any name)."""
    if not isinstance(package, str) or not package.strip(".").strip():
        raise ValidationError(
            f"expected a package name such as 'myapp.mail_providers', got {package!r}",
            field="package",
        )
    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError as exc:
        raise ValidationError(f"cannot import {package!r}: {exc}", field="package") from None
    except (Exception, SystemExit) as exc:  # their code failed to import: say so, in one line
        raise ValidationError(
            f"cannot import {package!r}: {type(exc).__name__}: {exc}", field="package"
        ) from None
    providers = getattr(module, "PROVIDERS", None)
    if providers is None:
        raise ValidationError(
            f"{package!r} is not a package `mailspec generate` wrote: it has no PROVIDERS",
            field="package",
        )
    if not isinstance(providers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in providers.items()
    ):
        raise ValidationError(
            f"{package!r}: PROVIDERS is not a table of provider name -> module", field="package"
        )
    return {
        name: package + module if module.startswith(".") else module
        for name, module in providers.items()
    }


def _discover(table: _Table) -> None:
    """Register the package each ``mailspec.providers`` entry point names (its value);
    one that cannot be registered is left out (:meth:`_Table.add_or_leave_out`)."""
    from importlib.metadata import entry_points

    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: (p.name, p.value)):
        dist = getattr(point, "dist", None)
        where = f"entry point {point.name!r} of {dist.name if dist else 'an installed package'}"
        source = f"{where} ({ENTRY_POINT_GROUP})"
        package = point.value.strip()
        if ":" in package or not package:
            problem = f"its value must be a package name, got {point.value!r}"
            table.leave_out(_Unloaded(source, point.name, problem))
        else:
            table.add_or_leave_out(package, source, point.name)


def register(package: str) -> list[str]:
    """Make the providers of ``package`` available wherever a provider name is taken:
    :func:`provider`, :func:`provider_from_url`, :func:`spec`, :func:`available`, the
    Mailer, the sandbox and the command line. Returns their names.

    ``package`` is the import name of a folder ``mailspec generate --spec-dir SPECS
    --out FOLDER`` wrote (for example ``"myapp.mail_providers"``); only its
    ``__init__`` is imported now, each provider when first used. Registering a package
    again does nothing; a provider name that mailspec or another registered package
    already has is a ValidationError, as is a package that cannot be imported or was
    not generated. An installed distribution can instead name the package in an entry
    point of the group ``mailspec.providers``.
    """
    _TABLE.get()  # the entry points first, so a clash is told the same way every time
    return list(_TABLE.add(package))


def register_from(source: str, package: str) -> list[str]:
    """:func:`register` for a package that configuration names rather than code
    (``source`` says where, as ``"$MAILSPEC_PACKAGES"``): one that cannot be
    registered is left out with a warning, as a broken entry point is, so that the
    other providers keep working. Returns the names registered (none when left out)."""
    _TABLE.get()
    return list(_TABLE.add_or_leave_out(package, f"{source} package {package!r}", package))


def _providers() -> dict[str, str]:
    return _TABLE.get()


def available() -> list[str]:
    """The names of every provider: mailspec's own and those of registered packages."""
    return sorted(_providers())


def _package(name: str, submodule: str = "") -> Any:
    """The module of provider ``name``'s generated package (or its ``submodule``); a
    failure of its code is a ValidationError naming the provider and the module."""
    providers = _providers()
    if not isinstance(name, str) or name not in providers:
        raise ValidationError(_unknown(name, providers), field="provider")
    module = providers[name] + submodule
    try:
        return importlib.import_module(module)
    except (Exception, SystemExit) as exc:
        raise ValidationError(
            f"{name!r} cannot be loaded: importing {module!r} raised {type(exc).__name__}: {exc}",
            field="provider",
        ) from None


def _member(name: str, submodule: str, attribute: str, kind: type) -> Any:
    """``attribute`` of provider ``name``'s generated (sub)module, which must be a
    ``kind``: a package that was edited or generated by another version says so."""
    module = _package(name, submodule)
    value = getattr(module, attribute, None)
    if not isinstance(value, kind):
        raise ValidationError(
            f"{name!r} cannot be loaded: {module.__name__}.{attribute} is not "
            f"a {kind.__name__}; generate its package again",
            field="provider",
        )
    return value


def _unknown(name: object, providers: dict[str, str]) -> str:
    """Why ``name`` is no provider: the names there are, and the packages left out
    (the one named under ``name`` alone, when there is one)."""
    known = f"unknown provider {name!r}; known: {', '.join(sorted(providers))}"
    with _TABLE.lock:
        left_out = list(_TABLE.unloaded)
    named = [u for u in left_out if u.name == name]
    if named:
        return f"{name!r} is not available: {named[0]}"
    if left_out:
        return f"{known}; left out with errors: {', '.join(u.source for u in left_out)}"
    return known


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
    resolved = spec(name)
    client_class = _member(name, "", "CLIENT", type)
    if transport == "smtp" and resolved.auth.smtp is None:
        raise UnsupportedOperation(name, "transport='smtp'", "its spec names no SMTP login")
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
    runtime: type[Provider] = importlib.import_module("mailspec.adapters.base").Provider
    instance = runtime(client_class(credentials=credentials, **options))
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
    if resolved.hooks is not None:
        table = _hooks(name)
        client = instance.client
        client.request_hook = _hook(name, table, resolved.hooks.request)
        client.answer_hook = _hook(name, table, resolved.hooks.answer)
    return instance


def _hooks(name: str) -> dict[str, Any]:
    """The ``HOOKS`` table of the ``hooks`` module beside provider ``name``'s generated
    package: the package ``register()``, an entry point or ``$MAILSPEC_PACKAGES``
    brought in. ``mailspec generate`` leaves a hand-written module there alone."""
    _providers()
    package = _TABLE.origin.get(name, _BUILTIN_PACKAGE)
    try:
        module = importlib.import_module(f"{package}.hooks")
    except ModuleNotFoundError as exc:
        raise ValidationError(
            f"{name!r} names hooks, but {package}.hooks cannot be imported: {exc}",
            field="hooks",
        ) from None
    except (Exception, SystemExit) as exc:
        raise ValidationError(
            f"{name!r}: importing {package}.hooks raised {type(exc).__name__}: {exc}",
            field="hooks",
        ) from None
    table = getattr(module, "HOOKS", None)
    if not isinstance(table, dict):
        raise ValidationError(
            f"{name!r}: {package}.hooks has no HOOKS table of name -> function", field="hooks"
        )
    return table


def _hook(name: str, table: dict[str, Any], hook: str | None) -> Any:
    """The function ``hook`` names in ``table``; None where the spec names none."""
    if hook is None:
        return None
    function = table.get(hook)
    if not callable(function):
        raise ValidationError(
            f"{name!r} names the hook {hook!r}, which its package's HOOKS lacks "
            f"(it has: {', '.join(sorted(table)) or 'none'})",
            field="hooks",
        )
    return function


def provider_from_url(url: str, **options: Any) -> Provider | SmtpProvider:
    """A provider from one string, for configuration in an environment variable:
    ``aurorasendcloud://USER:KEY@us``, ``cloudmails://KEY@?base_url=http://127.0.0.1:8025/v1``,
    ``aurorasendcloud+smtp://USER:KEY@us`` (over SMTP).

    The user-info part holds the credentials in the order the spec lists them
    (percent-encode reserved characters); the host is the region; ``base_url``,
    ``timeout`` and ``max_answer_bytes`` (and, over SMTP, ``smtp_host`` and
    ``smtp_port``) may follow as query parameters. A spec's settings (Mailgun's
    ``domain``) go in the user-info after the credentials or in the query
    (``mailgun://api:KEY@eu?domain=mg.example.com``); where HTTP basic auth's user name
    is fixed text (Mailgun's ``api``), the user-info may start with it, as the
    provider's documents write the credentials.
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
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    credentials: dict[str, Any] = {k: query.pop(k) for k in auth.settings if k in query}
    from .spec_model import auth_keywords, placeholders

    names = [n for n in auth_keywords(auth)[0] if n not in credentials]
    values = [unquote(v) for v in userinfo.split(":")]
    fixed_user = (
        auth.basic.username if auth.basic and not placeholders(auth.basic.username) else None
    )
    if fixed_user is not None and len(values) > 1 and values[0] == fixed_user:
        values = values[1:]  # written as the provider's documents write it: `api:KEY`
    if len(values) != len(names):
        settings = [s for s in auth.settings if s not in credentials]
        hint = f" (or {', '.join(f'?{s}=' for s in settings)} in the query)" if settings else ""
        raise ValidationError(
            f"{name} URLs carry {len(names)} credential(s): {':'.join(names).upper()}{hint}",
            field="url",
        )
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
    credentials.update(zip(names, values, strict=True))
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
    from .spec_model import Spec

    resolved: Spec = _member(provider_name, ".spec", "SPEC", Spec)
    return resolved


def explain_code(provider_name: str, code: int) -> CodeInfo:
    """The row of a provider's status-code table; category ``unknown`` for a code its
    spec does not list."""
    codes: dict[int, Code] = _member(provider_name, ".codes", "CODES", dict)
    if not isinstance(code, int) or isinstance(code, bool):
        raise ValidationError(f"expected a whole number, got {type(code).__name__}", field="code")
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
    codes: dict[int, Code] = _member(provider_name, ".codes", "CODES", dict)
    return [explain_code(provider_name, code) for code in sorted(codes)]


def capability_matrix() -> dict[str, Capabilities]:
    """What every provider can do, from its spec (imports every generated package). A
    provider whose package fails to load is left out, with a warning naming it."""
    from .contract import Capabilities as capabilities

    matrix: dict[str, Capabilities] = {}
    for name in available():
        try:
            matrix[name] = capabilities.of(spec(name))
        except ValidationError as exc:
            log.warning("%s; left out of the capability matrix", exc)
    return matrix
