"""A request signed by mailspec.runtime.sigv4 and sent by mailspec's own Transport
arrives as it was signed: a server on 127.0.0.1 checks the signature from what it
received (the raw request line, the signed headers, the body), recomputing it with
botocore as an AWS endpoint would."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mailspec.runtime.sigv4 import sign
from mailspec.runtime.transport import Transport

ACCESS_KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDA=="
NOW = datetime.datetime(2026, 12, 6, 15, 4, 5, tzinfo=datetime.UTC)


@dataclass
class Received:
    method: str
    target: str  # the request line's target, as it came
    headers: list[tuple[str, str]]
    body: bytes


def server_signature(got: Received) -> str:
    """The Authorization header the server computes for what it received."""
    header = {name.lower(): value for name, value in got.headers}
    signed = re.search(r"SignedHeaders=([^,]+)", header["authorization"])
    assert signed is not None
    names = set(signed.group(1).split(";")) - {"x-amz-date", "x-amz-security-token"}
    path, _, query = got.target.partition("?")
    aws = AWSRequest(
        method=got.method,
        url=f"http://{header['host']}{path}",
        data=got.body,
        params=parse_qsl(query, keep_blank_values=True),  # as a server decodes a query
    )
    for name, value in got.headers:
        if name.lower() in names:
            aws.headers[name] = value
    # botocore adds these two itself: the token from the credentials, the date from its clock
    credentials = Credentials(ACCESS_KEY_ID, SECRET, header.get("x-amz-security-token"))
    clock = datetime.datetime.strptime(header["x-amz-date"], "%Y%m%dT%H%M%SZ")
    signer = botocore.auth.SigV4Auth(credentials, "ses", "us-east-1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kw: clock)
        signer.add_auth(aws)
    return str(aws.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "v2/email/outbound-emails", json.dumps({"FromEmailAddress": "a@example.com"})),
        (
            "GET",
            "v2/email/contact-lists/my%20list/contacts/a%2Bb%40example.com"
            "?NextToken=a%2Bb%3D%3D&PageSize=10&Filter=x+y&%C3%A9=%E1%88%B4&flag",
            "",
        ),
        ("DELETE", "v2/email/identities/%C3%A9xample.com/", ""),
    ],
)
@pytest.mark.parametrize("session_token", [None, TOKEN])
def test_the_signature_holds_on_the_wire(
    httpserver: HTTPServer, method: str, path: str, body: str, session_token: str | None
) -> None:
    received: list[Received] = []

    def record(request: Request) -> Response:
        received.append(
            Received(
                request.method,
                request.environ["RAW_URI"],
                list(request.headers.items()),
                request.get_data(),
            )
        )
        return Response("{}", content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(record)
    url = httpserver.url_for("/") + path
    headers = {"Content-Type": "application/json"} if body else {}
    payload = body.encode("utf-8")
    headers |= sign(
        method,
        url,
        headers,
        payload,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET,
        region="us-east-1",
        service="ses",
        session_token=session_token,
        now=NOW,
    )
    transport = Transport("ses", timeout=5.0)
    try:
        answer = transport.send(method, url, headers, payload or None)
    finally:
        transport.close()

    assert answer.status == 200
    [got] = received
    assert got.target == "/" + path  # the Transport sent the target as it was signed
    assert server_signature(got) == headers["Authorization"]
