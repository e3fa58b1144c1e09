"""The spec a generated package records: ``SPEC`` in ``<provider>/spec.py`` and
``CODES`` in ``<provider>/codes.py``, read back as a spec model without running them.

``generate --changes`` compares each spec with what the package it is about to replace
was generated from. The files are read as Python syntax and evaluated by a few rules
(constructor calls of spec-model classes, enum members, literals), never imported or
executed: an out folder is not always importable, and nothing in it runs on a
``--check``.
"""

from __future__ import annotations

import ast
import enum
from pathlib import Path
from typing import Any

import msgspec

from mailspec import spec_model, vocabulary
from mailspec.spec_model import Spec

from .marks import is_generated

__all__ = ["RecordError", "recorded_spec"]

_CLASSES: dict[str, Any] = {
    name: value
    for name, value in vars(spec_model).items()
    if isinstance(value, type) and issubclass(value, msgspec.Struct)
}
_ENUMS = {
    name: value
    for name, value in vars(vocabulary).items()
    if isinstance(value, type) and issubclass(value, enum.Enum)
}


class RecordError(Exception):
    """A generated package whose recorded spec cannot be read (hand-edited, or written
    by a mailspec whose spec model differs)."""


def recorded_spec(package_dir: Path) -> Spec | None:
    """The spec ``package_dir`` (one provider's generated folder) was generated from;
    None when there is no generated package there."""
    spec_file, codes_file = package_dir / "spec.py", package_dir / "codes.py"
    if not (spec_file.is_file() and codes_file.is_file()):
        return None
    if not (is_generated(spec_file) and is_generated(codes_file)):
        return None
    codes = _assigned(codes_file, "CODES", {})
    spec = _assigned(spec_file, "SPEC", {"CODES": codes})
    if not isinstance(spec, Spec):
        raise RecordError(f"{spec_file}: SPEC is not a spec")
    return spec


def _assigned(path: Path, name: str, names: dict[str, Any]) -> Any:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise RecordError(f"{path}: {exc}") from None
    for node in tree.body:
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name and value is not None:
            try:
                return _value(value, names)
            except (ValueError, TypeError, KeyError, msgspec.ValidationError) as exc:
                raise RecordError(f"{path}: {name}: {exc}") from None
    raise RecordError(f"{path}: no {name} in it")


def _value(node: ast.expr, names: dict[str, Any]) -> Any:
    """The value of one expression of the kinds the templates write."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _value(node.operand, names)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand
    elif isinstance(node, ast.List):
        return [_value(item, names) for item in node.elts]
    elif isinstance(node, ast.Dict):
        out = {}
        for key, item in zip(node.keys, node.values, strict=True):
            if key is None:
                raise ValueError("a ** in a dict")
            out[_value(key, names)] = _value(item, names)
        return out
    elif isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    elif (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in _ENUMS
    ):
        return _ENUMS[node.value.id][node.attr]
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _CLASSES
        and not node.args
        and all(k.arg is not None for k in node.keywords)
    ):
        kwargs = {str(k.arg): _value(k.value, names) for k in node.keywords}
        return _CLASSES[node.func.id](**kwargs)
    raise ValueError(f"unexpected {ast.dump(node)[:80]} at line {node.lineno}")
