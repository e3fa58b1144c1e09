"""Each wire form a spec parameter can declare, on its own small spec generated in the
test: the exact request it makes (pytest-httpserver records it), the sandbox driven by
the same spec taking it back, and the sandbox refusing the same field in another form
(a list where the spec joins one string, lower-case attachment keys where the spec
names its own, an unknown key), answered as the spec's validation refusal.

Real HTTP on 127.0.0.1; nothing of mailspec is mocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Attachment, Message, ProviderValidationError, registry
from mailspec.sandbox import SandboxServer

MESSAGE: dict[str, Any] = {
    "from_email": "shop@example.com",
    "to": ["ann@example.org"],
    "subject": "Hi",
    "html": "<p>x</p>",
}
BASE = "from_email: {wire: From, type: str, required: true, format: mailbox}\n"
BASE += "subject: {wire: Subject, type: str, required: true}\n"
BASE += "html: {wire: HtmlBody, type: str}\n"
ROWS = "from_email: from_email\nfrom_name: from_email\nsubject: subject\nhtml: html\n"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


@pytest.fixture
def recorded(httpserver: HTTPServer) -> Iterator[list[Request]]:
    got: list[Request] = []

    def answer(request: Request) -> Response:
        got.append(request)
        return Response(json.dumps({"message_id": "m-1"}), 200, content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    yield got


def send_recorded(
    name: str, httpserver: HTTPServer, recorded: list[Request], **fields: Any
) -> Request:
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    provider.send(Message(**{**MESSAGE, **fields}))
    return recorded[-1]


def post_raw(server: SandboxServer, body: bytes, content_type: str = "application/json") -> Any:
    headers = {
        "Authorization": f"Bearer {server.credentials['api_key']}",
        "Content-Type": content_type,
    }
    return urllib3.request("POST", server.base_url + "send", body=body, headers=headers)


# --- JSON: joined strings, constants, {Name, Value} pairs, attachment keys ------------


def test_a_joined_list_in_json_is_one_string_and_the_sandbox_refuses_a_list(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = BASE + 'to: {wire: To, type: "list[str]", join: ", ", required: true, format: mailbox}'
    name = register_spec(root, mini_spec(params, ROWS + "to: to"))
    sent = send_recorded(
        name, httpserver, recorded, to=["ann@example.org", "Bob Lee <bob@example.org>"]
    )
    assert json.loads(sent.get_data())["To"] == "ann@example.org, Bob Lee <bob@example.org>"
    with SandboxServer(name) as server:
        server.provider().send(Message(**{**MESSAGE, "to": ["a@example.org", "b@example.org"]}))
        assert [a.recipient for a in server.accepted] == ["a@example.org", "b@example.org"]
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        assert post_raw(server, json.dumps(good).encode()).status == 200
        answer = post_raw(server, json.dumps({**good, "To": ["a@example.org"]}).encode())
        assert answer.status == 400
        assert "one string joined by ', '" in json.loads(answer.data)["message"]


def test_a_constant_goes_on_every_request_and_no_other_value_is_taken(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}\n"
    params += "stream: {wire: MessageStream, type: str, const: outbound}"
    name = register_spec(root, mini_spec(params, ROWS + "to: to"))
    sent = send_recorded(name, httpserver, recorded)
    assert json.loads(sent.get_data())["MessageStream"] == "outbound"
    with SandboxServer(name) as server:
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        assert (
            post_raw(server, json.dumps({**good, "MessageStream": "outbound"}).encode()).status
            == 200
        )
        assert (
            post_raw(server, json.dumps({**good, "MessageStream": "broadcast"}).encode()).status
            == 400
        )
    # an option naming the parameter cannot change it either: refused before any I/O
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    options = {name: {"MessageStream": "broadcast"}}
    with pytest.raises(mailspec.ValidationError, match="must be 'outbound'"):
        provider.send(Message(**MESSAGE, provider_options=options))


def test_headers_as_name_value_pairs(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}\n"
    params += "headers: {wire: Headers, type: object, pairs: {key: Name, value: Value}}"
    name = register_spec(root, mini_spec(params, ROWS + "to: to\nheaders: headers"))
    sent = send_recorded(name, httpserver, recorded, headers={"X-Order": "7", "X-Shop": "a"})
    assert json.loads(sent.get_data())["Headers"] == [
        {"Name": "X-Order", "Value": "7"},
        {"Name": "X-Shop", "Value": "a"},
    ]
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, headers={"X-Order": "7"}))
        assert server.accepted[0].params["headers"] == {"X-Order": "7"}
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        as_object = {**good, "Headers": {"X-Order": "7"}}
        assert post_raw(server, json.dumps(as_object).encode()).status == 400


def test_attachment_objects_with_the_providers_own_keys(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}\n"
    params += (
        "attachments: {wire: Attachments, type: files, keys: {filename: Name, "
        "content: Content, content_type: ContentType, content_id: ContentID}}"
    )
    name = register_spec(root, mini_spec(params, ROWS + "to: to\nattachments: attachments"))
    files = [
        Attachment("a.pdf", b"%PDF", "application/pdf"),
        Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo"),
    ]
    sent = send_recorded(name, httpserver, recorded, attachments=files)
    assert json.loads(sent.get_data())["Attachments"] == [
        {"Name": "a.pdf", "Content": "JVBERg==", "ContentType": "application/pdf"},
        {
            "Name": "logo.png",
            "Content": "iVBORw==",
            "ContentType": "image/png",
            "ContentID": "logo",
        },
    ]
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, attachments=files))
        assert server.accepted[0].params["attachments"] == files
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        lower = {
            **good,
            "Attachments": [{"filename": "a", "content": "eA==", "content_type": "x/y"}],
        }
        assert post_raw(server, json.dumps(lower).encode()).status == 400


def test_an_inline_content_id_after_a_fixed_prefix(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    """`content_id_prefix` writes a text before an inline part's content id (Postmark's
    `cid:`); the sandbox reads the id after it and refuses one without it."""
    params = BASE + "to: {wire: To, type: str, required: true}\n"
    params += (
        "attachments: {wire: Attachments, type: files, keys: {filename: Name, "
        'content: Content, content_type: ContentType, content_id: ContentID, content_id_prefix: "cid:"}}'
    )
    name = register_spec(root, mini_spec(params, ROWS + "to: to\nattachments: attachments"))
    files = [
        Attachment("a.pdf", b"%PDF", "application/pdf"),
        Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@shop.example"),
    ]
    sent = send_recorded(name, httpserver, recorded, attachments=files)
    objects = json.loads(sent.get_data())["Attachments"]
    assert "ContentID" not in objects[0]
    assert objects[1]["ContentID"] == "cid:logo@shop.example"
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, attachments=files))
        assert server.accepted[0].params["attachments"] == files
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        bare = {
            **good,
            "Attachments": [
                {"Name": "l.png", "Content": "eA==", "ContentType": "image/png", "ContentID": "l"}
            ],
        }
        assert post_raw(server, json.dumps(bare).encode()).status == 400


def test_digits_go_under_the_number_wire_as_a_number(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    """`number_wire` sends a text of digits under another key, as a number (Postmark's
    `TemplateId` beside `TemplateAlias`); the sandbox takes either key, never both."""
    params = (
        "from_email: {wire: From, type: str, required: true}\nhtml: {wire: HtmlBody, type: str}\n"
        "to: {wire: To, type: str, required: true}\n"
        "alias: {wire: Alias, number_wire: Id, type: str, required: true}"
    )
    rows = "from_email: from_email\nhtml: html\nto: to\nsubject: alias"
    name = register_spec(root, mini_spec(params, rows))
    for value, expected in (("1234", {"Id": 1234}), ("welcome-1", {"Alias": "welcome-1"})):
        recorded.clear()
        sent = send_recorded(name, httpserver, recorded, subject=value)
        got = json.loads(sent.get_data())
        assert {k: got[k] for k in ("Id", "Alias") if k in got} == expected
    with SandboxServer(name) as server:
        server.provider().send(Message(**{**MESSAGE, "subject": "0042"}))
        assert server.accepted[0].params["alias"] == "42"  # the number the provider reads
        good = {"From": "s@example.com", "HtmlBody": "x", "To": "a@example.org"}
        assert post_raw(server, json.dumps({**good, "Id": 7}).encode()).status == 200
        for bad in ({"Id": "7"}, {"Id": 7, "Alias": "x"}, {"Id": True}, {"Id": -1}):
            assert post_raw(server, json.dumps({**good, **bad}).encode()).status == 400


def test_spec_check_refuses_a_number_wire_outside_a_json_str(root: Path) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}\n"
    params += "alias: {wire: Alias, number_wire: To, type: str}"
    assert "another parameter's wire name" in spec_error(root, mini_spec(params, ROWS + "to: to"))


def test_the_sandbox_refuses_an_unknown_key_and_a_missing_required_field(root: Path) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}"
    name = register_spec(root, mini_spec(params, ROWS + "to: to"))
    with SandboxServer(name) as server:
        good = {"From": "s@example.com", "Subject": "s", "To": "a@example.org"}
        unknown = post_raw(server, json.dumps({**good, "Cc": "c@example.org"}).encode())
        assert (
            unknown.status == 400 and "unknown field(s) 'Cc'" in json.loads(unknown.data)["message"]
        )
        missing = post_raw(server, json.dumps({"From": "s@example.com", "Subject": "s"}).encode())
        assert missing.status == 400
        # an extra field a message's provider_options add is refused too: the spec
        # does not allow it, so a spec mistake is a red test
        extra = {name: {"TrackOpens": True}}
        with pytest.raises(ProviderValidationError, match="TrackOpens"):
            server.provider().send(Message(**MESSAGE, provider_options=extra))
        assert not server.accepted


def test_a_top_level_array_body(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}"
    batch = """
        send_batch:
          summary: Send several emails.
          method: POST
          path: send/batch
          encoding: json
          body: messages
          response: SendResponse
          params:
            messages: {type: "list[object]", required: true, max_items: 500}
    """
    name = register_spec(root, mini_spec(params, ROWS + "to: to", operation=batch))
    client = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/")).client
    messages = [{"To": "a@example.org", "Subject": "1"}, {"To": "b@example.org", "Subject": "2"}]
    client.call("send_batch", {"messages": messages})
    assert recorded[-1].path == "/send/batch"
    assert recorded[-1].get_data() == json.dumps(messages, separators=(",", ":")).encode()
    with SandboxServer(name) as server:
        token = {
            "Authorization": f"Bearer {server.credentials['api_key']}",
            "Content-Type": "application/json",
        }
        url = server.base_url + "send/batch"
        assert (
            urllib3.request("POST", url, body=json.dumps(messages).encode(), headers=token).status
            == 200
        )
        wrapped = json.dumps({"messages": messages}).encode()
        assert urllib3.request("POST", url, body=wrapped, headers=token).status == 400


# --- forms: repeated fields, prefixed fields, inline parts apart ----------------------


FORM = "from_email: {wire: from, type: str, required: true, format: mailbox}\n"
FORM += "subject: {type: str, required: true}\nhtml: {type: str}\n"
FORM += 'to: {type: "list[str]", repeat: true, required: true, format: mailbox}\n'
FORM_ROWS = "from_email: from_email\nsubject: subject\nhtml: html\nto: to\n"


def test_repeated_and_prefixed_form_fields(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = FORM + 'tags: {wire: "o:tag", type: "list[str]", repeat: true, max_items: 3}\n'
    params += 'variables: {type: object, prefix: "v:"}\nheaders: {type: object, prefix: "h:"}'
    rows = FORM_ROWS + "tags: tags\nmetadata: variables\nheaders: headers"
    name = register_spec(root, mini_spec(params, rows, encoding="form"))
    sent = send_recorded(
        name,
        httpserver,
        recorded,
        to=["a@example.org", "b@example.org"],
        tags=["welcome", "july"],
        metadata={"order_id": "7", "n": "2"},
        headers={"X-Order": "7"},
    )
    assert parse_qsl(sent.get_data().decode()) == [
        ("from", "shop@example.com"),
        ("subject", "Hi"),
        ("html", "<p>x</p>"),
        ("to", "a@example.org"),
        ("to", "b@example.org"),
        ("o:tag", "welcome"),
        ("o:tag", "july"),
        ("v:order_id", "7"),
        ("v:n", "2"),
        ("h:X-Order", "7"),
    ]
    with SandboxServer(name) as server:
        message = Message(**{**MESSAGE, "to": ["a@example.org", "b@example.org"]}, tags=["x", "y"])
        server.provider().send(message)
        held = server.accepted[0].params
        assert held["to"] == ["a@example.org", "b@example.org"] and held["tags"] == ["x", "y"]
        with pytest.raises(mailspec.ValidationError, match="at most 3 items"):
            server.provider().send(Message(**MESSAGE, tags=["a", "b", "c", "d"]))
        fields = [("from", "s@example.com"), ("subject", "s"), ("to", "a@example.org")]
        four = urlencode(fields + [("o:tag", t) for t in "abcd"]).encode()
        form = "application/x-www-form-urlencoded"
        assert post_raw(server, four, form).status == 400  # the sandbox counts them too
        three = urlencode(fields + [("o:tag", t) for t in "abc"]).encode()
        assert post_raw(server, three, form).status == 200


def test_inline_parts_go_apart_from_attachments(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = FORM + "attachment: {type: files, inline_to: inline}\ninline: {type: files}"
    name = register_spec(
        root, mini_spec(params, FORM_ROWS + "attachments: attachment", encoding="form")
    )
    files = [
        Attachment("a.pdf", b"%PDF", "application/pdf"),
        Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo.png"),
    ]
    sent = send_recorded(name, httpserver, recorded, attachments=files)
    content_type = sent.headers["Content-Type"]
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + sent.get_data()
    )
    parts = [
        (p.get_param("name", header="content-disposition"), p.get_filename())
        for p in parsed.iter_parts()
    ]
    assert ("attachment", "a.pdf") in parts and ("inline", "logo.png") in parts
    assert ("attachment", "logo.png") not in parts
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, attachments=files))
        held = server.accepted[0].params
        assert [a.filename for a in held["attachment"]] == ["a.pdf"]
        assert [a.filename for a in held["inline"]] == ["logo.png"]


def test_inline_parts_may_be_named_by_their_content_id(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    # a provider that makes an inline part's file name its `cid:` (Mailgun's `inline`)
    params = FORM + "attachment: {type: files, inline_to: inline}\n"
    params += "inline: {type: files, filename_from: content_id}"
    name = register_spec(
        root, mini_spec(params, FORM_ROWS + "attachments: attachment", encoding="form")
    )
    files = [
        Attachment("a.pdf", b"%PDF", "application/pdf", content_id=None),
        Attachment("logo.png", b"\x89PNG", "image/png", content_id="logo@shop.example"),
    ]
    sent = send_recorded(name, httpserver, recorded, attachments=files)
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + sent.headers["Content-Type"].encode() + b"\r\n\r\n" + sent.get_data()
    )
    parts = [
        (p.get_param("name", header="content-disposition"), p.get_filename(), p.get_content_type())
        for p in parsed.iter_parts()
    ]
    # the attachment keeps its file name; the inline part is named by its content id
    assert ("attachment", "a.pdf", "application/pdf") in parts
    assert ("inline", "logo@shop.example", "image/png") in parts
    with SandboxServer(name) as server:
        server.provider().send(Message(**MESSAGE, attachments=files))
        assert [a.filename for a in server.accepted[0].params["inline"]] == ["logo@shop.example"]


@pytest.mark.parametrize(
    ("encoding", "declared", "sent"),
    [
        ("form", "{type: str, date_format: rfc2822}", "Tue, 01 Jan 2030 09:30:00 +0200"),
        ("json", "{type: int, date_format: epoch}", 1893483000),
        ("json", "{type: str, date_format: iso8601}", "2030-01-01T09:30:00+02:00"),
    ],
)
def test_a_send_time_is_written_in_the_parameters_date_format(
    root: Path,
    httpserver: HTTPServer,
    recorded: list[Request],
    encoding: str,
    declared: str,
    sent: Any,
) -> None:
    params = FORM if encoding == "form" else BASE + "to: {wire: To, type: str}\n"
    params += f"when: {{wire: When, {declared[1:]}"
    rows = (FORM_ROWS if encoding == "form" else ROWS + "to: to\n") + "send_at: when"
    name = register_spec(root, mini_spec(params, rows, encoding=encoding))
    when = datetime(2030, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    request = send_recorded(name, httpserver, recorded, send_at=when)
    if encoding == "form":
        assert dict(parse_qsl(request.get_data(as_text=True)))["When"] == sent
    else:
        assert json.loads(request.get_data())["When"] == sent
    with SandboxServer(name) as server:  # the sandbox takes it back in that format
        server.provider().send(Message(**MESSAGE, send_at=when))
        assert server.accepted[0].params["when"] == sent


def test_spec_check_refuses_a_date_format_of_another_type(root: Path) -> None:
    params = BASE + "to: {wire: To, type: str}\nwhen: {type: str, date_format: epoch}"
    problem = spec_error(root, mini_spec(params, ROWS + "to: to\nsend_at: when"))
    assert "date_format epoch writes an int parameter" in problem


def test_spec_check_refuses_filename_from_outside_a_form(root: Path) -> None:
    params = BASE + "to: {wire: To, type: str}\na: {type: files, filename_from: content_id}"
    problem = spec_error(root, mini_spec(params, ROWS + "to: to\nattachments: a", encoding="json"))
    assert "filename_from names the parts of a files parameter in a form" in problem


# --- spec check: every combination the runtime cannot write ----------------------------


@pytest.mark.parametrize(
    ("params", "rows", "encoding", "problem"),
    [
        (
            BASE + "to: {wire: To, type: str, required: true}\ntag: {wire: Tag, type: str}",
            ROWS + "to: to\ntags: tag",
            "json",
            "tags are a list, and 'tag' is one string",
        ),
        (
            BASE + 'to: {wire: To, type: "list[str]", repeat: true}',
            ROWS + "to: to",
            "json",
            "repeat sends one form or query field per item",
        ),
        (
            BASE + 'to: {wire: To, type: "list[str]", repeat: true, join: ","}',
            ROWS + "to: to",
            "form",
            "repeat sends one form or query field per item",
        ),
        (
            BASE + "to: {wire: To, type: str}\nh: {type: object, pairs: {key: N, value: V}}",
            ROWS + "to: to",
            "form",
            "pairs write an object as a JSON list",
        ),
        (
            BASE + "to: {wire: To, type: str}\nh: {type: object}",
            ROWS + "to: to",
            "form",
            "an object in a form or query has no wire form",
        ),
        (
            BASE + "to: {wire: To, type: str}\ns: {type: str, const: 3}",
            ROWS + "to: to",
            "json",
            "cannot hold the constant 3",
        ),
        (
            BASE + "to: {wire: To, type: str, const: a@example.org}",
            ROWS + "to: to",
            "json",
            "no mapping row may fill it",
        ),
        (
            BASE + "to: {wire: To, type: str}\na: {type: files, inline_to: to}",
            ROWS + "to: to",
            "json",
            "inline_to moves inline files to another files parameter",
        ),
        (
            BASE + "to: {wire: To, type: str}\na: {type: str, keys: {filename: N}}",
            ROWS + "to: to",
            "json",
            "keys name the attachment objects",
        ),
        (
            BASE + "to: {wire: To, type: json, join: ','}",
            ROWS + "to: to",
            "json",
            "join applies to list[str] parameters only",
        ),
    ],
)
def test_spec_check_refuses_what_the_runtime_cannot_write(
    root: Path, params: str, rows: str, encoding: str, problem: str
) -> None:
    assert problem in spec_error(root, mini_spec(params, rows, encoding=encoding))


def test_spec_check_refuses_a_body_parameter_with_others_beside_it(root: Path) -> None:
    params = BASE + "to: {wire: To, type: str, required: true}"
    batch = """
        send_batch:
          summary: Send several emails.
          method: POST
          path: send/batch
          encoding: json
          body: messages
          response: SendResponse
          params:
            messages: {type: "list[object]", required: true}
            stream: {type: str}
    """
    text = mini_spec(params, ROWS + "to: to", operation=batch)
    assert "the body is 'messages' alone, so stream would have no place" in spec_error(root, text)


def test_a_per_recipient_substitution_block(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    params = FORM.replace("repeat: true", 'join: ";"') + (
        "xsmtpapi: {type: json, substitution: xsmtpapi}"
    )
    rows = FORM_ROWS + "variables: xsmtpapi\nrecipient_variables: xsmtpapi"
    caps = 'recipient_variables: true\n  variable_syntax: "%{name}%"'
    name = register_spec(root, mini_spec(params, rows, encoding="form", capabilities=caps))
    sent = send_recorded(
        name,
        httpserver,
        recorded,
        to=["a@example.org", "b@example.org"],
        variables={"shop": "Acme"},
        recipient_variables={"a@example.org": {"name": "Ann"}},
    )
    form = dict(parse_qsl(sent.get_data().decode()))
    assert form["to"] == "a@example.org;b@example.org"
    assert json.loads(form["xsmtpapi"]) == {
        "to": ["a@example.org", "b@example.org"],
        "sub": {"%name%": ["Ann", ""], "%shop%": ["Acme", "Acme"]},
    }
    without = send_recorded(name, httpserver, recorded)  # no variables: no block
    assert "xsmtpapi" not in dict(parse_qsl(without.get_data().decode()))
