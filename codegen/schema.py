"""``spec/schema.json``: the spec format as JSON Schema, exported from the IR so that
editors validate specs and the schema can never drift from what the loader accepts."""

from __future__ import annotations

import json

import msgspec

from mailspec.ir import Spec

__all__ = ["schema_text"]


def schema_text() -> str:
    schema = msgspec.json.schema(Spec)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mailspec provider spec"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
