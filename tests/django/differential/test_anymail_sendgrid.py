"""SendGrid, differentially: each canonical Django message through django-anymail's
SendGrid backend and through mailspec's (``sendgrid://KEY@``), each to a capture server
answering as SendGrid does (202, empty body, ``X-Message-Id``), then both requests read
as SendGrid reads a v3 Mail Send body ("SendGrid v3 API: Mail Send") and compared."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from differential_support import (
    CASES,
    INLINE_CID,
    PDF,
    PNG,
    Captured,
    Reply,
    capture,
    send_with_anymail,
    send_with_mailspec,
)

KEY = "SG.differential-key"
BACKEND = "anymail.backends.sendgrid.EmailBackend"

# What differs, by case, each allowed by a document (the test asserts the difference is
# exactly this, so either side changing shows).
EXPECTED_DIFFERENCES: dict[str, dict[str, tuple[Any, Any]]] = {
    # anymail sends a template id not starting "d-" (a legacy template) its variables as
    # legacy `substitutions`; mailspec sends `dynamic_template_data` whatever the id
    # (spec/sendgrid.yaml, ASSUMED). "SendGrid v3 API: Mail Send", personalizations:
    # dynamic_template_data "should be used in combination with a Dynamic Transactional
    # Template"; substitutions "should not be used in combination with a Dynamic
    # Transactional Template". Both are documented places for a template's variables.
    "template": {
        "variables": (
            {"substitutions": {"name": "Ann", "order": "1042"}},
            {"dynamic_template_data": {"name": "Ann", "order": "1042"}},
        )
    },
}


def _sendgrid_answer(_: Captured) -> Reply:
    """SendGrid v3 API: Mail Send, Responses: 202 Accepted, no body, X-Message-Id."""
    return Reply(202, b"", {"X-Message-Id": "Zk9pqN5wQbexBDtPLD2C1A"})


def _box(obj: Any) -> tuple[str, str]:
    assert isinstance(obj, dict) and set(obj) <= {"email", "name"}, obj
    return obj["email"], obj.get("name", "")


def read(request: Captured) -> dict[str, Any]:
    """What SendGrid reads from one v3 Mail Send request (SendGrid v3 API: Mail Send)."""
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.content_type.startswith("application/json")
    body = request.json()
    (person,) = body["personalizations"]  # one envelope for the whole message
    reply_to = body.get("reply_to_list") or ([body["reply_to"]] if "reply_to" in body else [])
    custom_args = {**body.get("custom_args", {}), **person.get("custom_args", {})}
    variables = {
        key: person[key] for key in ("dynamic_template_data", "substitutions") if key in person
    }
    return {
        "auth": request.headers.get("authorization"),
        "from": _box(body["from"]),
        "to": [_box(x) for x in person.get("to", [])],
        "cc": [_box(x) for x in person.get("cc", [])],
        "bcc": [_box(x) for x in person.get("bcc", [])],
        "reply_to": [_box(x) for x in reply_to],
        "subject": body.get("subject", ""),
        "content": [(c["type"], c["value"]) for c in body.get("content", [])],
        # header names are case-insensitive
        "headers": {k.lower(): v for k, v in body.get("headers", {}).items()},
        "attachments": sorted(
            (
                a["filename"],
                a.get("type", "application/octet-stream").split(";")[0],
                base64.b64decode(a["content"]),
                a.get("disposition", "attachment"),
                a.get("content_id"),
            )
            for a in body.get("attachments", [])
        ),
        "tags": body.get("categories", []),
        "metadata": custom_args,
        "template": body.get("template_id"),
        "variables": variables,
        "send_at": body.get("send_at"),
        "tracking": body.get("tracking_settings"),
        "others": sorted(
            set(body)
            - {
                "personalizations",
                "from",
                "reply_to",
                "reply_to_list",
                "subject",
                "content",
                "headers",
                "attachments",
                "categories",
                "custom_args",
                "template_id",
                "send_at",
                "tracking_settings",
            }
        ),
    }


def _both(case: str) -> tuple[Any, Any]:
    with capture(_sendgrid_answer) as theirs, capture(_sendgrid_answer) as ours:
        anymail = send_with_anymail(
            BACKEND,
            {
                "SENDGRID_API_KEY": KEY,
                "SENDGRID_API_URL": theirs.url + "v3/",  # anymail's URL holds /v3/
                # anymail's own tracking id (a custom arg of its making) left out
                "SENDGRID_GENERATE_MESSAGE_ID": False,
            },
            CASES[case](),
            theirs,
        )
        mine = send_with_mailspec(f"sendgrid://{KEY}@?base_url={ours.url}", CASES[case](), ours)
    return anymail, mine


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailWarning")
@pytest.mark.parametrize("case", sorted(CASES))
def test_sendgrid_reads_the_same_from_anymail_and_mailspec(case: str) -> None:
    anymail, mine = _both(case)
    if anymail.refused or mine.refused:
        assert anymail.refused and mine.refused, (anymail.error, mine.error)
        return
    assert anymail.error is None and mine.error is None, (anymail.error, mine.error)
    theirs, ours = read(anymail.request), read(mine.request)
    assert theirs["auth"] == ours["auth"] == f"Bearer {KEY}"
    differences = {key: (theirs[key], ours[key]) for key in theirs if theirs[key] != ours[key]}
    assert differences == EXPECTED_DIFFERENCES.get(case, {})


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailWarning")
def test_the_cases_carry_what_they_are_about() -> None:
    """The comparison above would pass if both sides dropped a field alike: hold
    mailspec's side to the canonical content."""
    read_of = {case: read(_both(case)[1].request) for case in CASES}
    assert read_of["plain"]["from"] == ("orders@shop.example", "Shop")
    assert read_of["plain"]["content"][0][0] == "text/plain"
    assert read_of["names"]["to"] == [("ann@example.org", "Lee, Ann"), ("bob@example.org", "")]
    assert read_of["names"]["cc"] == [("carl@example.org", "Carl Ng")]
    assert read_of["names"]["bcc"] == [("dee@example.org", "Dee Ray")]
    assert read_of["names"]["reply_to"] == [("help@shop.example", "Help Desk")]
    assert read_of["headers"]["headers"] == {
        "x-order": "1042",
        "list-unsubscribe": "<mailto:unsubscribe@shop.example>",
    }
    assert read_of["attachments"]["attachments"] == [
        ("invoice.pdf", "application/pdf", PDF, "attachment", None),
        ("logo.png", "image/png", PNG, "inline", INLINE_CID),
    ]
    assert read_of["tags_metadata"]["tags"] == ["welcome"]
    assert read_of["tags_metadata"]["metadata"] == {"user_id": "42", "plan": "pro"}
    assert read_of["template"]["template"] == "welcome-1"
