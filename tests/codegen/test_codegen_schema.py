"""``spec/schema.json`` is the spec model's schema as exported, and every spec validates
against it with an independent validator (``jsonschema``), which also refuses what the
loader refuses for type reasons."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from codegen_support import SPEC_DIR, reference_text

from mailspec.codegen.schema import schema_text

SPECS = sorted(SPEC_DIR.glob("*.yaml"))
SCHEMA = json.loads((SPEC_DIR / "schema.json").read_text(encoding="utf-8"))


def _as_json(path_or_text: Path | str) -> Any:
    """The spec as an editor's JSON-Schema validator sees it: keys are strings."""
    text = path_or_text.read_text("utf-8") if isinstance(path_or_text, Path) else path_or_text
    data = yaml.safe_load(text)

    def scalar(value: object) -> str:
        assert isinstance(value, datetime.date), value
        return value.isoformat()

    return json.loads(json.dumps(data, default=scalar))


def test_schema_json_is_the_exported_schema() -> None:
    assert (SPEC_DIR / "schema.json").read_text(encoding="utf-8") == schema_text()


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_there_are_specs_to_validate() -> None:
    assert any(p.name == "aurorasendcloud.yaml" for p in SPECS)


@pytest.mark.parametrize("spec_path", SPECS, ids=lambda p: p.name)
def test_every_spec_validates_against_the_schema(spec_path: Path) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(_as_json(spec_path)), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


MUTATIONS = {
    "unknown-field": ("    summary: Send an email", "    sumary: Send an email"),
    "camel-case-region": ("regions:\n  sg:", "regions:\n  Sg:"),
    "page-size-zero": ("page_size: 100", "page_size: 0"),
    "category-outside-the-list": ("category: authentication}", "category: authenticated}"),
    "bad-rule-tag": ("rule: any_of", "rule: all_of"),
    "string-for-an-integer": ("max_items: 100,\n", "max_items: many,\n"),
    "ftp-url": ("base_url: https://api-us.", "base_url: ftp://api-us."),
    "missing-method": ("    method: POST\n    path: api/mail/send\n", "    path: api/mail/send\n"),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_schema_refuses_what_the_loader_refuses(mutation: str) -> None:
    old, new = MUTATIONS[mutation]
    text = reference_text()
    assert old in text
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert validator.is_valid(_as_json(text))
    assert not validator.is_valid(_as_json(text.replace(old, new, 1)))


def test_the_exported_schema_does_not_depend_on_the_msgspec_release() -> None:
    # what 0.22 exports (indented docstrings) and 0.23 (dedented, plus propertyNames)
    from mailspec.codegen.schema import _normalized

    older = {
        "description": "Line one.\n\n    Line two.",
        "additionalProperties": {"type": "integer"},
    }
    newer = {
        "description": "Line one.\n\nLine two.",
        "additionalProperties": {"type": "integer"},
        "propertyNames": {"enum": ["format", "required"]},
    }
    assert _normalized(older) == _normalized(newer)
    assert _normalized(older)["description"] == "Line one.\n\nLine two."


def test_no_description_in_the_schema_file_is_indented() -> None:
    def descriptions(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k == "description" and isinstance(v, str)]
            return found + [d for v in node.values() for d in descriptions(v)]
        if isinstance(node, list):
            return [d for v in node for d in descriptions(v)]
        return []

    found = descriptions(SCHEMA)
    assert found
    assert not [d for d in found if "\n    " in d]
