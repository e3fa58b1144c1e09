"""The spec model's list of mappable Message fields is the Message's own."""

from mailspec.message import Message
from mailspec.spec_model import MESSAGE_FIELDS


def test_the_spec_model_names_every_message_field_in_order() -> None:
    assert Message.__struct_fields__ == MESSAGE_FIELDS
