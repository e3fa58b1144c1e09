"""SparkPost, mailspec against django-anymail: the six canonical Django messages sent
through anymail's SparkPost backend (SPARKPOST_API_KEY, SPARKPOST_API_URL) and through
mailspec's Django backend (``sparkpost://KEY@?base_url=...``), each to a capture server
on 127.0.0.1, and compared as SparkPost reads a transmission ("SparkPost API:
Transmissions", Create a Transmission; "SparkPost API: Recipient Lists", Address
Object; "SparkPost: Using CC and BCC with the REST API"): who receives it and which To
and CC headers they are shown, the sender, reply-to, headers, parts, attachments and
inline images with their types and content ids, campaign, metadata, template and its
substitution data, and the Authorization header.
"""

from __future__ import annotations

import base64
from email.utils import getaddresses
from typing import Any

import pytest
from differential_support import (
    CASES,
    Captured,
    Reply,
    capture,
    json_reply,
    send_with_anymail,
    send_with_mailspec,
)

KEY = "sp-test-key"
BACKEND = "anymail.backends.sparkpost.EmailBackend"


def _answer(request: Captured) -> Reply:
    """SparkPost's answer ("SparkPost API: Transmissions", Send Inline Content,
    Response 200), counting the recipients sent."""
    count = len(request.json().get("recipients", []))
    results = {"total_rejected_recipients": 0, "total_accepted_recipients": count, "id": "1166"}
    return json_reply({"results": results})


def _mailboxes(text: str | None) -> list[tuple[str, str]]:
    """A header's mailboxes as (name, address), as a mail reader takes them."""
    return [(name, addr.lower()) for name, addr in getaddresses([text])] if text else []


def _from(value: Any) -> tuple[str, str] | None:
    """`content.from`: "a string with a valid email address or an object" {name, email}."""
    if value is None:
        return None
    if isinstance(value, dict):
        return (value.get("name") or "", value["email"].lower())
    (mailbox,) = _mailboxes(value)
    return mailbox


def _files(items: list[dict[str, str]] | None) -> list[tuple[str, str, bytes]]:
    return [
        (item["name"], item["type"].split(";")[0].strip().lower(), base64.b64decode(item["data"]))
        for item in items or []
    ]


def read(request: Captured) -> dict[str, Any]:
    """What SparkPost reads from a transmission request."""
    body = request.json()
    content = body.get("content", {})
    headers = {k.lower(): v for k, v in (content.get("headers") or {}).items()}
    cc_header = headers.pop("cc", None)
    recipients = []
    for recipient in body["recipients"]:
        address = recipient["address"]
        if isinstance(address, str):
            address = {"email": address}
        # "If the address.header_to attribute is specified, then the To header uses the
        # address.header_to attribute"; else "address.name" <address.email>
        shown = address.get("header_to") or (
            f'"{address["name"]}" <{address["email"]}>' if address.get("name") else address["email"]
        )
        recipients.append((address["email"].lower(), tuple(_mailboxes(shown))))
    return {
        "method": request.method,
        "path": request.path.rstrip("/"),  # "Trailing slashes are ignored" (API Conventions)
        "authorization": request.headers.get("authorization"),
        "recipients": recipients,
        "cc_header": _mailboxes(cc_header),
        "from": _from(content.get("from")),
        "reply_to": _mailboxes(content.get("reply_to")),
        "subject": content.get("subject"),
        "text": content.get("text"),
        "html": content.get("html"),
        "headers": headers,
        "attachments": _files(content.get("attachments")),
        "inline_images": _files(content.get("inline_images")),
        "template_id": content.get("template_id"),
        "substitution_data": body.get("substitution_data"),
        "campaign_id": body.get("campaign_id"),
        "metadata": body.get("metadata"),
        "options": body.get("options") or {},
        "other": sorted(
            set(body)
            - {"recipients", "content", "substitution_data", "campaign_id", "metadata", "options"}
        ),
    }


def both(case: str) -> tuple[Any, Any]:
    with capture(_answer) as server:
        anymail = send_with_anymail(
            BACKEND,
            {"SPARKPOST_API_KEY": KEY, "SPARKPOST_API_URL": server.url + "api/v1/"},
            CASES[case](),
            server,
        )
        ours = send_with_mailspec(
            f"sparkpost://{KEY}@?base_url={server.url}api/v1/", CASES[case](), server
        )
    return anymail, ours


@pytest.mark.parametrize("case", sorted(CASES))
def test_sparkpost_reads_the_same_message_from_both(case: str) -> None:
    anymail, ours = both(case)
    assert anymail.error is None, anymail.error
    assert ours.error is None, ours.error
    theirs, mine = read(anymail.request), read(ours.request)
    assert theirs["path"] == mine["path"] == "/api/v1/transmissions"
    assert theirs["authorization"] == mine["authorization"] == KEY
    assert mine == theirs


def test_the_names_case_in_detail() -> None:
    """The cc/bcc recipients are shown the To header and the CC header, as "SparkPost:
    Using CC and BCC with the REST API" has it; the bcc address is in no header."""
    _, ours = both("names")
    read_ = read(ours.request)
    shown = (("Lee, Ann", "ann@example.org"), ("", "bob@example.org"))
    assert read_["recipients"] == [
        ("ann@example.org", shown),
        ("bob@example.org", shown),
        ("carl@example.org", shown),
        ("dee@example.org", shown),
    ]
    assert read_["cc_header"] == [("Carl Ng", "carl@example.org")]
    assert read_["reply_to"] == [("Help Desk", "help@shop.example")]
    assert "dee@example.org" not in str(ours.request.json()["content"])


def test_the_attachments_case_in_detail() -> None:
    _, ours = both("attachments")
    read_ = read(ours.request)
    assert [name for name, _, _ in read_["attachments"]] == ["invoice.pdf"]
    # "Inline Image Object": name "will be inserted into the Content-ID header"
    assert [(n, t) for n, t, _ in read_["inline_images"]] == [("logo@shop.example", "image/png")]


def test_the_template_case_sends_no_sender_on_either_side() -> None:
    """A template's own sender is used ("SparkPost API: Transmissions", Send a Template:
    the content object holds template_id); anymail leaves out a from equal to
    DEFAULT_FROM_EMAIL, mailspec every template message's (spec: `ignores`)."""
    anymail, ours = both("template")
    assert read(anymail.request)["from"] is None and read(ours.request)["from"] is None
    assert read(ours.request)["template_id"] == "welcome-1"
    assert read(ours.request)["substitution_data"] == {"name": "Ann", "order": "1042"}


def test_two_tags_are_refused_on_both_sides() -> None:
    """One campaign_id per transmission: anymail refuses "multiple tags", and mailspec's
    spec takes at most one (`max_items: 1`), so neither sends."""

    def two_tags() -> Any:
        email = CASES["tags_metadata"]()
        email.tags = ["welcome", "onboarding"]
        return email

    with capture(_answer) as server:
        anymail = send_with_anymail(
            BACKEND,
            {"SPARKPOST_API_KEY": KEY, "SPARKPOST_API_URL": server.url + "api/v1/"},
            two_tags(),
            server,
        )
        ours = send_with_mailspec(
            f"sparkpost://{KEY}@?base_url={server.url}api/v1/", two_tags(), server
        )
    assert anymail.refused and ours.refused


# the counts for the report: six canonical cases, each read the same on both sides (the
# parametrized test above), and one refused on both sides (two tags)
CASE_COUNT = len(CASES)
