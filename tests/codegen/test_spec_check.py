"""`mailspec spec check`: codes by category, ASSUMED comments with their line and key,
citations of the provider documents, and every problem the generator refuses, in one
report; findings exit 1. Run on the specs in spec/ and on edited copies of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from codegen_support import MINIMAL_SPEC, SPEC_DIR, run_cli

from mailspec.codegen.diff import load_checked
from mailspec.codegen.lint import lint_file, lint_text

SPECS = sorted(SPEC_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_the_specs_in_spec_have_no_findings(path: Path) -> None:
    report = lint_file(path)
    assert report.findings == []
    codes = sorted(n for numbers in report.codes.values() for n in numbers)
    assert codes == sorted(load_checked(path).codes)
    assert "(none)" not in report.codes and "unknown" not in report.codes
    text = path.read_text(encoding="utf-8")
    assert report.citations and report.assumptions
    lines = text.splitlines()
    for a in report.assumptions:  # each is on its line, and it says ASSUMED there
        assert "ASSUMED" in lines[a.line - 1]
    # every comment line saying ASSUMED is listed, except the header naming the convention
    marked = [i for i, line in enumerate(lines, 1) if "ASSUMED" in line and '"ASSUMED"' not in line]
    assert [a.line for a in report.assumptions] == marked


def test_assumptions_name_the_key_they_are_about() -> None:
    report = lint_file(SPEC_DIR / "cloudmails.yaml")
    about = {a.path for a in report.assumptions}
    # a trailing comment is about its line's key; a comment above, about the next key
    assert {"codes[200]", "codes[404]", "capabilities.inline_attachments", "webhooks"} <= about
    attachments = next(a for a in report.assumptions if a.path.endswith("params.attachments"))
    assert "attachment objects are {filename" in attachments.text
    assert "Array of attachment objects" in attachments.text  # the comment's next line too


def test_citations_name_document_and_section() -> None:
    report = lint_file(SPEC_DIR / "aurorasendcloud.yaml")
    cited = {(c.document, c.section) for c in report.citations}
    assert ("AuroraSendCloud API Overview", "Complete Status Code Reference") in cited
    assert ("AuroraSendCloud: Check status of emails", "Rate Limiting") in cited


def test_a_hash_inside_a_string_is_not_a_comment() -> None:
    text = MINIMAL_SPEC.replace(
        "    summary: Send one email.", '    summary: "Send #1 ASSUMED"  # ASSUMED: real'
    ).replace("  200: {message: OK", "  200: {message: 'OK # ASSUMED'")
    report = lint_text(text, "mini.yaml")
    assert [(a.path, a.text) for a in report.assumptions] == [
        ("operations.send.summary", "ASSUMED: real")
    ]


def test_every_problem_is_a_finding_at_once(tmp_path: Path) -> None:
    text = MINIMAL_SPEC.replace(
        "  200: {message: OK, category: success}",
        "  200: {message: OK, category: success}\n  401: {message: Nope}\n"
        "  402: {message: Hm, category: unknown}\n  403: {message: Ha}",
    ).replace("    response: Envelope", "    response: Nowhere")
    text = text.replace("provider: {name: mini, title: Mini, style: cloudmails}", "provider: {name: mini, title: Mini, style: cloudmails, docs: [Mini API Guide]}")  # fmt: skip
    report = lint_text(text + "# see mini-api.pdf\n", "mini.yaml")
    messages = [f"{f.path}: {f.message}" for f in report.findings]
    assert "codes[401]: no category" in messages
    assert "codes[403]: no category" in messages
    assert "codes[402].category: filed as unknown: categorize it" in messages
    assert any(m.startswith("operations.send.response: no shape named 'Nowhere'") for m in messages)
    assert ": no comment cites a provider document (by its title and section)" in messages
    assert any("cites a file (mini-api.pdf)" in m for m in messages)
    assert report.codes == {"(none)": [401, 403], "success": [200], "unknown": [402]}


def test_a_document_listed_but_never_cited_is_a_finding() -> None:
    text = (
        (SPEC_DIR / "cloudmails.yaml")
        .read_text(encoding="utf-8")
        .replace(
            'docs: ["CloudMails SMTP API Documentation"]',
            'docs: ["CloudMails SMTP API Documentation", "CloudMails Webhook Guide"]',
        )
    )
    report = lint_text(text, "cloudmails.yaml")
    assert [f.message for f in report.findings] == [
        "'CloudMails Webhook Guide' is listed but never cited"
    ]


def test_the_cli_reports_and_exits_by_findings(tmp_path: Path) -> None:
    good = run_cli("spec", "check", *SPECS)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.rstrip().endswith(f"{len(SPECS)} specs, 0 finding(s)")
    cloudmails = len(lint_file(SPEC_DIR / "cloudmails.yaml").assumptions)
    assert f"  assumed: {cloudmails}\n    line 25   envelope: " in good.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL_SPEC.replace("category: success", "category: sucess"), encoding="utf-8")
    result = run_cli("spec", "check", "--json", bad)
    assert result.returncode == 1
    (report,) = json.loads(result.stdout)
    assert report["file"] == str(bad)
    assert {f["path"] for f in report["findings"]} >= {"codes[200].category", "provider.docs"}
    missing = run_cli("spec", "check", tmp_path / "nope.yaml")
    assert (
        missing.returncode == 2
        and missing.stderr == f"error: no spec file at {tmp_path / 'nope.yaml'}\n"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1\n", encoding="utf-8")
    invalid = run_cli("spec", "check", broken)
    assert invalid.returncode == 1 and "invalid YAML" in invalid.stdout
