"""Generated source stays within ruff's line length when a spec holds East Asian
text, which takes two columns a character (SendCloud's documented answers are in
Chinese): a line is measured as ruff measures it, not by its number of characters."""

from __future__ import annotations

from mailspec.codegen.pysource import LINE_LENGTH, literal, width


def test_a_wide_character_takes_two_columns() -> None:
    assert width("ok") == 2
    assert width("请求成功") == 8
    assert width("café") == 4  # a narrow non-ASCII letter takes one


def test_a_value_too_wide_for_one_line_is_exploded() -> None:
    value = {"result": True, "statusCode": 200, "message": "请求成功" * 6, "info": {}}
    one_line = str(value).replace("'", '"')
    assert len(one_line) <= LINE_LENGTH < width(one_line)  # fits by characters only
    text = literal(value)
    assert "\n" in text
    assert all(width(line) <= LINE_LENGTH for line in text.splitlines())
