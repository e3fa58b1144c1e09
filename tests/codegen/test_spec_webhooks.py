"""Malformed ``webhooks:`` tables, each with the exact error a spec author sees:
``spec/x.yaml:LINE:COL: path: message``.

Each case is one small edit of the reference spec's webhooks table (the needle is
asserted to exist first); positions are computed from the edited text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from codegen_support import MINIMAL_SPEC, position, reference_text

from mailspec.codegen.checks import check
from mailspec.codegen.loader import SpecError, load_text
from mailspec.vocabulary import EventType

FILE = "spec/x.yaml"
REF = reference_text()
HOOKS = REF[REF.index("\nwebhooks:\n") + 1 :]


def edit(old: str, new: str, text: str = REF) -> str:
    # the edit must land in the webhooks table, not an earlier look-alike
    assert old in HOOKS, f"the reference webhooks table no longer contains {old!r}"
    start = text.index("\nwebhooks:\n")
    return text[:start] + text[start:].replace(old, new, 1)


def at(text: str, needle: str) -> str:
    """The position of ``needle``'s first occurrence in the webhooks table (or, for a
    text without one at the end, anywhere)."""
    start = text.find("\nwebhooks:\n")
    skip = text.index(needle, max(start, 0)) - text.index(needle)
    line, col = position(text, needle, skip)
    return f"{FILE}:{line}:{col}"


# a spec without delivery tables, for webhooks that read a sub_status
NO_DELIVERY_HOOKS = MINIMAL_SPEC + (
    "webhooks:\n"
    "  encodings: [json]\n"
    "  fields: {event: event, sub_status: subStat}\n"
    "  events:\n"
    "    delivered: {type: delivered}\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: Callable[[str], str]  # the edited text -> the full error message


CASES = [
    Case(
        "no-encodings",
        edit("encodings: [form, json]", "encodings: []"),
        lambda t: (
            f"{at(t, 'encodings: []')}: webhooks.encodings: "
            "name at least one body encoding (form, json)"
        ),
    ),
    Case(
        "an-encoding-outside-the-list",
        edit("encodings: [form, json]", "encodings: [form, xml]"),
        lambda t: f'{at(t, "xml")}: webhooks.encodings[1]: "xml" is not one of: form, json',
    ),
    Case(
        "an-encoding-twice",
        edit("encodings: [form, json]", "encodings: [json, json]"),
        lambda t: (
            f"{at(t, 'encodings: [json')}: webhooks.encodings: encoding 'json' is listed twice"
        ),
    ),
    Case(
        "no-events",
        edit(
            HOOKS[HOOKS.index("  events:\n") : HOOKS.index("\n\n")],
            "  events: {}",
        ),
        lambda t: f"{at(t, 'events: {}')}: webhooks.events: list at least one event",
    ),
    Case(
        "event-type-outside-the-unified-list",
        edit("deliver: {type: delivered", "deliver: {type: landed"),
        lambda t: (
            f"{at(t, 'type: landed')}: webhooks.events.deliver.type: "
            f'"landed" is not one of: {", ".join(m.value for m in EventType)}'
        ),
    ),
    Case(
        "unknown-key-in-an-event",
        edit("deliver: {type: delivered,", "deliver: {type: delivered, state: delivered,"),
        lambda t: (
            f"{at(t, 'state: delivered')}: webhooks.events.deliver.state: "
            "unknown field 'state' (expected one of: description, type)"
        ),
    ),
    Case(
        "missing-event-field",
        edit("fields: {event: event, ", "fields: {"),
        lambda t: f"{at(t, 'fields: {')}: webhooks.fields: missing required field 'event'",
    ),
    Case(
        "empty-field-name",
        edit("recipient: recipient,", 'recipient: "",'),
        lambda t: (
            f"{at(t, 'recipient: ' + chr(34))}: webhooks.fields.recipient: "
            "name the payload field (an empty name matches nothing)"
        ),
    ),
    Case(
        "timestamp-format-outside-the-list",
        edit("timestamp_format: epoch", "timestamp_format: unix"),
        lambda t: (
            f"{at(t, 'timestamp_format: unix')}: webhooks.timestamp_format: "
            '"unix" is not one of: epoch, iso8601'
        ),
    ),
    Case(
        "sub-status-without-delivery-tables",
        NO_DELIVERY_HOOKS,
        lambda t: (
            f"{at(t, 'sub_status: subStat')}: webhooks.fields.sub_status: "
            "a sub_status is read through delivery.sub_states, which this spec does not have"
        ),
    ),
    Case(
        "signature-scheme-outside-the-list",
        edit("scheme: hmac_sha256", "scheme: md5"),
        lambda t: (
            f'{at(t, "scheme: md5")}: webhooks.signature.scheme: "md5" is not one of: hmac_sha256'
        ),
    ),
    Case(
        "signature-fields-not-distinct",
        edit("token: token, signature: signature", "token: signature, signature: signature"),
        lambda t: (
            f"{at(t, 'signature: {')}: webhooks.signature: "
            "timestamp, token and signature need distinct fields"
        ),
    ),
    Case(
        "signature-token-is-an-event-field",
        edit("token: token,", "token: emailId,"),
        lambda t: (
            f"{at(t, 'token: emailId')}: webhooks.signature.token: "
            "'emailId' is also webhooks.fields.message_id; the token needs a field of its own"
        ),
    ),
    Case(
        "signature-timestamp-is-the-message-id-field",
        edit(
            "signature: {scheme: hmac_sha256, timestamp: timestamp,",
            "signature: {scheme: hmac_sha256, timestamp: emailId,",
        ),
        lambda t: (
            f"{at(t, 'timestamp: emailId')}: webhooks.signature.timestamp: "
            "'emailId' is also webhooks.fields.message_id; the timestamp needs a field of its own"
        ),
    ),
    Case(
        "signature-field-is-the-event-field",
        edit("signature: signature,", "signature: event,"),
        lambda t: (
            f"{at(t, 'signature: event')}: webhooks.signature.signature: "
            "'event' is also webhooks.fields.event; the signature needs a field of its own"
        ),
    ),
    Case(
        "empty-signature-field-name",
        edit("token: token,", 'token: "",'),
        lambda t: (
            f"{at(t, 'token: ' + chr(34))}: webhooks.signature.token: "
            "name the payload field (an empty name matches nothing)"
        ),
    ),
    Case(
        "zero-tolerance",
        edit("tolerance_seconds: 300", "tolerance_seconds: 0"),
        lambda t: (
            f"{at(t, 'tolerance_seconds: 0')}: webhooks.signature.tolerance_seconds: "
            "expected an integer >= 1, got 0"
        ),
    ),
    Case(
        "empty-event-name",
        edit("    deliver: {type: delivered", '    "": {type: delivered'),
        lambda t: (
            f"{at(t, chr(34) * 2 + ': {type')}: webhooks.events.: an event name may not be empty"
        ),
    ),
]


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        check(load_text(text, FILE))
    return str(info.value)


def test_the_reference_webhooks_table_is_fine() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    check(load_text(REF, FILE))
    assert load_text(REF, FILE).spec.webhooks is not None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_webhooks_report_file_line_column_path_and_message(case: Case) -> None:
    assert _error(case.text) == case.expected(case.text)


def test_signature_timestamp_may_share_the_event_timestamp_field() -> None:
    # SendCloud signs the very timestamp its events carry: that is not a clash
    assert "timestamp: timestamp, token" in HOOKS
    check(load_text(REF, FILE))
