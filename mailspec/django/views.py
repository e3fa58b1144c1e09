"""A webhook view per provider: verified, parsed, and sent as the ``tracking`` signal.

    # urls.py
    from django.urls import path
    from mailspec.django import webhook_view

    urlpatterns = [
        path("hooks/sendcloud/", webhook_view("sendcloud")),
        path("hooks/cloudmails/", webhook_view("cloudmails")),
    ]

The secret each provider's events are verified with is
``MAILSPEC["WEBHOOK_SECRETS"][provider]`` (SendCloud's webhook key; for CloudMails,
which signs nothing, a secret of your own in the URL you register). Verification,
parsing and the answers are :class:`~mailspec.webhooks.WebhookApp`'s (one
:class:`~mailspec.webhooks.WebhookReceiver` under both): 200, 401 when
verification failed, 400 for a body that is not the provider's events, 405 for a
method other than POST, 413 over ``max_body`` bytes, 500 when a signal receiver raised
(the tokens are then released, so the provider's retry is accepted).

``webhook_view(provider, mailer=mailer)`` also records every event into a
:class:`~mailspec.Mailer` (its timelines and suppression list; see
:mod:`mailspec.webhooks.app`) before the signal is sent; a request is answered 200 only
once they are recorded.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..errors import ValidationError
from ..webhooks import Event
from ..webhooks.app import WebhookReceiver, refusal
from ..webhooks.receive import webhooks_of
from . import settings as mailspec_settings
from .signals import tracking

__all__ = ["WebhookView", "webhook_view"]


class WebhookView(View):  # type: ignore[misc]  # Django ships no types
    """Receives one provider's webhooks (``provider``); ``max_body`` caps a request."""

    provider: str = ""
    max_body: int = 1_000_000
    mailer: Any = None
    http_method_names: ClassVar[list[str]] = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        receiver = _receiver(self.provider, self.max_body, self.mailer)
        # refused by its announced length before Django reads the body into memory
        problem = receiver.length_problem(request.headers.get("Content-Length") or "0")
        if problem is None and len(request.body) > self.max_body:
            problem = 413
        if problem is not None:
            status, content, extra = refusal(problem)
        else:
            status, content, extra = receiver.answer(
                request.body,
                dict(request.headers),
                request.build_absolute_uri(),
                str(request.META.get("REMOTE_ADDR") or "unknown"),
            )
        response = JsonResponse(content, status=status)
        for name, value in extra:
            response[name] = value
        return response


def webhook_view(provider: str, *, max_body: int = 1_000_000, mailer: Any = None) -> Any:
    """The view receiving ``provider``'s webhooks, CSRF-exempt (providers post without
    a token; the signature or the shared secret is the check), recording them into
    ``mailer`` when given. A provider without webhooks fails here, when the URLconf is
    read."""
    webhooks_of(provider)
    if mailer is not None and not callable(getattr(mailer, "record", None)):
        raise ValidationError(f"expected a Mailer, got {type(mailer).__name__}", field="mailer")
    view = WebhookView.as_view(provider=provider, max_body=max_body, mailer=mailer)
    return csrf_exempt(view)


def _send_signal(event: Event) -> None:
    tracking.send(sender=WebhookView, event=event, provider=event.provider)


class _Receivers:
    """A WebhookReceiver per provider, made on its first request from the setting (its
    secret), and forgotten when the setting changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.apps: dict[tuple[str, int, int], WebhookReceiver] = {}

    def get(self, provider: str, max_body: int, mailer: Any = None) -> WebhookReceiver:
        with self.lock:
            key = (provider, max_body, id(mailer))
            app = self.apps.get(key)
            if app is None:
                app = self.apps[key] = _make_receiver(provider, max_body, mailer)
            return app

    def clear(self) -> None:
        with self.lock:
            self.apps.clear()


def _make_receiver(provider: str, max_body: int, mailer: Any = None) -> WebhookReceiver:
    try:
        secret = mailspec_settings.webhook_secret(provider)
        return WebhookReceiver(
            provider, _send_signal, mailer=mailer, secret=secret, max_body=max_body
        )
    except ValidationError as exc:
        if exc.field != "secret":
            raise
        raise mailspec_settings.improperly_configured(
            "WEBHOOK_SECRETS", f"{provider} signs its webhooks: give its webhook key"
        ) from None


_receivers = _Receivers()
_receiver = _receivers.get
mailspec_settings.on_change(_receivers.clear)
