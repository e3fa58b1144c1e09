"""Resend: the six canonical Django messages through django-anymail's Resend backend and
through mailspec's Django backend (`resend://KEY@?base_url=...`), each to a capture
server; both requests are read as Resend reads them ("Resend API Reference: Send
Email": `from` and the recipients as "Name <address>" strings or lists of them,
`headers` an object, `attachments` with base64 `content`, `content_type` and
`content_id`, `template` {id, variables}, the bearer key) and must say the same.

Tags and metadata: Resend's own `tags` take only ASCII letters, digits, `_` and `-`, so
django-anymail sends them as JSON text in the X-Tags and X-Metadata headers, and so does
spec/resend.yaml (ASSUMED there): both are read back as the JSON they hold.

Counted in RESULTS: each case agrees, is refused by both, or differs as a cited
document allows (EXPECTED_DIFFERENCES)."""

from __future__ import annotations

import base64
import json
from email.header import decode_header, make_header
from email.utils import getaddresses
from typing import Any

import pytest
from differential_support import (
    CASES,
    INLINE_CID,
    PDF,
    PNG,
    Captured,
    capture,
    json_reply,
    send_with_anymail,
    send_with_mailspec,
)

KEY = "re_differential_key"
BACKEND = "anymail.backends.resend.EmailBackend"

# Where the two sides are allowed to differ, with the document that allows it.
EXPECTED_DIFFERENCES = {
    # django-anymail's Resend backend has no stored templates ("Resend doesn't support
    # server-rendered templates") and refuses template_id; Resend now documents them:
    # "Resend API Reference: Send Email", Body Parameters, template: {"id": the published
    # template, "variables": key/value pairs}, and "If a template is provided, you cannot
    # send html, text" (Resend OpenAPI, SendEmailRequest.template). mailspec sends it.
    "template": "Resend API Reference: Send Email, Body Parameters, template",
}


def _mailboxes(value: Any) -> list[tuple[str, str]]:
    """A `to`/`cc`/`bcc`/`reply_to`/`from` value (one string or a list of them) as
    Resend reads it: (display name, address) pairs, RFC 2047 names decoded."""
    if value is None:
        return []
    strings = [value] if isinstance(value, str) else list(value)
    out = []
    for name, address in getaddresses(strings):
        out.append((str(make_header(decode_header(name))) if name else "", address.lower()))
    return out


def read(request: Captured) -> dict[str, Any]:
    """What Resend reads from one send request."""
    body = request.json()
    headers = {k.lower(): v for k, v in (body.get("headers") or {}).items()}
    tags = json.loads(headers.pop("x-tags", "[]"))
    metadata = json.loads(headers.pop("x-metadata", "{}"))
    attachments = [
        (
            a.get("filename"),
            a.get("content_type"),
            base64.b64decode(a["content"]),
            a.get("content_id"),
        )
        for a in body.get("attachments") or []
    ]
    return {
        "endpoint": (request.method, request.path),
        "auth": request.headers.get("authorization"),
        "from": _mailboxes(body.get("from")),
        "to": _mailboxes(body.get("to")),
        "cc": _mailboxes(body.get("cc")),
        "bcc": _mailboxes(body.get("bcc")),
        "reply_to": _mailboxes(body.get("reply_to")),
        "subject": body.get("subject"),
        "html": body.get("html"),
        "text": body.get("text"),
        "headers": headers,
        "attachments": sorted(attachments, key=lambda a: str(a[0])),
        "tags": tags,
        "metadata": metadata,
        "template": body.get("template"),
        "scheduled_at": body.get("scheduled_at"),
        "unknown": sorted(set(body) - _KNOWN),
    }


_KNOWN = {
    "from", "to", "cc", "bcc", "reply_to", "subject", "html", "text", "headers",
    "attachments", "tags", "template", "scheduled_at", "topic_id",
}  # fmt: skip


def _both(case: str) -> tuple[Any, Any]:
    answer = json_reply({"id": "49a3999c-0ce1-4ea6-ab68-afcd6dc2e794"})
    with capture(lambda _: answer) as server:
        anymail = send_with_anymail(
            BACKEND, {"RESEND_API_KEY": KEY, "RESEND_API_URL": server.url}, CASES[case](), server
        )
        ours = send_with_mailspec(f"resend://{KEY}@?base_url={server.url}", CASES[case](), server)
    return anymail, ours


RESULTS: dict[str, str] = {}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resend_reads_the_same_from_both(case: str) -> None:
    anymail, ours = _both(case)
    if case in EXPECTED_DIFFERENCES:
        assert anymail.refused, f"anymail sent {case}: the difference is gone"
        assert ours.error is None, ours.error
        RESULTS[case] = "explained"
        return
    if anymail.refused or ours.refused:
        assert anymail.refused and ours.refused, (anymail.error, ours.error)
        RESULTS[case] = "refused by both"
        return
    assert anymail.error is None and ours.error is None, (anymail.error, ours.error)
    assert read(ours.request) == read(anymail.request)
    RESULTS[case] = "agrees"


def test_what_resend_reads_of_each_case() -> None:
    """The reader is not vacuous: each case's content is there, as Resend reads it."""
    _, ours = _both("names")
    seen = read(ours.request)
    assert seen["endpoint"] == ("POST", "/emails") and seen["auth"] == f"Bearer {KEY}"
    assert seen["from"] == [("Shop", "orders@shop.example")]
    assert seen["to"] == [("Lee, Ann", "ann@example.org"), ("", "bob@example.org")]
    assert seen["cc"] == [("Carl Ng", "carl@example.org")]
    assert seen["bcc"] == [("Dee Ray", "dee@example.org")]
    assert seen["reply_to"] == [("Help Desk", "help@shop.example")]
    _, ours = _both("attachments")
    assert read(ours.request)["attachments"] == [
        ("invoice.pdf", "application/pdf", PDF, None),
        ("logo.png", "image/png", PNG, INLINE_CID),
    ]
    _, ours = _both("tags_metadata")
    seen = read(ours.request)
    assert (seen["tags"], seen["metadata"]) == (["welcome"], {"user_id": "42", "plan": "pro"})
    _, ours = _both("headers")
    assert read(ours.request)["headers"] == {
        "x-order": "1042",
        "list-unsubscribe": "<mailto:unsubscribe@shop.example>",
    }
    _, ours = _both("template")
    assert read(ours.request)["template"] == {
        "id": "welcome-1",
        "variables": {"name": "Ann", "order": "1042"},
    }


def test_the_counts() -> None:
    """Six cases: five agree with anymail, none refused by both, one explained."""
    for case in CASES:
        if case not in RESULTS:
            test_resend_reads_the_same_from_both(case)
    counts = {
        k: list(RESULTS.values()).count(k) for k in ("agrees", "refused by both", "explained")
    }
    assert counts == {"agrees": 5, "refused by both": 0, "explained": 1}, RESULTS
