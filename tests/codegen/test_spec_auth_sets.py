"""Malformed specs around credential sets, request signing and the SMS operation, each
with the exact error a spec author sees: ``spec/x.yaml:LINE:COL: path: message``.

Like test_codegen_malformed.py, each case is one small edit of the reference spec, and
positions are computed from the edited text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from codegen_support import position, reference_text

from mailspec.codegen.checks import check
from mailspec.codegen.loader import SpecError, load_text

FILE = "spec/x.yaml"
REF = reference_text()
SMS_OP = "    summary: Send an SMS from a template"


def edit(old: str, new: str, text: str = REF) -> str:
    assert text.count(old) == 1, f"the reference spec holds {old!r} {text.count(old)} times"
    return text.replace(old, new, 1)


def at(text: str, needle: str, offset: int = 0) -> str:
    line, col = position(text, needle, offset)
    return f"{FILE}:{line}:{col}"


def after(text: str, anchor: str, needle: str, offset: int = 0) -> str:
    """``at`` for the first ``needle`` after ``anchor`` (a needle the file repeats)."""
    index = text.index(needle, text.index(anchor)) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{FILE}:{line}:{column}"


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: Callable[[str], str]  # the edited text -> the full error message


SIGNING = "signing: {algorithm: md5, key: sms_key, param: signature, timestamp: timestamp,"

CASES = [
    Case(
        "set-named-default",
        edit("  sets:\n    sms:\n", "  sets:\n    default:\n"),
        lambda t: (
            f"{at(t, 'default:', 0)}: auth.sets.default: "
            "'default' is an auth keyword of operations; choose another name"
        ),
    ),
    Case(
        "set-named-none",
        edit("  sets:\n    sms:\n", "  sets:\n    none:\n"),
        lambda t: (
            f"{at(t, '    none:', 4)}: auth.sets.none: "
            "'none' is an auth keyword of operations; choose another name"
        ),
    ),
    Case(
        "set-credential-already-in-auth-body",
        edit("body: {sms_user: smsUser,", "body: {api_user: smsUser,"),
        lambda t: (
            f"{at(t, 'api_user: smsUser')}: auth.sets.sms.body.api_user: "
            "credential 'api_user' is already defined"
        ),
    ),
    Case(
        "set-credential-twice-in-two-sets",
        edit(
            "      code: 422 ",
            "      code: 422\n    mms:\n      body: {sms_user: mmsUser}\n     ",
        ),
        lambda t: (
            f"{at(t, 'sms_user: mmsUser')}: auth.sets.mms.body.sms_user: "
            "credential 'sms_user' is already defined"
        ),
    ),
    Case(
        "signing-key-not-in-the-set",
        edit("key: sms_key,", "key: sms_secret,"),
        lambda t: (
            f"{at(t, 'key: sms_secret')}: auth.sets.sms.signing.key: "
            "'sms_secret' is not a credential of this set (sms_user, sms_key)"
        ),
    ),
    Case(
        "set-code-not-in-the-codes-table",
        edit("      code: 422 ", "      code: 423 "),
        lambda t: f"{at(t, 'code: 423')}: auth.sets.sms.code: code 423 is not in the codes table",
    ),
    Case(
        "stale-code-not-in-the-codes-table",
        edit("stale_code: 461", "stale_code: 462"),
        lambda t: (
            f"{at(t, 'stale_code: 462')}: auth.sets.sms.signing.stale_code: "
            "code 462 is not in the codes table"
        ),
    ),
    Case(
        "stale-code-without-a-timestamp",
        edit(SIGNING, SIGNING.replace(" timestamp: timestamp,", "")),
        lambda t: (
            f"{at(t, 'stale_code: 461')}: auth.sets.sms.signing.stale_code: "
            "a stale request needs a timestamp to be stale by; name the timestamp parameter"
        ),
    ),
    Case(
        "operation-auth-names-no-set",
        edit("    auth: sms ", "    auth: mms "),
        lambda t: (
            f"{at(t, 'auth: mms')}: operations.send_sms.auth: "
            "'mms' is neither default, none nor a set in auth.sets (sms)"
        ),
    ),
    Case(
        "signed-set-on-a-json-operation",
        edit("    base: sms\n    encoding: form\n", "    base: sms\n    encoding: json\n"),
        lambda t: (
            f"{at(t, 'encoding: json')}: operations.send_sms.encoding: auth set 'sms' signs "
            "its requests, which only a form or query encoding can carry"
        ),
    ),
    Case(
        "send-sms-missing-its-params",
        edit("      template_id: {wire: templateId,", "      template: {wire: templateId,"),
        lambda t: (
            f"{after(t, SMS_OP, 'params:')}: operations.send_sms.params: send_sms takes the "
            "parameters to, template_id, variables (missing template_id); "
            "`wire` gives the provider's spelling"
        ),
    ),
    Case(
        "send-sms-answer-without-its-code",
        edit(
            "      status_code: {wire: statusCode, aliases: [statuscode], type: int}\n"
            "      message: {type: str}\n      info: {type: SmsInfo}\n",
            "      message: {type: str}\n      info: {type: SmsInfo}\n",
        ),
        lambda t: (
            f"{after(t, SMS_OP, 'response:')}: operations.send_sms.response: shape "
            "'SmsResponse' has no field for the answer's code (the envelope's code, read from "
            "the body), which send_sms reports"
        ),
    ),
    Case(
        "count-path-to-a-list",
        edit("count: info.success_count", "count: info.sms_ids"),
        lambda t: (
            f"{at(t, 'count: info.sms_ids')}: operations.send_sms.count: "
            "'info.sms_ids' must be an int field, not list[str]"
        ),
    ),
    Case(
        "count-path-that-does-not-resolve",
        edit("count: info.success_count", "count: info.successes"),
        lambda t: (
            f"{at(t, 'count: info.successes')}: operations.send_sms.count: "
            "shape 'SmsInfo' has no field 'successes'"
        ),
    ),
    Case(
        "partial-on-a-failure-code",
        edit(
            "312: {message: Every number was refused, category: validation,",
            "312: {message: Every number was refused, category: validation, partial: true,",
        ),
        lambda t: (
            f"{after(t, '  312:', 'partial: true')}: codes[312].partial: "
            "partial marks a success for some of the recipients; this code is not a success"
        ),
    ),
    Case(
        "code-of-an-unknown-operation",
        edit(
            "496: {message: SMS sending too frequent, category: rate_limit, operations: [send_sms]}",
            "496: {message: SMS sending too frequent, category: rate_limit, operations: [send_mms]}",
        ),
        lambda t: (
            f"{after(t, '  496:', 'send_mms')}: codes[496].operations[0]: no operation 'send_mms'"
        ),
    ),
]


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        check(load_text(text, FILE))
    return str(info.value)


def test_the_reference_spec_passes_and_the_ids_are_unique() -> None:
    check(load_text(REF, FILE))
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_auth_set_reports_file_line_column_path_and_message(case: Case) -> None:
    assert _error(case.text) == case.expected(case.text)


def test_a_signed_set_on_a_query_operation_is_fine() -> None:
    check(
        load_text(
            edit("    base: sms\n    encoding: form\n", "    base: sms\n    encoding: query\n"),
            FILE,
        )
    )
