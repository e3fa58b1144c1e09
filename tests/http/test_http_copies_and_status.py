"""Declared mechanisms once in the CloudMails and SendCloud adapters, each on its own
small spec generated in the test: copies per recipient with the variables filled in
client-side and sent as one batch (``fill_variables``, ``batch``), several fields in one
object parameter (``metadata: args``, ``tags: args.tags``), and the status query (one
request per id with a client-side window; a window split into ``max_span`` spans per
group of ids, bounded by ``max_requests``; offset, cursor and next-URL paging).

Real HTTP on 127.0.0.1 (pytest-httpserver records every request); nothing of mailspec
is mocked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wire_support import mini_spec, register_spec, spec_error

import mailspec
from mailspec import Message, UnsupportedOperation, ValidationError, registry
from mailspec.sandbox import Sandbox
from mailspec.vocabulary import DeliveryState

MESSAGE: dict[str, Any] = {
    "from_email": "shop@example.com",
    "to": ["ann@example.org"],
    "subject": "Hi {{name}}",
    "html": "<p>Hello {{name}}</p>",
}
PARAMS = """
to: {type: str, required: true}
from_email: {wire: from, type: str, required: true}
subject: {type: str, required: true}
html: {type: str}
args: {type: object}
"""
ROWS = "to: to\nfrom_email: from_email\nsubject: subject\nhtml: html\n"
COPIES = """
send_batch:
  summary: Send several emails.
  method: POST
  path: send/batch
  encoding: json
  response: BatchResponse
  ids: message_ids
  params:
    messages: {type: "list[object]", required: true, max_items: 2}
"""
CAPABILITIES = 'recipient_variables: true\n  variable_syntax: "{{{{{name}}}}}"'


def copies_spec(**changes: str) -> str:
    text = mini_spec(PARAMS, ROWS, operation=COPIES, capabilities=CAPABILITIES)
    text = text.replace(
        "    ids: message_id\n",
        "    ids: message_id\n    per_recipient: true\n    fill_variables: true\n"
        "    batch: {operation: send_batch, items: messages}\n",
    )
    text = text.replace(
        "shapes:\n",
        'shapes:\n  BatchResponse:\n    fields:\n      message_ids: {type: "list[str]"}\n',
    )
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


@pytest.fixture
def recorded(httpserver: HTTPServer) -> Iterator[list[Request]]:
    """Every request; a batch is answered one id per item, a send with one id."""
    got: list[Request] = []

    def answer(request: Request) -> Response:
        got.append(request)
        if request.path.endswith("/batch"):
            items = json.loads(request.get_data())["messages"]
            body: Any = {"message_ids": [f"m-{item['to']}" for item in items]}
        else:
            body = {"message_id": "m-1"}
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    yield got


def provider(name: str, httpserver: HTTPServer) -> Any:
    return mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))


# --- copies per recipient, filled and batched -------------------------------------------


def test_copies_are_filled_per_recipient_and_sent_as_one_batch(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    sender = provider(register_spec(root, copies_spec()), httpserver)
    result = sender.send(
        Message(
            **{**MESSAGE, "to": ["ann@example.org", "bob@example.org"]},
            variables={"name": "friend"},
            recipient_variables={"ann@example.org": {"name": "Ann"}},
        )
    )
    (request,) = recorded
    assert request.path == "/send/batch"
    assert json.loads(request.get_data()) == {
        "messages": [
            {"to": "ann@example.org", "from": "shop@example.com", "subject": "Hi Ann",
             "html": "<p>Hello Ann</p>"},
            {"to": "bob@example.org", "from": "shop@example.com", "subject": "Hi friend",
             "html": "<p>Hello friend</p>"},
        ]
    }  # fmt: skip
    assert result.message_ids == ["m-ann@example.org", "m-bob@example.org"]


def test_one_recipient_goes_to_the_single_send(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    sender = provider(register_spec(root, copies_spec()), httpserver)
    sender.send(Message(**MESSAGE, variables={"name": "Zoë"}))
    (request,) = recorded
    assert request.path == "/send"
    assert json.loads(request.get_data())["subject"] == "Hi Zoë"


def test_send_many_goes_through_the_batch_in_chunks_of_its_max_items(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    sender = provider(register_spec(root, copies_spec()), httpserver)
    to = [f"r{i}@example.org" for i in range(3)]
    results = sender.send_many([Message(**{**MESSAGE, "to": [a]}) for a in to])
    assert [r.path for r in recorded] == ["/send/batch", "/send/batch"]  # max_items: 2
    assert [len(json.loads(r.get_data())["messages"]) for r in recorded] == [2, 1]
    assert [r.message_ids for r in results] == [[f"m-{a}"] for a in to]


def test_without_fill_variables_the_placeholders_stay(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    text = copies_spec(**{"    fill_variables: true\n": ""})
    text = text.replace("html: html\n", "html: html\n    variables: args\n")
    sender = provider(register_spec(root, text), httpserver)
    sender.send(Message(**MESSAGE, variables={"name": "Ann"}))
    sent = json.loads(recorded[0].get_data())
    assert (sent["subject"], sent["args"]) == ("Hi {{name}}", {"name": "Ann"})


def test_fill_variables_without_per_recipient_is_refused(root: Path) -> None:
    error = spec_error(root, copies_spec(**{"    per_recipient: true\n": ""}))
    assert "fill_variables" in error and "per_recipient" in error


def test_a_batch_naming_no_list_of_objects_is_refused(root: Path) -> None:
    error = spec_error(root, copies_spec(**{"items: messages}": "items: nothing}"}))
    assert "batch.items" in error


# --- several fields in one object parameter ---------------------------------------------


def entries_spec() -> str:
    return mini_spec(PARAMS, ROWS + "metadata: args\ntags: args.tags\n")


def test_metadata_and_tags_share_one_object_parameter(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    sender = provider(register_spec(root, entries_spec()), httpserver)
    sender.send(Message(**MESSAGE, tags=["a", "b"], metadata={"user": "7"}))
    assert json.loads(recorded[0].get_data())["args"] == {"user": "7", "tags": ["a", "b"]}


def test_a_metadata_key_where_the_tags_go_is_refused(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    sender = provider(register_spec(root, entries_spec()), httpserver)
    with pytest.raises(ValidationError) as info:
        sender.send(Message(**MESSAGE, tags=["a"], metadata={"tags": "b"}))
    assert info.value.field == "metadata"
    assert recorded == []


# --- status queries ---------------------------------------------------------------------

RECORD = "  Record:\n    fields:\n      id: {type: str}\n      state: {type: str}\n"
RECORD += "      at: {type: str}\n      created: {type: str}\n"


def status_spec(status: str, delivery: str) -> str:
    text = mini_spec(PARAMS, ROWS, operation=status)
    return text.replace("shapes:\n", "shapes:\n" + RECORD) + delivery


PER_ID = """
status:
  summary: One email's status.
  method: GET
  path: emails/{id}
  encoding: query
  response: Record
  query: {ids: id, client_window: true}
  params:
    id: {type: str, required: true, location: path}
"""
PER_ID_DELIVERY = """delivery:
  record: Record
  records: .
  fields: {message_id: id, status: state, timestamp: at, accepted_at: created}
  states:
    sent: {state: sending}
    delivered: {state: delivered}
"""


def test_status_by_path_asks_each_id_and_filters_the_window_client_side(
    root: Path, httpserver: HTTPServer
) -> None:
    answers = {
        "a": {"id": "a", "state": "delivered", "at": "2026-05-02T10:00:00Z"},
        "b": {"id": "b", "state": "sent", "created": "2026-04-20T10:00:00Z"},  # no `at`
        "c": {"id": "c", "state": "sent"},  # no time at all: kept
    }
    for key, record in answers.items():
        httpserver.expect_request(f"/emails/{key}", method="GET").respond_with_json(record)
    sender = provider(register_spec(root, status_spec(PER_ID, PER_ID_DELIVERY)), httpserver)
    got = sender.status(["a", "b", "c"], since=date(2026, 5, 1))
    assert [(s.message_id, s.state) for s in got] == [
        ("a", DeliveryState.DELIVERED),
        ("c", DeliveryState.SENDING),
    ]
    everything = sender.status(["b"], until=datetime(2026, 4, 30))
    assert everything[0].timestamp == datetime.fromisoformat("2026-04-20T10:00:00+00:00")
    with pytest.raises(UnsupportedOperation):
        sender.status(since=date(2026, 5, 1))  # no ids: nothing to look up
    with pytest.raises(UnsupportedOperation):
        sender.status(["a"], recipient="ann@example.org")  # the record names none


WINDOWED = """
status:
  summary: Statuses in a window.
  method: GET
  path: statuses
  encoding: query
  response: Records
  query: {ids: ids}
  params:
    ids: {type: "list[str]", join: ",", max_items: 2}
    first: {type: date}
    last: {type: date}
  rules:
    - {rule: max_span, start: first, end: last, days: 3}
"""
WINDOWED_DELIVERY = """delivery:
  record: Record
  records: records
  fields: {message_id: id, status: state}
  states:
    delivered: {state: delivered}
"""


def test_a_long_window_is_split_into_spans_per_group_of_ids(
    root: Path, httpserver: HTTPServer
) -> None:
    asked: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        query = dict(parse_qsl(request.query_string.decode()))
        asked.append(query)
        records = [{"id": i, "state": "delivered"} for i in query["ids"].split(",")]
        return Response(json.dumps({"records": records}), 200, content_type="application/json")

    httpserver.expect_request("/statuses", method="GET").respond_with_handler(answer)
    text = status_spec(WINDOWED, WINDOWED_DELIVERY)
    text = text.replace(
        "shapes:\n", 'shapes:\n  Records:\n    fields:\n      records: {type: "list[Record]"}\n'
    )
    sender = provider(register_spec(root, text), httpserver)
    got = sender.status(["a", "b", "c"], since=date(2026, 1, 1), until=date(2026, 1, 7))
    spans = [
        ("2026-01-01", "2026-01-03"),
        ("2026-01-04", "2026-01-06"),
        ("2026-01-07", "2026-01-07"),
    ]
    assert [(q["first"], q["last"], q["ids"]) for q in asked] == [
        (first, last, ids) for first, last in spans for ids in ("a,b", "c")
    ]
    assert len(got) == 9
    asked.clear()
    with pytest.raises(ValidationError) as info:  # 3 spans x 2 groups > 5
        sender.status(
            ["a", "b", "c"], since=date(2026, 1, 1), until=date(2026, 1, 7), max_requests=5
        )
    assert info.value.field == "since"
    assert asked == []


# --- errors per item of a 2xx batch answer ----------------------------------------------

ITEM_BATCH = """
send_batch:
  summary: Send several emails; the answer has one item per message.
  method: POST
  path: send/batch
  encoding: json
  body: messages
  response: BatchItem
  response_list: true
  ids: message_id
  item_errors: {code: error_code, message: message}
  params:
    messages: {type: "list[object]", required: true, max_items: 10}
"""
BATCH_ITEM = """  BatchItem:
    fields:
      error_code: {wire: ErrorCode, type: int}
      message: {wire: Message, type: str}
      message_id: {wire: MessageID, type: str}
"""


def item_errors_spec() -> str:
    text = mini_spec(PARAMS, ROWS, operation=ITEM_BATCH)
    text = text.replace(
        "    ids: message_id\n",
        "    ids: message_id\n    batch: {operation: send_batch, items: messages}\n",
        1,
    )
    text = text.replace("shapes:\n", "shapes:\n" + BATCH_ITEM)
    return text.replace(
        "codes:\n", "codes:\n  406: {message: Inactive recipient, category: validation}\n"
    )


def answer_items(httpserver: HTTPServer, refused: set[str]) -> list[Any]:
    """Answer 200 with one item per message: ErrorCode 406 for the addresses in
    ``refused``, 0 and an id for the others."""
    bodies: list[Any] = []

    def answer(request: Request) -> Response:
        items = json.loads(request.get_data())
        bodies.append(items)
        out = [
            {"ErrorCode": 406, "Message": f"{item['to']} is inactive"}
            if item["to"] in refused
            else {"ErrorCode": 0, "Message": "OK", "MessageID": f"m-{item['to']}"}
            for item in items
        ]
        return Response(json.dumps(out), 200, content_type="application/json")

    httpserver.expect_request("/send/batch", method="POST").respond_with_handler(answer)
    return bodies


def test_a_refused_item_in_a_2xx_batch_is_a_partial_delivery(
    root: Path, httpserver: HTTPServer
) -> None:
    bodies = answer_items(httpserver, {"r1@example.org"})
    sender = provider(register_spec(root, item_errors_spec()), httpserver)
    to = [f"r{i}@example.org" for i in range(3)]
    with pytest.raises(mailspec.PartialDeliveryError) as info:
        sender.send_many([Message(**{**MESSAGE, "to": [a]}) for a in to])
    assert [item["to"] for item in bodies[0]] == to  # one request, a top-level array
    error = info.value
    assert (error.sent_to, error.pending) == (
        ["r0@example.org", "r2@example.org"],
        ["r1@example.org"],
    )
    assert error.message_ids == ["m-r0@example.org", "m-r2@example.org"]
    assert isinstance(error.cause, mailspec.ProviderError)
    assert error.cause.category == "validation"
    assert (error.cause.code, error.cause.message) == (406, "r1@example.org is inactive")


def test_a_batch_whose_every_item_is_refused_raises_the_refusal_itself(
    root: Path, httpserver: HTTPServer
) -> None:
    answer_items(httpserver, {"r0@example.org", "r1@example.org"})
    sender = provider(register_spec(root, item_errors_spec()), httpserver)
    with pytest.raises(mailspec.ProviderError) as info:
        sender.send_many([Message(**{**MESSAGE, "to": [f"r{i}@example.org"]}) for i in range(2)])
    assert not isinstance(info.value, mailspec.PartialDeliveryError)
    assert info.value.code == 406


def test_item_errors_without_a_list_answer_are_refused(root: Path) -> None:
    error = spec_error(
        root, item_errors_spec().replace("response_list: true", "response_list: false")
    )
    assert "item_errors" in error and "response_list" in error


# --- cursor paging ----------------------------------------------------------------------

CURSORED = """
status:
  summary: Statuses, a page at a time.
  method: GET
  path: statuses
  encoding: query
  response: Records
  paging: {cursor: page_token, next: next_page, limit: size}
  params:
    page_token: {type: str}
    size: {type: int}
"""
RECORDS = """  Records:
    fields:
      records: {type: "list[Record]"}
      next_page: {type: str}
"""


def cursored_spec() -> str:
    text = status_spec(CURSORED, WINDOWED_DELIVERY)
    return text.replace("shapes:\n", "shapes:\n" + RECORDS)


def test_cursor_paging_follows_each_next_cursor_until_there_is_none(
    root: Path, httpserver: HTTPServer
) -> None:
    asked: list[dict[str, str]] = []
    pages = {"": ("p2", ["a", "b"]), "p2": ("p3", ["c"]), "p3": (None, ["d"])}

    def answer(request: Request) -> Response:
        query = dict(parse_qsl(request.query_string.decode()))
        asked.append(query)
        token, ids = pages[query.get("page_token", "")]
        body = {"records": [{"id": i, "state": "delivered"} for i in ids], "next_page": token}
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request("/statuses", method="GET").respond_with_handler(answer)
    sender = provider(register_spec(root, cursored_spec()), httpserver)
    assert [s.message_id for s in sender.status()] == ["a", "b", "c", "d"]
    assert [q.get("page_token") for q in asked] == [None, "p2", "p3"]
    assert {q["size"] for q in asked} == {"100"}


def test_cursor_paging_stops_at_the_budget_and_at_a_repeated_cursor(
    root: Path, httpserver: HTTPServer
) -> None:
    asked: list[str] = []

    def endless(request: Request) -> Response:
        query = dict(parse_qsl(request.query_string.decode()))
        asked.append(query.get("page_token", ""))
        token = "again" if len(asked) > 3 else f"p{len(asked)}"
        body = {"records": [{"id": "x", "state": "delivered"}], "next_page": token}
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request("/statuses", method="GET").respond_with_handler(endless)
    sender = provider(register_spec(root, cursored_spec()), httpserver)
    with pytest.raises(ValidationError) as info:
        sender.status(max_requests=2)
    assert info.value.field == "max_requests" and len(asked) == 2
    asked.clear()
    assert len(sender.status()) == 5  # p1, p2, p3, again, again: seen, so it ends
    assert asked == ["", "p1", "p2", "p3", "again"]


def test_paging_of_both_kinds_at_once_is_refused(root: Path) -> None:
    both = cursored_spec().replace("limit: size}", "limit: size, offset: size}")
    assert "not both" in spec_error(root, both)


# --- next-URL paging --------------------------------------------------------------------

LINKED = """
status:
  summary: Statuses, a page at a time, each answer linking the next.
  method: GET
  path: statuses
  encoding: query
  response: Linked
  paging: {next_url: paging.next, limit: size}
  params:
    size: {type: int}
"""
LINKS = """  Linked:
    fields:
      records: {type: "list[Record]"}
      paging: {type: Links}
  Links:
    fields:
      next: {type: str}
"""


def linked_spec() -> str:
    text = status_spec(LINKED, WINDOWED_DELIVERY)
    return text.replace("shapes:\n", "shapes:\n" + LINKS)


def answer_links(
    httpserver: HTTPServer, links: dict[str, tuple[str | None, list[str]]]
) -> list[str]:
    """Answer each asked page (by its ``p`` query field, none on the first) with its
    records and next link; the asked targets are returned."""
    asked: list[str] = []

    def answer(request: Request) -> Response:
        asked.append(request.full_path.rstrip("?"))
        query = dict(parse_qsl(request.query_string.decode()))
        link, ids = links[query.get("p", "")]
        records = [{"id": i, "state": "delivered"} for i in ids]
        body = {"records": records, "paging": {"next": link} if link else {}}
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request(re.compile("/statuses.*"), method="GET").respond_with_handler(answer)
    return asked


def test_next_url_paging_follows_each_link_relative_or_whole(
    root: Path, httpserver: HTTPServer
) -> None:
    whole = httpserver.url_for("/statuses/more?p=3")
    asked = answer_links(
        httpserver,
        {"": ("statuses/more?p=2", ["a", "b"]), "2": (whole, ["c"]), "3": (None, ["d"])},
    )
    sender = provider(register_spec(root, linked_spec()), httpserver)
    assert [s.message_id for s in sender.status()] == ["a", "b", "c", "d"]
    assert asked == ["/statuses?size=100", "/statuses/more?p=2", "/statuses/more?p=3"]


def test_next_url_paging_stops_at_a_repeated_link_and_at_the_budget(
    root: Path, httpserver: HTTPServer
) -> None:
    asked = answer_links(httpserver, {"": ("statuses?p=2", ["a"]), "2": ("statuses?p=2", ["b"])})
    sender = provider(register_spec(root, linked_spec()), httpserver)
    assert [s.message_id for s in sender.status()] == ["a", "b"]
    assert len(asked) == 2  # the second answer links itself again: seen, so it ends
    with pytest.raises(ValidationError) as info:
        sender.status(max_requests=1)
    assert info.value.field == "max_requests"


def test_a_next_url_on_another_host_is_not_followed(root: Path, httpserver: HTTPServer) -> None:
    # the same server under another name: were it followed, it would be asked again
    elsewhere = httpserver.url_for("/statuses?p=2").replace("127.0.0.1", "localhost")
    asked = answer_links(httpserver, {"": (elsewhere, ["a"]), "2": (None, ["b"])})
    sender = provider(register_spec(root, linked_spec()), httpserver)
    with pytest.raises(mailspec.MalformedResponseError) as info:
        sender.status()
    assert "localhost" in str(info.value) and "not followed" in str(info.value)
    assert len(asked) == 1


def test_next_url_paging_with_offset_or_cursor_paging_is_refused(root: Path) -> None:
    for other in ("offset: size", "cursor: size, next: records"):
        both = linked_spec().replace("limit: size}", f"limit: size, {other}}}")
        assert "no offset or cursor paging" in spec_error(root, both)


def test_the_sandbox_links_its_pages_and_the_client_follows_them(root: Path) -> None:
    text = linked_spec().replace("shapes:\n", "limits:\n  page_size: 2\nshapes:\n", 1)
    name = register_spec(root, text)
    with Sandbox([name]) as sandbox:
        server = sandbox[name]
        sender = server.provider()
        sent = [sender.send(Message(**{**MESSAGE, "to": [f"r{i}@example.org"]})) for i in range(5)]
        before = server.requests
        found = [s.message_id for s in sender.status()]
        assert server.requests - before == 3  # pages of 2, 2 and 1, each linking the next
    assert found == [r.message_ids[0] for r in sent]
