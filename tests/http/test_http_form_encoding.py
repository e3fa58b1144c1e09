"""The fast form encoder writes exactly what urllib.parse.urlencode writes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec.runtime.encoding import form_urlencode

pairs = st.lists(st.tuples(st.text(max_size=40), st.text(max_size=3000)), max_size=10)


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_same_bytes_as_urlencode(items: list[tuple[str, str]]) -> None:
    try:
        expected = urlencode(items)
    except UnicodeEncodeError:  # lone surrogates: both must refuse
        with pytest.raises(UnicodeEncodeError):
            form_urlencode(items)
        return
    assert form_urlencode(items) == expected


def test_known_values() -> None:
    items = [("html", "<p>Hi %name%</p>"), ("to", "a@example.org;b@example.org"), ("x", "é ü+&=")]
    assert form_urlencode(items) == urlencode(items)
