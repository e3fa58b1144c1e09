"""Mailjet: the six canonical Django messages through django-anymail's Mailjet backend and
through mailspec (spec/mailjet.yaml), each to a capture server answering as Send API
v3.1 does; both requests read as Mailjet reads them and compared.

anymail writes most properties into ``Globals`` and only ``To`` into ``Messages[]``;
mailspec writes every property into the one message. Mailjet applies ``Globals`` to
every message of the payload (Mailjet API reference: Send Emails, POST /v3.1/send,
``Globals``; a message's own property wins), so the reader merges them before
comparing: that is what Mailjet would send."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

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

BACKEND = "anymail.backends.mailjet.EmailBackend"
KEY, SECRET = "public-key", "private-key"

# what a message object may carry that the reader below reads; anything else is
# reported, so a field one side sends and the other does not shows up
_READ = {
    "From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "TextPart", "HTMLPart", "Headers",
    "Attachments", "InlinedAttachments", "CustomCampaign", "EventPayload", "TemplateID",
    "TemplateLanguage", "Variables", "TrackOpens", "TrackClicks",
}  # fmt: skip


def _message_of(request: Captured) -> dict[str, Any]:
    """The one message Mailjet would send: the payload's Globals, then the message's own
    properties over them."""
    body = request.json()
    messages = body["Messages"]
    assert len(messages) == 1, messages
    return {**body.get("Globals", {}), **messages[0]}


def answer(request: Captured) -> Reply:
    """Send API v3.1's success answer (Send a basic email, API response): one entry per
    recipient of To, Cc and Bcc, each with its MessageID."""
    message = _message_of(request)
    ids = iter(range(456, 1000))
    result: dict[str, Any] = {"Status": "success", "CustomID": ""}
    for key in ("To", "Cc", "Bcc"):
        result[key] = [
            {
                "Email": box["Email"],
                "MessageUUID": f"uuid-{n}",
                "MessageID": n,
                "MessageHref": f"https://api.mailjet.com/v3/REST/message/{n}",
            }
            for box in message.get(key, [])
            for n in [next(ids)]
        ]
    return json_reply({"Messages": [result]})


def _box(value: dict[str, str]) -> tuple[str, str]:
    assert set(value) <= {"Email", "Name"}, value
    return value["Email"], value.get("Name", "")


def _files(items: list[dict[str, str]]) -> list[tuple[str, str, bytes, str | None]]:
    return sorted(
        (a["Filename"], a["ContentType"], base64.b64decode(a["Base64Content"]), a.get("ContentID"))
        for a in items
    )


def read(request: Captured) -> dict[str, Any]:
    """What Mailjet reads from one Send API v3.1 request."""
    body = request.json()
    message = _message_of(request)
    payload = message.get("EventPayload")
    return {
        "endpoint": (request.method, request.path),
        "auth": request.basic_auth(),
        "root": sorted(set(body) - {"Messages", "Globals"}),
        "from": _box(message["From"]),
        "to": [_box(b) for b in message.get("To", [])],
        "cc": [_box(b) for b in message.get("Cc", [])],
        "bcc": [_box(b) for b in message.get("Bcc", [])],
        "reply_to": _box(message["ReplyTo"]) if "ReplyTo" in message else None,
        "subject": message.get("Subject"),
        "text": message.get("TextPart") or None,
        "html": message.get("HTMLPart"),
        "headers": {k.lower(): v for k, v in (message.get("Headers") or {}).items()},
        "attachments": _files(message.get("Attachments", [])),
        "inline": _files(message.get("InlinedAttachments", [])),
        "campaign": message.get("CustomCampaign"),
        "metadata": json.loads(payload) if isinstance(payload, str) else payload,
        "template": (message.get("TemplateID"), message.get("TemplateLanguage")),
        "variables": message.get("Variables"),
        "tracking": (message.get("TrackOpens"), message.get("TrackClicks")),
        "unread": sorted(set(message) - _READ),
    }


def both(case: str) -> tuple[Any, Any]:
    with capture(answer) as server:
        settings = {
            "MAILJET_API_KEY": KEY,
            "MAILJET_SECRET_KEY": SECRET,
            "MAILJET_API_URL": server.url + "v3.1/",  # anymail's URL carries the version
        }
        theirs = send_with_anymail(BACKEND, settings, CASES[case](), server)
        # mailspec's base URL has none: the version is in the operation's path
        url = f"mailjet://{KEY}:{SECRET}@?base_url={quote(server.url, safe='')}"
        ours = send_with_mailspec(url, CASES[case](), server)
    return theirs, ours


# cases -> what is expected of both sides
AGREE = ["plain", "names", "headers", "attachments", "tags_metadata"]
REFUSED_BY_BOTH = ["template"]  # TemplateID is a number: "welcome-1" has none


@pytest.mark.parametrize("case", AGREE)
def test_mailjet_reads_the_same_message_from_both(case: str) -> None:
    theirs, ours = both(case)
    assert theirs.error is None, theirs.error
    assert ours.error is None, ours.error
    seen_theirs, seen_ours = read(theirs.request), read(ours.request)
    assert seen_ours == seen_theirs
    assert seen_ours["endpoint"] == ("POST", "/v3.1/send")
    assert seen_ours["auth"] == (KEY, SECRET)
    assert seen_ours["unread"] == [] and seen_ours["root"] == []


def test_the_cases_read_what_they_carry() -> None:
    """The comparison above compares something: each case's own content is there."""
    _, names = both("names")
    seen = read(names.request)
    assert seen["to"] == [("ann@example.org", "Lee, Ann"), ("bob@example.org", "")]
    assert seen["cc"] == [("carl@example.org", "Carl Ng")]
    assert seen["bcc"] == [("dee@example.org", "Dee Ray")]
    assert seen["reply_to"] == ("help@shop.example", "Help Desk")
    assert seen["from"] == ("orders@shop.example", "Shop")
    _, files = both("attachments")
    seen = read(files.request)
    assert [(f, t, c) for f, t, _, c in seen["attachments"]] == [
        ("invoice.pdf", "application/pdf", None)
    ]
    assert [(f, t, c) for f, t, _, c in seen["inline"]] == [
        ("logo.png", "image/png", "logo@shop.example")
    ]
    _, tagged = both("tags_metadata")
    seen = read(tagged.request)
    assert seen["campaign"] == "welcome"
    assert seen["metadata"] == {"user_id": "42", "plan": "pro"}
    _, headers = both("headers")
    assert read(headers.request)["headers"] == {
        "x-order": "1042",
        "list-unsubscribe": "<mailto:unsubscribe@shop.example>",
    }


@pytest.mark.parametrize("case", REFUSED_BY_BOTH)
def test_both_refuse(case: str) -> None:
    theirs, ours = both(case)
    assert theirs.refused, theirs
    assert ours.refused, ours


def test_a_numeric_template_id_reads_the_same() -> None:
    """The template case with an id Mailjet can take (TemplateID is a number, Send API
    JSON properties): both send TemplateID, TemplateLanguage and the variables."""

    def numeric() -> Any:
        email = CASES["template"]()
        email.template_id = "4242"
        return email

    with capture(answer) as server:
        settings = {
            "MAILJET_API_KEY": KEY,
            "MAILJET_SECRET_KEY": SECRET,
            "MAILJET_API_URL": server.url + "v3.1/",
        }
        theirs = send_with_anymail(BACKEND, settings, numeric(), server)
        url = f"mailjet://{KEY}:{SECRET}@?base_url={quote(server.url, safe='')}"
        ours = send_with_mailspec(url, numeric(), server)
    assert theirs.error is None and ours.error is None, (theirs.error, ours.error)
    seen, seen_theirs = read(ours.request), read(theirs.request)
    # The one explained difference: Django's empty subject is "Subject": "" in anymail's
    # request and left out of mailspec's, so that the stored template's own subject
    # applies (Mailjet Send API v3.1 guide, Use a Template: the template holds the
    # content; Send API JSON properties: a given Subject is the message's subject).
    assert (seen_theirs.pop("subject"), seen.pop("subject")) == ("", None)
    assert seen == seen_theirs
    assert seen["template"] == (4242, True)
    assert seen["variables"] == {"name": "Ann", "order": "1042"}


def test_two_tags_are_refused_by_both() -> None:
    """One CustomCampaign per message (ASSUMED, django-anymail's convention): anymail
    refuses a second tag as unsupported; mailspec refuses it as a rule of the spec."""

    def two_tags() -> Any:
        email = CASES["tags_metadata"]()
        email.tags = ["welcome", "eu"]
        return email

    with capture(answer) as server:
        settings = {"MAILJET_API_KEY": KEY, "MAILJET_SECRET_KEY": SECRET,
                    "MAILJET_API_URL": server.url + "v3.1/"}  # fmt: skip
        theirs = send_with_anymail(BACKEND, settings, two_tags(), server)
        url = f"mailjet://{KEY}:{SECRET}@?base_url={quote(server.url, safe='')}"
        ours = send_with_mailspec(url, two_tags(), server)
    assert theirs.refused and ours.refused, (theirs, ours)
