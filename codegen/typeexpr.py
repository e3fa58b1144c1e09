"""The small type language of response-shape fields: ``str``, ``int``, ``bool``,
``float``, ``any``, ``list[T]``, ``dict[str, T]`` and the name of another shape."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NUMBER_ANNOTATIONS", "SCALARS", "TypeExpr", "TypeExprError", "parse"]

# A response's numbers are WireInt/WireFloat (mailspec.runtime.numbers): int and float
# to mypy and in the decoded values, and readable when a provider writes them as strings.
SCALARS = {
    "str": "str",
    "int": "WireInt",
    "bool": "bool",
    "float": "WireFloat",
    "any": "Any",
}
NUMBER_ANNOTATIONS = ("WireFloat", "WireInt")
_SHAPE = re.compile(r"[A-Z][A-Za-z0-9]*")


class TypeExprError(ValueError):
    pass


@dataclass(frozen=True)
class TypeExpr:
    kind: str  # "scalar" | "shape" | "list" | "dict"
    name: str = ""  # the scalar's or shape's name
    item: TypeExpr | None = None  # element type of list/dict

    def shapes(self) -> set[str]:
        if self.kind == "shape":
            return {self.name}
        return self.item.shapes() if self.item else set()


def parse(text: str) -> TypeExpr:
    text = text.strip()
    for prefix, kind in (("list[", "list"), ("dict[str,", "dict")):
        if text.startswith(prefix) and text.endswith("]"):
            return TypeExpr(kind, item=parse(text[len(prefix) : -1]))
    if text in SCALARS:
        return TypeExpr("scalar", name=text)
    if _SHAPE.fullmatch(text):
        return TypeExpr("shape", name=text)
    raise TypeExprError(
        f"unknown type {text!r} (expected str, int, bool, float, any, list[T], dict[str, T] "
        "or a shape name)"
    )
