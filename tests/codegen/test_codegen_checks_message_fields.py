"""The spec model's list of mappable Message fields is the Message's own."""

from mailspec.ir import MESSAGE_FIELDS
from mailspec.message import Message


def test_the_spec_model_names_every_message_field_in_order() -> None:
    assert Message.__struct_fields__ == MESSAGE_FIELDS
