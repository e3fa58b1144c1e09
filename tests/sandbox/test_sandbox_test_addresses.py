"""A spec's ``sandbox`` section: the provider's documented test addresses and test
credentials, which mailspec's sandbox honours as the provider does. A spec generated
in the test; real HTTP to the sandbox on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from wire_support import mini_spec, register_spec, spec_error

from mailspec import AuthenticationError, DeliveryState, Message, registry
from mailspec.sandbox import SandboxServer

SANDBOX = """\
sandbox:
  source: Testwave API, Testing your integration
  recipients:
    bounced@test.example: {state: bounced, sub_status: hard}
    complained@test.example: {state: complained}
    silent@test.example: {state: delivered, silent: true}
  credentials: {api_key: [TESTWAVE_API_TEST]}
"""


PARAMS = """
to: {type: "list[str]", required: true}
from_email: {wire: from, type: str, required: true}
subject: {type: str, required: true}
text: {type: str}
"""
ROWS = "to: to\nfrom_email: from_email\nsubject: subject\ntext: text"


def spec(sandbox: str = SANDBOX) -> str:
    return mini_spec(PARAMS, ROWS, name="testwave") + sandbox


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def to(*addresses: str) -> Message:
    return Message(from_email="shop@example.com", to=list(addresses), subject="s", text="t")


def test_documented_test_addresses_reach_their_documented_state(root: Path) -> None:
    name = register_spec(root, spec())
    with SandboxServer(name) as server:
        server.set_outcome("soft_bounced", recipient="ann@example.org")
        server.provider().send(
            to("Bounced+Order-7@Test.Example", "complained@test.example", "ann@example.org")
        )
        server.provider().send(to("bob@example.org", "silent@test.example"))
        outcomes = {row.recipient: row.outcome for row in server.accepted}
    assert outcomes["Bounced+Order-7@Test.Example"].state == DeliveryState.BOUNCED  # label, case
    assert outcomes["Bounced+Order-7@Test.Example"].sub_status == "hard"
    assert outcomes["complained@test.example"].state == DeliveryState.COMPLAINED
    assert outcomes["ann@example.org"].state == DeliveryState.SOFT_BOUNCED  # a test's own wins
    assert outcomes["bob@example.org"].state == DeliveryState.DELIVERED
    assert outcomes["silent@test.example"].silent


def test_a_test_address_keeps_its_state_when_a_test_sets_everyone_elses(root: Path) -> None:
    name = register_spec(root, spec())
    with SandboxServer(name) as server:
        server.set_outcome("rejected")
        server.provider().send(to("bounced@test.example", "ann@example.org"))
        states = {row.recipient: row.outcome.state for row in server.accepted}
    assert states == {"bounced@test.example": "bounced", "ann@example.org": "rejected"}


def test_a_documented_test_credential_is_accepted_and_delivers_nothing(root: Path) -> None:
    name = register_spec(root, spec())
    with SandboxServer(name) as server:
        result = server.provider(api_key="TESTWAVE_API_TEST").send(to("ann@example.org"))
        (row,) = server.accepted
        assert result.message_ids == [row.message_id]
        assert (row.outcome.state, row.outcome.silent) == (DeliveryState.QUEUED, True)
        with pytest.raises(AuthenticationError):  # any other value is still refused
            server.provider(api_key="TESTWAVE_API_TEST2").send(to("ann@example.org"))
        server.provider().send(to("ann@example.org"))  # the configured one delivers
        assert server.accepted[-1].outcome.state == DeliveryState.DELIVERED


def test_without_the_section_the_test_values_are_refused(root: Path) -> None:
    name = register_spec(root, spec(sandbox=""))
    with SandboxServer(name) as server:
        with pytest.raises(AuthenticationError):
            server.provider(api_key="TESTWAVE_API_TEST").send(to("ann@example.org"))
        server.provider().send(to("bounced@test.example"))
        assert server.accepted[0].outcome.state == DeliveryState.DELIVERED


@pytest.mark.parametrize(
    "section, says",
    [
        ("  credentials: {secret: [X]}\n", "not a credential of this spec's auth"),
        ("  credentials: {api_key: []}\n", "at least one documented test value"),
        ("  recipients: {Ann@Test.Example: {state: bounced}}\n", "one address in lower case"),
        ("  recipients: {nobody: {state: bounced}}\n", "one address in lower case"),
        ("  recipients: {a@test.example: {state: vanished}}\n", "vanished"),
    ],
)
def test_a_wrong_section_is_named_at_its_line(root: Path, section: str, says: str) -> None:
    text = spec(sandbox="sandbox:\n  source: Testwave API, Testing\n" + section)
    error = spec_error(root, text)
    assert says in error and "sandbox" in error
