"""`mailspec spec diff`: each kind of change to a real spec is reported in its section,
marked breaking or not by the rule in codegen/diff.py, and the reverse change is
reported with the opposite verdict where the rule says so. Specs are edited copies of
the ones in spec/, written to files and compared through the library and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from codegen_support import GENERATED_DIR, SPEC_DIR, run_cli

from mailspec.codegen.context import _resolve_codes
from mailspec.codegen.diff import Change, diff, diff_files, load_checked
from mailspec.codegen.recorded import RecordError, recorded_spec


@dataclass(frozen=True)
class Edit:
    id: str
    spec: str  # a file of spec/
    old: str  # text replaced, once
    new: str
    section: str
    path: str
    breaking: bool  # of old -> new
    words: str  # in the change's text
    reverse_breaking: bool | None = None  # of new -> old, where it is the opposite
    also: tuple[tuple[str, str], ...] = ()  # further replacements the edit needs


EDITS = [
    Edit("param-required", "cloudmails", "      text: {type: str}\n", "      text: {type: str, required: true}\n", "parameters", "send.text", True, "now required", False),
    Edit("param-added-optional", "cloudmails", "      text: {type: str}\n", "      text: {type: str}\n      send_at: {type: int}\n", "parameters", "send.send_at", False, "added, optional", True),
    Edit("param-added-required", "cloudmails", "      text: {type: str}\n", "      text: {type: str}\n      send_at: {type: int, required: true}\n", "parameters", "send.send_at", True, "added, required", True),
    Edit("wire-renamed", "cloudmails", "{wire: from, type: str", "{wire: sender, type: str", "parameters", "send.from_email", True, "renamed on the wire", True),
    Edit("python-renamed", "cloudmails", "      text: {type: str}\n", "      plain: {wire: text, type: str}\n", "parameters", "send.text", True, "renamed to 'plain'", True, (("    text: text\n", "    text: plain\n"),)),
    Edit("type", "cloudmails", "      text: {type: str}\n", "      text: {type: \"list[str]\"}\n", "parameters", "send.text", True, "type", True),
    Edit("max-items-lowered", "aurorasendcloud", "max_items: 3,", "max_items: 2,", "parameters", "send.reply_to", True, "max_items 3 -> 2 (tightened)", False),
    Edit("maximum-lowered", "aurorasendcloud", "minimum: 1, maximum: 3,", "minimum: 1, maximum: 2,", "parameters", "status.days", True, "maximum 3 -> 2 (tightened)", False),
    Edit("minimum-raised", "aurorasendcloud", "minimum: 1, maximum: 3,", "minimum: 2, maximum: 3,", "parameters", "status.days", True, "minimum 1 -> 2 (tightened)", False),
    Edit("max-length-added", "cloudmails", "      subject: {type: str, required: true}", "      subject: {type: str, required: true, max_length: 998}", "parameters", "send.subject", True, "max_length 998 added (tightened)", False),
    Edit("format-added", "cloudmails", '      cc: {type: "list[str]", format: mailbox}', '      cc: {type: "list[str]"}', "parameters", "send.cc", False, "format: 'mailbox' -> none", True),
    Edit("operation-removed", "cloudmails", "  send_batch:\n", "  send_many:\n", "operations", "send_batch", True, "removed (POST /send/batch)", None, (("batch: {operation: send_batch,", "batch: {operation: send_many,"),)),
    Edit("path", "aurorasendcloud", "    path: api/mail/send\n", "    path: api/v2/mail/send\n", "operations", "send", True, "POST api/mail/send -> POST api/v2/mail/send", True),
    Edit("rule-days", "aurorasendcloud", "end: end_date, days: 3}", "end: end_date, days: 2}", "rules", "status", True, "2 (tightened)", False),
    Edit("rule-removed", "aurorasendcloud", "    rules:\n      - {rule: any_of, params: [html, plain], code: 40870}\n", "", "rules", "send", False, "rule removed: any_of html, plain", True),
    Edit("code-removed", "cloudmails", "  404: {message: Not Found - no email with this message id, name: NOT_FOUND, category: not_found}  # ASSUMED\n", "", "codes", "404", True, "removed (StatusCode.NOT_FOUND", False),
    Edit("code-category", "aurorasendcloud", "name: RATE_LIMIT_EXCEEDED, category: rate_limit}", "name: RATE_LIMIT_EXCEEDED, category: quota}", "codes", "50000", True, "category (another error class is raised): rate_limit -> quota", True),
    Edit("code-not-retried", "aurorasendcloud", "name: RATE_LIMIT_EXCEEDED, category: rate_limit}", "name: RATE_LIMIT_EXCEEDED, category: rate_limit, retryable: false}", "codes", "50000", True, "no longer retried", False),
    Edit("code-member", "aurorasendcloud", "name: RATE_LIMIT_EXCEEDED,", "name: TOO_FAST,", "codes", "50000", True, "StatusCode member renamed", True),
    Edit("code-message", "aurorasendcloud", "Rate limit exceeded - implement retry logic, name:", "Rate limit exceeded, name:", "codes", "50000", False, "message", False),
    Edit("envelope-alias", "aurorasendcloud", "  code: {wire: statusCode, aliases: [statuscode]}\n", "  code: {wire: statusCode}\n", "envelope", "code", True, "aliases no longer read", False),
    Edit("auth-credential", "cloudmails", "  bearer: api_key\n", "  bearer: token\n", "auth", "bearer", True, "bearer credential", True),
    Edit("webhook-event", "aurorasendcloud", "    open: {type: opened, description: The recipient opened the message.}\n", "", "webhooks", "events.open", True, "removed", False),
    Edit("webhook-event-type", "aurorasendcloud", "    open: {type: opened,", "    open: {type: clicked,", "webhooks", "events.open", True, "type: opened -> clicked", True),
    Edit("webhook-signed", "sendcloud", 'signed: "{timestamp}{token}"', 'signed: "{token}{timestamp}"', "webhooks", "signature", True, "signed: '{timestamp}{token}' -> '{token}{timestamp}'", True),
    Edit("webhook-field-path", "sendcloud", "recipient: recipient, timestamp: timestamp,\n", "recipient: data.recipient, timestamp: timestamp,\n", "webhooks", "fields.recipient", True, "payload field: 'recipient' -> 'data.recipient'", True),
    Edit("webhook-records", "cloudmails", "  encodings: [json]\n  timestamp_format: iso8601\n", "  encodings: [json]\n  records: events\n  timestamp_format: iso8601\n", "webhooks", "records", True, "events path: '.' -> 'events'", True),
    Edit("webhook-event-fields", "cloudmails", "    bounced: {type: bounced,", "    bounced: {type: bounced, fields: {recipient: email},", "webhooks", "events.bounced", True, "fields", True),
    Edit("rate-lowered", "aurorasendcloud", "  rate_per_minute: 3000 ", "  rate_per_minute: 600  ", "limits", "rate_per_minute", True, "3000 -> 600 (tightened)", False),
    Edit("recipients-raised", "aurorasendcloud", "  recipients_per_request: 100 ", "  recipients_per_request: 200 ", "limits", "recipients_per_request", False, "100 -> 200 (loosened)", True),
    Edit("mapping-row", "aurorasendcloud", "    from_name: from_name\n", "", "mapping", "send.from_name", True, "Message.from_name no longer carried", False),
    Edit("delivery-state", "aurorasendcloud", '    "5": {state: soft_bounced, description: soft bounce}\n', '    "5": {state: bounced, description: soft bounce}\n', "delivery", "states.5", True, "state: soft_bounced -> bounced", True),
    Edit("base-url", "cloudmails", "base_url: https://api.cloudmails.eu/v1", "base_url: https://api.cloudmails.eu/v2", "regions", "eu", True, "base_url", True),
    Edit("format-mailbox-to-email", "cloudmails", "from, type: str, required: true, format: mailbox,", "from, type: str, required: true, format: email,", "parameters", "send.from_email", True, "format: 'mailbox' -> 'email'", False),
    Edit("example-removed", "sendcloud", "      - source: \"SendCloud API v2: Rules, API Return Code (authentication failed)\"\n        answer: {result: false, statusCode: 40005, message: 认证失败, info: {}}\n        outcome: authentication\n", "", "operations", "send.examples", False, "documented examples: 2 -> 1", False),
    Edit("auth-scheme", "cloudmails", "  bearer: api_key\n", "  headers: {X-Api-Key: \"{api_key}\"}\n", "auth", "headers", True, "headers changed", True),
    Edit("idempotency-window-shorter", "sendcloud", "  idempotency_window: 3600\n", "  idempotency_window: 600\n", "capabilities", "idempotency_window", True, "3600 -> 600 seconds", False),
]  # fmt: skip


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(edit: Edit) -> str:
    text = (SPEC_DIR / f"{edit.spec}.yaml").read_text(encoding="utf-8")
    assert text.count(edit.old) >= 1, edit.id
    text = text.replace(edit.old, edit.new, 1)
    for old, new in edit.also:
        assert old in text, edit.id
        text = text.replace(old, new, 1)
    return text


def the_change(changes: list[Change], edit: Edit) -> Change:
    found = [c for c in changes if (c.section, c.path) == (edit.section, edit.path)]
    assert found, f"{edit.id}: nothing at {edit.section} {edit.path} in {changes}"
    matching = [c for c in found if edit.words in c.what]
    assert matching, f"{edit.id}: {[c.what for c in found]}"
    return matching[0]


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: e.id)
def test_each_kind_of_change_is_reported_and_judged(tmp_path: Path, edit: Edit) -> None:
    old = SPEC_DIR / f"{edit.spec}.yaml"
    new = write(tmp_path, f"{edit.spec}.yaml", edited(edit))
    change = the_change(diff_files(old, new), edit)
    assert change.breaking is edit.breaking, change
    if edit.reverse_breaking is not None:
        back = [c for c in diff_files(new, old) if c.section == edit.section]
        assert back, edit.id
        assert any(c.breaking is edit.reverse_breaking for c in back), back


@pytest.mark.parametrize("path", sorted(SPEC_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_spec_has_no_changes_against_itself(path: Path) -> None:
    assert diff_files(path, path) == []


@pytest.mark.parametrize("path", sorted(SPEC_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_the_spec_a_generated_package_records_reads_back_exactly(path: Path) -> None:
    spec = load_checked(path)
    recorded = recorded_spec(GENERATED_DIR / path.stem)
    assert recorded == _resolve_codes(spec)
    assert diff(recorded, spec) == []


def test_a_package_that_was_not_generated_records_nothing(tmp_path: Path) -> None:
    assert recorded_spec(tmp_path) is None
    (tmp_path / "spec.py").write_text("SPEC = 1\n", encoding="utf-8")
    (tmp_path / "codes.py").write_text("CODES = {}\n", encoding="utf-8")
    assert recorded_spec(tmp_path) is None  # no generated header: not ours to read
    header = "# Code generated by `mailspec generate` from x. DO NOT EDIT.\n"
    (tmp_path / "spec.py").write_text(header + "SPEC = __import__('os').system('x')\n")
    (tmp_path / "codes.py").write_text(header + "CODES = {}\n")
    with pytest.raises(RecordError, match="unexpected"):  # read, never run
        recorded_spec(tmp_path)


def test_the_cli_prints_sections_and_exits_1_on_breaking(tmp_path: Path) -> None:
    text = edited(EDITS[0]).replace(EDITS[15].old, "")  # a param required, a code removed
    new = write(tmp_path, "cloudmails.yaml", text)
    old = SPEC_DIR / "cloudmails.yaml"
    result = run_cli("spec", "diff", old, new)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{old} -> {new}: 2 changes, 2 breaking"
    assert lines[2:] == [
        "parameters",
        "  breaking  send.text: now required",
        "codes",
        "  breaking  404: removed (StatusCode.NOT_FOUND, 'Not Found - no email with this message id')",
    ]
    back = run_cli("spec", "diff", new, old, "--json")
    assert back.returncode == 0, back.stderr  # the reverse breaks nothing
    data = json.loads(back.stdout)
    assert data["breaking"] is False
    assert [(c["section"], c["path"], c["breaking"]) for c in data["changes"]] == [
        ("parameters", "send.text", False),
        ("codes", "404", False),
    ]
    assert data["changes"][1]["new"]["category"] == "not_found"


def test_the_cli_exits_0_without_changes_and_2_on_a_bad_spec(tmp_path: Path) -> None:
    same = run_cli("spec", "diff", SPEC_DIR / "aotsend.yaml", SPEC_DIR / "aotsend.yaml")
    assert (same.returncode, same.stdout.splitlines()[0].endswith(": no changes")) == (0, True)
    text = (SPEC_DIR / "aotsend.yaml").read_text(encoding="utf-8")
    bad = write(tmp_path, "aotsend.yaml", text.replace("category: success", "category: succes", 1))
    result = run_cli("spec", "diff", SPEC_DIR / "aotsend.yaml", bad)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {bad}:") and '"succes" is not one of' in result.stderr
    missing = run_cli("spec", "diff", SPEC_DIR / "aotsend.yaml", tmp_path / "nope.yaml")
    assert missing.returncode == 2 and missing.stderr.startswith("error: no spec file at ")


def test_generate_changes_compares_with_the_package_it_replaces(tmp_path: Path) -> None:
    spec_dir, out = tmp_path / "myspecs", tmp_path / "pkg"
    spec_dir.mkdir()
    cloudmails = (SPEC_DIR / "cloudmails.yaml").read_text(encoding="utf-8")
    write(spec_dir, "cloudmails.yaml", cloudmails)
    write(spec_dir, "aotsend.yaml", (SPEC_DIR / "aotsend.yaml").read_text(encoding="utf-8"))
    first = run_cli("generate", "--spec-dir", spec_dir, "--out", out, "--changes")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("aotsend: new provider\ncloudmails: new provider\nwrote:")
    write(spec_dir, "cloudmails.yaml", edited(EDITS[0]))
    (spec_dir / "aotsend.yaml").unlink()

    check = run_cli("generate", "--spec-dir", spec_dir, "--out", out, "--check", "--changes")

    assert check.returncode == 1  # out of date, as without --changes
    assert check.stdout.splitlines()[:4] == [
        "aotsend: removed (breaking: the name no longer exists)",
        "cloudmails: 1 change, 1 breaking",
        "  parameters",
        "    breaking  send.text: now required",
    ]
    wrote = run_cli("generate", "--spec-dir", spec_dir, "--out", out, "--changes")
    assert wrote.returncode == 0 and "cloudmails: 1 change, 1 breaking" in wrote.stdout
    again = run_cli("generate", "--spec-dir", spec_dir, "--out", out, "--changes")
    assert again.stdout.splitlines()[0] == "no spec changes since the generated packages"


@pytest.mark.parametrize("style", ["generic", "sendcloud", "cloudmails", "aotsend"])
def test_an_older_spec_naming_a_retired_style_still_loads_and_compares(
    tmp_path: Path, style: str
) -> None:
    text = (SPEC_DIR / "cloudmails.yaml").read_text(encoding="utf-8")
    assert "  style:" not in text
    older = text.replace("  title: CloudMails\n", f"  title: CloudMails\n  style: {style}\n", 1)
    assert diff_files(write(tmp_path, "cloudmails.yaml", older), SPEC_DIR / "cloudmails.yaml") == []


def test_any_other_style_is_an_unknown_key(tmp_path: Path) -> None:
    from mailspec.codegen.loader import SpecError

    text = (SPEC_DIR / "cloudmails.yaml").read_text(encoding="utf-8")
    fancy = text.replace("  title: CloudMails\n", "  title: CloudMails\n  style: fancy\n", 1)
    with pytest.raises(SpecError, match="style"):
        load_checked(write(tmp_path, "cloudmails.yaml", fancy))
