"""The demo output README.md shows is what `mailspec demo` prints (the demo is seeded:
the same figures every run), so the front page can never show a stale summary."""

from __future__ import annotations

import io
from pathlib import Path

from markdown_support import fenced_blocks

from mailspec.demo import print_report, run_demo

README = Path(__file__).resolve().parent.parent / "README.md"


def shown_output() -> str:
    """The README's fenced block that starts with the demo's table heading."""
    (shown,) = [
        b.text
        for b in fenced_blocks(README)
        if not b.lang and b.text.startswith("provider ") and "accepted" in b.text.split("\n")[0]
    ]
    return shown


def test_the_readme_shows_what_the_demo_prints() -> None:
    printed = io.StringIO()
    print_report(run_demo(40), printed)  # 40: `mailspec demo`'s default, as scripts/demo runs it
    assert shown_output() == printed.getvalue()
