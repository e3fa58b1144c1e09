"""One snapshot per generated file, so a spec change shows up as a readable diff.

The cases are the keys of ``render_dir(spec/)``: a new provider adds its files here
without touching this test (run ``pytest tests/codegen --snapshot-update`` once and
review the new snapshots). Each snapshot is the file's exact text, stored as a plain
text file under ``tests/codegen/__snapshots__/test_codegen_snapshots/``.
"""

from __future__ import annotations

import pytest
from codegen_support import SPEC_DIR
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from mailspec.codegen import SpecError
from mailspec.codegen.writer import render_dir

try:
    FILES: dict[str, str] = render_dir(SPEC_DIR)
    RENDER_ERROR: SpecError | None = None
except SpecError as exc:  # reported by the test below instead of breaking collection
    FILES, RENDER_ERROR = {}, exc


class GeneratedFileSnapshot(SingleFileSnapshotExtension):
    """The generated source as it is, in a ``.txt`` file (not ``.py``, so that no tool
    collects, lints or imports a snapshot)."""

    file_extension = "txt"
    _write_mode = WriteMode.TEXT  # a failure then shows a line diff


@pytest.fixture
def snapshot_file(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(GeneratedFileSnapshot)


def test_every_spec_renders() -> None:
    assert RENDER_ERROR is None, str(RENDER_ERROR)
    assert FILES, "render_dir(spec/) produced no files"


@pytest.mark.parametrize("rel", sorted(FILES), ids=lambda rel: rel.replace("/", "-"))
def test_generated_file_matches_snapshot(rel: str, snapshot_file: SnapshotAssertion) -> None:
    text = FILES[rel]
    assert "\r" not in text  # text mode would not keep one
    assert text == snapshot_file
