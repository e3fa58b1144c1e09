"""Django integration (``pip install 'mailspec[django]'``): two settings, and every
``send_mail`` goes out through a Mailer, with failover::

    EMAIL_BACKEND = "mailspec.django.EmailBackend"
    MAILSPEC = {
        "PROVIDERS": ["sendcloud://API_USER:API_KEY@", "cloudmails://KEY@"],
        "STORE": "redis://10.0.0.5:6379/0",
    }

- :class:`EmailBackend` maps each ``EmailMessage``/``EmailMultiAlternatives`` onto a
  :class:`~mailspec.Message` (:mod:`mailspec.django.message`), django-anymail's
  attributes (``tags``, ``metadata``, ``template_id``, ``merge_global_data``,
  ``merge_data``) included, and sets ``message.mailspec_status`` (the
  :class:`~mailspec.SendResult`) and ``message.anymail_status``.
- :func:`webhook_view` receives a provider's webhooks and sends each verified event as
  the :data:`~mailspec.django.signals.tracking` signal.
- :func:`get_mailer` is the process's Mailer, built from ``MAILSPEC``
  (:mod:`mailspec.django.settings`), for ``status()`` and sends of your own.
- Django's error reports show ``MAILSPEC``'s provider and store URLs as
  ``'sendcloud://***'``; ``"mailspec.django"`` in ``INSTALLED_APPS`` (optional) makes
  that so from startup rather than from mailspec's first import.
"""

from .backend import EmailBackend
from .settings import get_mailer
from .signals import tracking
from .views import WebhookView, webhook_view

__all__ = ["EmailBackend", "WebhookView", "get_mailer", "tracking", "webhook_view"]
