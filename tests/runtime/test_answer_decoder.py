"""The generated decoders read an answer strictly first (plain ints and floats, no
Python call per number) and fall back to numbers written as strings only when that
refuses. Both paths must give the same result for every answer: the same values, or
the same refusal. Checked against the lenient reading alone (the structs' lenient
twins with ``decode_number``, which is how every answer was read before), on answers
generated for every decoder of every built-in provider."""

from __future__ import annotations

import json
from typing import Any, Union, get_args, get_origin

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec import registry
from mailspec.runtime.numbers import AnswerDecoder, decode_number, lenient

# what a provider may write where a number is expected, and a few things it must not
NUMBERISH = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["2.0", "007", " 2", "+2", "1e3", "", "nan", "0x10", True, False, None]),
)
SCALAR = st.one_of(NUMBERISH, st.text(max_size=5), st.booleans())


def values_for(annotation: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """JSON values a provider might put where ``annotation`` is declared: mostly the
    right kind, sometimes not."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in (int, float):
        return NUMBERISH
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if depth > 2:
            return st.just({})
        fields = msgspec.structs.fields(annotation)
        return st.fixed_dictionaries(
            {},
            optional={f.encode_name: values_for(f.type, depth + 1) for f in fields},
        )
    if origin is list:
        return st.lists(values_for(args[0], depth + 1), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), values_for(args[1], depth + 1), max_size=3)
    if origin is Union or type(annotation).__name__ == "UnionType":
        return st.one_of([values_for(a, depth) for a in args if a is not type(None)] + [st.none()])
    return SCALAR


def decoders() -> list[tuple[str, AnswerDecoder[Any]]]:
    found = []
    for name in registry.available():
        spec = registry.spec(name)
        region = {"region": spec.default_region} if spec.region_required else {}  # SES
        client = registry.provider(name, **dict.fromkeys(credentials(name), "x"), **region).client
        for op, decoder in {**type(client).decoders, "envelope": client.envelope_decoder}.items():
            found.append((f"{name}.{op}", decoder))
    return found


def credentials(name: str) -> list[str]:
    from mailspec.spec_model import auth_keywords

    spec = registry.spec(name)
    return auth_keywords(spec.auth)[0]


def reading(decode: Any, data: bytes) -> Any:
    """What a decoder makes of ``data``: its value as plain data, or its error."""
    try:
        return ("value", msgspec.to_builtins(decode(data)))
    except msgspec.DecodeError as error:
        return ("refused", type(error).__name__, str(error))


@pytest.mark.parametrize(
    ("where", "decoder"), decoders(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_the_strict_path_and_the_fallback_read_every_answer_alike(
    where: str, decoder: AnswerDecoder[Any]
) -> None:
    reference = msgspec.json.Decoder(lenient(decoder.type), dec_hook=decode_number)

    @settings(max_examples=150, deadline=None, database=None)
    @given(values_for(decoder.type))
    def check(answer: Any) -> None:
        data = json.dumps(answer).encode()
        assert reading(decoder.decode, data) == reading(reference.decode, data)

    check()


class Record(msgspec.Struct, kw_only=True):
    status: int | None = None
    rate: float = 0.0


class Page(msgspec.Struct, kw_only=True):
    total: int
    records: list[Record] = msgspec.field(default_factory=list, name="voList")


def test_numbers_written_as_strings_give_the_struct_asked_for_with_plain_numbers() -> None:
    decoder = AnswerDecoder(Page)
    plain = decoder.decode(b'{"total": 2, "voList": [{"status": 200, "rate": 1}]}')
    assert type(plain) is Page and type(plain.records[0]) is Record  # the strict path
    written = decoder.decode(b'{"total": "2", "voList": [{"status": "200", "rate": "1.5"}]}')
    assert isinstance(written, Page) and isinstance(written.records[0], Record)
    assert (written.total, written.records[0].status, written.records[0].rate) == (2, 200, 1.5)
    assert type(written.total) is int and type(written.records[0].status) is int
    with pytest.raises(msgspec.ValidationError, match=r"\$\.voList\[0\]\.status"):
        decoder.decode(b'{"total": 2, "voList": [{"status": "2.0"}]}')
