"""`spec check` names the section a comment cites whole, sentence-case titles included
("Error codes"), and still stops at the prose after a title."""

from __future__ import annotations

import pytest

from mailspec.codegen.lint import _section


@pytest.mark.parametrize(
    ("text", "section"),
    [
        ("Error codes: 401 means a bad key", "Error codes"),
        ("Send an email (POST /send)", "Send an email"),
        ("Check delivery status.", "Check delivery status"),
        ("Error codes, every row", "Error codes"),
        ("Complete Status Code Reference: 50000", "Complete Status Code Reference"),
        ("SMS Integration sends one request per batch", "SMS Integration"),
        ("Next Steps advises webhooks over polling.", "Next Steps"),
        ("Pagination and Limits says 100 ids", "Pagination and Limits"),
    ],
)
def test_the_cited_section(text: str, section: str) -> None:
    assert _section(text) == section
