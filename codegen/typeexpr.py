"""The small type language of response-shape fields: ``str``, ``int``, ``bool``,
``float``, ``any``, ``list[T]``, ``dict[str, T]`` and the name of another shape."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SCALARS", "TypeExpr", "TypeExprError", "parse"]

# A response's numbers are plain int and float; the generated decoders
# (mailspec.runtime.numbers.AnswerDecoder) read them written as strings too.
SCALARS = {
    "str": "str",
    "int": "int",
    "bool": "bool",
    "float": "float",
    "any": "Any",
}
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
