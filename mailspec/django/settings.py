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
setting of ``Mailer.from_config`` in upper case (``DEADLINE`` is ``deadline``), read
and checked by the same table (docs/configuration.md). A bad setting is an
``ImproperlyConfigured`` naming it, never repeating its value: URLs, store URLs and
secrets hold credentials.

Django's error reports (the debug page, the mail to ``ADMINS``) list every setting,
hiding only the values under names like ``KEY``, ``SECRET`` or ``PASS``:
``WEBHOOK_SECRETS`` is hidden by its name, but ``PROVIDERS`` and ``STORE`` are not, and
the variables of each frame are shown whatever their name. So their strings (and the
webhook secrets) are made :class:`~mailspec.runtime.secrets.Concealed` in the setting
itself, equal strings whose repr hides the credentials: when this module is imported,
whenever the setting is read, and when it changes. An error reported before mailspec
is first imported would still show them; ``"mailspec.django"`` in ``INSTALLED_APPS``
imports it as the process starts.
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
from ..mailer.config import SETTINGS, from_settings
from ..runtime.secrets import Concealed

__all__ = [
    "SETTING",
    "build_mailer",
    "conceal_credentials",
    "conceal_setting",
    "get_mailer",
    "improperly_configured",
    "on_change",
    "webhook_secret",
]

SETTING = "MAILSPEC"


# MAILSPEC's keys: the Mailer settings of mailspec.mailer.config in capitals, and ours
_KEYS = {setting.key.upper(): setting.key for setting in SETTINGS}
_OWN_KEYS = ("WEBHOOK_SECRETS",)
# the keys whose values hold credentials (Django's filter hides WEBHOOK_SECRETS by its
# name, but not the variables its values are read into)
_CREDENTIAL_KEYS = (
    *(setting.key.upper() for setting in SETTINGS if setting.secret),
    "WEBHOOK_SECRETS",
)


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
    conceal_credentials(value)
    return value


def conceal_credentials(config: object) -> None:
    """Make the strings under ``config``'s credential keys (``PROVIDERS``, ``STORE``,
    ``WEBHOOK_SECRETS``) :class:`Concealed`, in place: the same setting, whose strings
    error reports show as ``'sendcloud://***'`` wherever they are held (the setting,
    a variable they were read into). Lists and dicts are changed in place, so that another setting holding
    the same one is covered too. A value of another kind is left for
    :func:`build_mailer` to refuse."""
    if not isinstance(config, dict):  # Django shows dicts key by key; nothing else to do
        return
    for key in _CREDENTIAL_KEYS:
        if key in config:
            config[key] = _concealed(config[key])


def _concealed(value: object) -> object:
    if isinstance(value, str):
        return value if isinstance(value, Concealed) else Concealed(value)
    if isinstance(value, list):
        value[:] = [_concealed(item) for item in value]
    elif isinstance(value, dict):
        for key in list(value):
            value[key] = _concealed(value[key])
    elif isinstance(value, tuple):
        return tuple(_concealed(item) for item in value)
    return value


def build_mailer(config: Mapping[str, Any]) -> Mailer:
    """A Mailer from a ``MAILSPEC`` dict, read by the same table as ``Mailer.from_config``;
    a bad value is ImproperlyConfigured naming its key (the URL's place for
    ``PROVIDERS``)."""
    unknown = sorted(str(k) for k in config if k not in _KEYS and k not in _OWN_KEYS)
    if unknown:  # a misspelt key would otherwise be dropped without a word
        known = ", ".join([*_KEYS, *_OWN_KEYS])
        raise improperly_configured(None, f"unknown key(s) {', '.join(unknown)}; expected {known}")
    given = {_KEYS[key]: value for key, value in config.items() if key in _KEYS}
    names = {key: f"{SETTING}[{upper!r}]" for upper, key in _KEYS.items()}
    try:
        return from_settings(Mailer, given, names)
    except ValidationError as exc:  # a ConfigError names the key as MAILSPEC has it
        raise ImproperlyConfigured(str(exc)) from None


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
        conceal_setting()
        for clear in _on_change:
            clear()


def conceal_setting() -> None:
    """Conceal the live setting's credentials, if Django is configured yet."""
    if settings.configured:
        conceal_credentials(getattr(settings, SETTING, None))


setting_changed.connect(_setting_changed)
conceal_setting()
