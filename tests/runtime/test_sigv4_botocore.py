"""mailspec.runtime.sigv4 signs as botocore does: the same request signed both ways gives
the same headers.

botocore (AWS's own Python SDK, a test-only dependency) signs with
``botocore.auth.SigV4Auth``; its clock is set to the request's time. Each request gives
botocore what its SDK clients give it (the query as decoded parameters, the headers as
pairs) and gives ``sign`` the URL as mailspec's encoder writes it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict

from mailspec.runtime.encoding import form_urlencode
from mailspec.runtime.sigv4 import sign

EXAMPLES = 1000

# names a real request carries, in several spellings, the ones neither signer signs
# (hop-by-hop, User-Agent, X-Amzn-Trace-Id, Authorization) and those sign() sets itself
HEADER_NAMES = ["Content-Type", "content-type", "X-Amz-Target", "x-custom", "X-Custom", "Accept",
                "Content-Length", "Host", "User-Agent", "Connection", "Expect", "TE",
                "Transfer-Encoding", "X-Amzn-Trace-Id", "Authorization", "X-Amz-Date",
                "X-Amz-Security-Token", "X-Amz-Content-Sha256-Not", "Idempotency-Key"]  # fmt: skip
HOSTS = ["email.us-east-1.amazonaws.com", "Email.EU-West-1.AmazonAWS.com", "127.0.0.1:8443",
         "[::1]:8080", "[2001:db8::1]", "example.com:443", "example.com:80", "localhost:1"]  # fmt: skip
# text of every kind in a path or query: reserved and unreserved ASCII, "%" and "+",
# blanks, non-ASCII letters and an emoji
URL_TEXT = st.text(
    st.sampled_from([*"aZ09-._~!$&'()*+,;=:@% /?#[]\"<>\\^`{|}", "é", "ሴ", "😀", "\u00a0"]),
    max_size=12,
)
SEGMENT = st.one_of(
    URL_TEXT.map(lambda s: s.replace("/", "").replace("?", "").replace("#", "")),  # raw
    URL_TEXT.map(lambda s: quote(s, safe="")),  # encoded once, as a URL carries it
    st.sampled_from([".", "..", ""]),
)
HEADER_VALUE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"),
                       max_size=30)  # fmt: skip
TOKEN = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}", fullmatch=True)


def rfc3986_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


@dataclass
class Request:
    method: str
    scheme: str
    host: str
    path: str
    query: list[tuple[str, str]]
    query_encoder: Callable[[list[tuple[str, str]]], str]
    headers: list[tuple[str, str]]
    body: bytes
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    region: str
    service: str
    now: datetime.datetime

    @property
    def url(self) -> str:
        query = self.query_encoder(self.query)
        return f"{self.scheme}://{self.host}{self.path}" + (f"?{query}" if query else "")


@st.composite
def requests(draw: st.DrawFn) -> Request:
    body = draw(st.binary(max_size=300))
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES) | TOKEN, HEADER_VALUE),
                            max_size=8))  # fmt: skip
    if draw(st.booleans()):  # the payload hash as a header too, as S3 clients send it
        headers.append(("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest()))
    return Request(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])),
        scheme=draw(st.sampled_from(["https", "http"])),
        host=draw(st.sampled_from(HOSTS)),
        path="/" + "/".join(draw(st.lists(SEGMENT, max_size=5))),
        query=draw(st.lists(st.tuples(URL_TEXT, URL_TEXT), max_size=5)),
        query_encoder=draw(st.sampled_from([form_urlencode, rfc3986_query])),
        headers=headers,
        body=body,
        access_key_id=draw(st.from_regex(r"(AKIA|ASIA)[A-Z0-9]{12,20}", fullmatch=True)),
        secret_access_key=draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=50)),
        session_token=draw(st.none() | st.from_regex(r"[A-Za-z0-9+/=]{16,80}", fullmatch=True)),
        region=draw(st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2"])),
        service=draw(st.sampled_from(["ses", "email", "service", "execute-api"])),
        now=draw(
            st.datetimes(
                min_value=datetime.datetime(2000, 1, 1),
                max_value=datetime.datetime(2099, 12, 31),
                timezones=st.just(datetime.UTC),
            )
        ),
    )


def ours(request: Request) -> dict[str, str]:
    headers = HTTPHeaderDict()
    for name, value in request.headers:
        headers.add(name, value)
    return sign(
        request.method,
        request.url,
        headers,
        request.body,
        access_key_id=request.access_key_id,
        secret_access_key=request.secret_access_key,
        region=request.region,
        service=request.service,
        session_token=request.session_token,
        now=request.now,
    )


def botocores(request: Request) -> dict[str, str]:
    aws = AWSRequest(
        method=request.method,
        url=f"{request.scheme}://{request.host}{request.path}",
        data=request.body,
        params=list(request.query),
    )
    for name, value in request.headers:
        aws.headers[name] = value  # HTTPHeaders adds: a name given twice keeps both values
    credentials = Credentials(
        request.access_key_id, request.secret_access_key, request.session_token
    )
    signer = botocore.auth.SigV4Auth(credentials, request.service, request.region)
    with pytest.MonkeyPatch.context() as clock:  # botocore's clock: naive UTC
        naive = request.now.replace(tzinfo=None)
        clock.setattr(botocore.auth, "get_current_datetime", lambda *args, **kw: naive)
        signer.add_auth(aws)
    names = ["Authorization", "X-Amz-Date"]
    if request.session_token is not None:  # else a given one passes through, unsigned by neither
        names.append("X-Amz-Security-Token")
    return {name: aws.headers[name] for name in names}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # repeatable; change the examples by changing the strategies
    suppress_health_check=[HealthCheck.too_slow],
)
@given(requests())
def test_same_headers_as_botocore(req: Request) -> None:
    assert ours(req) == botocores(req)


def ses_send_email(now: datetime.datetime, session_token: str | None) -> Request:
    """SES v2 SendEmail, as the SES v2 API Reference (SendEmail) shows it."""
    body = {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["recipient@example.com"]},
        "Content": {
            "Simple": {
                "Subject": {"Data": "Hello é", "Charset": "UTF-8"},
                "Body": {"Text": {"Data": "Hi there", "Charset": "UTF-8"}},
            }
        },
    }
    return Request(
        method="POST",
        scheme="https",
        host="email.us-east-1.amazonaws.com",
        path="/v2/email/outbound-emails",
        query=[],
        query_encoder=form_urlencode,
        headers=[("Content-Type", "application/json"), ("User-Agent", "mailspec")],
        body=json.dumps(body).encode("utf-8"),
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token=session_token,
        region="us-east-1",
        service="ses",
        now=now,
    )


@pytest.mark.parametrize("session_token", [None, "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDA=="])
def test_ses_v2_send_email(session_token: str | None) -> None:
    now = datetime.datetime(2026, 12, 6, 15, 4, 5, tzinfo=datetime.UTC)
    req = ses_send_email(now, session_token)
    signed = ours(req)
    assert signed == botocores(req)
    assert signed["X-Amz-Date"] == "20261206T150405Z"
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/ses/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date"
        + (";x-amz-security-token" if session_token else "")
        + ", Signature="
    )
