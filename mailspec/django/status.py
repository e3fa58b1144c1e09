"""``message.anymail_status``: a send's outcome in the shape django-anymail gives it, so
that code reading ``status`` and ``message_id`` after ``send()`` keeps working. The
whole :class:`~mailspec.SendResult` is ``message.mailspec_status``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..results import SendResult

__all__ = ["AnymailStyleStatus", "RecipientStatus"]


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient's part of a send: ``status`` is ``"queued"`` or ``"rejected"``
    (a recipient the provider refused while accepting the message for the others)."""

    message_id: str | None
    status: str


@dataclass(frozen=True)
class AnymailStyleStatus:
    """``status``: the set of recipient statuses (``{"queued"}``; ``{"failed"}`` for a
    message no provider accepted, with ``fail_silently``). ``message_id``: the
    provider's id, or the set of them when it gave several. ``recipients``: address ->
    :class:`RecipientStatus`, whose ``message_id`` is the message's one id (None when
    the provider gave several). ``provider``: the key of the provider that sent it."""

    status: set[str] | None
    message_id: str | set[str] | None
    recipients: dict[str, RecipientStatus] = field(default_factory=dict)
    provider: str | None = None

    @classmethod
    def of(cls, result: SendResult, recipients: list[str]) -> AnymailStyleStatus:
        ids = result.message_ids
        # one id for the message, or several (one per `to` address, at some providers),
        # which a recipient's row cannot be matched to for certain
        only = ids[0] if len(ids) == 1 else None
        rows = {
            address: RecipientStatus(only, "rejected" if address in result.refused else "queued")
            for address in recipients
        }
        message_id: str | set[str] | None = only if len(ids) <= 1 else set(ids)
        statuses = {row.status for row in rows.values()} or {"queued"}
        return cls(statuses, message_id, rows, result.provider)

    @classmethod
    def failed(cls) -> AnymailStyleStatus:
        return cls({"failed"}, None)
