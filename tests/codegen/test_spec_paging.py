"""The status query a spec spells out (``paging: {offset, limit}``, ``query: {ids,
recent}``): its names must be parameters of the right type, and a status answer with a
record total must say how it pages; the runtime reads the names from the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailspec.codegen.loader import SpecError
from mailspec.codegen.writer import generate

SPEC = Path(__file__).resolve().parents[2] / "spec" / "aurorasendcloud.yaml"
PAGING = "    paging: {offset: start, limit: limit}\n"
QUERY = "    query: {ids: email_ids, recent: days}\n"


def refused(tmp_path: Path, old: str, new: str) -> str:
    text = SPEC.read_text(encoding="utf-8")
    assert text.count(old) == 1
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "aurorasendcloud.yaml").write_text(text.replace(old, new), "utf-8")
    with pytest.raises(SpecError) as caught:
        generate(tmp_path / "specs", tmp_path / "out")
    return str(caught.value)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (PAGING, "    paging: {offset: begin, limit: limit}\n", "offset names an int parameter"),
        (PAGING, "    paging: {offset: start, limit: email_ids}\n", "limit names an int parameter"),
        (QUERY, "    query: {ids: days, recent: days}\n", "ids names a list[str] parameter"),
        (PAGING, "", "delivery.total counts records for paging: declare paging"),
    ],
)
def test_a_status_query_the_runtime_cannot_run_is_refused(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert problem in refused(tmp_path, old, new)


MAILGUN = Path(__file__).resolve().parents[2] / "spec" / "mailgun.yaml"
DOTTED = "fields: {message_id: message.headers.message_id, status: event,"


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        # a dotted record field walks nested shapes: every step must be a field
        (
            "fields: {message_id: message.headers.msgid, status: event,",
            "has no field 'message.headers.msgid'",
        ),
        ("fields: {message_id: message.nothing.id, status: event,", "has no field"),
        ("fields: {message_id: Message.Headers, status: event,", "delivery.fields.message_id"),
    ],
)
def test_a_record_field_path_must_lead_to_a_field(tmp_path: Path, new: str, problem: str) -> None:
    text = MAILGUN.read_text(encoding="utf-8")
    assert text.count(DOTTED) == 1
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mailgun.yaml").write_text(text.replace(DOTTED, new), "utf-8")
    with pytest.raises(SpecError) as caught:
        generate(tmp_path / "specs", tmp_path / "out")
    assert problem in str(caught.value)


def test_a_str_query_filter_is_one_request_per_id() -> None:
    from adapters.status import id_groups
    from mailspec.registry import spec

    status = spec("mailgun").operations["status"]
    assert id_groups("mailgun", status, ["<a@x>", "<b@x>"]) == ["<a@x>", "<b@x>"]
    assert id_groups("mailgun", status, None) == [None]
