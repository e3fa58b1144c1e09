"""What a provider is and can do: the one contract the Mailer, the registry and every
adapter share.

:class:`MailProvider` is what ``mailspec.provider()`` returns (an HTTP adapter or the
SMTP transport); :class:`Capabilities` is what its spec says it can do, read without a
request; :class:`Sender` gives every implementation the same ``send()``: check, then
deliver.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:  # annotations only: `import mailspec` stays without the spec model
    from .message import Message
    from .results import DeliveryStatus, SendResult
    from .spec_model import Spec

__all__ = ["Capabilities", "MailProvider", "Sender"]


class Capabilities(msgspec.Struct, frozen=True):
    """What a provider can do, as its spec declares.

    ``sender_name``, ``tags`` and ``metadata``: the send operation has a place for
    that message field (a Mailer drops tags and metadata where there is none, see
    ``on_unsupported``). ``text_only``: a message with text and no html can be sent.
    ``attachment_bytes``: the most attachment bytes one message may carry (None: no
    documented limit, or no attachments at all). ``idempotency_window``: seconds within
    which the provider processes a repeat of one idempotency key once (None: it does
    not deduplicate).
    """

    send: bool
    template_send: bool
    batch: bool
    status: bool
    attachments: bool
    cc_bcc: bool
    recipient_variables: bool
    sms: bool
    smtp: bool
    webhooks: bool
    rate_per_minute: int | None
    recipients_per_request: int | None
    sender_name: bool = False
    tags: bool = False
    metadata: bool = False
    text_only: bool = False
    attachment_bytes: int | None = None
    idempotency_window: int | None = None

    @classmethod
    def of(cls, spec: Spec) -> Capabilities:
        ops, declared = spec.operations, spec.capabilities
        send = ops.get("send")
        mapping = spec.mapping.get("send", {})
        html = send.params.get(mapping.get("html", "")) if send is not None else None
        files = send.params.get(mapping.get("attachments", "")) if send is not None else None
        return cls(
            send="send" in ops,
            # a template endpoint, or stored templates through send (a `template` row)
            template_send="send_template" in ops or declared.template_only or "template" in mapping,
            batch="send_batch" in ops,
            status="status" in ops,
            attachments=declared.attachments,
            cc_bcc=declared.cc_bcc,
            recipient_variables=declared.recipient_variables,
            sms="send_sms" in ops,
            smtp=spec.auth.smtp is not None,
            webhooks=spec.webhooks is not None,
            rate_per_minute=spec.limits.rate_per_minute,
            recipients_per_request=spec.limits.recipients_per_request,
            sender_name="from_name" in mapping,
            tags="tags" in mapping,
            metadata="metadata" in mapping,
            text_only=(
                not declared.template_only
                and "text" in mapping
                and not (html is not None and html.required)
            ),
            attachment_bytes=files.max_total_bytes if files is not None else None,
            idempotency_window=declared.idempotency_window,
        )


class MailProvider(Protocol):
    """One provider behind the unified ``send()``/``status()``."""

    @property
    def name(self) -> str: ...
    @property
    def spec(self) -> Spec: ...
    @property
    def capabilities(self) -> Capabilities: ...

    def send(self, message: Message) -> SendResult:
        """:meth:`check`, then :meth:`deliver`."""
        ...

    def check(self, message: Message) -> None:
        """Raise ValidationError or UnsupportedOperation if this provider cannot send
        ``message``; no I/O."""
        ...

    def check_rules(self, message: Message) -> None:
        """:meth:`check` for a message ``check_message`` has passed: only what this
        provider's own rules refuse, so a Mailer does not check a message twice."""
        ...

    def deliver(self, message: Message) -> SendResult:
        """Send a message :meth:`check` has passed."""
        ...

    def unplaced(self, message: Message) -> list[str]:
        """The fields ``message`` sets that this provider has no place for (sending it
        would refuse them); no I/O."""
        ...

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
    ) -> list[DeliveryStatus]: ...

    def ensure_pool_size(self, size: int) -> None:
        """Keep enough connections for ``size`` threads sending at once, so that none is
        closed after its answer only to be opened again for the next; no I/O."""
        ...


class Sender:
    """``send()`` as every provider implementation has it: :meth:`check`, then
    :meth:`deliver`."""

    def send(self, message: Message) -> SendResult:
        """Send one message; raises ValidationError/UnsupportedOperation before any I/O."""
        self.check(message)
        return self.deliver(message)

    def check(self, message: Message) -> None:
        raise NotImplementedError

    def check_rules(self, message: Message) -> None:
        """The whole :meth:`check` unless an implementation knows a cheaper one."""
        self.check(message)

    def deliver(self, message: Message) -> SendResult:
        raise NotImplementedError

    def ensure_pool_size(self, size: int) -> None:
        """Nothing to size by default: an implementation without a pool of connections
        (an SMTP session per send) has none to grow."""
