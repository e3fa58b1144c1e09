"""Limits from the specs are enforced before any I/O, with the provider's own
code where its spec names one: a table over all four providers, each case sent to a
running sandbox that must see no request at all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from spec_support import NAMES, SPECS, template_only

import mailspec
from mailspec import Message, UnsupportedOperation, ValidationError
from mailspec.message import Attachment
from mailspec.sandbox import SandboxServer

MIB10 = 10 * 1024 * 1024
MANY = [f"r{i}@example.org" for i in range(101)]


def base(provider: str, **over: Any) -> Message:
    fields: dict[str, Any] = {"from_email": "noreply@example.com", "to": ["ann@example.org"]}
    if template_only(provider):
        fields["template"] = "T-1"
    else:
        fields.update(subject="Hi", html="<p>x</p>")
    fields.update(over)
    return Message(**fields)


# (provider, case, message overrides, expected error, field, provider code or None)
CASES = [
    ("aurorasendcloud", "to>100", {"to": MANY}, ValidationError, "to", 40807),
    ("aurorasendcloud", "cc>100", {"cc": MANY}, ValidationError, "cc", None),
    ("aurorasendcloud", "bcc>100", {"bcc": MANY}, ValidationError, "bcc", None),
    ("aurorasendcloud", "reply_to>3", {"reply_to": MANY[:4]}, ValidationError, "reply_to", 40879),
    ("aurorasendcloud", "subject>255", {"subject": "s" * 256}, ValidationError, "subject", None),
    ("aurorasendcloud", "from_name>255", {"from_name": "n" * 256}, ValidationError, "from_name", None),
    ("aurorasendcloud", "attachments>10MiB",
     {"attachments": [Attachment("a.bin", b"\0" * (MIB10 + 1))]}, ValidationError, "attachments", None),
    ("sendcloud", "to>100", {"to": MANY}, ValidationError, "to", 40807),
    ("sendcloud", "cc>100", {"cc": MANY}, ValidationError, "cc", 40854),
    ("sendcloud", "bcc>100", {"bcc": MANY}, ValidationError, "bcc", 40857),
    ("sendcloud", "reply_to>3", {"reply_to": MANY[:4]}, ValidationError, "reply_to", 40879),
    ("sendcloud", "subject>255", {"subject": "s" * 256}, ValidationError, "subject", None),
    ("sendcloud", "from_name>255", {"from_name": "n" * 256}, ValidationError, "from_name", None),
    ("sendcloud", "attachments>10MiB",
     {"attachments": [Attachment("a.bin", b"\0" * (MIB10 + 1))]}, ValidationError, "attachments", 40819),
    ("sendcloud", "two attachments>10MiB in all",
     {"attachments": [Attachment("a", b"\0" * (MIB10 // 2 + 1))] * 2}, ValidationError, "attachments", 40819),
    ("cloudmails", "reply_to 2 (one address only)", {"reply_to": MANY[:2]}, ValidationError, "reply_to", None),
    ("cloudmails", "custom headers", {"headers": {"X-Order": "1"}}, UnsupportedOperation, None, None),
    ("aotsend", "reply_to 2 (one address only)", {"reply_to": MANY[:2]}, ValidationError, "reply_to", None),
    ("aotsend", "cc", {"cc": ["x@example.org"]}, UnsupportedOperation, None, None),
    ("aotsend", "attachments", {"attachments": [Attachment("a", b"x")]}, UnsupportedOperation, None, None),
]  # fmt: skip


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, SandboxServer]]:
    servers = {n: SandboxServer(n).start() for n in mailspec.available()}
    yield servers
    for s in servers.values():
        s.stop()


@pytest.mark.parametrize(
    ("provider", "case", "over", "error", "field", "code"),
    CASES,
    ids=[f"{c[0]}:{c[1]}" for c in CASES],
)
def test_limit_is_enforced_before_io(sandboxes, provider, case, over, error, field, code) -> None:
    server = sandboxes[provider]
    before = server.requests
    with pytest.raises(error) as info:
        server.provider().send(base(provider, **over))
    assert server.requests == before  # nothing reached the provider
    if error is ValidationError:
        assert info.value.field == field
        assert info.value.code == code
        if code is not None:
            assert str(code) in str(info.value)  # the provider's own code is named


@pytest.mark.parametrize("provider", NAMES)
def test_the_limit_itself_is_allowed(sandboxes, provider) -> None:
    """At the limit, not over it, the message goes through (the table is not refusing
    everything)."""
    server = sandboxes[provider]
    over: dict[str, Any] = {}
    if provider in ("aurorasendcloud", "sendcloud"):
        over = {"to": MANY[:100], "reply_to": MANY[:3], "subject": "s" * 255,
                "attachments": [Attachment("a.bin", b"\0" * MIB10)]}  # fmt: skip
    elif SPECS[provider].limits.recipients_per_request is not None:
        over = {"to": MANY[: SPECS[provider].limits.recipients_per_request]}
    before = len(server.accepted)
    server.provider().send(base(provider, **over))
    assert len(server.accepted) == before + (len(over["to"]) if over else 1)


RECIPIENT_LIMITS = {
    name: spec.limits.recipients_per_request
    for name, spec in SPECS.items()
    if spec.limits.recipients_per_request is not None
}


def test_the_known_recipient_limits() -> None:
    for name, limit in {"aurorasendcloud": 100, "sendcloud": 100}.items():
        assert RECIPIENT_LIMITS[name] == limit


@pytest.mark.parametrize("provider", sorted(RECIPIENT_LIMITS))
def test_one_recipient_over_the_spec_limit_is_refused_before_io(sandboxes, provider) -> None:
    limit = RECIPIENT_LIMITS[provider]
    server = sandboxes[provider]
    before = server.requests
    to = [f"r{i}@example.org" for i in range(limit + 1)]
    with pytest.raises(ValidationError) as info:
        server.provider().send(base(provider, to=to))
    assert server.requests == before
    assert info.value.field == "to"
