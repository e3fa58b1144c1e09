"""``INSTALLED_APPS = [..., "mailspec.django"]``: optional. Installed, mailspec hides
the credentials of the ``MAILSPEC`` setting from Django's error reports as the
process starts, rather than when mailspec is first imported (the first send, or the
URLconf naming a webhook view): an error reported before then would show them."""

from __future__ import annotations

from django.apps import AppConfig

from .settings import conceal_setting

__all__ = ["MailspecConfig"]


class MailspecConfig(AppConfig):  # type: ignore[misc]  # Django ships no types
    name = "mailspec.django"
    label = "mailspec"
    verbose_name = "mailspec"

    def ready(self) -> None:
        conceal_setting()
