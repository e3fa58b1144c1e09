"""The differential harness itself: the capture server keeps what a client sent and
answers as told, its readers take forms, multipart bodies and basic auth apart as a
provider would, and mailspec's side reaches it through a provider URL."""

from __future__ import annotations

import urllib3
from differential_support import CASES, PDF, Reply, capture, json_reply, send_with_mailspec


def test_a_request_is_kept_and_answered_as_told() -> None:
    with capture(lambda request: json_reply({"ok": request.path}, 201, X_Id="7")) as server:
        answer = urllib3.request(
            "POST",
            server.url + "v1/send?a=1",
            fields={"to": "ann@example.org", "file": ("a.pdf", PDF, "application/pdf")},
            headers=urllib3.make_headers(basic_auth="api:k:ey"),
        )
    assert (answer.status, answer.json(), answer.headers["X-Id"]) == (201, {"ok": "/v1/send"}, "7")
    (request,) = server.requests
    assert (request.method, request.path, request.query) == ("POST", "/v1/send", {"a": ["1"]})
    assert request.form() == {"to": ["ann@example.org"]}
    (file,) = request.files()
    assert (file.name, file.filename, file.content_type, file.data) == (
        "file",
        "a.pdf",
        "application/pdf",
        PDF,
    )
    assert request.basic_auth() == ("api", "k:ey")


def test_an_urlencoded_form_is_read_with_repeated_names() -> None:
    with capture(lambda _: Reply(204)) as server:
        urllib3.request(
            "POST",
            server.url,
            body="to=a%40x.org&to=b%40x.org&s=",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert server.requests[0].form() == {"to": ["a@x.org", "b@x.org"], "s": [""]}


def test_mailspec_reaches_the_capture_server_through_a_provider_url() -> None:
    answer = {"success": True, "message_id": "m-1", "status": "queued"}
    with capture(lambda _: json_reply(answer)) as server:
        sent = send_with_mailspec(
            f"cloudmails://KEY@?base_url={server.url}v1", CASES["plain"](), server
        )
    assert sent.error is None, sent.error
    body = sent.request.json()
    assert (sent.request.path, body["from"], body["to"]) == (
        "/v1/send",
        "Shop <orders@shop.example>",
        "ann@example.org",
    )
    assert sent.request.headers["authorization"] == "Bearer KEY"


def test_every_case_is_a_fresh_message() -> None:
    for make in CASES.values():
        assert make() is not make()
