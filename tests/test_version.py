"""One version everywhere: pyproject.toml's, ``mailspec.__version__`` (what
``mailspec --version`` prints) and the latest released heading of CHANGELOG.md."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import mailspec

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _latest_release(changelog: str) -> str:
    """The first ``## X.Y.Z`` heading (an ``## Unreleased`` one above it aside)."""
    found = re.search(r"^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?", changelog, re.M)
    assert found, "CHANGELOG.md has no release heading (## X.Y.Z)"
    return found.group(1)


def test_the_package_says_the_version_pyproject_builds() -> None:
    assert mailspec.__version__ == _pyproject_version()


def test_the_changelogs_latest_release_is_the_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert _latest_release(changelog) == _pyproject_version()


def test_the_latest_release_is_read_past_unreleased() -> None:
    text = "# Changelog\n\n## Unreleased\n\n- x\n\n## 0.2.0 - 2026-12-01\n\n## 0.1.0\n"
    assert _latest_release(text) == "0.2.0"
