"""Every ```python example of README.md and docs/ runs, as written, against the sandbox
(scripts/run_examples.py): no example can rot. An example that cannot run here says so
before its fence, with the reason, and such examples stay few."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("run_examples", ROOT / "scripts" / "run_examples.py")
assert _spec is not None and _spec.loader is not None
run_examples = importlib.util.module_from_spec(_spec)
sys.modules["run_examples"] = run_examples
_spec.loader.exec_module(run_examples)

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MOST_NOT_RUN = 8  # across all pages: a reason each, and few


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_of_a_page_run(page: Path) -> None:
    failures = run_examples.run_files([page])
    assert failures == [], "\n".join(failures)


def test_examples_that_do_not_run_are_few_and_say_why() -> None:
    not_run = [e for page in PAGES for e in run_examples.examples(page) if e.not_run]
    assert len(not_run) <= MOST_NOT_RUN, [e.where for e in not_run]
    assert all(len(e.not_run.split()) >= 4 for e in not_run)  # a reason, not a tag


def test_a_failing_example_is_reported_with_its_place(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```python\nx = 1\n```\n\n## Broken\n\n```python\nmailspec.provider('nosuch')\n```\n",
        encoding="utf-8",
    )
    (failure,) = run_examples.run_files([page])
    assert failure.startswith(f"{page}:9 (Broken):")
    assert "ValidationError" in failure
