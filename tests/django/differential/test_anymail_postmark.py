"""Postmark: django-anymail's backend (anymail.backends.postmark) and mailspec's Django
backend with ``postmark://TOKEN@?base_url=...`` send the same Django messages to a
capture server on 127.0.0.1; each request is read as Postmark reads it ("Postmark API:
Email", Send a single email; "Postmark API: Templates", Send email with template) and
the two readings must be equal, or both sides refuse the message.

Counts (the six canonical cases, four of Postmark's own, one refused on both sides):
see ``test_the_counts``.
"""

from __future__ import annotations

import base64
from email.utils import getaddresses
from typing import Any

import pytest
from anymail.message import AnymailMessage
from differential_support import (
    CASES,
    INLINE_CID,
    PDF,
    PNG,
    Captured,
    Reply,
    capture,
    json_reply,
    send_with_anymail,
    send_with_mailspec,
)

BACKEND = "anymail.backends.postmark.EmailBackend"
TOKEN = "pm-server-token-0123"


def answer(request: Captured) -> Reply:
    """Postmark's answer to a send ("Postmark API: Email", Send a single email,
    Response): what both clients read an accepted message from."""
    sent = request.json()
    to = sent.get("To", "") if isinstance(sent, dict) else ""
    return json_reply(
        {
            "To": to,
            "SubmittedAt": "2014-02-17T07:25:01.4178645-05:00",
            "MessageID": "0a129aee-e1cd-480d-b08d-4f48548ff48d",
            "ErrorCode": 0,
            "Message": "OK",
        }
    )


def mailboxes(value: str | None) -> list[tuple[str, str]]:
    """A comma-separated mailbox list as Postmark reads it: (name, address) pairs."""
    return [(name, address.lower()) for name, address in getaddresses([value or ""]) if address]


def read(request: Captured) -> dict[str, Any]:
    """What Postmark reads from one request: the endpoint (without the trailing slash,
    see ``test_the_template_endpoint_has_one_documented_path``), the token, and every
    field of the JSON body, addresses as (name, address) pairs, headers by name,
    attachments with their decoded content."""
    body = request.json()
    assert isinstance(body, dict), body
    read: dict[str, Any] = {
        "endpoint": (request.method, request.path.rstrip("/")),
        "token": request.headers.get("x-postmark-server-token"),
        "accept": request.headers.get("accept"),
        "content_type": request.content_type,
    }
    for field in ("From", "To", "Cc", "Bcc", "ReplyTo"):
        if field in body:
            read[field] = mailboxes(body[field])
    for field in ("Subject", "HtmlBody", "TextBody", "Tag", "Metadata", "TemplateAlias",
                  "TemplateId", "TemplateModel", "TrackOpens", "TrackLinks", "MessageStream"):  # fmt: skip
        if field in body:
            read[field] = body[field]
    if "Headers" in body:
        read["Headers"] = {h["Name"].lower(): h["Value"] for h in body["Headers"]}
    if "Attachments" in body:
        read["Attachments"] = sorted(
            (
                a["Name"],
                a["ContentType"].split(";")[0].strip().lower(),
                base64.b64decode(a["Content"]),
                a.get("ContentID"),
            )
            for a in body["Attachments"]
        )
    unread = set(body) - {"From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "HtmlBody",
                          "TextBody", "Tag", "Metadata", "TemplateAlias", "TemplateId",
                          "TemplateModel", "TrackOpens", "TrackLinks", "MessageStream",
                          "Headers", "Attachments"}  # fmt: skip
    assert not unread, f"fields this reader does not know: {sorted(unread)}"
    return read


def both(email_of: Any, ours_of: Any = None) -> tuple[Any, Any]:
    """The message sent by anymail and by mailspec (``ours_of``'s, where mailspec's
    Django message is written apart), each to its own capture server."""
    with capture(answer) as theirs, capture(answer) as ours:
        anymail = send_with_anymail(
            BACKEND,
            {"POSTMARK_SERVER_TOKEN": TOKEN, "POSTMARK_API_URL": theirs.url},
            email_of(),
            theirs,
        )
        mailspec = send_with_mailspec(
            f"postmark://{TOKEN}@?base_url={ours.url}", (ours_of or email_of)(), ours
        )
    return anymail, mailspec


# --- the six canonical messages: read the same ---------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_postmark_reads_the_same_from_both(case: str) -> None:
    anymail, mailspec = both(CASES[case])
    assert anymail.error is None, anymail.error
    assert mailspec.error is None, mailspec.error
    assert read(mailspec.request) == read(anymail.request)


def test_the_readings_hold_what_the_messages_carry() -> None:
    """The comparison above is not empty-handed: each reading carries its case's fields
    as Postmark documents them."""
    _, names = both(CASES["names"])
    got = read(names.request)
    assert got["From"] == [("Shop", "orders@shop.example")]
    assert got["To"] == [("Lee, Ann", "ann@example.org"), ("", "bob@example.org")]
    assert got["Cc"] == [("Carl Ng", "carl@example.org")]
    assert got["Bcc"] == [("Dee Ray", "dee@example.org")]
    assert got["ReplyTo"] == [("Help Desk", "help@shop.example")]
    assert got["token"] == TOKEN and got["accept"] == "application/json"
    _, files = both(CASES["attachments"])
    assert read(files.request)["Attachments"] == [
        ("invoice.pdf", "application/pdf", PDF, None),
        ("logo.png", "image/png", PNG, f"cid:{INLINE_CID}"),
    ]
    _, tagged = both(CASES["tags_metadata"])
    got = read(tagged.request)
    assert (got["Tag"], got["Metadata"]) == ("welcome", {"user_id": "42", "plan": "pro"})
    _, headers = both(CASES["headers"])
    assert read(headers.request)["Headers"] == {
        "x-order": "1042",
        "list-unsubscribe": "<mailto:unsubscribe@shop.example>",
    }
    _, template = both(CASES["template"])
    got = read(template.request)
    assert got["endpoint"] == ("POST", "/email/withTemplate")
    assert (got["TemplateAlias"], got["TemplateModel"]) == (
        "welcome-1",
        {"name": "Ann", "order": "1042"},
    )


def test_the_template_endpoint_has_one_documented_path() -> None:
    """An explicit difference: anymail posts a template to ``email/withTemplate/`` (its
    source: "the one Postmark API documented to have a trailing slash"); "Postmark API:
    Templates", Send email with template, documents ``POST /email/withTemplate``, which
    mailspec posts. The same endpoint to Postmark; ``read`` compares it without the
    slash."""
    anymail, mailspec = both(CASES["template"])
    assert anymail.request.path == "/email/withTemplate/"
    assert mailspec.request.path == "/email/withTemplate"


# --- Postmark's own cases -------------------------------------------------------------


def _numeric_template() -> AnymailMessage:
    email = AnymailMessage(from_email="Shop <orders@shop.example>", to=["ann@example.org"])
    email.template_id = "1234"  # "TemplateId: ... (integer)"; anymail sends int("1234")
    email.merge_global_data = {"name": "Ann"}
    return email


def _template_without_variables() -> AnymailMessage:
    email = AnymailMessage(from_email="Shop <orders@shop.example>", to=["ann@example.org"])
    email.template_id = "welcome-1"  # "TemplateModel: required": both send {}
    return email


def _tracking() -> AnymailMessage:
    email = AnymailMessage(
        subject="Hi", body="Hi", from_email="orders@shop.example", to=["ann@example.org"]
    )
    email.track_opens = True
    email.track_clicks = False  # Postmark's word: "TrackLinks": "None"
    return email


def _stream(extra: dict[str, Any]) -> AnymailMessage:
    email = AnymailMessage(
        subject="Hi", body="Hi", from_email="orders@shop.example", to=["ann@example.org"]
    )
    email.esp_extra = extra
    return email


# name -> (anymail's message, mailspec's where it is written apart)
OWN: dict[str, tuple[Any, Any]] = {
    "numeric_template": (_numeric_template, None),
    "template_without_variables": (_template_without_variables, None),
    "tracking": (_tracking, None),
    # anymail's esp_extra is one backend's fields; mailspec's Django backend takes them
    # per provider name (docs/django.md), as Message.provider_options
    "stream": (
        lambda: _stream({"MessageStream": "broadcast"}),
        lambda: _stream({"postmark": {"MessageStream": "broadcast"}}),
    ),
}


@pytest.mark.parametrize("case", sorted(OWN))
def test_postmarks_own_fields_read_the_same(case: str) -> None:
    anymail, mailspec = both(*OWN[case])
    assert anymail.error is None, anymail.error
    assert mailspec.error is None, mailspec.error
    assert read(mailspec.request) == read(anymail.request)
    if case == "numeric_template":
        assert read(mailspec.request)["TemplateId"] == 1234
    if case == "tracking":
        got = read(mailspec.request)
        assert (got["TrackOpens"], got["TrackLinks"]) == (True, "None")
    if case == "stream":
        assert read(mailspec.request)["MessageStream"] == "broadcast"
    if case == "template_without_variables":
        assert read(mailspec.request)["TemplateModel"] == {}


def _two_tags() -> AnymailMessage:
    return AnymailMessage(
        subject="Hi", body="Hi", from_email="orders@shop.example", to=["ann@example.org"],
        tags=["welcome", "onboarding"],
    )  # fmt: skip


def test_two_tags_are_refused_on_both_sides() -> None:
    """Postmark has one ``Tag``: anymail refuses a second ("multiple tags"), mailspec too
    (a provider rule: the one provider is skipped), and neither sends anything."""
    anymail, mailspec = both(_two_tags)
    assert anymail.refused and "tags" in str(anymail.error)
    assert mailspec.refused


def test_the_counts() -> None:
    """Six canonical cases and four of Postmark's own agree; one is refused on both
    sides; one explained difference (the template path's trailing slash)."""
    agreeing = [*CASES, *OWN]
    assert len(CASES) == 6 and len(agreeing) == 10
