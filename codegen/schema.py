"""``spec/schema.json``: the spec format as JSON Schema, exported from the spec model so that
editors validate specs and the schema can never drift from what the loader accepts."""

from __future__ import annotations

import inspect
import json
from typing import Any

import msgspec

from mailspec.spec_model import Spec

__all__ = ["schema_text"]


def schema_text() -> str:
    """The schema as text, the same bytes whichever msgspec release exported it."""
    schema = _normalized(msgspec.json.schema(Spec))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mailspec provider spec"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _normalized(node: Any) -> Any:
    """``node`` as every msgspec release exports it: descriptions cleaned as
    ``inspect.cleandoc`` does (0.23 dedents docstrings, 0.22 does not), and no
    ``propertyNames`` that lists the keys of a dict keyed by a Literal (a parameter's
    ``codes``), which 0.23 emits and 0.22 does not. The loader refuses an unknown key
    either way; ``propertyNames`` patterns (region names), which every release emits,
    stay."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else _normalized(value)
            for key, value in node.items()
            if not (key == "propertyNames" and isinstance(value, dict) and set(value) == {"enum"})
        }
    if isinstance(node, list):
        return [_normalized(item) for item in node]
    return node
