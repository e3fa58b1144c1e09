"""Operation names the client itself uses are refused; codes whose message has no ASCII
words still get a readable enum member."""

from __future__ import annotations

import pytest
from codegen_support import reference_text

from mailspec.codegen.checks import check
from mailspec.codegen.context import build
from mailspec.codegen.loader import SpecError, load_text
from mailspec.runtime import BaseClient
from mailspec.spec_model import RESERVED_OPERATION_NAMES

SPEC = reference_text()


@pytest.mark.parametrize("name", sorted(RESERVED_OPERATION_NAMES))
def test_operation_may_not_shadow_the_client(name: str) -> None:
    with pytest.raises(
        SpecError, match=f"operations.{name}: '{name}' is taken by the client itself"
    ):
        check(load_text(SPEC.replace("  send_sms:\n", f"  {name}:\n", 1), "spec/x.yaml"))


def test_reserved_names_cover_what_the_client_defines() -> None:
    client_methods = {
        n for n in vars(BaseClient) if not n.startswith("_") and callable(getattr(BaseClient, n))
    }
    assert client_methods <= RESERVED_OPERATION_NAMES


def test_code_message_without_ascii_words_is_named_by_its_number() -> None:
    text = SPEC.replace("message: Request was successful,", "message: 请求成功,", 1)
    members = dict(build(load_text(text, "spec/x.yaml"), "spec/x.yaml").code_members)
    assert members["CODE_200"] == 200
    assert "FIELD" not in members
