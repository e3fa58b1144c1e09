"""Mailgun, differential: each canonical Django message goes through django-anymail's
Mailgun backend and through mailspec's Django backend with a ``mailgun://`` provider URL,
each to a capture server; both requests are read as Mailgun reads its messages API
("Mailgun API: Messages", Send an email) and what Mailgun would read must be the same.

How Mailgun reads a request (what :func:`mailgun_reads` models):

- the sending domain is the path's ``v3/{domain}/messages``; the credentials HTTP basic
  ``api:KEY`` ("Mailgun API: Messages", Security basicAuth);
- ``from``, ``to``, ``cc``, ``bcc``: mailboxes, each field repeatable and each value a
  comma-separated list ("Email address of the recipient(s). Example: "Bob <bob@host.com>".
  You can use commas to separate multiple recipients");
- ``h:NAME`` adds the header NAME (names compared case-insensitively, as RFC 5322 does);
  ``h:Reply-To`` is the reply-to list;
- ``attachment`` and ``inline`` file parts; an inline part's content id is its file name
  (the documented ``cid:test.jpg`` for ``-F inline=@files/test.jpg``);
- ``o:tag`` repeated ("Mailgun: Tags"); ``v:NAME`` custom data, which events and webhooks
  echo as ``user-variables`` (the metadata);
- ``template`` and its variables: ``t:variables`` JSON ("Mailgun API: Templates", Send
  templates), and the custom data, in which ``%recipient.KEY%`` is filled per recipient
  from ``recipient-variables`` ("Mailgun: Batch Sending", Recipient Variables).
"""

from __future__ import annotations

import json
import re
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

KEY = "key-differential-0123456789"
DOMAIN = "shop.example"  # the canonical messages' sender domain, which anymail infers
BACKEND = "anymail.backends.mailgun.EmailBackend"
QUEUED = {"id": "<20260101000000.1.ABC@shop.example>", "message": "Queued. Thank you."}

_RECIPIENT_VAR = re.compile(r"%recipient\.([^%]+)%")


def mailgun_reads(request: Captured) -> dict[str, Any]:
    """What Mailgun would read from one messages-API request (see the module docstring),
    with the custom data and template variables as each recipient gets them."""
    assert request.method == "POST"
    match = re.fullmatch(r"/v3/([^/]+)/messages", request.path)
    assert match, request.path
    fields = request.form()
    one = {k: v[-1] for k, v in fields.items()}

    def mailboxes(name: str) -> list[tuple[str, str]]:
        return [(n, a.lower()) for n, a in getaddresses(fields.get(name, []))]

    headers = {k[2:].lower(): v for k, v in one.items() if k.startswith("h:") and k != "h:Reply-To"}
    to = [a for _, a in mailboxes("to")]
    recipient_variables = json.loads(one.get("recipient-variables", "{}"))
    custom = {k[2:]: v for k, v in one.items() if k.startswith("v:")}

    def for_each(values: dict[str, str]) -> dict[str, dict[str, str]]:
        """``values`` as each ``to`` recipient gets them, %recipient.KEY% filled."""
        return {
            address: {
                k: _RECIPIENT_VAR.sub(
                    lambda m, a=address: str(recipient_variables.get(a, {}).get(m.group(1), "")),
                    v,
                )
                for k, v in values.items()
            }
            for address in to
        }

    metadata = for_each(custom)
    template_variables = {
        address: {**values, **json.loads(one.get("t:variables", "{}"))}
        for address, values in metadata.items()
    }
    return {
        "domain": match.group(1),
        "auth": request.basic_auth(),
        "from": mailboxes("from"),
        "to": mailboxes("to"),
        "cc": mailboxes("cc"),
        "bcc": mailboxes("bcc"),
        "reply_to": [(n, a.lower()) for n, a in getaddresses(fields.get("h:Reply-To", []))],
        "subject": one.get("subject"),
        "text": one.get("text"),
        "html": one.get("html"),
        "headers": headers,
        "attachments": sorted(
            (p.name, p.filename or "", p.content_type or "", p.data)
            for p in (request.files() if request.content_type == "multipart/form-data" else [])
        ),
        "tags": fields.get("o:tag", []),
        "metadata": metadata,
        "template": one.get("template"),
        "template_variables": template_variables if one.get("template") else None,
    }


def both(case: str) -> tuple[Any, Any]:
    """Send the case both ways; each side's Sent."""
    answer = lambda _: json_reply(QUEUED)  # noqa: E731
    with capture(answer) as theirs, capture(answer) as ours:
        anymail = send_with_anymail(
            BACKEND,
            {"MAILGUN_API_KEY": KEY, "MAILGUN_API_URL": theirs.url + "v3"},
            CASES[case](),
            theirs,
        )
        mailspec_sent = send_with_mailspec(provider_url(ours.url), CASES[case](), ours)
    return anymail, mailspec_sent


def provider_url(base_url: str) -> str:
    """mailspec's provider URL for Mailgun: the key and the sending domain; the base URL
    without anymail's ``/v3`` (mailspec keeps the version in the operation path)."""
    return f"mailgun://api:{KEY}@?domain={DOMAIN}&base_url={base_url}"


# Where the two may differ, and the document that allows it: case -> key -> why.
EXPECTED_DIFFERENCES: dict[str, dict[str, str]] = {
    "template": {
        # anymail sends merge_global_data as custom data (v:name=%recipient.name% and
        # recipient-variables, anymail/backends/mailgun.py, "populate_recipient_variables"
        # (5)), so the template's variables also reach events as user-variables; mailspec
        # sends them as t:variables, "a valid JSON-encoded dictionary used as the input
        # for template variable expansion" ("Mailgun API: Templates", Send templates),
        # and keeps the metadata for Message.metadata. The template renders with the same
        # variables either way (checked below); only the events' user-variables differ.
        "metadata": '"Mailgun API: Templates", Send templates: t:variables',
        # the message has no subject: anymail sends `subject=` (empty), mailspec sends
        # none. "Mailgun API: Messages", subject: "not required if sending with a
        # template that has a pre-set Subject header, but it will override it if
        # provided": mailspec leaves the template's subject in place, where an empty
        # field may override it.
        "subject": '"Mailgun API: Messages", Send an email: subject',
        # likewise the Django body, empty: anymail sends `text=` (empty), mailspec none;
        # "Mailgun API: Messages", Send an email: "you must provide one of the following
        # parameters: 'text', 'html', 'amp-html' or 'template'": the template alone is a
        # whole message, with no empty text part beside it.
        "text": '"Mailgun API: Messages", Send an email: text, html, amp-html or template',
    },
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_mailgun_reads_the_same_from_anymail_and_mailspec(case: str) -> None:
    anymail, ours = both(case)
    if anymail.refused or ours.refused:
        assert anymail.refused and ours.refused, (anymail.error, ours.error)
        return
    assert anymail.error is None, anymail.error
    assert ours.error is None, ours.error
    theirs_read, ours_read = mailgun_reads(anymail.request), mailgun_reads(ours.request)
    differences = EXPECTED_DIFFERENCES.get(case, {})
    for key in theirs_read:
        if key in differences:
            assert theirs_read[key] != ours_read[key], f"{key} no longer differs: drop it"
            continue
        assert theirs_read[key] == ours_read[key], (case, key)
    assert ours_read["auth"] == ("api", KEY) and ours_read["domain"] == DOMAIN


def test_the_cases_carry_what_they_are_meant_to() -> None:
    """Each case's content as Mailgun reads it from mailspec's request, written out: a
    comparison of two empty readings would agree on nothing."""
    read = {case: mailgun_reads(both(case)[1].request) for case in ("names", "attachments")}
    names = read["names"]
    assert names["to"] == [("Lee, Ann", "ann@example.org"), ("", "bob@example.org")]
    assert names["cc"] == [("Carl Ng", "carl@example.org")]
    assert names["bcc"] == [("Dee Ray", "dee@example.org")]
    assert names["reply_to"] == [("Help Desk", "help@shop.example")]
    assert names["from"] == [("Shop", "orders@shop.example")]
    assert read["attachments"]["attachments"] == [
        ("attachment", "invoice.pdf", "application/pdf", PDF),
        ("inline", INLINE_CID, "image/png", PNG),
    ]
    headers = mailgun_reads(both("headers")[1].request)["headers"]
    assert headers == {"x-order": "1042", "list-unsubscribe": "<mailto:unsubscribe@shop.example>"}
    tagged = mailgun_reads(both("tags_metadata")[1].request)
    assert tagged["tags"] == ["welcome"]
    assert tagged["metadata"] == {"ann@example.org": {"user_id": "42", "plan": "pro"}}
    template = mailgun_reads(both("template")[1].request)
    assert template["template"] == "welcome-1"
    assert template["template_variables"] == {"ann@example.org": {"name": "Ann", "order": "1042"}}


def test_four_tags_anymail_sends_and_mailspec_refuses() -> None:
    """anymail sends every tag; "Mailgun: Tags" says "A single message may be marked
    with up to 3 tags", so mailspec refuses a fourth before any request (a provider rule:
    with ON_UNSUPPORTED skip and one provider, the send fails) rather than let Mailgun
    drop it. An explicit, cited difference."""
    answer = lambda _: json_reply(QUEUED)  # noqa: E731
    with capture(answer) as theirs, capture(answer) as ours:
        email = CASES["tags_metadata"]()
        email.tags = ["a", "b", "c", "d"]
        anymail = send_with_anymail(
            BACKEND, {"MAILGUN_API_KEY": KEY, "MAILGUN_API_URL": theirs.url + "v3"}, email, theirs
        )
        email = CASES["tags_metadata"]()
        email.tags = ["a", "b", "c", "d"]
        ours_sent = send_with_mailspec(provider_url(ours.url), email, ours)
    assert anymail.error is None and mailgun_reads(anymail.request)["tags"] == list("abcd")
    assert ours_sent.refused
