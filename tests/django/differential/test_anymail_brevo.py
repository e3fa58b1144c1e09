"""Brevo, differentially: each canonical Django message goes through django-anymail's
Brevo backend and through mailspec's Django backend (``brevo://KEY@``) to capture
servers on 127.0.0.1, and both requests are read as Brevo reads them (Brevo API
reference, Send a transactional email): the key in ``api-key``, ``sender`` and the
recipients as ``{email, name}`` objects, ``replyTo``, subject and bodies, custom
``headers``, ``attachment`` ``{name, content}`` (the type from the name), ``tags``,
metadata as JSON text in the ``X-Mailin-custom`` header (django-anymail's convention),
``templateId`` and ``params``. Both must read the same, or both refuse; a difference is
listed in ``EXPECTED`` with the document that allows it.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Callable
from email.header import decode_header, make_header
from typing import Any

import pytest
from anymail.message import AnymailMessage
from differential_support import (
    CASES,
    PDF,
    Captured,
    Reply,
    Sent,
    capture,
    json_reply,
    send_with_anymail,
    send_with_mailspec,
)

BACKEND = "anymail.backends.brevo.EmailBackend"
KEY = "xkeysib-differential-key"
MESSAGE_ID = "<202612061000.12345@smtp-relay.mailin.fr>"


def _answer(request: Captured) -> Reply:
    # Brevo API reference, Send a transactional email: 201 {"messageId": ...}
    return json_reply({"messageId": MESSAGE_ID}, 201)


def _pdf_only() -> AnymailMessage:
    """The attachments case without its inline image (which Brevo has no place for):
    a PDF, so attachment content and names are compared too."""
    email = AnymailMessage(
        subject="Your invoice",
        body="Attached.",
        from_email="Shop <orders@shop.example>",
        to=["ann@example.org"],
    )
    email.attach("invoice.pdf", PDF, "application/pdf")
    return email


def _numbered_template() -> AnymailMessage:
    """The template case with a number, the only template id Brevo takes (Brevo API
    reference, Send a transactional email: "templateId: integer, Id of the template")."""
    email = CASES["template"]()
    email.template_id = 3
    return email


# the harness's six cases, and two of Brevo's own
ALL: dict[str, Callable[[], AnymailMessage]] = {
    **CASES,
    "pdf_only": _pdf_only,
    "numbered_template": _numbered_template,
}

# case -> (what differs, the document that allows mailspec's side)
EXPECTED: dict[str, tuple[str, str]] = {
    "template": (
        'anymail sends the template id \'welcome-1\' as given ("templateId": "welcome-1"); '
        "mailspec refuses it before any request, since Brevo's template id is a number",
        "Brevo API reference, Send a transactional email (templateId: integer, "
        "https://developers.brevo.com/reference/sendtransacemail)",
    ),
}


def _name(value: Any) -> str:
    """A display name as Brevo shows it: RFC 2047 encoded words decoded."""
    text = "" if value is None else str(value)
    return str(make_header(decode_header(text))) if "=?" in text else text


def _mailbox(value: Any) -> tuple[str, str]:
    assert isinstance(value, dict) and set(value) <= {"email", "name"}, value
    return value["email"].lower(), _name(value.get("name"))


def read(request: Captured) -> dict[str, Any]:
    """What Brevo reads from one send request."""
    assert (request.method, request.path) == ("POST", "/v3/smtp/email")
    assert request.content_type == "application/json"
    body = request.json()
    known = {
        "sender",
        "to",
        "cc",
        "bcc",
        "replyTo",
        "subject",
        "htmlContent",
        "textContent",
        "headers",
        "attachment",
        "tags",
        "templateId",
        "params",
        "scheduledAt",
    }
    assert set(body) <= known, set(body) - known
    headers = {k.lower(): v for k, v in (body.get("headers") or {}).items()}
    custom = headers.pop("x-mailin-custom", None)
    return {
        "auth": request.headers.get("api-key"),
        "other_auth": request.headers.get("authorization"),
        "sender": _mailbox(body["sender"]) if "sender" in body else None,
        **{kind: [_mailbox(m) for m in body.get(kind, [])] for kind in ("to", "cc", "bcc")},
        "reply_to": _mailbox(body["replyTo"]) if "replyTo" in body else None,
        "subject": body.get("subject"),
        "html": body.get("htmlContent"),
        "text": body.get("textContent"),
        "headers": headers,
        "metadata": json.loads(custom) if custom is not None else None,
        # Brevo reads an attachment's type from its name; it has no content id
        "attachments": [
            (a["name"], base64.b64decode(a["content"]), mimetypes.guess_type(a["name"])[0])
            for a in body.get("attachment", [])
        ],
        "tags": body.get("tags", []),
        "template": body.get("templateId"),
        "variables": body.get("params"),
    }


def both(case: str) -> tuple[Sent, Sent]:
    with capture(_answer) as anymail_server, capture(_answer) as mailspec_server:
        theirs = send_with_anymail(
            BACKEND,
            {"BREVO_API_KEY": KEY, "BREVO_API_URL": anymail_server.url + "v3/"},
            ALL[case](),
            anymail_server,
        )
        ours = send_with_mailspec(
            f"brevo://{KEY}@?base_url={mailspec_server.url}v3/", ALL[case](), mailspec_server
        )
    return theirs, ours


@pytest.mark.parametrize("case", [c for c in ALL if c not in EXPECTED])
def test_mailspec_sends_what_anymail_sends_or_both_refuse(case: str) -> None:
    theirs, ours = both(case)
    if theirs.refused or ours.refused:
        assert theirs.refused and ours.refused, (theirs.error, ours.error)
        return
    assert theirs.error is None and ours.error is None, (theirs.error, ours.error)
    read_theirs, read_ours = read(theirs.request), read(ours.request)
    assert read_ours == read_theirs
    assert read_ours["auth"] == KEY and read_ours["other_auth"] is None


def test_the_inline_image_is_refused_on_both_sides() -> None:
    theirs, ours = both("attachments")
    assert theirs.refused and "inline" in str(theirs.error)
    assert ours.refused and "inline" in str(ours.error)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_an_expected_difference_is_the_documented_one(case: str) -> None:
    theirs, ours = both(case)
    what, document = EXPECTED[case]
    assert document.startswith("Brevo API reference")
    if case == "template":
        assert theirs.error is None and read(theirs.request)["template"] == "welcome-1"
        assert ours.refused and "number" in str(ours.error), what


def test_the_counts() -> None:
    """Every case ends one of three ways; the report quotes these numbers."""
    agreeing, refused_both, explained = [], [], []
    for case in ALL:
        if case in EXPECTED:
            explained.append(case)
            continue
        theirs, ours = both(case)
        if theirs.refused and ours.refused:
            refused_both.append(case)
        else:
            assert read(ours.request) == read(theirs.request), case
            agreeing.append(case)
    assert len(ALL) == 8
    assert (len(agreeing), len(refused_both), len(explained)) == (6, 1, 1), (
        agreeing,
        refused_both,
        explained,
    )
