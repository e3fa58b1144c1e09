"""The unified message every provider sends."""

from __future__ import annotations

from itertools import compress

import msgspec

__all__ = ["MESSAGE_FIELDS", "Attachment", "Message"]


class Attachment(msgspec.Struct, frozen=True):
    """A file to attach; a ``content_id`` makes it inline (``cid:`` in the html)."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str | None = None

    def __repr__(self) -> str:  # the content may be megabytes: show its size, not its bytes
        cid = f", content_id={self.content_id!r}" if self.content_id else ""
        return (
            f"Attachment(filename={self.filename!r}, content=<{len(self.content)} bytes>, "
            f"content_type={self.content_type!r}{cid})"
        )


class Message(msgspec.Struct, kw_only=True, frozen=True):
    """One email, whatever provider sends it.

    ``variables`` fill a template (``template``) or ``%name%``-style placeholders for
    every recipient; ``recipient_variables`` maps a recipient address to its own values.
    ``tags`` and ``metadata`` travel where the provider supports them. A field a
    provider cannot carry is refused with an error naming it, never dropped.
    """

    from_email: str
    to: list[str]
    from_name: str | None = None
    cc: list[str] = []
    bcc: list[str] = []
    reply_to: str | list[str] | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    attachments: list[Attachment] = []
    headers: dict[str, str] = {}
    tags: list[str] = []
    metadata: dict[str, str] = {}
    template: str | None = None
    variables: dict[str, str] = {}
    recipient_variables: dict[str, dict[str, str]] = {}

    @property
    def reply_to_list(self) -> list[str]:
        if self.reply_to is None:
            return []
        return [self.reply_to] if isinstance(self.reply_to, str) else list(self.reply_to)

    def set_fields(self) -> list[str]:
        """The names of the fields that carry something (not empty, not None): every
        field is a string, a list or a mapping, so that is each value's truth."""
        return list(compress(MESSAGE_FIELDS, msgspec.structs.astuple(self)))


MESSAGE_FIELDS: tuple[str, ...] = Message.__struct_fields__
