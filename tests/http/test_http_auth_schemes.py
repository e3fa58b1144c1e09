"""Every auth scheme a spec can declare, each on its own small spec generated in the
test: exactly what goes on the wire (pytest-httpserver records it), that the sandbox
driven by the same spec accepts it, and that the sandbox refuses a request carrying the
credentials another way (a bearer token where the spec wants its own header).

Each spec is spec/cloudmails.yaml with its `auth:` block (and, for placeholders, its
paths and base URL) replaced, generated into a package of the test's and registered as
a user's would be. Real HTTP on 127.0.0.1; nothing of mailspec is mocked.
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import mailspec
from mailspec import AuthenticationError, Message, UnsupportedOperation, ValidationError, registry
from mailspec.codegen.loader import SpecError
from mailspec.codegen.writer import generate
from mailspec.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
CLOUDMAILS = (ROOT / "spec" / "cloudmails.yaml").read_text(encoding="utf-8")
BEARER_AUTH = re.compile(r"^auth:\n  bearer: api_key\n  code: 401[^\n]*\n", flags=re.M)
_unique = itertools.count()

MESSAGE = Message(
    from_email="shop@example.com", to=["ann@example.org"], subject="Hi", html="<p>x</p>"
)


def spec_with(auth: str, *, name: str = "authwave", path: str = "/send", base: str = "") -> str:
    """spec/cloudmails.yaml named ``name``, with ``auth`` (YAML of the block's body),
    the send path ``path`` and, if given, the base URL ``base``."""
    text, found = BEARER_AUTH.subn(lambda _: "auth:\n" + auth + "  code: 401\n", CLOUDMAILS)
    assert found == 1
    text = re.sub(r"^(provider:\n  name: )cloudmails", rf"\g<1>{name}", text, flags=re.M)
    text = text.replace("    path: /send\n", f"    path: {path}\n", 1)
    if base:
        text = text.replace("https://api.cloudmails.eu/v1", base)
    return text


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for this test's packages, and an empty registry."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def register(root: Path, text: str) -> str:
    """Generate the spec ``text`` into a fresh package under ``root``, register it and
    return the provider's name."""
    package = f"authspecs_{next(_unique)}"
    spec_dir = root / f"specs_{package}"
    spec_dir.mkdir()
    name = re.search(r"^provider:\n  name: (\w+)", text, flags=re.M)
    assert name is not None
    (spec_dir / f"{name.group(1)}.yaml").write_text(text, encoding="utf-8")
    generate(spec_dir, root / package)
    assert mailspec.register(package) == [name.group(1)]
    return name.group(1)


@pytest.fixture
def recorded(httpserver: HTTPServer) -> Iterator[list[Request]]:
    """The requests httpserver receives, each answered as CloudMails accepts a send."""
    got: list[Request] = []

    def answer(request: Request) -> Response:
        got.append(request)
        return Response(json.dumps({"message_id": "m-1"}), 200, content_type="application/json")

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    yield got


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# (scheme, auth block, credentials, what the request must carry)
SCHEMES = [
    (
        "bearer",
        "  bearer: api_key\n",
        {"api_key": "K1"},
        {"header": ("Authorization", "Bearer K1")},
    ),
    (
        "named header",
        '  headers: {X-Postmark-Server-Token: "{server_token}"}\n',
        {"server_token": "T-1"},
        {"header": ("X-Postmark-Server-Token", "T-1")},
    ),
    (
        "header with a prefix",
        '  headers: {Authorization: "Token token={api_key}"}\n',
        {"api_key": "K2"},
        {"header": ("Authorization", "Token token=K2")},
    ),
    (
        "bare Authorization",
        '  headers: {Authorization: "{api_key}"}\n',
        {"api_key": "K3"},
        {"header": ("Authorization", "K3")},
    ),
    (
        "basic with a constant user",
        '  basic: {username: api, password: "{api_key}"}\n',
        {"api_key": "key-4"},
        {"header": ("Authorization", basic("api", "key-4"))},
    ),
    (
        "basic from two credentials",
        '  basic: {username: "{api_key}", password: "{secret_key}"}\n',
        {"api_key": "pub", "secret_key": "priv"},
        {"header": ("Authorization", basic("pub", "priv"))},
    ),
    (
        "query",
        "  query: {api_key: key}\n",
        {"api_key": "K5"},
        {"query": ("key", "K5")},
    ),
    (
        "body",
        "  body: {api_key: apiKey}\n",
        {"api_key": "K6"},
        {"json": ("apiKey", "K6")},
    ),
]


@pytest.mark.parametrize(("scheme", "auth", "credentials", "carries"), SCHEMES, ids=lambda s: s)
def test_each_auth_scheme_goes_on_the_wire_as_declared(
    root: Path,
    httpserver: HTTPServer,
    recorded: list[Request],
    scheme: str,
    auth: str,
    credentials: dict[str, str],
    carries: dict[str, tuple[str, str]],
) -> None:
    name = register(root, spec_with(auth))
    options: dict[str, Any] = {"base_url": httpserver.url_for("/v1"), **credentials}
    provider = mailspec.provider(name, **options)
    assert provider.send(MESSAGE).message_ids == ["m-1"]
    (request,) = recorded
    where, (key, value) = next(iter(carries.items()))
    if where == "header":
        assert request.headers.get(key) == value
    elif where == "query":
        assert request.args.get(key) == value
    else:
        assert json.loads(request.get_data())[key] == value
    # the credentials travel in one place only: no header of another scheme
    if where != "header" or key != "Authorization":
        assert "Authorization" not in request.headers
    for secret in credentials.values():
        assert secret not in repr(provider) and secret not in repr(provider.client)


@pytest.mark.parametrize(("scheme", "auth", "credentials", "carries"), SCHEMES, ids=lambda s: s)
def test_the_sandbox_accepts_each_scheme_as_the_spec_declares_it(
    root: Path, scheme: str, auth: str, credentials: dict[str, str], carries: object
) -> None:
    name = register(root, spec_with(auth))
    with SandboxServer(name) as server:
        assert set(server.credentials) == set(credentials)
        result = server.provider().send(MESSAGE)
        assert result.message_ids and len(server.accepted) == 1


def test_the_sandbox_refuses_a_bearer_token_where_the_spec_wants_its_own_header(
    root: Path,
) -> None:
    name = register(root, spec_with('  headers: {X-Postmark-Server-Token: "{server_token}"}\n'))
    with SandboxServer(name) as server:
        token = server.credentials["server_token"]
        body = json.dumps({"from": "a@example.com", "to": "b@example.org", "subject": "s"})
        wrong = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        right = {"X-Postmark-Server-Token": token, "Content-Type": "application/json"}
        lowercase = {"x-postmark-server-token": token, "Content-Type": "application/json"}
        send = server.base_url + "/send"
        refused = urllib3.request("POST", send, body=body + "", headers=wrong)
        assert refused.status == 401 and not server.accepted
        both = urllib3.request("POST", send, body=body, headers={**right, **wrong})
        assert both.status == 401 and not server.accepted  # an Authorization it does not use
        for headers in (right, lowercase):  # header names in any case, as HTTP
            accepted = urllib3.request(
                "POST", send, body=json.dumps({**json.loads(body), "html": "x"}), headers=headers
            )
            assert accepted.status == 200, accepted.data
        # the client with a wrong token gets the typed refusal
        with pytest.raises(AuthenticationError):
            server.provider(server_token="not-it").send(MESSAGE)


def test_the_sandbox_refuses_basic_auth_with_the_wrong_user(root: Path) -> None:
    name = register(root, spec_with('  basic: {username: api, password: "{api_key}"}\n'))
    with SandboxServer(name) as server:
        key = server.credentials["api_key"]
        body = json.dumps({"from": "a@example.com", "to": "b@example.org", "subject": "s"})
        for auth in (basic("user", key), basic("api", key + "x"), f"Bearer {key}"):
            headers = {"Authorization": auth, "Content-Type": "application/json"}
            answer = urllib3.request("POST", server.base_url + "/send", body=body, headers=headers)
            assert answer.status == 401
        assert not server.accepted


def test_a_setting_fills_the_path_and_the_region_the_base_url(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    auth = '  basic: {username: api, password: "{api_key}"}\n  settings: [domain]\n'
    text = spec_with(auth, path="v3/{domain}/send", base="https://api.{region}.example/")
    text = text.replace(
        "default_region: eu\nregions:\n  eu:", "default_region: eu\nregions:\n  eu:"
    )
    name = register(root, text)
    provider = mailspec.provider(name, api_key="k", domain="mg.example.com")
    assert provider.client.base_url == "https://api.eu.example/"
    moved = mailspec.provider(
        name, api_key="k", domain="mg.example.com", base_url=httpserver.url_for("/")
    )
    moved.send(MESSAGE)
    (request,) = recorded
    assert request.path == "/v3/mg.example.com/send"
    # a setting is one path segment: a slash in it cannot reach another path
    odd = mailspec.provider(name, api_key="k", domain="a/b", base_url=httpserver.url_for("/"))
    odd.send(MESSAGE)
    assert recorded[1].environ["REQUEST_URI"].startswith("/v3/a%2Fb/send")
    with SandboxServer(name) as server:
        assert server.provider().send(MESSAGE).message_ids
        wrong_domain = server.provider(domain="other.example")
        with pytest.raises(mailspec.ProviderError):
            wrong_domain.send(MESSAGE)  # no such route: the sandbox answers 404
    with pytest.raises(ValidationError, match="missing domain"):
        mailspec.provider(name, api_key="k")


def test_a_provider_url_lists_the_credentials_and_settings_in_spec_order(root: Path) -> None:
    auth = '  basic: {username: api, password: "{api_key}"}\n  settings: [domain]\n'
    name = register(root, spec_with(auth, path="v3/{domain}/send"))
    provider = mailspec.provider_from_url(f"{name}://KEY:mg.example.com@eu")
    assert provider.client._fills["domain"] == "mg.example.com"
    assert "KEY" not in repr(provider)


@pytest.mark.parametrize(
    "userinfo, query",
    [
        ("api:KEY", "?domain=mg.example.com"),  # as Mailgun's documents write `-u api:KEY`
        ("KEY", "?domain=mg.example.com"),
        ("KEY:mg.example.com", ""),
    ],
)
def test_a_provider_url_takes_settings_in_the_query_and_a_fixed_user_name(
    root: Path, httpserver: HTTPServer, recorded: list[Request], userinfo: str, query: str
) -> None:
    auth = '  basic: {username: api, password: "{api_key}"}\n  settings: [domain]\n'
    name = register(root, spec_with(auth, path="v3/{domain}/send"))
    base = httpserver.url_for("/")
    joiner = "&" if query else "?"
    mailspec.provider_from_url(f"{name}://{userinfo}@eu{query}{joiner}base_url={base}").send(
        MESSAGE
    )
    (request,) = recorded
    assert request.path == "/v3/mg.example.com/send"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"api:KEY").decode()


@pytest.mark.parametrize(
    "userinfo, query, says",
    [
        ("api:KEY", "", "?domain= in the query"),  # no domain anywhere
        ("user:KEY", "?domain=mg.example.com", "carry 1 credential"),  # another user name
        ("KEY:mg.example.com", "?domain=mg.example.com", "carry 1 credential"),  # twice
    ],
)
def test_a_provider_url_missing_a_setting_says_where_it_goes(
    root: Path, userinfo: str, query: str, says: str
) -> None:
    auth = '  basic: {username: api, password: "{api_key}"}\n  settings: [domain]\n'
    name = register(root, spec_with(auth, path="v3/{domain}/send"))
    with pytest.raises(ValidationError) as refused:
        mailspec.provider_from_url(f"{name}://{userinfo}@eu{query}")
    assert refused.value.field == "url" and says in str(refused.value)
    assert "KEY" not in str(refused.value).replace("API_KEY", "")


def test_aws_sigv4_signs_with_the_signing_module_or_is_refused_clearly_without_it(
    root: Path, httpserver: HTTPServer, recorded: list[Request]
) -> None:
    auth = (
        "  aws_sigv4: {service: ses, access_key_id: access_key_id,\n"
        "              secret_access_key: secret_access_key, session_token: session_token}\n"
    )
    name = register(root, spec_with(auth))
    provider = mailspec.provider(
        name, access_key_id="AKID", secret_access_key="SECRET", region="eu"
    )
    try:
        importlib.import_module("mailspec.runtime.sigv4")
    except ImportError:
        with pytest.raises(UnsupportedOperation, match=r"mailspec\.runtime\.sigv4"):
            provider.send(MESSAGE)
    else:  # the signing module is there: the request carries its signature
        signed = mailspec.provider(
            name,
            access_key_id="AKID",
            secret_access_key="SECRET",
            session_token="TOKEN",
            region="eu",
            base_url=httpserver.url_for("/v1"),
        )
        assert signed.send(MESSAGE).message_ids == ["m-1"]
        (request,) = recorded
        authorization = request.headers["Authorization"]
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKID/")
        assert "/eu/ses/aws4_request" in authorization
        assert request.headers["X-Amz-Security-Token"] == "TOKEN"
        assert "SECRET" not in authorization
        with SandboxServer(name) as server:
            assert server.provider().send(MESSAGE).message_ids
    with pytest.raises(ValidationError, match="missing secret_access_key"):
        mailspec.provider(name, access_key_id="AKID")


@pytest.mark.parametrize(
    "url",
    ["https://ann:s3cr3t@api.example/v1", "https://t0k3n@api.example/", "http://u:p4@127.0.0.1:9/"],
)
def test_a_base_url_with_user_info_is_refused_and_never_echoed(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        mailspec.provider("cloudmails", api_key="k", base_url=url)
    assert "must not carry credentials (USER:PASSWORD@)" in str(caught.value)
    assert url.split("@")[0].split("//")[1] not in str(caught.value)


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        ('  bearer: api_key\n  headers: {X-Key: "{api_key}"}\n', "found bearer, headers"),
        ("  settings: [domain]\n", "give exactly one of"),
        ('  headers: {"X Key": "{api_key}"}\n', "is not an HTTP header name"),
        ('  headers: {X-Key: "{api_key"}\n', "expected text with `{keyword}` placeholders"),
        (
            '  basic: {username: api, password: "{api_key}"}\n  settings: [api_key]\n',
            "is a credential",
        ),
    ],
)
def test_spec_check_refuses_impossible_auth(root: Path, auth: str, problem: str) -> None:
    spec_dir = root / f"bad_{next(_unique)}"
    spec_dir.mkdir()
    (spec_dir / "authwave.yaml").write_text(spec_with(auth), encoding="utf-8")
    with pytest.raises(SpecError, match=re.escape(problem)):
        generate(spec_dir, root / f"out_{next(_unique)}")


def test_spec_check_refuses_a_base_url_placeholder_nothing_fills(root: Path) -> None:
    spec_dir = root / "bad_base"
    spec_dir.mkdir()
    text = spec_with("  bearer: api_key\n", base="https://{tenant}.example/")
    (spec_dir / "authwave.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"placeholder \{tenant\} is neither region"):
        generate(spec_dir, root / "out_base")
