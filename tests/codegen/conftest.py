"""Fixtures for the code-generator tests; the helpers live in ``codegen_support``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from codegen_support import GENERATED_DIR, SPEC_DIR

from mailspec.codegen.schema import schema_text
from mailspec.codegen.writer import generate, render_dir


@pytest.fixture
def checkout_copy(tmp_path: Path) -> Path:
    """A temp copy of spec/ and generated/ (without caches), side by side, brought up to
    date, so that tests of drift on it do not depend on the checkout being in sync (the
    drift test of the checkout itself says that)."""
    shutil.copytree(SPEC_DIR, tmp_path / "spec")
    shutil.copytree(
        GENERATED_DIR, tmp_path / "generated", ignore=shutil.ignore_patterns("__pycache__")
    )
    generate(tmp_path / "spec", tmp_path / "generated")
    (tmp_path / "spec" / "schema.json").write_text(schema_text(), encoding="utf-8")
    assert not generate(tmp_path / "spec", tmp_path / "generated", check_only=True)
    return tmp_path


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """``render_dir(spec/)`` of the checkout, rendered once per session."""
    files: dict[str, str] = render_dir(SPEC_DIR)
    return files
