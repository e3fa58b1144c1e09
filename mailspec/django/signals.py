"""The Django signal a webhook view sends for each verified event.

    from django.dispatch import receiver
    from mailspec.django.signals import tracking

    @receiver(tracking)
    def on_event(sender, event, provider, **kwargs):
        if event.type == "bounced": ...

``event`` is a :class:`~mailspec.webhooks.Event`, ``provider`` the provider's name and
``sender`` the :class:`~mailspec.django.views.WebhookView` class. A receiver that
raises makes the view answer 500 and forget the event's token, so the provider's retry
is accepted: receivers should be idempotent (key on the message id and event name).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["tracking"]

tracking = Signal()
