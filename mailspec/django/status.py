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
    """``status``: the set of recipient statuses (``{"queued"}``), None for a message
    that was not sent (no provider accepted it, or it had no recipient), as anymail
    leaves it. ``message_id``: the provider's id, or the set of them when it gave
    several. ``recipients``: address -> :class:`RecipientStatus`, whose ``message_id``
    is that recipient's id: the message's one id, or, from a provider that gives one id
    per ``to`` address (in order), that address's own. ``provider``: the key of the
    provider that sent it."""

    status: set[str] | None = None
    message_id: str | set[str] | None = None
    recipients: dict[str, RecipientStatus] = field(default_factory=dict)
    provider: str | None = None

    @classmethod
    def of(
        cls, result: SendResult, to: list[str], others: list[str] | None = None
    ) -> AnymailStyleStatus:
        """The status of ``result``, a message sent to ``to`` and ``others`` (cc, bcc)."""
        ids = result.message_ids
        only = ids[0] if len(ids) == 1 else None
        # one id per `to` address (a provider that sends each its own copy); cc and bcc
        # then ride on a single `to`'s copy, so they share its id
        own = dict(zip(to, ids, strict=True)) if len(ids) == len(to) > 1 else {}
        rows = {
            address: RecipientStatus(
                own.get(address, only), "rejected" if address in result.refused else "queued"
            )
            for address in [*to, *(others or [])]
        }
        message_id: str | set[str] | None = only if len(ids) <= 1 else set(ids)
        statuses = {row.status for row in rows.values()} or {"queued"}
        return cls(statuses, message_id, rows, result.provider)
