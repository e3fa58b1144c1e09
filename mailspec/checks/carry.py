"""Whether a provider can carry a message at all: its declared capabilities and
per-request limits. A message one provider cannot carry may suit another, so these are
reasons to skip a provider, not message errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UnsupportedOperation
from ..message import Message

if TYPE_CHECKING:  # annotations only: the Mailer imports this without the spec model
    from ..contract import MailProvider
    from ..spec_model import Limits

__all__ = ["DROPPABLE", "HINTS", "cannot_carry", "over_limit"]

# Message fields that never reach the recipient: a provider with no place for them can
# still deliver the message as its author meant it (Mailer(on_unsupported="drop")).
DROPPABLE = frozenset({"tags", "metadata"})
# Message fields a provider may use and may ignore: never a reason to refuse a message
# (a provider that does not deduplicate sends without the key; the Mailer's ledger
# still sends it once). Display names go with the addresses where a provider's
# parameter takes a mailbox (``format: mailbox``); where none does, the address alone
# is sent, as the provider's documents describe it (see docs/providers.md).
HINTS = frozenset({"idempotency_key", "display_names"})


def over_limit(message: Message, limits: Limits) -> tuple[str, int, int] | None:
    """The first of the provider's per-request limits ``message`` goes over, as
    ``(field, count, limit)``: ``to``/``cc``/``bcc`` against ``recipients_per_request``,
    ``reply_to`` against ``reply_to_max``; None when it keeps to them."""
    per_request = limits.recipients_per_request
    if per_request is not None:
        for field in ("to", "cc", "bcc"):
            count = len(getattr(message, field))
            if count > per_request:
                return field, count, per_request
    reply_max = limits.reply_to_max
    if reply_max is not None and len(message.reply_to_list) > reply_max:
        return "reply_to", len(message.reply_to_list), reply_max
    return None


def cannot_carry(provider: MailProvider, message: Message, key: str) -> UnsupportedOperation | None:
    """Why ``provider`` (called ``key`` in its Mailer) cannot carry ``message`` at all,
    or None. Reads the spec's declared capabilities and limits only: no request."""
    caps, spec = provider.capabilities, provider.spec
    if message.template:
        if not caps.template_send:
            return UnsupportedOperation(key, "template send")
    elif spec.capabilities.template_only:
        return UnsupportedOperation(key, "send without a template", "it sends templates only")
    if message.attachments and not caps.attachments:
        return UnsupportedOperation(key, "attachments")
    if (message.cc or message.bcc) and not caps.cc_bcc:
        return UnsupportedOperation(key, "cc/bcc")
    if message.recipient_variables and not caps.recipient_variables:
        return UnsupportedOperation(key, "per-recipient variables")
    over = over_limit(message, spec.limits)
    if over is None:
        return None
    field, count, limit = over
    what = "reply-to addresses" if field == "reply_to" else f"{field} recipients"
    return UnsupportedOperation(key, f"{count} {what}", f"at most {limit} per request")
