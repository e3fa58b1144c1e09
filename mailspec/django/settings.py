"""The ``MAILSPEC`` Django setting: read once per process into a Mailer and webhook
secrets, and read again when a test changes it (``override_settings``).

    MAILSPEC = {
        "PROVIDERS": ["sendcloud://API_USER:API_KEY@", "cloudmails://KEY@"],
        "STRATEGY": "failover",
        "STORE": "redis://10.0.0.5:6379/0",
        "ON_AMBIGUOUS": "stop",
        "WEBHOOK_SECRETS": {"sendcloud": "…"},
    }

``PROVIDERS`` holds provider URLs (``mailspec.provider_from_url``), a list or one
string separated by spaces or commas; every other key but ``WEBHOOK_SECRETS`` is a
Mailer option in upper case (``DEADLINE`` is ``deadline=``). A bad setting is an
``ImproperlyConfigured`` naming it, never repeating its value: URLs, store URLs and
secrets hold credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ..errors import ValidationError
from ..mailer import Mailer
from ..mailer.config import providers_from_urls

__all__ = [
    "SETTING",
    "build_mailer",
    "get_mailer",
    "improperly_configured",
    "mailer_options",
    "on_change",
    "webhook_secret",
]

SETTING = "MAILSPEC"


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> bool:
    return isinstance(value, str)


def _flag(value: object) -> bool:
    return isinstance(value, bool)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count_or_none(value: object) -> bool:
    return value is None or _count(value)


def _number_or_none(value: object) -> bool:
    return value is None or _number(value)


def _numbers(value: object) -> bool:
    return isinstance(value, list | tuple) and all(map(_number, value))


# setting key -> (the Mailer keyword, whether a value is of the right type, what that is)
_OPTIONS: dict[str, tuple[str, Callable[[object], bool], str]] = {
    "STRATEGY": ("strategy", _text, "'failover', 'round_robin' or 'weighted'"),
    "WEIGHTS": ("weights", _numbers, "a list of numbers, one per provider"),
    "MAX_ATTEMPTS": ("max_attempts", _count, "a whole number"),
    "DEADLINE": ("deadline", _number, "seconds"),
    "BACKOFF": ("backoff", _number, "seconds"),
    "BACKOFF_MAX": ("backoff_max", _number, "seconds"),
    "ON_AMBIGUOUS": ("on_ambiguous", _text, "'stop' or 'failover'"),
    "ON_UNSUPPORTED": ("on_unsupported", _text, "'drop' or 'skip'"),
    "BREAKER_THRESHOLD": ("breaker_threshold", _count_or_none, "a whole number or None"),
    "BREAKER_COOLDOWN": ("breaker_cooldown", _number, "seconds"),
    "RATE_LIMIT": ("rate_limit", _flag, "True or False"),
    "RATE_LIMIT_WAIT": ("rate_limit_wait", _number, "seconds"),
    "STORE": ("store", _text, "a store URL"),
    "LEDGER": ("ledger", _flag, "True or False"),
    "CLAIM_LEASE": ("claim_lease", _number_or_none, "seconds or None"),
}
_OWN_KEYS = ("PROVIDERS", "WEBHOOK_SECRETS")
_BY_KEYWORD = {keyword: key for key, (keyword, _, _) in _OPTIONS.items()}


def improperly_configured(key: str | None, problem: str) -> ImproperlyConfigured:
    """The error for a bad ``MAILSPEC`` (``key``: the entry at fault)."""
    where = f"{SETTING}[{key!r}]" if key else SETTING
    return ImproperlyConfigured(f"{where}: {problem}")


def _setting() -> Mapping[str, Any]:
    value = getattr(settings, SETTING, None)
    if value is None:
        raise improperly_configured(
            None, "set it to a dict with at least 'PROVIDERS' (provider URLs)"
        )
    if not isinstance(value, Mapping):
        raise improperly_configured(None, f"expected a dict, got {type(value).__name__}")
    return value


def mailer_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """The Mailer keywords of a ``MAILSPEC`` dict (every key but ``PROVIDERS`` and
    ``WEBHOOK_SECRETS``), type-checked: ImproperlyConfigured naming the key."""
    unknown = sorted(str(k) for k in config if k not in _OPTIONS and k not in _OWN_KEYS)
    if unknown:
        known = ", ".join([*_OWN_KEYS, *_OPTIONS])
        raise improperly_configured(None, f"unknown key(s) {', '.join(unknown)}; expected {known}")
    options: dict[str, Any] = {}
    for key, (keyword, fits, expected) in _OPTIONS.items():
        if key not in config:
            continue
        value = config[key]
        if not fits(value):
            raise improperly_configured(key, f"expected {expected}, got {type(value).__name__}")
        options[keyword] = value
    return options


def _provider_urls(config: Mapping[str, Any]) -> list[str]:
    urls = config.get("PROVIDERS")
    if isinstance(urls, str):
        return urls.replace(",", " ").split()
    if isinstance(urls, list | tuple) and all(isinstance(u, str) for u in urls):
        return list(urls)
    if urls is None:
        return []
    raise improperly_configured(
        "PROVIDERS", f"expected a list of provider URLs, got {type(urls).__name__}"
    )


def build_mailer(config: Mapping[str, Any]) -> Mailer:
    """A Mailer from a ``MAILSPEC`` dict; a bad value is ImproperlyConfigured naming its
    key (the URL's place for ``PROVIDERS``), as :func:`providers_from_urls` words it."""
    options = mailer_options(config)
    setting = f"{SETTING}['PROVIDERS']"
    try:
        providers = providers_from_urls(_provider_urls(config), setting=setting)
        return Mailer(providers, **options)
    except ValidationError as exc:
        field = exc.field or ""
        key = "PROVIDERS" if field == setting else _BY_KEYWORD.get(field.split(".")[0])
        problem = str(exc).removeprefix(f"{field}: ") if field else str(exc)
        raise improperly_configured(key, problem) from None


class _Cache:
    """The process's Mailer, built on first use; dropped when the setting changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mailer: Mailer | None = None

    def get(self) -> Mailer:
        with self.lock:
            if self.mailer is None:
                self.mailer = build_mailer(_setting())
            return self.mailer

    def clear(self) -> None:
        with self.lock:
            self.mailer = None


_cache = _Cache()


def get_mailer() -> Mailer:
    """The Mailer every ``EmailBackend`` of this process sends with (built from
    ``settings.MAILSPEC`` on first use): for ``status()`` and ``send()`` of your own."""
    return _cache.get()


def webhook_secret(provider_name: str) -> str | None:
    """``MAILSPEC['WEBHOOK_SECRETS'][provider_name]``, or None when not set."""
    secrets = _setting().get("WEBHOOK_SECRETS") or {}
    if not isinstance(secrets, Mapping):
        raise improperly_configured(
            "WEBHOOK_SECRETS",
            f"expected a dict of provider name to secret, got {type(secrets).__name__}",
        )
    secret = secrets.get(provider_name)
    if secret is not None and not isinstance(secret, str):
        raise improperly_configured("WEBHOOK_SECRETS", f"{provider_name}: expected a string")
    return secret or None


_on_change: list[Callable[[], None]] = [_cache.clear]


def on_change(clear: Callable[[], None]) -> None:
    """Call ``clear`` whenever the ``MAILSPEC`` setting changes, to drop what was
    built from it."""
    _on_change.append(clear)


def _setting_changed(*, setting: str, **_: Any) -> None:
    """A test's ``override_settings(MAILSPEC=...)`` rebuilds the Mailer and webhook
    receivers on next use."""
    if setting == SETTING:
        for clear in _on_change:
            clear()


setting_changed.connect(_setting_changed)
