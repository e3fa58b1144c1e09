"""``EMAIL_BACKEND = "mailspec.django.EmailBackend"``: Django's ``send_mail`` and
``EmailMessage.send()`` go out through a Mailer, with its retries and failover."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from ..errors import MailspecError
from ..mailer import Mailer
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
    backends do). A message no provider accepted, or one a Message cannot hold, raises
    its :class:`~mailspec.MailspecError`; with ``fail_silently`` it is logged on
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
        if not email.recipients():
            return False  # nothing to send, as Django's and anymail's backends decide
        try:
            message = to_message(email)
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
