"""``EMAIL_BACKEND = "mailspec.django.EmailBackend"``: Django's ``send_mail`` and
``EmailMessage.send()`` go out through a Mailer, with its retries and failover."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from ..errors import MailspecError, ValidationError
from ..mailer import Mailer
from ..message import Message
from .message import to_message
from .settings import get_mailer
from .status import AnymailStyleStatus

__all__ = ["EmailBackend"]

log = logging.getLogger("mailspec.django")


class EmailBackend(BaseEmailBackend):  # type: ignore[misc]  # Django ships no types
    """Sends each message with the process's Mailer (``settings.MAILSPEC``), or with
    ``mailer`` (``get_connection(mailer=...)``).

    Each message sent gets ``mailspec_status``, its :class:`~mailspec.SendResult`, and
    ``anymail_status`` (:class:`~mailspec.django.status.AnymailStyleStatus`). A message
    with no recipient is not sent and not counted, without an error (as Django's own
    backends do). A message no provider accepted, or one a Message cannot hold (an
    attribute of the wrong kind too: ``email.reply_to = 5``), raises its
    :class:`~mailspec.MailspecError`; with ``fail_silently`` it is logged on
    ``mailspec.django`` instead and not counted. Either way its ``mailspec_status`` is
    None and its ``anymail_status.status`` None, as anymail leaves a failed message.
    A bad ``MAILSPEC`` setting raises ``ImproperlyConfigured`` either way.
    """

    def __init__(
        self, fail_silently: bool = False, *, mailer: Mailer | None = None, **kwargs: Any
    ) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self._mailer = mailer

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Send each message in turn; the number the providers accepted."""
        if not email_messages:
            return 0
        mailer = self._mailer or get_mailer()
        return sum(self._send(mailer, email) for email in email_messages)

    def _send(self, mailer: Mailer, email: EmailMessage) -> bool:
        # not sent until a provider accepts it, as anymail leaves a failed message
        email.mailspec_status = None
        email.anymail_status = AnymailStyleStatus()
        try:
            message = _message_of(email)
            if message is None:
                return False  # nothing to send, as Django's and anymail's backends decide
            result = mailer.send(message)
        except MailspecError as exc:
            if not self.fail_silently:
                raise
            log.warning("a message was not sent: %s", exc)
            return False
        email.mailspec_status = result
        email.anymail_status = AnymailStyleStatus.of(
            result, message.to, [*message.cc, *message.bcc]
        )
        return True


def _message_of(email: EmailMessage) -> Message | None:
    """``email`` as a Message, or None when it has no recipient. An attribute of a kind
    it cannot be read as (a number for a list of addresses, bytes that are not UTF-8)
    makes Python raise TypeError, ValueError or the like while it is read: that is bad
    input, a ValidationError as every other, so that ``fail_silently`` covers it."""
    try:
        return to_message(email) if email.recipients() else None
    except MailspecError:
        raise
    except Exception as exc:
        raise ValidationError(f"the message cannot be read ({type(exc).__name__}: {exc})") from exc
