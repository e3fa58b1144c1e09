"""mailspec.runtime.sigv4 against AWS's published Signature Version 4 test suite.

Each case of the suite (sigv4_vectors/, see its README) is a raw request (``.req``) and
what signing it must give: the canonical request (``.creq``), the string to sign
(``.sts``) and the Authorization header (``.authz``), with the suite's credentials,
region, service and time.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from urllib3 import HTTPHeaderDict

from mailspec import ValidationError
from mailspec.runtime.sigv4 import canonical_request, sign, string_to_sign

VECTORS = Path(__file__).parent / "sigv4_vectors"
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION, SERVICE = "us-east-1", "service"
NOW = datetime.datetime(2015, 8, 30, 12, 36, tzinfo=datetime.UTC)

# every case of the suite is run but these, each for its reason
REFUSED = {
    # a header value folded over three lines: line breaks in a header are refused
    # (RFC 9110 5.5 drops line folding; a line break would split the header on the wire)
    "get-header-value-multiline",
}
# the token added after signing, for services that want it unsigned: sign() always
# signs a session token (SES takes it signed), as botocore does; its own test below
SIGNS_THE_TOKEN = {"post-sts-token/post-sts-header-after": "post-sts-token/post-sts-header-before"}


@dataclass
class Vector:
    name: str
    method: str
    url: str
    headers: HTTPHeaderDict
    body: bytes
    creq: str
    sts: str
    authz: str

    @property
    def session_token(self) -> str | None:
        """The token the case signs with: the one its canonical request shows."""
        found = re.search(r"^x-amz-security-token:(.*)$", self.creq, re.MULTILINE)
        return found.group(1) if found else None


def load(name: str) -> Vector:
    base = VECTORS / name / Path(name).name
    raw = base.with_suffix(".req").read_text("utf-8")
    head, _, body = raw.partition("\n\n")
    request_line, *header_lines = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]  # the path may hold a space (normalize-path/get-space)
    pairs: list[list[str]] = []
    for line in filter(None, header_lines):  # some files end with a line break
        if line[:1] in (" ", "\t"):  # a folded line continues the header before it
            pairs[-1][1] += "\n" + line
        else:
            name_, _, value = line.partition(":")
            pairs.append([name_, value])
    headers = HTTPHeaderDict()
    for header, value in pairs:
        headers.add(header, value)
    return Vector(
        name=name,
        method=method,
        url=f"https://{headers['Host']}{target}",
        headers=headers,
        body=body.encode("utf-8"),
        creq=base.with_suffix(".creq").read_text("utf-8"),
        sts=base.with_suffix(".sts").read_text("utf-8"),
        authz=base.with_suffix(".authz").read_text("utf-8"),
    )


def case_names() -> list[str]:
    return sorted(str(p.parent.relative_to(VECTORS)) for p in VECTORS.rglob("*.req"))


def sign_vector(vector: Vector, token: str | None) -> dict[str, str]:
    """sign() on a case's request, with the suite's credentials, region, service and time."""
    return sign(
        vector.method,
        vector.url,
        vector.headers,
        vector.body,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region=REGION,
        service=SERVICE,
        session_token=token,
        now=NOW,
    )


def applicable() -> list[object]:
    return [name for name in case_names() if name not in REFUSED | set(SIGNS_THE_TOKEN)]


def test_the_suite_is_all_there() -> None:
    """The copy holds the whole suite (34 cases), so no case is left out unseen."""
    names = case_names()
    assert len(names) == 34
    assert {"get-vanilla", "normalize-path/get-space", "get-vanilla-with-session-token"} <= set(
        names
    )
    assert (REFUSED | set(SIGNS_THE_TOKEN)) <= set(names)


@pytest.mark.parametrize("name", applicable())
def test_vector(name: str) -> None:
    vector = load(name)
    token = vector.session_token
    full_headers = HTTPHeaderDict(vector.headers)
    if token is not None and "X-Amz-Security-Token" not in full_headers:
        full_headers["X-Amz-Security-Token"] = token

    creq = canonical_request(vector.method, vector.url, full_headers, vector.body)
    assert creq == vector.creq
    assert string_to_sign(creq, now=NOW, region=REGION, service=SERVICE) == vector.sts
    added = sign_vector(vector, token)
    assert added["Authorization"] == vector.authz
    assert added["X-Amz-Date"] == "20150830T123600Z"
    assert added.get("X-Amz-Security-Token") == token


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_folded_header_is_refused(name: str) -> None:
    vector = load(name)
    with pytest.raises(ValidationError, match="headers: My-Header1: a header value"):
        sign_vector(vector, None)


@pytest.mark.parametrize(("name", "signed_case"), sorted(SIGNS_THE_TOKEN.items()))
def test_a_session_token_is_always_signed(name: str, signed_case: str) -> None:
    """The suite's case that adds the token after signing gets, from sign(), the
    signature of its sibling case that signs it: the same request, token included."""
    vector, signed = load(name), load(signed_case)
    token = signed.session_token  # the case's request holds none: it comes after signing
    assert token is not None and vector.session_token is None
    added = sign_vector(vector, token)
    assert added["Authorization"] == signed.authz != vector.authz
    assert added["X-Amz-Security-Token"] == token
