"""A code row's ``name:`` names its StatusCode member; without one the member is named
after the message. A ``name:`` that is taken twice, collides with a derived name or is
not an UPPER_SNAKE_CASE identifier is a SpecError at that field."""

from __future__ import annotations

import pytest
from codegen_support import MINIMAL_SPEC

from mailspec.codegen.checks import check
from mailspec.codegen.context import build
from mailspec.codegen.loader import SpecError, load_text
from mailspec.codegen.render import render_provider

FILE = "spec/x.yaml"
OK_ROW = "  200: {message: OK, category: success}\n"


def with_codes(*rows: str) -> str:
    assert OK_ROW in MINIMAL_SPEC
    return MINIMAL_SPEC.replace(OK_ROW, OK_ROW + "".join(f"  {row}\n" for row in rows))


def members(text: str) -> dict[str, int]:
    located = load_text(text, FILE)
    check(located)
    return dict(build(located, FILE).code_members)


def spec_error(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        check(load_text(text, FILE))
    return caught.value


def test_a_name_replaces_the_derived_one() -> None:
    text = with_codes(
        '500: {message: "abnormal sever", name: SERVER_ERROR, category: server}',
        "503: {message: Service unavailable, category: server}",
    )
    assert members(text) == {"OK": 200, "SERVER_ERROR": 500, "SERVICE_UNAVAILABLE": 503}


def test_a_name_is_what_the_generated_enum_and_table_say() -> None:
    text = with_codes('500: {message: "abnormal sever", name: SERVER_ERROR, category: server}')
    located = load_text(text, FILE)
    check(located)
    codes_py = render_provider(build(located, FILE))["mini/codes.py"]
    assert "    SERVER_ERROR = 500\n" in codes_py
    assert "ABNORMAL_SEVER" not in codes_py
    assert "name='SERVER_ERROR'" in codes_py or 'name="SERVER_ERROR"' in codes_py


def test_a_name_frees_the_derived_name_for_the_other_code() -> None:
    # two codes with one message: the second would be CANNOT_BE_EMPTY_2 without a name
    text = with_codes(
        "401: {message: cannot be empty, category: validation}",
        "402: {message: cannot be empty, name: LABEL_ID_MISSING, category: validation}",
    )
    assert members(text) == {"OK": 200, "CANNOT_BE_EMPTY": 401, "LABEL_ID_MISSING": 402}


def test_a_name_given_twice_is_refused_at_the_second() -> None:
    text = with_codes(
        "401: {message: a, name: MISSING, category: validation}",
        "402: {message: b, name: MISSING, category: validation}",
    )
    error = spec_error(text)
    assert error.path == "codes[402].name"
    assert error.message == "'MISSING' already names code 401"
    second = text.index("name: MISSING", text.index("402:"))
    assert (error.file, error.line) == (FILE, text.count("\n", 0, second) + 1)


def test_a_name_colliding_with_a_derived_name_is_refused() -> None:
    text = with_codes("401: {message: b, name: OK, category: validation}")
    error = spec_error(text)
    assert error.path == "codes[401].name"
    assert "'OK' is the name code 200 gets from its message" in error.message
    assert str(error).startswith(f"{FILE}:{text[: text.index('401:')].count(chr(10)) + 1}:")


def test_a_name_colliding_with_a_numbered_derived_name_is_refused() -> None:
    text = with_codes(
        "401: {message: OK, category: validation}",  # derived: OK_2
        "402: {message: b, name: OK_2, category: validation}",
    )
    error = spec_error(text)
    assert error.path == "codes[402].name"
    assert "code 401 gets from its message" in error.message


@pytest.mark.parametrize(
    "name", ["server_error", "Server", "_PRIVATE", "TRAILING_", "DOUBLE__UNDERSCORE", "2XX", "É"]
)
def test_a_name_that_is_not_upper_snake_case_is_refused(name: str) -> None:
    text = with_codes(f'500: {{message: x, name: "{name}", category: server}}')
    with pytest.raises(SpecError) as caught:
        load_text(text, FILE)
    error = caught.value
    assert error.path == "codes[500].name"
    assert "^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$" in error.message
    assert error.line == text[: text.index("500:")].count("\n") + 1
