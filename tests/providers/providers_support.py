"""Helpers shared by the provider tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from mailspec import Message

SEEDS = Path("/work/shared/seeds")
if not SEEDS.is_dir():  # the seeds may sit beside the repository instead
    SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "from_email": "noreply@example.com",
        "to": ["ann@example.org"],
        "subject": "Your order",
        "html": "<p>Hi</p>",
    }
    fields.update(overrides)
    return Message(**fields)


def requests(httpserver: HTTPServer) -> list[Any]:
    return [request for request, _ in httpserver.log]


def only_request(httpserver: HTTPServer) -> Any:
    assert len(httpserver.log) == 1, httpserver.log
    return httpserver.log[0][0]


def document(title: str) -> Path:
    """The provider document of that title, found through the seeds README's table
    (``| file | provider | title to cite | ... |``)."""
    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    for row in readme.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2] == title:
            return SEEDS / cells[0]
    raise AssertionError(f"no document titled {title!r} in {SEEDS / 'README.md'}")


def seed_codes(title: str, after: str) -> list[int]:
    """Every number in the code column of a document's code table (the first number of
    each line after the heading ``after``)."""
    path = document(title)
    text = path.read_text(encoding="utf-8")
    _, found, table = text.partition(after)
    assert found, f"{after!r} not in {title} ({path.name})"
    return [int(m.group(1)) for m in re.finditer(r"^\|?\s*(\d{3,5})\s", table, re.MULTILINE)]
