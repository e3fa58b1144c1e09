"""A Mailer's settings in one place: read from a mapping or from the environment.

:data:`SETTINGS` lists every setting once: its key (the Mailer's parameter, as a
mapping names it: ``{"providers": [...], "store": "redis://…", "deadline": 10}``), its
environment variable (``MAILSPEC_`` and the key in capitals), its kind, and what it
means. :func:`from_config` and :func:`from_env` read them into a Mailer (its class is
given: this module is below the Mailer, whose ``from_env`` calls it); the command line
reads the environment through the same table, and docs/configuration.md shows it.

A bad value is a :class:`~mailspec.ConfigError` naming the setting as it was given
(the variable, or the key). Provider and store URLs hold credentials: their values
are never repeated.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from ..errors import ConfigError, MailspecError, ValidationError

if TYPE_CHECKING:
    from ..adapters.base import Provider
    from ..adapters.smtp import SmtpProvider

__all__ = [
    "SETTINGS",
    "Setting",
    "from_config",
    "from_env",
    "from_settings",
    "providers_from_urls",
    "settings_from_env",
]

PREFIX = "MAILSPEC_"


class _Bad(ValueError):
    """A value of the wrong kind; its text says what was expected."""


def _words(value: object) -> list[str]:
    """A list, or a string of items separated by spaces or commas."""
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    raise _Bad("expected a list of strings, or a string of them separated by spaces or commas")


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise _Bad("expected a number")
    try:
        number = float(value) if isinstance(value, int | float | str) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise _Bad("expected a number")
    return number


def _integer(value: object) -> int:
    number = _number(value)
    if number != int(number):
        raise _Bad("expected a whole number")
    return int(number)


def _integer_or_none(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "off")):
        return None
    return _integer(value)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _Bad("expected true or false (also 1/0, yes/no, on/off)")


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad("expected a non-empty string")
    return value.strip()


def _weights(value: object) -> list[float]:
    items = _words(value) if isinstance(value, str) else value
    if not isinstance(items, Sequence):
        raise _Bad("expected a list of numbers")
    return [_number(v) for v in items]


@dataclass(frozen=True)
class Setting:
    """One setting: ``key`` in a mapping, ``variable`` in the environment, how a value
    is read (``read`` raises ValueError with what it expected), what ``kind`` of value
    it is, its ``default`` as docs show it, and whether a value may hold a credential
    (then an error never repeats it)."""

    key: str
    read: Callable[[object], Any]
    kind: str
    default: str
    meaning: str
    secret: bool = False

    @property
    def variable(self) -> str:
        return PREFIX + self.key.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("providers", _words, "provider URLs", "(required)",
            "The providers, in failover order: URLs for `mailspec.provider_from_url`, "
            "separated by spaces or commas.", secret=True),
    Setting("store", _text, "store URL", "`memory://`",
            "Where breaker, rate-limit and ledger records live (`sqlite:///state.db`, "
            "`redis://127.0.0.1:6379/0`); a shared store coordinates every process.",
            secret=True),
    Setting("timeout", _number, "seconds", "10",
            "Each provider's request timeout, where its URL gives no `?timeout=`."),
    Setting("strategy", _text, "`failover`, `round_robin`, `weighted`", "`failover`",
            "The order providers are tried in."),
    Setting("weights", _weights, "numbers", "(none)",
            "One weight per provider, for the `weighted` strategy."),
    Setting("max_attempts", _integer, "whole number", "3",
            "Sends per provider per message, retries included."),
    Setting("deadline", _number, "seconds", "30", "Time for the whole `send()`."),
    Setting("backoff", _number, "seconds", "0.5",
            "The first retry's wait ceiling; each further retry doubles it (full jitter)."),
    Setting("backoff_max", _number, "seconds", "8", "The most any retry waits."),
    Setting("on_ambiguous", _text, "`stop`, `failover`", "`stop`",
            "When a provider may have sent the message (a timeout after the request went "
            "out): stop (at most once) or try the next provider (at least once)."),
    Setting("on_unsupported", _text, "`drop`, `skip`", "`drop`",
            "A provider with no place for `tags` or `metadata`: send without them, or "
            "try the next provider."),
    Setting("breaker_threshold", _integer_or_none, "whole number or `none`", "5",
            "Consecutive failures that open a provider's breaker; `none` disables breakers."),
    Setting("breaker_cooldown", _number, "seconds", "30",
            "How long an open breaker waits before letting one probe through."),
    Setting("rate_limit", _flag, "true/false", "true",
            "Keep to each provider's documented rate with a token bucket."),
    Setting("rate_limit_wait", _number, "seconds", "1",
            "How long a send may wait for a token, or for a provider's rate-limit pause, "
            "before trying the next provider."),
    Setting("ledger", _flag, "true/false", "true",
            "Keep each idempotency key's claim and outcome in the store."),
    Setting("claim_lease", _number, "seconds", "deadline + 30",
            "How long a send holds its key in the ledger."),
    Setting("redeliver_after", _number, "seconds", "(none)",
            "Send a message with no delivery report this long after acceptance once more, "
            "through the next provider (`mailspec redeliver`); none: never."),
    Setting("poll_window", _number, "seconds", "(none)",
            "How long after acceptance `mailer.poll()` asks the provider about a send."),
    Setting("telemetry", _flag, "true/false", "true",
            "Report spans and metrics through OpenTelemetry when its API is installed."),
)  # fmt: skip

_BY_KEY = {s.key: s for s in SETTINGS}


# what the settings are read into: the Mailer class (or a subclass), given by the caller
Built = TypeVar("Built")


def from_config(make: Callable[..., Built], config: Mapping[str, Any], **options: Any) -> Built:
    """A Mailer (``make(providers, **settings)``) from settings keyed as :data:`SETTINGS`
    names them; ``options`` go to it as they are and win over ``config`` (``clock=``,
    ``on_attempt=``, …)."""
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"expected a mapping of settings, got {type(config).__name__}", field="config"
        )
    return from_settings(make, config, {s.key: s.key for s in SETTINGS}, **options)


def from_env(
    make: Callable[..., Built], environ: Mapping[str, str] | None = None, **options: Any
) -> Built:
    """A Mailer (``make(providers, **settings)``) from the ``MAILSPEC_*`` variables of
    :data:`SETTINGS` (an empty one is unset); ``options`` go to it as they are and win
    over the environment."""
    names = {s.key: s.variable for s in SETTINGS}
    return from_settings(make, _set_in(environ), names, **options)


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The read values of the ``MAILSPEC_*`` variables that are set, by key."""
    return _read(_set_in(environ), {s.key: s.variable for s in SETTINGS})


def _set_in(environ: Mapping[str, str] | None) -> dict[str, str]:
    """The ``MAILSPEC_*`` variables set in ``environ`` (default ``os.environ``), by
    setting key: a blank one is unset, one that is not a string a ConfigError."""
    env = os.environ if environ is None else environ
    if not isinstance(env, Mapping):
        raise ConfigError(
            f"expected a mapping of environment variables, got {type(env).__name__}",
            field="environ",
        )
    found = {}
    for setting in SETTINGS:
        value = env.get(setting.variable)
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"expected a string, got {type(value).__name__}", field=setting.variable
            )
        if value is not None and value.strip():
            found[setting.key] = value
    return found


def providers_from_urls(
    urls: Sequence[str], source: str, timeout: float | None = None
) -> list[Provider | SmtpProvider]:
    """The providers of ``urls`` (each URL's own ``?timeout=`` before ``timeout``); an
    error names ``source`` and the URL's place, never the URL."""
    from ..registry import provider_from_url

    if not urls:
        raise ConfigError("set it to one or more provider URLs", field=source)
    providers = []
    for number, url in enumerate(urls, 1):
        options = {} if timeout is None or _has_timeout(url) else {"timeout": timeout}
        try:
            providers.append(provider_from_url(url, **options))
        except (MailspecError, ValueError) as exc:
            what = str(exc) if isinstance(exc, MailspecError) else "not a provider URL"
            raise ConfigError(f"URL {number} of {len(urls)}: {what}", field=source) from None
    return providers


def _has_timeout(url: str) -> bool:
    try:
        return "timeout" in parse_qs(urlsplit(url).query)
    except ValueError:
        return False  # provider_from_url says what is wrong with it


def _read(config: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """Each setting of ``config`` read, or a ConfigError naming it as ``names`` does."""
    unknown = sorted(str(k) for k in config if k not in _BY_KEY)
    if unknown:  # a misspelt key would otherwise be dropped without a word
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)}; expected some of {', '.join(_BY_KEY)}",
            field=unknown[0],
        )
    values = {}
    for key, raw in config.items():
        setting = _BY_KEY[key]
        try:
            values[key] = setting.read(raw)
        except ValueError as exc:
            shown = "" if setting.secret else f", got {str(raw)[:60]!r}"
            raise ConfigError(f"{exc}{shown}", field=names[key]) from None
    return values


def from_settings(
    make: Callable[..., Built], config: Mapping[str, Any], names: Mapping[str, str], **options: Any
) -> Built:
    """A Mailer (``make(providers, **settings)``) from settings keyed as :data:`SETTINGS`
    names them, where an error names each setting as ``names`` does (a variable, a
    framework's setting key)."""
    values = _read(config, names)
    timeout = values.pop("timeout", None)
    urls = values.pop("providers", [])
    providers = options.pop("providers", None)
    if providers is None:
        providers = providers_from_urls(urls, names["providers"], timeout)
    try:
        return make(providers, **{**values, **options})
    except ConfigError:
        raise
    except ValidationError as exc:
        # the Mailer names its parameter; the caller knows the setting by its variable
        if exc.field not in values:
            raise
        why = str(exc).removeprefix(f"{exc.field}: ")
        shown = "" if _BY_KEY[exc.field].secret else f", got {str(values[exc.field])[:60]!r}"
        raise ConfigError(f"{why}{shown}", field=names[exc.field]) from None
