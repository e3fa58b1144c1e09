"""The sandbox answers like the provider its spec describes, over real HTTP."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from datetime import date
from urllib.parse import urlencode

import pytest
import urllib3

import mailspec
from mailspec import DeliveryState, Message
from mailspec.sandbox import Fault, Sandbox, SandboxServer


@pytest.fixture
def aurora() -> SandboxServer:
    with SandboxServer("aurorasendcloud", slow_seconds=1.0) as server:
        yield server


def message(*to: str) -> Message:
    return Message(
        from_email="noreply@example.com",
        to=list(to or ["ann@example.org"]),
        subject="Hi",
        html="<p>x</p>",
    )


def raw_post(server: SandboxServer, path: str, fields: dict[str, str]) -> dict[str, object]:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = urllib3.request("POST", server.base_url + path, body=body, headers=headers)
    answer: dict[str, object] = json.loads(response.data)
    return answer


def test_accepts_and_reports_ids(aurora: SandboxServer) -> None:
    result = aurora.provider().send(message("ann@example.org", "bob@example.org"))
    assert [a.recipient for a in aurora.accepted] == ["ann@example.org", "bob@example.org"]
    assert result.message_ids == [a.message_id for a in aurora.accepted]


def test_answers_the_documented_envelope(aurora: SandboxServer) -> None:
    fields = {
        **aurora.credentials,
        "from": "a@example.com",
        "to": "b@example.org",
        "subject": "s",
        "html": "h",
    }
    body = raw_post(aurora, "api/mail/send", fields)
    assert body["result"] is True and body["statusCode"] == 200
    assert isinstance(body["message"], str)
    assert body["info"] == {"emailIdList": [aurora.accepted[0].message_id]}


def test_wrong_credentials_get_the_auth_code(aurora: SandboxServer) -> None:
    fields = {
        "api_user": "sandbox-api-user",
        "api_key": "wrong",
        "from": "a@example.com",
        "to": "b@example.org",
    }
    body = raw_post(aurora, "api/mail/send", {**fields, "subject": "s", "html": "h"})
    assert (body["result"], body["statusCode"]) == (False, 40005)
    assert aurora.accepted == []


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"from": ""}, 40801),  # required sender
        ({"from": "not-an-address"}, 40802),
        ({"to": ";".join(f"r{i}@example.org" for i in range(101))}, 40807),  # over 100 recipients
        ({"replyTo": "a@example.org;b@example.org;c@example.org;d@example.org"}, 40879),
        ({"html": ""}, 40870),  # neither html nor plain
    ],
)
def test_spec_constraints_answer_the_providers_code(
    aurora: SandboxServer, change: dict[str, str], code: int
) -> None:
    fields = {
        **aurora.credentials,
        "from": "a@example.com",
        "to": "b@example.org",
        "subject": "s",
        "html": "h",
    }
    body = raw_post(aurora, "api/mail/send", {**fields, **change})
    assert (body["result"], body["statusCode"]) == (False, code)
    assert aurora.accepted == []


def test_unknown_path_is_404(aurora: SandboxServer) -> None:
    assert urllib3.request("GET", aurora.base_url + "api/nothing").status == 404


@pytest.mark.parametrize(
    ("fault", "error", "ambiguous", "accepted"),
    [
        (Fault.RATE_LIMIT, mailspec.RateLimitError, False, 0),
        (Fault.SERVER_ERROR, mailspec.ProviderServerError, False, 0),
        (Fault.DROP_BEFORE, mailspec.TransportError, True, 0),
        (Fault.DROP_AFTER, mailspec.TransportError, True, 1),
        (Fault.GARBAGE, mailspec.MalformedResponseError, True, 1),
    ],
)
def test_faults(
    aurora: SandboxServer, fault: Fault, error: type[Exception], ambiguous: bool, accepted: int
) -> None:
    aurora.faults.queue(fault)
    with pytest.raises(error) as caught:
        aurora.provider().send(message())
    assert getattr(caught.value, "ambiguous", False) is ambiguous
    assert len(aurora.accepted) == accepted
    assert aurora.faults.injected[fault] == 1
    aurora.provider().send(message())  # one fault, then back to normal
    assert len(aurora.accepted) == accepted + 1


def test_slow_answer_times_the_client_out_but_is_accepted(aurora: SandboxServer) -> None:
    aurora.faults.queue(Fault.SLOW)
    with pytest.raises(mailspec.TransportError) as caught:
        aurora.provider(timeout=0.2).send(message())
    assert caught.value.ambiguous
    deadline = threading.Event()
    for _ in range(40):  # bounded wait for the sleeping handler to finish
        if aurora.accepted:
            break
        deadline.wait(0.05)
    assert len(aurora.accepted) == 1


def test_random_faults_are_repeatable_with_a_seed(aurora: SandboxServer) -> None:
    def run() -> list[Fault | None]:
        aurora.faults.randomly({Fault.RATE_LIMIT: 0.3, Fault.SERVER_ERROR: 0.2}, seed=7)
        return [aurora.faults.next() for _ in range(50)]

    first, second = run(), run()
    assert first == second
    assert {Fault.RATE_LIMIT, Fault.SERVER_ERROR, None} == set(first)
    with pytest.raises(ValueError):
        aurora.faults.randomly({Fault.GARBAGE: 0.8, Fault.SLOW: 0.5})


def test_status_reports_configured_outcomes(aurora: SandboxServer) -> None:
    provider = aurora.provider()
    delivered = provider.send(message("ann@example.org"))
    aurora.set_outcome("bounced", sub_status=406)
    bounced = provider.send(message("bob@example.org"))
    aurora.set_outcome("soft_bounced", sub_status=507)
    soft = provider.send(message("cy@example.org"))
    aurora.set_outcome("rejected", sub_status=401)
    rejected = provider.send(message("dee@example.org"))
    by_id = {s.message_id: s for s in provider.status(since=date.today())}
    assert by_id[delivered.message_ids[0]].state is DeliveryState.DELIVERED
    assert (by_id[bounced.message_ids[0]].state, by_id[bounced.message_ids[0]].reason) == (
        "bounced",
        "no_such_user",
    )
    assert (by_id[soft.message_ids[0]].state, by_id[soft.message_ids[0]].reason) == (
        "soft_bounced",
        "spam",
    )
    assert (by_id[rejected.message_ids[0]].state, by_id[rejected.message_ids[0]].reason) == (
        "rejected",
        "blacklisted",
    )
    only = provider.status(bounced.message_ids)
    assert [s.recipient for s in only] == ["bob@example.org"]


def test_status_pages_through_many_records(aurora: SandboxServer) -> None:
    provider = aurora.provider()
    to = [f"r{i}@example.org" for i in range(100)]
    for _ in range(3):
        provider.send(message(*to))
    statuses = provider.status()
    assert len(statuses) == 300
    assert len({s.message_id for s in statuses}) == 300
    assert (
        aurora.requests == 3 + 3
    )  # three sends; three full pages, and `total` says there is no fourth


def test_concurrent_sends_are_all_recorded(aurora: SandboxServer) -> None:
    provider = aurora.provider()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                provider.send(message())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    ids = [a.message_id for a in aurora.accepted]
    assert len(ids) == 120 and len(set(ids)) == 120


def test_sandbox_serves_every_provider_with_its_own_base_path() -> None:
    with Sandbox() as sandbox:
        names = [s.name for s in sandbox]
        assert names == mailspec.available()
        for server in sandbox:
            assert server.base_url.startswith(f"http://127.0.0.1:{server.port}/")
            assert mailspec.provider_from_url(server.url).client.base_url == server.base_url


@pytest.mark.parametrize("name", mailspec.available())
def test_every_provider_round_trips_through_its_sandbox(name: str) -> None:
    with SandboxServer(name) as server:
        provider = server.provider()
        if provider.spec.capabilities.template_only:
            content = {"template": "welcome", "variables": {"name": "Ann"}}
        else:
            content = {"subject": "Hi", "html": "<p>x</p>"}

        def message(*to: str) -> Message:
            return Message(from_email="noreply@example.com", to=list(to), **content)  # type: ignore[arg-type]

        result = provider.send(message("ann@example.org", "bob@example.org"))
        assert sorted(a.recipient for a in server.accepted) == [
            "ann@example.org",
            "bob@example.org",
        ]
        if provider.spec.operations["send"].ids:
            # one id per recipient, or one for the message where the answer has one (SES)
            assert result.message_ids == list(dict.fromkeys(a.message_id for a in server.accepted))
        if provider.capabilities.status:
            server.set_outcome("bounced")
            bounced = provider.send(message("cy@example.org"))
            assert [s.state for s in provider.status(bounced.message_ids)] == [
                DeliveryState.BOUNCED
            ]
        wrong = {k: "wrong-credential" for k in server.credentials}
        intruder = mailspec.provider(name, base_url=server.base_url, **wrong)
        with pytest.raises(mailspec.AuthenticationError):
            intruder.send(message("ann@example.org"))
        assert len(server.accepted) == (3 if provider.capabilities.status else 2)


def test_header_names_are_read_in_any_case():
    # HTTP header names are case-insensitive; HTTP/2 stacks and fetch() send them lowercase
    with SandboxServer("cloudmails") as server:
        body = {"from": "shop@example.com", "to": "ann@example.org", "subject": "Hi", "html": "x"}
        answer = urllib3.request(
            "POST",
            server.base_url.rstrip("/") + "/send",
            body=json.dumps(body).encode(),
            headers={
                "authorization": f"Bearer {server.credentials['api_key']}",
                "content-type": "application/json",
            },
        )
        assert answer.status == 200, answer.data
        assert [a.recipient for a in server.accepted] == ["ann@example.org"]


def test_a_client_that_resets_its_connection_mid_request_prints_nothing(
    aurora: SandboxServer, capfd: pytest.CaptureFixture[str]
) -> None:
    """A worker killed mid-request resets its connection: the sandbox goes on serving
    and writes no traceback, since that is what it is there to test."""
    host, port = aurora.base_url.split("//")[1].split("/")[0].split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"POST /x HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 100\r\n\r\npart")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # with a zero linger: a reset, not a clean close
    time.sleep(0.2)  # for the handler thread to read the reset
    assert aurora.provider().send(message()).message_ids
    assert "Traceback" not in capfd.readouterr().err
