"""Conformance to the provider documents: every built-in spec carries its documents'
request and answer examples (``operations.<name>.examples``), and the runtime encodes
each example's Message into exactly the documented request and reads each documented
answer as the example says. A spec that disagrees with its documents is reported by
``mailspec spec check``, at the example's line.

No network: the requests are encoded, not sent (``Provider.requests``), and the answers
are read as the runtime reads a provider's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_support import NAMES, SPECS
from wire_support import mini_spec, register_spec

import mailspec
from mailspec import Message, registry
from mailspec.codegen.lint import lint_file
from mailspec.conformance import example_problems

BUILTIN = ["aotsend", "aurorasendcloud", "cloudmails", "sendcloud"]


@pytest.mark.parametrize("name", BUILTIN)
def test_every_first_provider_carries_documented_examples(name: str) -> None:
    send = SPECS[name].operations["send"]
    assert send.examples, f"{name}'s send cites no documented example"
    assert all(e.source for e in send.examples)


@pytest.mark.parametrize("name", NAMES)
def test_every_spec_conforms_to_its_documented_examples(name: str) -> None:
    assert example_problems(name) == []


def test_the_requests_of_a_message_are_what_send_would_send() -> None:
    provider = mailspec.provider("cloudmails", api_key="k-secret", base_url="http://127.0.0.1:9/v1")
    message = Message(
        from_email="a@example.com", to=["b@example.org", "c@example.org"], subject="s", html="h"
    )
    requests = provider.requests(message)
    assert [r.url for r in requests] == ["http://127.0.0.1:9/v1/send"] * 2
    assert "k-secret" not in repr(requests)


EXAMPLES = """
    examples:
      - source: Wirewave API, Send
        message: {from_email: s@example.com, to: [a@example.org, b@example.org],
                  subject: Hi, html: x}
        request: {From: s@example.com, To: ["a@example.org", "b@example.org"],
                  Subject: Hi, HtmlBody: x}
      - source: Wirewave API, Errors
        status: 401
        answer: {message: bad token}
        outcome: validation
      - source: Wirewave API, Success
        answer: {message_id: m-9}
        ids: [m-8]
"""


def test_a_spec_that_disagrees_with_its_documents_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    params = (
        "from_email: {wire: From, type: str, required: true}\n"
        "subject: {wire: Subject, type: str}\nhtml: {wire: HtmlBody, type: str}\n"
        'to: {wire: To, type: "list[str]", join: ", ", required: true}'
    )
    rows = "from_email: from_email\nsubject: subject\nhtml: html\nto: to"
    text = mini_spec(params, rows).replace(
        "    ids: message_id\n", "    ids: message_id" + EXAMPLES
    )
    name = register_spec(tmp_path, text)
    problems = dict((path[-1], message) for path, message in example_problems(name))
    assert set(problems) == {0, 1, 2}
    assert "To: the document has ['a@example.org', 'b@example.org']" in problems[0]
    assert "the spec sends 'a@example.org, b@example.org'" in problems[0]
    assert "read as AuthenticationError, not a validation error" in problems[1]
    assert "yields the ids ['m-9'], not ['m-8']" in problems[2]
    spec_file = next(tmp_path.glob("specs_*/wirewave.yaml"))
    findings = [f for f in lint_file(spec_file).findings if f.path.startswith("operations")]
    assert [f.path for f in findings] == [
        "operations.send.examples[0]",
        "operations.send.examples[1]",
        "operations.send.examples[2]",
    ]
    assert findings[0].line == text.splitlines().index("      - source: Wirewave API, Send") + 1


HEADER_EXAMPLES = """
    examples:
      - source: Wirewave API, Accepted
        status: 202
        headers: {X-Id: m-1}
        ids: [m-1]
      - source: Wirewave API, Accepted again
        status: 202
        headers: {X-Id: m-2}
        ids: [m-3]
"""


def test_an_answer_with_its_id_in_a_header_is_read_from_its_documented_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty 202 with the id in a header (SendGrid's X-Message-Id): the example's
    `headers` are the answer's, its body empty."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    params = "to: {type: str, required: true}\nhtml: {type: str}"
    text = mini_spec(params, "to: to\nhtml: html", ids="ids_header: X-Id" + HEADER_EXAMPLES)
    name = register_spec(tmp_path, text)
    problems = [(path[-1], message) for path, message in example_problems(name)]
    assert problems == [(1, "Wirewave API, Accepted again: yields the ids ['m-2'], not ['m-3']")]
