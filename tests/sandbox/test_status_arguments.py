"""status() arguments are checked before any request, and an inline attachment is never
sent without its content id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest

import mailspec
from mailspec import Attachment, Message
from mailspec.sandbox import SandboxServer


@pytest.fixture
def aurora() -> Iterator[SandboxServer]:
    with SandboxServer("aurorasendcloud") as server:
        yield server


def test_one_id_may_be_a_plain_string(aurora: SandboxServer) -> None:
    provider = aurora.provider()
    sent = provider.send(
        Message(from_email="a@example.com", to=["b@example.org"], subject="s", text="t")
    )
    (status,) = provider.status(sent.message_ids[0])
    assert status.message_id == sent.message_ids[0]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"since": date(2026, 11, 8), "until": date(2026, 11, 1)}, "since"),
        ({"since": "2026-11-01"}, "since"),
        ({"until": 20261101}, "until"),
        ({"message_ids": ["ok", ""]}, "message_ids"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    aurora: SandboxServer, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(mailspec.ValidationError) as caught:
        aurora.provider().status(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert aurora.requests == 0


def test_no_ids_asks_for_nothing(aurora: SandboxServer) -> None:
    assert aurora.provider().status([]) == []
    assert aurora.requests == 0


def test_datetimes_become_their_dates(aurora: SandboxServer) -> None:
    aurora.provider().status(since=datetime(2026, 11, 1, 23, 59), until=datetime(2026, 11, 2, 0, 1))
    assert aurora.requests == 1  # one window: 11-01..11-02


def test_inline_attachment_refused_where_its_content_id_would_be_lost(
    aurora: SandboxServer,
) -> None:
    logo = Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo")
    message = Message(
        from_email="a@example.com", to=["b@example.org"], subject="s", html="<img src=cid:logo>"
    )
    with pytest.raises(mailspec.UnsupportedOperation, match="content_id"):
        aurora.provider().send(Message(**{**_fields(message), "attachments": [logo]}))
    assert aurora.requests == 0
    plain = Attachment("terms.pdf", b"%PDF", "application/pdf")
    aurora.provider().send(Message(**{**_fields(message), "attachments": [plain]}))
    assert aurora.accepted[0].params["attachments"][0].filename == "terms.pdf"


def _fields(message: Message) -> dict[str, object]:
    return {name: getattr(message, name) for name in message.__struct_fields__}
