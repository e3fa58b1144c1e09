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
            "unknown field 'state' (expected one of: description, fields, refine, type)"
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
        edit("scheme: hmac,", "scheme: md5,"),
        lambda t: (
            f'{at(t, "scheme: md5")}: webhooks.signature.scheme: "md5" is not one of: '
            "hmac, ecdsa_p256, basic_auth, token"
        ),
    ),
    Case(
        "signature-sources-not-distinct",
        edit("timestamp: timestamp, id: token,", "timestamp: token, id: token,"),
        lambda t: (
            f"{at(t, 'signature: {')}: webhooks.signature: "
            "the timestamp needs a source of its own, apart from the signature and id"
        ),
    ),
    Case(
        "signature-id-is-an-event-field",
        edit("id: token,", "id: emailId,"),
        lambda t: (
            f"{at(t, 'id: emailId, tolerance')}: webhooks.signature.id: "
            "'emailId' is also webhooks.fields.message_id; the id needs a field of its own"
        ),
    ),
    Case(
        "signature-timestamp-is-the-message-id-field",
        edit("timestamp: timestamp, id: token,", "timestamp: emailId, id: token,"),
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
        "empty-signature-source",
        edit("id: token,", 'id: "",'),
        lambda t: (
            f"{at(t, 'id: ' + chr(34))}: webhooks.signature.id: "
            "name the payload field (an empty name matches nothing)"
        ),
    ),
    Case(
        "hmac-without-what-is-signed",
        edit('signed: "{timestamp}{token}", ', ""),
        lambda t: (
            f"{at(t, 'signature: {')}: webhooks.signature: "
            "the hmac scheme needs signed: what is signed, as {timestamp}{token}"
        ),
    ),
    Case(
        "a-template-with-an-unbalanced-brace",
        edit('signed: "{timestamp}{token}"', 'signed: "{timestamp}token}"'),
        lambda t: (
            f"{at(t, 'signed: ')}: webhooks.signature.signed: "
            "not a template the receiver can read: unbalanced brace in 'token}'"
        ),
    ),
    Case(
        "a-template-naming-an-unreadable-path",
        edit('signed: "{timestamp}{token}"', 'signed: "{timestamp}{a..b}"'),
        lambda t: (
            f"{at(t, 'signed: ')}: webhooks.signature.signed: "
            "not a template the receiver can read: nothing after the dot at character 2 of 'a..b'"
        ),
    ),
    Case(
        "the-body-as-a-signature-source",
        edit("signature: signature,", "signature: body,"),
        lambda t: (
            f"{at(t, 'signature: body')}: webhooks.signature.signature: "
            "the raw body is not a value: name a header, a query or a field"
        ),
    ),
    Case(
        "a-key-the-scheme-does-not-use",
        edit("scheme: hmac,", "scheme: basic_auth,"),
        lambda t: (
            f"{at(t, 'signed: ')}: webhooks.signature.signed: "
            "the basic_auth scheme does not use signed"
        ),
    ),
    Case(
        "a-token-in-the-payload",
        edit(
            'signature: {scheme: hmac, signed: "{timestamp}{token}", signature: signature,\n'
            "              timestamp: timestamp, id: token, tolerance_seconds: 300}",
            "signature: {scheme: token, signature: token}",
        ),
        lambda t: (
            f"{at(t, 'signature: token')}: webhooks.signature.signature: "
            "a token travels in a header (header:NAME) or a query (query:NAME)"
        ),
    ),
    Case(
        "ecdsa-over-payload-fields",
        edit("scheme: hmac,", "scheme: ecdsa_p256,"),
        lambda t: (
            f"{at(t, 'signature: {')}: webhooks.signature: "
            "ECDSA signs the request: its sources are headers and the body, not fields"
        ),
    ),
    Case(
        "an-unreadable-field-path",
        edit("recipient: recipient,", 'recipient: "data.to[x]",'),
        lambda t: (
            f"{at(t, 'recipient: ' + chr(34))}: webhooks.fields.recipient: "
            "not a payload path the receiver can read: cannot read 'data.to[x]' at character 8"
        ),
    ),
    Case(
        "an-unreadable-records-path",
        edit("timestamp_format: epoch\n", 'timestamp_format: epoch\n  records: "a b"\n'),
        lambda t: (
            f"{at(t, 'records: ')}: webhooks.records: "
            "not a payload path the receiver can read: cannot read 'a b' at character 2"
        ),
    ),
    Case(
        "a-refining-path-the-receiver-cannot-read",
        edit(
            "deliver: {type: delivered,",
            'deliver: {type: delivered, refine: {path: "a[", types: {x: opened}},',
        ),
        lambda t: (
            f"{at(t, 'path: ' + chr(34))}: webhooks.events.deliver.refine.path: "
            "not a payload path the receiver can read: cannot read 'a[' at character 2"
        ),
    ),
    Case(
        "a-refine-without-types",
        edit(
            "deliver: {type: delivered,",
            "deliver: {type: delivered, refine: {path: severity, types: {}},",
        ),
        lambda t: (
            f"{at(t, 'types: {}')}: webhooks.events.deliver.refine.types: "
            "name at least one value and the type it gives"
        ),
    ),
    Case(
        "an-unreadable-path-of-one-event",
        edit("deliver: {type: delivered,", "deliver: {type: delivered, fields: {recipient: a.},"),
        lambda t: (
            f"{at(t, 'recipient: a.')}: webhooks.events.deliver.fields.recipient: "
            "not a payload path the receiver can read: nothing after the dot at character 2 of 'a.'"
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
    assert "{timestamp}{token}" in HOOKS and "timestamp: timestamp, id: token" in HOOKS
    check(load_text(REF, FILE))
