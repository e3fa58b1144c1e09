"""provider.send_sms() on the wire: the SMS API's own credentials, plain or signed, the
form it posts, every SMS answer code, and what never reaches the network.

Real HTTP on 127.0.0.1 (pytest-httpserver); the only thing replaced is the clock
(``time.time``), so that a signed request's timestamp, and so its signature, is known.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar
from urllib.parse import quote, quote_plus

import msgspec
import pytest
from pytest_httpserver import HTTPServer

import mailspec
from mailspec import (
    AuthenticationError,
    ProviderValidationError,
    QuotaExceededError,
    RateLimitError,
    SmsResult,
    TemplateError,
    UnsupportedOperation,
    ValidationError,
)
from mailspec.adapters.base import Provider
from mailspec.generated.aurorasendcloud import AurorasendcloudClient
from mailspec.generated.aurorasendcloud.spec import SPEC
from mailspec.runtime.signing import valid_signature
from mailspec.spec_model import Spec

SMS_PATH = "/smsapi/send"
USER, KEY = "sms-user", "sms-key-0123"
SECRET = "SMS Sentinel+Secret/789"  # three wire forms: as is, quote, quote_plus
NUMBERS = ["+6591234567", "+6598765432"]
VARIABLES = {"code": "4242"}
CLOCK = 1_700_000_000.123  # the fixed time.time() of the signed tests
STAMP = "1700000000123"  # ... in milliseconds, as sent

# Known-answer vectors, computed once outside mailspec (hashlib over the text below)
# for NUMBERS, template "T-1001", VARIABLES and CLOCK, and written down literally.
SIGNED_TEXT = (
    "sms-key-0123&phone=+6591234567,+6598765432&smsUser=sms-user&templateId=T-1001"
    '&timestamp=1700000000123&vars={"code":"4242"}&sms-key-0123'
)
MD5_SIGNATURE = "1235439a51670b106bc4b6a20efb97b5"
SHA256_SIGNATURE = "b6f31c0f26a0ab2faa7861946b8069179fe77cf67fbfb85064838ba596e9446e"


def ok_sms(*ids: str, code: int = 200) -> dict[str, Any]:
    return {
        "result": True,
        "statusCode": code,
        "message": "ok",
        "info": {"successCount": len(ids), "smsIds": list(ids)},
    }


def sms_provider(server: HTTPServer, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "api_user": "u",
        "api_key": "k",
        "sms_user": USER,
        "sms_key": KEY,
        "base_url": server.url_for("/"),
        "timeout": 5,
    }
    options.update(overrides)
    return mailspec.provider("aurorasendcloud", **options)


def sent_form(server: HTTPServer) -> dict[str, str]:
    assert len(server.log) == 1, server.log
    request = server.log[0][0]
    assert request.path == SMS_PATH and request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return dict(request.form.items())


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: CLOCK)


# --- the plain form ----------------------------------------------------------------


def test_plain_request_carries_the_sms_credentials_and_nothing_of_the_mail_api(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(SMS_PATH, method="POST").respond_with_json(ok_sms("s1", "s2"))
    result = sms_provider(httpserver).send_sms(NUMBERS, "T-1001", {"code": "4242", "name": "Ann"})
    assert sent_form(httpserver) == {
        "smsUser": USER,
        "smsKey": KEY,
        "templateId": "T-1001",
        "phone": "+6591234567,+6598765432",
        "vars": '{"code":"4242","name":"Ann"}',
    }
    assert result == SmsResult(
        provider="aurorasendcloud", message_ids=["s1", "s2"], code=200, partial=False
    )


def test_one_number_as_a_string_and_no_variables(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    result = sms_provider(httpserver).send_sms("+6591234567", "T-1001")
    form = sent_form(httpserver)
    assert form["phone"] == "+6591234567"
    assert "vars" not in form
    assert result.message_ids == ["s1"]


def test_variables_travel_as_one_json_string(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    variables = {"name": "Zoë & co", "link": "https://x.example/?a=1&b=2"}
    sms_provider(httpserver).send_sms(("+6591234567",), "T-1001", variables)
    assert json.loads(sent_form(httpserver)["vars"]) == variables


def test_sms_goes_to_the_global_sms_base_whatever_the_region() -> None:
    for region in SPEC.regions:
        provider = mailspec.provider(
            "aurorasendcloud", api_user="u", api_key="k", sms_user=USER, sms_key=KEY, region=region
        )
        # the mail API follows the region; the SMS API has one endpoint
        assert provider.client.base_url == SPEC.regions[region].base_url
        assert provider.client._bases["sms"] == "https://api.aurorasendcloud.com/"


def test_the_partial_success_code_is_a_success_marked_partial(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1", code=311))
    result = sms_provider(httpserver).send_sms(NUMBERS, "T-1001")
    assert (result.code, result.partial, result.message_ids) == (311, True, ["s1"])


def test_the_code_is_read_under_its_alias_spelling_too(httpserver: HTTPServer) -> None:
    answer = ok_sms("s1", code=311)
    answer["statuscode"] = answer.pop("statusCode")
    httpserver.expect_request(SMS_PATH).respond_with_json(answer)
    assert sms_provider(httpserver).send_sms(NUMBERS, "T-1001").partial is True


# --- the signed form ----------------------------------------------------------------


def test_signed_request_sends_a_signature_instead_of_the_key(
    httpserver: HTTPServer, fixed_clock: None
) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1", "s2"))
    result = sms_provider(httpserver, signed=True).send_sms(NUMBERS, "T-1001", VARIABLES)
    form = sent_form(httpserver)
    assert form == {
        "smsUser": USER,
        "templateId": "T-1001",
        "phone": "+6591234567,+6598765432",
        "vars": '{"code":"4242"}',
        "timestamp": STAMP,
        "signature": MD5_SIGNATURE,
    }
    assert KEY.encode() not in httpserver.log[0][0].get_data()
    assert result.message_ids == ["s1", "s2"]


def test_the_known_answer_vectors_are_what_they_claim() -> None:
    """The literals above, recomputed from the signed text (a typo in them fails here)."""
    import hashlib

    assert hashlib.md5(SIGNED_TEXT.encode()).hexdigest() == MD5_SIGNATURE
    assert hashlib.sha256(SIGNED_TEXT.encode()).hexdigest() == SHA256_SIGNATURE


def signing_by(algorithm: str) -> Spec:
    """The generated spec with its SMS set signing by ``algorithm``."""
    sms = SPEC.auth.sets["sms"]
    assert sms.signing is not None
    signing = msgspec.structs.replace(sms.signing, algorithm=algorithm)
    sets = {"sms": msgspec.structs.replace(sms, signing=signing)}
    return msgspec.structs.replace(SPEC, auth=msgspec.structs.replace(SPEC.auth, sets=sets))


class Sha256Client(AurorasendcloudClient):
    spec: ClassVar[Spec] = signing_by("sha256")


def test_sha256_signing(httpserver: HTTPServer, fixed_clock: None) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    client = Sha256Client(
        credentials={"api_user": "u", "api_key": "k", "sms_user": USER, "sms_key": KEY},
        base_url=httpserver.url_for("/"),
        signed=True,
    )
    Provider(client).send_sms(NUMBERS, "T-1001", VARIABLES)
    form = sent_form(httpserver)
    assert form["signature"] == SHA256_SIGNATURE
    assert "smsKey" not in form


@pytest.mark.parametrize(
    "field, value",
    [
        ("phone", "+6591234567"),
        ("templateId", "T-1002"),
        ("vars", '{"code":"4243"}'),
        ("timestamp", "1700000000124"),
        ("smsUser", "someone-else"),
    ],
)
def test_a_tampered_value_fails_verification(
    httpserver: HTTPServer, fixed_clock: None, field: str, value: str
) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    sms_provider(httpserver, signed=True).send_sms(NUMBERS, "T-1001", VARIABLES)
    form = sent_form(httpserver)
    given = form.pop("signature")
    assert valid_signature(form.items(), given, algorithm="md5", key=KEY)
    assert not valid_signature(form.items(), given, algorithm="md5", key=KEY + "x")
    assert not valid_signature({**form, field: value}.items(), given, algorithm="md5", key=KEY)


def test_a_fresh_timestamp_for_every_signed_request(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    provider = sms_provider(httpserver, signed=True)
    signatures = []
    for now in (CLOCK, CLOCK + 1):
        monkeypatch.setattr("time.time", lambda now=now: now)
        provider.send_sms(NUMBERS, "T-1001", VARIABLES)
        signatures.append(dict(httpserver.log[-1][0].form.items()))
    assert [s["timestamp"] for s in signatures] == [STAMP, "1700000001123"]
    assert signatures[0]["signature"] != signatures[1]["signature"]


# --- every SMS answer code ------------------------------------------------------------

# code -> (error class, retryable), as the spec's table says
SMS_ERRORS: dict[int, tuple[type[mailspec.ProviderError], bool]] = {
    312: (ProviderValidationError, False),
    411: (ProviderValidationError, False),
    412: (ProviderValidationError, False),
    413: (ProviderValidationError, False),
    422: (AuthenticationError, False),
    431: (TemplateError, False),
    432: (TemplateError, False),
    433: (TemplateError, False),
    461: (ProviderValidationError, False),
    496: (RateLimitError, True),
    498: (RateLimitError, True),
    499: (QuotaExceededError, False),
}


def test_the_table_covers_every_sms_code() -> None:
    sms_codes = {c for c in SPEC.codes if 300 <= c < 500}
    assert sms_codes == {311, *SMS_ERRORS}


@pytest.mark.parametrize("code", sorted(SMS_ERRORS))
def test_an_sms_error_code_raises_its_class(httpserver: HTTPServer, code: int) -> None:
    expected, retryable = SMS_ERRORS[code]
    httpserver.expect_request(SMS_PATH).respond_with_json(
        {"result": False, "statusCode": code, "message": f"refused {code}", "info": {}}
    )
    with pytest.raises(mailspec.ProviderError) as info:
        sms_provider(httpserver).send_sms(NUMBERS, "T-1001")
    error = info.value
    assert type(error) is expected
    assert (error.provider, error.code, error.retryable) == ("aurorasendcloud", code, retryable)
    assert error.message == f"refused {code}"


# --- refused before any I/O -----------------------------------------------------------


@pytest.mark.parametrize(
    "to, code",
    [
        ("12345", 412),
        ("6591234567", 412),  # no +
        ("+0123456789", 412),  # no country code starts with 0
        ("+65 9123 4567", 412),
        ("+6591234567,+6598765432", 412),  # a comma would split the joined list
        ("+1234567890123456", 412),  # 16 digits
        (["+6591234567", "nope"], 412),
        ("", 412),  # one number, blank
        ([], 411),  # no number at all
    ],
)
def test_an_invalid_number_never_reaches_the_server(
    httpserver: HTTPServer, to: Any, code: int
) -> None:
    with pytest.raises(ValidationError) as info:
        sms_provider(httpserver).send_sms(to, "T-1001")
    assert (info.value.field, info.value.code) == ("to", code)
    if code == 412:
        assert "E.164 phone number" in str(info.value)
    assert httpserver.log == []


@pytest.mark.parametrize(
    "template_id, variables, field",
    [
        ("", None, "template_id"),
        (1001, None, "template_id"),
        ("T-1001", {"code": 4242}, "variables"),
        ("T-1001", ["code"], "variables"),
    ],
)
def test_other_invalid_arguments_never_reach_the_server(
    httpserver: HTTPServer, template_id: Any, variables: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        sms_provider(httpserver).send_sms(NUMBERS, template_id, variables)
    assert info.value.field == field
    assert httpserver.log == []


@pytest.mark.parametrize(
    "name, credentials",
    [
        ("cloudmails", {"api_key": "k"}),
        ("aotsend", {"app_key": "k"}),
        ("sendcloud", {"api_user": "u", "api_key": "k"}),
    ],
)
def test_providers_without_sms_refuse_before_io(
    httpserver: HTTPServer, name: str, credentials: dict[str, str]
) -> None:
    provider = mailspec.provider(name, base_url=httpserver.url_for("/"), **credentials)
    assert provider.capabilities.sms is False
    with pytest.raises(UnsupportedOperation) as info:
        provider.send_sms("not even a number", "T-1001")  # refused before it is looked at
    assert (info.value.provider, info.value.operation) == (name, "send_sms")
    assert str(info.value) == f"{name} does not support send_sms"
    assert httpserver.log == []


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize(
    "given, missing", [({}, "sms_user, sms_key"), ({"sms_user": USER}, "sms_key")]
)
def test_missing_sms_credentials_are_named_before_io(
    httpserver: HTTPServer, signed: bool, given: dict[str, str], missing: str
) -> None:
    provider = mailspec.provider(
        "aurorasendcloud",
        api_user="u",
        api_key="k",
        base_url=httpserver.url_for("/"),
        signed=signed,
        **given,
    )
    with pytest.raises(ValidationError) as info:
        provider.send_sms(NUMBERS, "T-1001")
    assert str(info.value) == (
        "aurorasendcloud: credentials: send_sms needs the credentials sms_user, sms_key; "
        f"pass {missing} to mailspec.provider()"
    )
    assert httpserver.log == []


# --- the SMS key never shows ----------------------------------------------------------


def _shown(*objects: object) -> list[str]:
    texts = []
    for obj in objects:
        texts += [repr(obj), str(obj)]
        if isinstance(obj, BaseException):
            texts += [repr(obj.args), repr(vars(obj))]
    return [t for t in texts if SECRET in t or quote_plus(SECRET) in t]


@pytest.mark.parametrize("signed", [False, True])
def test_the_sms_key_never_shows_in_reprs_results_or_errors(
    httpserver: HTTPServer, signed: bool
) -> None:
    provider = sms_provider(httpserver, sms_user=SECRET + "-user", sms_key=SECRET, signed=signed)
    httpserver.expect_ordered_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    httpserver.expect_ordered_request(SMS_PATH).respond_with_json(
        {"result": False, "statusCode": 422, "message": f"bad smsKey={SECRET}", "info": {}}
    )
    result = provider.send_sms(NUMBERS, "T-1001")
    with pytest.raises(AuthenticationError) as refused:
        provider.send_sms(NUMBERS, "T-1001")
    with pytest.raises(ValidationError) as invalid:
        provider.send_sms("bad", "T-1001")
    assert refused.value.message == "bad smsKey=***"
    assert _shown(provider, provider.client, result, refused.value, invalid.value) == []
    # the key did travel in the plain form (so the checks above are not vacuous)
    first = httpserver.log[0][0].form
    assert (first.get("smsKey") == SECRET) is not signed


def test_the_urllib3_debug_filter_redacts_the_sms_credentials(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    provider = sms_provider(httpserver, sms_user="plain-user", sms_key=SECRET)
    httpserver.expect_request(SMS_PATH).respond_with_json(ok_sms("s1"))
    caplog.set_level(logging.DEBUG)
    provider.send_sms(NUMBERS, "T-1001")
    # urllib3 logs its connections (the Transport writes the request itself); a record
    # that does carry the key (a proxy's error, a future urllib3) goes through the same
    # installed filter
    logger = logging.getLogger("urllib3.connectionpool")
    for form in (SECRET, quote(SECRET, safe=""), quote_plus(SECRET)):
        logger.debug("POST /smsapi/send?smsKey=%s HTTP/1.1", form)
    urllib3_records = [r for r in caplog.records if r.name.startswith("urllib3")]
    assert any("Starting new HTTP connection" in r.getMessage() for r in urllib3_records)
    assert sum("smsKey=***" in r.getMessage() for r in urllib3_records) == 3
    for record in caplog.records:
        if not record.name.startswith("werkzeug"):  # the far end's own access log
            assert SECRET not in record.getMessage(), record.getMessage()
