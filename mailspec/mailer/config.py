"""A Mailer from the environment: the variables the command line reads.

- ``MAILSPEC_PROVIDERS``: provider URLs (``mailspec.provider_from_url``), space- or
  comma-separated, in failover order; required.
- ``MAILSPEC_STORE``: a store URL (``mailspec.store``); default ``memory://``.

A bad value is a ValidationError naming the variable; it never repeats the value,
which holds credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import MailspecError, ValidationError

if TYPE_CHECKING:
    from ..contract import MailProvider
    from .core import Mailer

__all__ = ["mailer_from_env", "providers_from_urls"]


def mailer_from_env(environ: Mapping[str, str] | None = None, **options: Any) -> Mailer:
    """A Mailer over ``MAILSPEC_PROVIDERS`` and ``MAILSPEC_STORE``; ``options`` go to
    the Mailer as they are (``deadline=``, ``on_ambiguous=``, …)."""
    from .core import Mailer

    env = os.environ if environ is None else environ
    urls = env.get("MAILSPEC_PROVIDERS", "").replace(",", " ").split()
    providers = providers_from_urls(urls, setting="MAILSPEC_PROVIDERS")
    store = env.get("MAILSPEC_STORE") or None
    if store is not None and "store" not in options:
        try:
            options["store"] = store
            return Mailer(providers, **options)
        except ValidationError as exc:
            if exc.field != "store":
                raise
            raise ValidationError(str(exc), field="MAILSPEC_STORE") from None
    return Mailer(providers, **options)


def providers_from_urls(urls: Sequence[str], *, setting: str) -> list[MailProvider]:
    """A provider per URL (``mailspec.provider_from_url``), in order. A bad or missing
    URL is a ValidationError naming ``setting`` and the URL's place in it, never the
    URL, which holds credentials."""
    from ..registry import provider_from_url

    if not urls:
        raise ValidationError("set it to one or more provider URLs", field=setting)
    providers: list[MailProvider] = []
    for number, url in enumerate(urls, 1):
        try:
            providers.append(provider_from_url(url))
        except (MailspecError, ValueError) as exc:
            what = str(exc) if isinstance(exc, MailspecError) else "not a provider URL"
            raise ValidationError(f"URL {number} of {len(urls)}: {what}", field=setting) from None
    return providers
