"""``derived``: a copy of a checked message with changes that need no check again,
equal to what ``msgspec.structs.replace`` (which checks) makes, the original untouched."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mailspec import Message
from mailspec.message import derived

WORDS = st.text("abcdefghij {}", min_size=1, max_size=12)
ADDRESSES = st.lists(
    st.sampled_from(["ann@example.org", "bob@example.net", "cy@example.com"]),
    min_size=1,
    max_size=3,
    unique=True,
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    to=ADDRESSES,
    variables=st.dictionaries(st.sampled_from(["name", "order"]), WORDS, max_size=2),
    subject=WORDS,
    key=st.text("0123456789abcdef", min_size=32, max_size=32),
)
def test_a_derived_copy_is_the_checked_replacement_and_leaves_the_original(
    to: list[str], variables: dict[str, str], subject: str, key: str
) -> None:
    original = Message(
        from_email="shop@example.com",
        to=to,
        subject="Hello {name}",
        html="<p>{order}</p>",
        variables={"name": "Ann"},
        recipient_variables={to[0]: {"order": "7"}},
    )
    before = msgspec.structs.asdict(original)
    changes = {
        "to": [to[-1]],
        "variables": {**original.variables, **variables},
        "recipient_variables": {},
        "subject": subject,
        "idempotency_key": key,
    }
    copy = derived(original, **changes)
    assert copy == msgspec.structs.replace(original, **changes)
    assert copy is not original
    assert msgspec.structs.asdict(original) == before
