"""Messages that fail over: a realistic message reaches whichever provider of the pool is
up, every field where that provider has a place for it, against the sandbox servers over
real HTTP (DESIGN.md, "Messages that fail over")."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from mailer_support import FakeClock

from mailspec import AllProvidersFailed, Attachment, Attempt, Mailer, Message, ValidationError
from mailspec.sandbox import Sandbox
from mailspec.sandbox.collector import webhook_receiver
from mailspec.sandbox.emulator import Accepted
from mailspec.webhooks import Event

HTTP_EMAIL = ["aurorasendcloud", "cloudmails", "sendcloud"]
PDF = Attachment("invoice.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 8, "application/pdf")
TAGS = ["receipt", "order"]
METADATA = {"order_id": "1042", "region": "eu"}


def web_app_message(**overrides: Any) -> Message:
    """What a web app sends: sender name, html and text, cc, reply-to, a PDF, tags and
    metadata."""
    fields: dict[str, Any] = {
        "from_email": "Shop <orders@shop.example>",
        "to": "ann@example.org",
        "cc": ["accounts@example.org"],
        "reply_to": "help@shop.example",
        "subject": "Your receipt",
        "html": "<p>Thanks for order 1042</p>",
        "text": "Thanks for order 1042",
        "attachments": [PDF],
        "tags": TAGS,
        "metadata": METADATA,
    }
    fields.update(overrides)
    return Message(**fields)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox([*HTTP_EMAIL, "aotsend"]) as running:
        yield running


def mailer(sandbox: Sandbox, names: list[str], **options: Any) -> Mailer:
    clock = FakeClock()
    providers = [sandbox[name].provider(timeout=2.0) for name in names]
    return Mailer(providers, max_attempts=1, clock=clock, sleep=clock.sleep, **options)


def down(sandbox: Sandbox, name: str) -> None:
    """The provider answers every request with its server error."""
    sandbox[name].faults.queue("server_error", times=100)


def carried(row: Accepted) -> dict[str, Any]:
    """The message's fields as the provider received them, in the unified names."""
    params = row.params
    if row.operation == "send" and "custom_args" in params:  # CloudMails
        custom = params["custom_args"]
        return {
            "from": params["from_email"],
            "cc": params["cc"],
            "reply_to": params["reply_to"],
            "text": params["text"],
            "attachments": [a.filename for a in params["attachments"]],
            "tags": custom["tags"],
            "metadata": {k: v for k, v in custom.items() if k != "tags"},
        }
    headers = params["headers"]
    if isinstance(headers, str):
        headers = json.loads(headers)
    return {  # the SendCloud platform: a separate sender name, tags and metadata as headers
        "from": f"{params['from_name']} <{params['from_email']}>",
        "cc": params["cc"],
        "reply_to": params["reply_to"][0],
        "text": params["plain"],
        "attachments": [a.filename for a in params["attachments"]],
        "tags": json.loads(headers["X-Mailspec-Tags"]),
        "metadata": json.loads(headers["X-Mailspec-Metadata"]),
    }


PAIRS = list(itertools.permutations(HTTP_EMAIL, 2))


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-down-{b}" for a, b in PAIRS])
def test_a_realistic_message_fails_over_with_every_field(sandbox, first, second) -> None:
    down(sandbox, first)
    result = mailer(sandbox, [first, second]).send(web_app_message())
    assert result.provider == second
    assert [(a.provider, a.outcome) for a in result.attempts] == [
        (first, "failed"),
        (second, "accepted"),
    ]
    assert result.dropped == []
    assert sandbox[first].accepted == []
    (row,) = sandbox[second].accepted
    assert row.recipient == "ann@example.org"
    assert carried(row) == {
        "from": "Shop <orders@shop.example>",
        "cc": ["accounts@example.org"],
        "reply_to": "help@shop.example",
        "text": "Thanks for order 1042",
        "attachments": ["invoice.pdf"],
        "tags": TAGS,
        "metadata": METADATA,
    }


def template_message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "Shop <orders@shop.example>",
        "to": "ann@example.org",
        "template": "receipt",
        "variables": {"order": "1042"},
        "tags": TAGS,
        "metadata": METADATA,
    }
    fields.update(overrides)
    return Message(**fields)


def test_a_template_message_fails_over_to_aotsend_without_tags_and_metadata(sandbox) -> None:
    """AOTsend has no place for tags or metadata: by default it sends without them, and
    says so on the result, on the attempt, to on_attempt and in the log."""
    down(sandbox, "sendcloud")
    seen: list[Attempt] = []
    result = mailer(sandbox, ["sendcloud", "aotsend"], on_attempt=seen.append).send(
        template_message()
    )
    assert result.provider == "aotsend"
    assert result.dropped == ["tags", "metadata"]
    assert [(a.provider, a.outcome, a.dropped) for a in seen] == [
        ("sendcloud", "failed", []),
        ("aotsend", "accepted", ["tags", "metadata"]),
    ]
    assert seen == result.attempts
    (row,) = sandbox["aotsend"].accepted
    assert row.params["alias"] == "Shop"  # the sender name is AOTsend's alias
    assert row.params["template_id"] == "receipt"


def test_dropping_is_logged(sandbox, caplog) -> None:
    caplog.set_level(logging.INFO, logger="mailspec.mailer")
    mailer(sandbox, ["aotsend"]).send(template_message())
    (record,) = [r for r in caplog.records if r.levelno == logging.INFO]
    assert "without tags, metadata" in record.getMessage()
    assert record.dropped == ["tags", "metadata"]  # type: ignore[attr-defined]


def test_a_template_message_fails_over_from_aotsend_to_sendcloud_whole(sandbox) -> None:
    down(sandbox, "aotsend")
    result = mailer(sandbox, ["aotsend", "sendcloud"]).send(template_message())
    assert result.provider == "sendcloud" and result.dropped == []
    (row,) = sandbox["sendcloud"].accepted
    assert row.operation == "send_template"
    headers = row.params["headers"]
    headers = json.loads(headers) if isinstance(headers, str) else headers
    assert json.loads(headers["X-Mailspec-Metadata"]) == METADATA


def test_on_unsupported_skip_skips_a_provider_that_would_drop(sandbox) -> None:
    with pytest.raises(AllProvidersFailed) as caught:
        mailer(sandbox, ["aotsend"], on_unsupported="skip").send(template_message())
    (attempt,) = caught.value.attempts
    assert attempt.outcome == "skipped" and attempt.dropped == []
    assert "'tags', 'metadata'" in str(attempt.error)
    assert sandbox["aotsend"].accepted == []
    # the same message without them goes out
    result = mailer(sandbox, ["aotsend"], on_unsupported="skip").send(
        template_message(tags=[], metadata={})
    )
    assert result.provider == "aotsend" and result.dropped == []


def test_a_field_that_reaches_the_recipient_is_never_dropped(sandbox) -> None:
    """CloudMails has no place for custom headers: it is skipped, even with 'drop'."""
    message = web_app_message(headers={"List-Unsubscribe": "<https://shop.example/u>"})
    result = mailer(sandbox, ["cloudmails", "sendcloud"]).send(message)
    assert result.provider == "sendcloud"
    skipped = result.attempts[0]
    assert (skipped.provider, skipped.outcome) == ("cloudmails", "skipped")
    assert "'headers'" in str(skipped.error)
    assert sandbox["cloudmails"].accepted == []


def test_text_only_mail_skips_cloudmails_which_requires_html(sandbox) -> None:
    result = mailer(sandbox, ["cloudmails", "aurorasendcloud"]).send(web_app_message(html=None))
    assert result.provider == "aurorasendcloud"
    skipped = result.attempts[0]
    assert skipped.outcome == "skipped"
    assert isinstance(skipped.error, ValidationError)
    assert skipped.error.provider_rule and skipped.error.field == "html"
    assert sandbox["cloudmails"].accepted == []


def test_an_attachment_over_one_providers_limit_goes_to_another(sandbox) -> None:
    """SendCloud takes at most 10 MiB of attachments (code 40819); CloudMails documents
    no limit."""
    big = Attachment("scan.pdf", b"\0" * (10 * 1024 * 1024 + 1), "application/pdf")
    result = mailer(sandbox, ["sendcloud", "cloudmails"]).send(web_app_message(attachments=[big]))
    assert result.provider == "cloudmails"
    refusal = result.attempts[0].error
    assert isinstance(refusal, ValidationError) and refusal.provider_rule
    assert refusal.field == "attachments" and refusal.code == 40819


def test_a_message_error_stops_the_mailer_before_any_request(sandbox) -> None:
    with pytest.raises(ValidationError) as caught:
        mailer(sandbox, HTTP_EMAIL).send(web_app_message(cc=["not an address"]))
    assert caught.value.field == "cc" and caught.value.provider_rule is False
    assert all(server.requests == 0 for server in sandbox)


@pytest.mark.parametrize("name", ["sendcloud", "aurorasendcloud", "cloudmails"])
def test_metadata_comes_back_on_webhook_events(sandbox, name) -> None:
    events: list[Event] = []
    with webhook_receiver([name], events.append) as (base_url, key):
        server = sandbox[name]
        poster = server.send_webhooks(f"{base_url}/{name}", secret=key)
        mailer(sandbox, [name]).send(web_app_message())
        assert poster.flush()
    assert events, "no event was posted"
    assert all(event.metadata.get("order_id") == "1042" for event in events)
