"""The api_key never shows: not in reprs, results, errors (even when the provider echoes
it back), nor in mailspec's log records; and a Secret cannot be pickled out."""

from __future__ import annotations

import copy
import logging
import pickle
import socket
import threading
import traceback
from urllib.parse import quote, quote_plus

import pytest
from aurora_support import (
    SEND_PATH,
    SENTINEL,
    STATUS_PATH,
    RawServer,
    failure,
    message,
    ok_send,
    ok_status,
)

import mailspec
from mailspec import (
    AuthenticationError,
    MailspecError,
    MalformedResponseError,
    ProviderServerError,
    TransportError,
    ValidationError,
)
from mailspec.runtime import Secret, redact


def _texts(obj: object) -> list[str]:
    texts = [repr(obj), str(obj)]
    if isinstance(obj, BaseException):
        texts += [repr(obj.args), repr(vars(obj))]
    return texts


def _assert_hidden(*objects: object) -> None:
    for obj in objects:
        for text in _texts(obj):
            assert SENTINEL not in text, text


@pytest.fixture
def secret_provider(make_provider):
    return make_provider(api_key=SENTINEL)


def test_the_key_does_travel(httpserver, secret_provider):
    """The wire is the one place it must appear (so the checks below are not vacuous)."""
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("e1"))
    secret_provider.send(message())
    assert httpserver.log[0][0].form["api_key"] == SENTINEL


def test_provider_client_and_result_reprs(httpserver, secret_provider):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("e1"))
    httpserver.expect_request(STATUS_PATH).respond_with_json(
        ok_status([{"emailId": "e1", "status": 1, "recipient": "ann@example.org"}], total=1)
    )
    result = secret_provider.send(message())
    statuses = secret_provider.status(result.message_ids)
    _assert_hidden(
        secret_provider,
        secret_provider.client,
        secret_provider.capabilities,
        result,
        result.attempts,
        statuses,
        secret_provider.client._secrets,  # the credential store itself shows only ***
    )


def test_provider_error_echoing_the_key_is_redacted(httpserver, secret_provider):
    httpserver.expect_request(SEND_PATH).respond_with_json(
        failure(40005, f"authentication failed for api_key={SENTINEL} (user u)")
    )
    with pytest.raises(AuthenticationError) as info:
        secret_provider.send(message())
    _assert_hidden(info.value)
    assert info.value.message == "authentication failed for api_key=*** (user u)"


@pytest.mark.parametrize("encode", [quote_plus, lambda v: quote(v, safe="")])
def test_provider_error_echoing_the_percent_encoded_key_is_redacted(
    httpserver, make_provider, encode
):
    """A key with characters a form or URL escapes travels escaped, and a provider may
    echo it as it came (``apiKey=k%2By%2F...``)."""
    key = f"k+y/ {SENTINEL}"
    assert encode(key) != key and SENTINEL in encode(key)
    provider = make_provider(api_key=key)
    httpserver.expect_request(SEND_PATH).respond_with_json(
        failure(40005, f"bad request apiKey={encode(key)}&apiUser=u")
    )
    with pytest.raises(AuthenticationError) as info:
        provider.send(message())
    _assert_hidden(info.value)
    assert info.value.message == "bad request apiKey=***&apiUser=u"


def test_redact_hides_every_wire_form():
    secret = Secret("k+y/abcd")
    assert redact("apiKey=k%2By%2Fabcd", [secret]) == "apiKey=***"
    assert redact("raw k+y/abcd, form k%2By%2Fabcd", [secret]) == "raw ***, form ***"
    spaced = Secret("a b/cd")
    assert redact("a+b%2Fcd | a%20b%2Fcd | a b/cd", [spaced]) == "*** | *** | ***"
    assert redact("abc abc", [Secret("abc")]) == "abc abc"  # too short to redact


def test_status_error_echoing_the_key_is_redacted(httpserver, secret_provider):
    httpserver.expect_request(STATUS_PATH).respond_with_json(
        failure(501, f"exception in query api_key={SENTINEL}&days=3")
    )
    with pytest.raises(ProviderServerError) as info:
        secret_provider.status(["id1"])
    _assert_hidden(info.value)
    assert "***" in info.value.message


def test_unknown_code_echoing_the_key_is_redacted(httpserver, secret_provider):
    httpserver.expect_request(SEND_PATH).respond_with_json(failure(77777, f"key {SENTINEL} odd"))
    with pytest.raises(mailspec.ProviderError) as info:
        secret_provider.send(message())
    _assert_hidden(info.value)


def test_malformed_answer_echoing_the_key_is_redacted(httpserver, secret_provider):
    httpserver.expect_request(SEND_PATH).respond_with_data(
        f"<html>bad request: api_key={SENTINEL}</html>", status=200
    )
    with pytest.raises(MalformedResponseError) as info:
        secret_provider.send(message())
    _assert_hidden(info.value)
    assert "***" in str(info.value)


# 17 characters, two of them changed by percent-encoding
EDGE_KEY = "Zq7/XwVb9+RtLmN4p"


@pytest.mark.parametrize("position", [100, 110, 116])
@pytest.mark.parametrize("form", [str, quote, quote_plus], ids=["raw", "quote", "quote_plus"])
def test_a_key_echoed_across_the_preview_cut_shows_no_part_of_it(
    httpserver, make_provider, position, form
):
    """The preview of an unreadable body is cut at 120 characters; a key straddling the
    cut must be redacted whole, not cut first so that its start no longer matches."""
    echoed = form(EDGE_KEY) if form is str else form(EDGE_KEY, safe="")
    body = "a" * position + echoed + "b" * 60
    httpserver.expect_request(SEND_PATH).respond_with_data(body, status=200)
    with pytest.raises(MalformedResponseError) as info:
        make_provider(api_key=EDGE_KEY).send(message())
    texts = [*_texts(info.value), "".join(traceback.format_exception(info.value))]
    runs = {EDGE_KEY[i : i + 4] for i in range(len(EDGE_KEY) - 3)}
    for text in texts:
        assert not [run for run in runs if run in text], text
    assert "aaaa" in str(info.value)  # the preview is there, just not the key


def test_malformed_status_answer_echoing_the_key_is_redacted(httpserver, secret_provider):
    httpserver.expect_request(STATUS_PATH).respond_with_data(
        f'{{"result": true, "statusCode": 200, "info": {{"voList": "{SENTINEL}"}}}}'
    )
    with pytest.raises(MalformedResponseError) as info:
        secret_provider.status(["id1"])
    _assert_hidden(info.value)


def test_transport_errors_hide_the_key(closed_port, raw_server):
    refused = mailspec.provider(
        "aurorasendcloud",
        api_user="u",
        api_key=SENTINEL,
        base_url=f"http://127.0.0.1:{closed_port}/",
    )
    errors: list[MailspecError] = []
    for call in (lambda: refused.send(message()), lambda: refused.status(["id1"])):
        with pytest.raises(TransportError) as info:
            call()
        errors.append(info.value)

    hold = threading.Event()

    def silent(server: RawServer, conn: socket.socket) -> None:
        server.read_request(conn)
        hold.wait(3)

    server = raw_server(silent)
    slow = mailspec.provider(
        "aurorasendcloud", api_user="u", api_key=SENTINEL, base_url=server.url, timeout=0.3
    )
    try:
        with pytest.raises(TransportError) as info:
            slow.status(["id1"])  # a GET: the key is in the URL's query string
        errors.append(info.value)
    finally:
        hold.set()
    assert SENTINEL.encode() in server.requests[0]
    _assert_hidden(*errors)


def test_validation_errors_hide_the_key(httpserver, secret_provider):
    with pytest.raises(ValidationError) as info:
        secret_provider.send(message(to=["nope"]))
    _assert_hidden(info.value)
    with pytest.raises(ValidationError) as info:
        mailspec.provider("aurorasendcloud", api_user="u", api_key=SENTINEL, region="mars")
    _assert_hidden(info.value)


def test_mailspec_debug_logs_hide_the_key(httpserver, secret_provider, caplog):
    httpserver.expect_request(SEND_PATH).respond_with_json(ok_send("e1"))
    httpserver.expect_request(STATUS_PATH).respond_with_json(ok_status([], total=0))
    caplog.set_level(logging.DEBUG, logger="mailspec")
    secret_provider.send(message())
    secret_provider.status(["e1"])
    httpserver.clear()
    httpserver.expect_request(SEND_PATH).respond_with_json(failure(40005, f"bad key {SENTINEL}"))
    with pytest.raises(AuthenticationError):
        secret_provider.send(message())
    records = [r for r in caplog.records if r.name.startswith("mailspec")]
    assert len(records) >= 3  # one per request: the check below has something to look at
    assert any(STATUS_PATH in r.getMessage() for r in records)
    for record in records:
        assert SENTINEL not in record.getMessage()
        assert SENTINEL not in repr(record.args)
    # (caplog also holds werkzeug's server-side access log, which shows the query string
    # the test server received: that is the far end of the wire, not mailspec)


def test_secret_refuses_pickling_and_copying():
    secret = Secret(SENTINEL)
    assert secret.reveal() == SENTINEL
    assert SENTINEL not in repr(secret) and SENTINEL not in str(secret)
    assert SENTINEL not in f"{secret}" and SENTINEL not in format(secret)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="credentials cannot be pickled"):
            pickle.dumps(secret, protocol=protocol)
    with pytest.raises(TypeError, match="credentials cannot be pickled"):
        copy.deepcopy(secret)


def test_provider_cannot_be_pickled_with_its_key():
    p = mailspec.provider("aurorasendcloud", api_user="u", api_key=SENTINEL)
    # mailspec's own refusal, not whatever else in the provider (a lock) cannot be pickled
    with pytest.raises(TypeError, match="credentials cannot be pickled"):
        pickle.dumps(p)
    with pytest.raises(TypeError, match="credentials cannot be pickled"):
        pickle.dumps(p.client._secrets)


@pytest.mark.parametrize("value", ["", None, 123])
def test_secret_must_be_a_non_empty_string(value):
    with pytest.raises(TypeError):
        Secret(value)  # type: ignore[arg-type]
