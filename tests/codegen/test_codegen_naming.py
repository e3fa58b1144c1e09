"""The one identifier sanitizer (``mailspec._naming``): keywords, soft keywords,
builtins, leading digits, non-ASCII, empty names, and deterministic collisions."""

from __future__ import annotations

import builtins
import keyword

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec._naming import Scope, ident


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain names stay as they are
        ("to", "to"),
        ("from_email", "from_email"),
        ("SendResponse", "SendResponse"),
        # keywords
        ("class", "class_"),
        ("import", "import_"),
        ("from", "from_"),
        ("lambda", "lambda_"),
        ("None", "None_"),
        ("True", "True_"),
        ("async", "async_"),
        # soft keywords
        ("match", "match_"),
        ("case", "case_"),
        ("type", "type_"),
        ("_", "field"),  # nothing is left once the underscores go
        # builtins
        ("id", "id_"),
        ("list", "list_"),
        ("print", "print_"),
        ("object", "object_"),
        ("__import__", "import_"),
        # module names the generated models import
        ("msgspec", "msgspec_"),
        ("datetime", "datetime_"),
        # leading digits
        ("1abc", "n1abc"),
        ("2024", "n2024"),
        ("_9lives", "n9lives"),
        # non-ASCII folds where it decomposes, else drops
        ("é", "e"),
        ("naïve café", "naive_cafe"),
        ("Ångström", "Angstrom"),
        ("ﬁle", "file"),
        ("中文", "field"),
        ("🎉", "field"),
        ("名字x", "x"),
        # punctuation and whitespace
        ("", "field"),
        ("!!!", "field"),
        ("   ", "field"),
        ("a-b c", "a_b_c"),
        ("a--b", "a_b"),
        ("__x__", "x"),
        ("it's", "it_s"),
        ("x\ny", "x_y"),
    ],
)
def test_ident(text: str, expected: str) -> None:
    assert ident(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Request was successful", "REQUEST_WAS_SUCCESSFUL"),
        ("1st try", "N1ST_TRY"),
        ("class", "CLASS"),  # upper-case names are never reserved words
        ("é", "E"),
        ("", "FIELD"),
    ],
)
def test_ident_upper(text: str, expected: str) -> None:
    assert ident(text, upper=True) == expected


_RESERVED = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))


@given(st.text(), st.booleans())
@settings(max_examples=300)
def test_ident_always_gives_a_usable_ascii_identifier(text: str, upper: bool) -> None:
    name = ident(text, upper=upper)
    assert name.isidentifier() and name.isascii()
    assert name not in _RESERVED | {"msgspec", "datetime"}
    assert not name.startswith("_") or name == "_"
    assert ident(name, upper=upper) == name  # a sanitized name is left alone


def test_scope_numbers_collisions_in_the_order_asked() -> None:
    scope = Scope()
    assert [scope.claim(n) for n in ("a", "a", "A", "a", "a_2")] == [
        "a",
        "a_2",
        "A",
        "a_3",
        "a_2_2",
    ]


def test_scope_collides_names_that_sanitize_alike() -> None:
    scope = Scope()
    assert [scope.claim(n) for n in ("é", "e", "class", "class_", "1x", "n1x")] == [
        "e",
        "e_2",
        "class_",
        "class__2",
        "n1x",
        "n1x_2",
    ]


def test_scope_respects_names_taken_up_front() -> None:
    scope = Scope(frozenset({"SPEC", "Envelope"}))
    assert scope.claim("SPEC") == "SPEC_2"
    assert scope.claim("Envelope") == "Envelope_2"
    assert scope.claim("Envelope") == "Envelope_3"
    assert scope.claim("other") == "other"


def test_scope_upper_claims() -> None:
    scope = Scope(frozenset({"name", "value"}))
    claims = [scope.claim(m, upper=True) for m in ("ok", "OK", "Ok!", "", "!!")]
    assert claims == ["OK", "OK_2", "OK_3", "FIELD", "FIELD_2"]


def test_scope_is_deterministic() -> None:
    names = ["to", "to", "class", "é", "e", "1", "", "list", "list_"]
    first = [Scope().claim(n) for n in names]
    runs = []
    for _ in range(3):
        scope = Scope()
        runs.append([scope.claim(n) for n in names])
    assert runs[0] == runs[1] == runs[2]
    assert len(set(runs[0])) == len(names)  # one scope never hands out a name twice
    assert first == [ident(n) for n in names]  # fresh scopes: no suffixes at all


@given(st.lists(st.text(max_size=8), max_size=30))
@settings(max_examples=200)
def test_scope_never_hands_out_a_name_twice(names: list[str]) -> None:
    scope = Scope(frozenset({"SPEC"}))
    claimed = [scope.claim(n) for n in names]
    assert len(set(claimed)) == len(claimed)
    assert "SPEC" not in claimed
    assert all(c.isidentifier() for c in claimed)
