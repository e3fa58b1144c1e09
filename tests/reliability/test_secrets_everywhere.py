"""A sentinel credential through every path: reprs and strs of every public
object, the DEBUG log of *every* logger (urllib3's included: a status() GET carries the
key in its query string), every exception and its chained causes, the CLI (text and
--json, failing and succeeding), and the generated code. tests/http/test_http_secrets.py
covers the single-provider basics; this extends them."""

from __future__ import annotations

import io
import json
import logging
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from reliability_support import SENTINEL, SENTINEL_ODD, plain_message

import mailspec
from mailspec import AllProvidersFailed, Mailer, MailspecError
from mailspec.cli import main as cli_main
from mailspec.runtime import logfilter
from mailspec.sandbox import Fault, SandboxServer

ROOT = Path(__file__).resolve().parents[2]
FORMS = [f for s in (SENTINEL, SENTINEL_ODD) for f in {s, quote(s, safe=""), quote_plus(s)}]


def leaks(text: str) -> list[str]:
    return [f for f in FORMS if f in text]


def texts_of(obj: object) -> Iterator[str]:
    yield repr(obj)
    yield str(obj)
    if isinstance(obj, BaseException):
        yield repr(obj.args)
        yield repr(vars(obj))
        yield "".join(traceback.format_exception(obj))
        seen = {id(obj)}
        inner = obj.__cause__ or obj.__context__
        while inner is not None and id(inner) not in seen:  # what Sentry & co. walk
            seen.add(id(inner))
            yield repr(inner)
            yield str(inner)
            inner = inner.__cause__ or inner.__context__
    for attempt in getattr(obj, "attempts", []) or []:
        yield from texts_of(attempt)
        if attempt.error is not None:
            yield from texts_of(attempt.error)


def assert_hidden(*objects: object) -> None:
    for obj in objects:
        for text in texts_of(obj):
            assert not leaks(text), text


def secret_server(name: str, key: str) -> SandboxServer:
    """A sandbox whose key credential is ``key`` (sandbox credentials are not secret, so
    this one is swapped in)."""
    server = SandboxServer(name)
    cred = "api_key" if "api_key" in server.credentials else next(iter(server.credentials))
    server.credentials[cred] = key
    server.emulator.credentials[cred] = key
    return server.start()


@pytest.fixture
def root_debug() -> Iterator[io.StringIO]:
    """Everything every logger emits at DEBUG, formatted, as a root handler sees it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


@pytest.mark.parametrize("key", [SENTINEL, SENTINEL_ODD])
def test_root_debug_log_of_every_logger_hides_the_key(key, root_debug) -> None:
    server = secret_server("aurorasendcloud", key)
    try:
        provider = server.provider(timeout=0.3)
        mailer = Mailer([provider], rate_limit=False, backoff=0.001, backoff_max=0.001)
        result = mailer.send(plain_message())
        mailer.status(result)  # GET ...?api_user=...&api_key=KEY...
        server.faults.queue(Fault.SERVER_ERROR)
        server.faults.queue(Fault.DROP_AFTER, times=2)  # ambiguous, and so is its resend
        with pytest.raises(AllProvidersFailed) as info:
            mailer.send(plain_message(to=["bob@example.org"]))
        server.faults.queue(Fault.SLOW)
        with pytest.raises(mailspec.TransportError):
            provider.status(result.message_ids)
        assert_hidden(info.value, result, mailer, provider, provider.client)
    finally:
        server.stop()
    log = root_debug.getvalue()
    # the records exist (so the check is not vacuous): urllib3's connection records and
    # mailspec's own, which name the status request (whose query string carries the key)
    # by its path alone
    assert "urllib3.connectionpool DEBUG" in log
    assert re.search(r"GET http://127\.0\.0\.1:\d+/api/data/emailStatus -> 200", log), log
    assert "mailspec.mailer" in log and "mailspec.http" in log
    assert not leaks(log), [line for line in log.splitlines() if leaks(line)]


def test_the_filter_is_installed_and_redacts_encoded_forms() -> None:
    mailspec.provider("aurorasendcloud", api_user="u", api_key=SENTINEL_ODD)  # a live Secret
    logger = logging.getLogger("urllib3.connectionpool")
    assert any(isinstance(f, logfilter.SecretFilter) for f in logger.filters)
    record = logger.makeRecord(
        logger.name, logging.DEBUG, __file__, 1, "%s %s", (quote_plus(SENTINEL_ODD), "x"), None
    )
    logfilter.SecretFilter().filter(record)
    assert record.getMessage() == "*** x"


def test_every_public_object_hides_the_key() -> None:
    providers = [
        mailspec.provider("aurorasendcloud", api_user=SENTINEL, api_key=SENTINEL),
        mailspec.provider("sendcloud", api_user="u", api_key=SENTINEL),
        mailspec.provider("cloudmails", api_key=SENTINEL),
        mailspec.provider("aotsend", app_key=SENTINEL),
        mailspec.provider_from_url(f"cloudmails://{quote(SENTINEL_ODD, safe='')}@eu"),
    ]
    mailer = Mailer(providers)
    assert_hidden(mailer, *providers, *(p.client for p in providers))
    assert_hidden(*(p.client._secrets for p in providers), *(p.capabilities for p in providers))


def test_errors_of_every_kind_hide_the_key(closed_port_url) -> None:
    errors: list[BaseException] = []
    for bad in (
        lambda: mailspec.provider("aurorasendcloud", api_user="u", api_key=SENTINEL, region="x"),
        lambda: mailspec.provider("cloudmails", api_key=SENTINEL, base_url="http://example.com/"),
        lambda: mailspec.provider_from_url(f"cloudmails://{SENTINEL}:{SENTINEL}@eu"),
        lambda: mailspec.provider_from_url(f"nosuch://{SENTINEL}@eu"),
        lambda: mailspec.provider_from_url(f"cloudmails://{SENTINEL}@?base_url=ftp://x"),
        lambda: mailspec.provider_from_url(f"cloudmails://{SENTINEL}@?timeout=soon"),
        lambda: mailspec.provider_from_url(f"cloudmails://{SENTINEL}@?api_key=1"),
        lambda: mailspec.provider("cloudmails", api_key=SENTINEL, timeout=-1),
        lambda: mailspec.provider("cloudmails", api_key=SENTINEL, base_url=closed_port_url).send(
            plain_message()
        ),
        lambda: mailspec.provider(
            "sendcloud", api_user=SENTINEL, api_key=SENTINEL, base_url=closed_port_url
        ).status(["id-1"]),  # a GET: the key would be in the URL
        lambda: Mailer(
            [mailspec.provider("cloudmails", api_key=SENTINEL, base_url=closed_port_url)],
            backoff=0.0,
            backoff_max=0.0,
        ).send(plain_message()),
    ):
        with pytest.raises(MailspecError) as info:
            bad()
        errors.append(info.value)
    assert len(errors) == 11
    assert_hidden(*errors)


@pytest.fixture
def closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/v1"


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_cli_output_hides_the_key(capsys, json_flag, closed_port_url) -> None:
    server = secret_server("aurorasendcloud", SENTINEL)
    try:
        url = server.url
        assert SENTINEL in url
        send = ["send", "--from", "noreply@example.com", "--to", "ann@example.org",
                "--subject", "Hi", "--text", "hello", *json_flag]  # fmt: skip
        code, out = _cli(capsys, *send, "--provider", url)
        assert code == 0, out
        ids = [server.accepted[0].message_id]
        outputs = [out]
        code, out = _cli(capsys, "status", "--provider", url, *json_flag, *ids)
        assert code == 0, out
        outputs.append(out)
        wrong = url.replace(SENTINEL, SENTINEL + "x")  # refused: AuthenticationError
        code, out = _cli(capsys, *send, "--provider", wrong)
        assert code == 1 and "40005" in out
        outputs.append(out)
        code, out = _cli(capsys, "status", "--provider", wrong, *json_flag, *ids)
        assert code == 1
        outputs.append(out)
        server.faults.queue(Fault.GARBAGE, times=3)  # every try (resends of the key too)
        code, out = _cli(capsys, *send, "--provider", url)
        assert code == 1 and "may have" in out  # a garbage 2xx: ambiguous, stopped
        outputs.append(out)
    finally:
        server.stop()
    dead = f"cloudmails://{SENTINEL}@?base_url={quote(closed_port_url, safe='')}&timeout=0.5"
    code, out = _cli(capsys, *send, "--provider", dead)
    assert code == 1
    outputs.append(out)
    code, out = _cli(capsys, *send, "--provider", f"cloudmails://{SENTINEL}@?base_url=http://e.com")
    assert code == 1
    outputs.append(out)
    if json_flag:
        for text in outputs:
            json.loads(text)  # machine-readable, failures included
    for text in outputs:
        assert not leaks(text), text


CREDENTIAL_LIKE = re.compile(
    r"""(?ix)(api_?key|api_?user|app_?key|secret|password|passwd|token|sms_?key)
        ["']?\s*[:=]\s*["'][^"'\s]{4,}["']"""
)


def test_generated_code_holds_no_credential_values() -> None:
    files = sorted((ROOT / "generated").rglob("*.py"))
    assert len(files) >= 20
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in CREDENTIAL_LIKE.finditer(text):
            value = match.group(0).split(match.group(0)[-1])[-2]
            # wire names of credential parameters ("api_key": Param(...), wire="apiKey")
            # are names, not values
            # are names, not values; nor is a template naming one ("{secret_key}")
            if not re.fullmatch(r"[A-Za-z_]+|\{[A-Za-z_]+\}", value):
                hits.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        assert "sandbox-" not in text  # the sandbox's credential values
    assert hits == []
    # the pattern does find a credential written the way one would leak in
    assert CREDENTIAL_LIKE.search('api_key = "sk_live_0123456789"')
