"""Numbers in answers, as providers send them: a JSON number, or the same number
written as a string (``"code": "200"``, ``"total": "2"``).

Every ``int`` and ``float`` field of a generated response struct is a plain ``int`` /
``float``, and every generated decoder is an :class:`AnswerDecoder`: msgspec's strict
decoder first, and only for an answer it refuses, lenient twins of the structs whose
numbers are :data:`WireInt` / :data:`WireFloat`, read by :func:`decode_number`. A
decoded field always holds a plain ``int`` (or ``float``), never a string and never a
subclass, whichever path read it.

Why not ``msgspec.json.Decoder(..., strict=False)``: in msgspec 0.22 and 0.23 alike
that relaxes every field of the answer, not only numbers. Besides ``"2"`` for an int
(and ``"2.0"`` and ``"1e3"``, taken as 2 and 1000) it accepts ``"true"``, ``"1"``,
``"0"``, ``1`` and ``0`` for a ``bool`` (``"result": 0`` would read as False), the
string ``"null"`` as a missing value of an optional field, and ``"nan"`` and
``"inf"`` for a float. It still refuses a number for a ``str`` field, so it would not
even have bought leniency elsewhere. Answers decide whether a message went out, so a
relaxation stays as narrow as what providers are documented (or known) to send:
numbers written as strings, where the spec declares a number, and nothing else.

What is accepted, and what is refused (a ``msgspec.ValidationError`` naming the field,
so the answer is reported as malformed, as before):

- an int field: a JSON integer, or a string holding exactly a JSON integer
  (``"200"``, ``"-3"``, ``"0"``). Refused: ``true``/``false``, a JSON float (``2.0``),
  ``"2.0"``, ``"1e3"``, ``" 2"``, ``"+2"``, ``"007"``, ``"0x10"``, ``"1_000"``,
  ``""``, non-ASCII digits, and anything else.
- a float field: a JSON number, or a string holding exactly a JSON number
  (``"2.5"``, ``"-1e3"``, ``"2"``). Refused: booleans, ``"nan"``, ``"inf"``,
  surrounding spaces, out-of-range values (``"1e400"``) and anything else.
- every other field type is decoded exactly as msgspec's strict default does.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import types
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union, get_args, get_origin

import msgspec

__all__ = [
    "AnswerDecoder",
    "WireFloat",
    "WireInt",
    "decode_number",
    "float_or_none",
    "int_or_none",
]

_T = TypeVar("_T")

# JSON's number grammar (RFC 8259, section 6), as a string must spell it to count
_JSON_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# the longest digit string read as a number: far beyond any code, count or total, and
# well inside Python's int/str conversion limit (4,300 digits)
_MAX_DIGITS = 100


class _IsInt(type):
    # msgspec checks what a dec_hook returns with isinstance(): exactly the built-in
    # ints (not bools, not subclasses) are instances of WireInt, so the hook returns
    # a plain int
    def __instancecheck__(cls, value: object) -> bool:
        return type(value) is int


class _IsFloat(type):
    def __instancecheck__(cls, value: object) -> bool:
        return type(value) is float


if TYPE_CHECKING:
    WireInt = int
    WireFloat = float
else:

    class WireInt(metaclass=_IsInt):
        """An answer's integer: a JSON integer, or one written as a string."""

        __slots__ = ()

    class WireFloat(metaclass=_IsFloat):
        """An answer's number: a JSON number, or one written as a string."""

        __slots__ = ()


def decode_number(kind: type, value: Any) -> Any:
    """The generated decoders' ``dec_hook``: a :data:`WireInt` or :data:`WireFloat`
    field's value from what the JSON held. Raises ValueError (which msgspec reports as
    a ValidationError at the field's path) for anything that is not such a number."""
    if kind is WireInt:
        integer = int_or_none(value)
        if integer is not None:
            return integer
        raise ValueError(f"expected an integer or a string holding one, got {_what(value)}")
    if kind is WireFloat:
        number = float_or_none(value)
        if number is not None:
            return number
        raise ValueError(f"expected a number or a string holding one, got {_what(value)}")
    raise NotImplementedError(f"no decoding for {kind!r}")


class AnswerDecoder(Generic[_T]):
    """A generated response decoder. msgspec's strict decoder first, into structs whose
    numbers are plain ``int`` and ``float`` (what providers' documents show: no Python
    call per number); only when it refuses, the same answer again through lenient
    twins of those structs, whose numbers are :data:`WireInt` / :data:`WireFloat`
    (read as :func:`decode_number` reads them). The twins subclass the structs, so
    either way the caller gets an instance of the type it asked for, holding plain ints
    and floats, and an answer neither reading takes raises the lenient one's
    ``msgspec.ValidationError``, naming the field."""

    __slots__ = ("_lenient", "_strict", "type")

    def __init__(self, type_: type[_T]) -> None:
        self.type = type_
        self._strict: msgspec.json.Decoder[_T] = msgspec.json.Decoder(type_)
        self._lenient: msgspec.json.Decoder[_T] | None = None

    def decode(self, data: bytes | str) -> _T:
        try:
            return self._strict.decode(data)
        except msgspec.ValidationError:
            if self._lenient is None:  # built once, on the first answer that needs it
                self._lenient = msgspec.json.Decoder(lenient(self.type), dec_hook=decode_number)
            return self._lenient.decode(data)


def lenient(annotation: Any) -> Any:
    """``annotation`` with every ``int`` made :data:`WireInt`, every ``float``
    :data:`WireFloat`, and every struct holding one (itself or in a struct it holds)
    its lenient twin: a subclass whose number fields are annotated so."""
    if annotation is int:
        return WireInt
    if annotation is float:
        return WireFloat
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return _lenient_struct(annotation)
    args = get_args(annotation)
    if not args:
        return annotation
    changed = tuple(lenient(arg) for arg in args)
    if changed == args:
        return annotation
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, changed)
    return origin[changed]


@functools.cache
def _lenient_struct(struct: type[msgspec.Struct]) -> type[msgspec.Struct]:
    overridden = []
    for info in msgspec.structs.fields(struct):
        annotation = lenient(info.type)
        if annotation is info.type:
            continue
        default: Any = {}
        if info.default is not msgspec.NODEFAULT:
            default = {"default": info.default}
        elif info.default_factory is not msgspec.NODEFAULT:
            default = {"default_factory": info.default_factory}
        spec = msgspec.field(name=info.encode_name, **default)
        overridden.append((info.name, annotation, spec))
    if not overridden:
        return struct
    return msgspec.defstruct(
        struct.__name__, overridden, bases=(struct,), module=struct.__module__, kw_only=True
    )


def int_or_none(value: Any) -> int | None:
    """``value`` if it is an int (not a bool), the int a string holds exactly
    (``"200"``), else None. For the runtime and the adapters, which read codes, totals
    and counts from answers a hand-built decoder may leave as they came."""
    if type(value) is int:
        return value
    if isinstance(value, str) and len(value) <= _MAX_DIGITS and _JSON_INT.fullmatch(value):
        return int(value)
    return None


def float_or_none(value: Any) -> float | None:
    """``value`` as a float if it is a finite number (not a bool), or a string holding
    exactly one (``"2.5"``), else None."""
    if type(value) is int:
        return float(value)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= _MAX_DIGITS and _JSON_NUMBER.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _what(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:20] + ("..." if len(value) > 20 else ""))
    return type(value).__name__
