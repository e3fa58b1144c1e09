"""The AOTsend API style: template-only sends with ``app_key`` in the body, the
template's variables as a JSON ``data`` parameter, and ``{code, message}`` answers.

Decisions (AOTsend Email API Handbook leaves them open):

- A message must name its template (``Message.template`` is the ``template_id``);
  without one it is refused with a ``ValidationError`` on ``template``. ``subject``,
  ``html``, ``text``, ``cc``, ``bcc``, ``attachments``, ``headers``, ``tags`` and
  ``metadata`` have no place in AOTsend's call and are refused with an
  ``UnsupportedOperation`` naming the field, before any I/O.
- ``from_email`` is not transmitted: AOTsend has no sender parameter (the sender is the
  one set up for the template in the AOTsend account). ``from_name`` becomes ``alias``.
- ``to`` is one address, so a message to several addresses is one request per address,
  in order, each with its own ``data`` (``variables`` overridden by that recipient's
  ``recipient_variables``). Every request is checked before the first is sent; if a
  later one fails, the earlier recipients were already sent to and the error is raised.
- AOTsend answers no message id, so ``SendResult.message_ids`` is empty, and there is
  no status call (``status()`` raises ``UnsupportedOperation``).
"""

from __future__ import annotations

import msgspec

from mailspec.errors import ValidationError
from mailspec.message import Message

from .base import Provider, Step

__all__ = ["AotSendStyle"]

# Message fields AOTsend has no parameter for but that a Message cannot leave empty.
_NOT_TRANSMITTED = {"from_email": ""}


class AotSendStyle(Provider):
    implied = frozenset(_NOT_TRANSMITTED)  # the template's own sender, not refused

    def _steps(self, message: Message) -> list[Step]:
        """One request per ``to`` address, each prepared (no I/O)."""
        if not message.template:
            raise ValidationError(
                "AOTsend sends stored templates only: set the template id",
                field="template",
                provider=self.name,
            )
        self._require("send")
        steps = []
        for to in message.to:
            data = {**message.variables, **message.recipient_variables.get(to, {})}
            one = msgspec.structs.replace(
                message, to=[to], variables=data, recipient_variables={}, **_NOT_TRANSMITTED
            )
            values = self._mapped("send", one, {})
            steps.append(self._step([to], self._prepare("send", values, message)))
        return steps
