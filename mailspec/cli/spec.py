"""``mailspec spec diff`` and ``mailspec spec check``, and the ``--changes`` summary
of ``mailspec generate``: the command line's side of them, which only reads arguments
and formats; what changed and what is wrong is decided in ``codegen`` (``diff``,
``changes``, ``lint``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..codegen.changes import ProviderChanges
    from ..codegen.diff import Change
    from ..codegen.lint import Report

__all__ = ["add_commands", "changes_lines"]

_NEEDS_CODEGEN = "mailspec spec needs the codegen extra: pip install 'mailspec[codegen]'"


def _mark(change: Change) -> str:
    return "breaking" if change.breaking else "ok      "


def change_lines(changes: Sequence[Change], indent: str = "  ") -> list[str]:
    """Changes grouped under their section, one line each."""
    lines: list[str] = []
    section = None
    for change in changes:
        if change.section != section:
            section = change.section
            lines.append(f"{indent}{section}")
        where = f"{change.path}: " if change.path else ""
        lines.append(f"{indent}  {_mark(change)}  {where}{change.what}")
    return lines


def _summary(changes: Sequence[Change]) -> str:
    breaking = sum(c.breaking for c in changes)
    noun = "change" if len(changes) == 1 else "changes"
    return f"{len(changes)} {noun}, {breaking} breaking" if changes else "no changes"


def changes_lines(found: Sequence[ProviderChanges]) -> list[str]:
    """What ``generate --changes`` prints: each provider whose spec moved."""
    lines = []
    for p in found:
        if p.status == "unchanged":
            continue
        if p.status == "new":
            lines.append(f"{p.provider}: new provider")
        elif p.status == "removed":
            lines.append(f"{p.provider}: removed (breaking: the name no longer exists)")
        elif p.status == "unreadable":
            lines.append(f"{p.provider}: cannot compare with the package it replaces ({p.note})")
        else:
            lines.append(f"{p.provider}: {_summary(p.changes)}")
            lines.extend(change_lines(p.changes, "  "))
    return lines or ["no spec changes since the generated packages"]


def changes_json(found: Sequence[ProviderChanges]) -> list[dict[str, Any]]:
    return [
        {
            "provider": p.provider,
            "status": p.status,
            "breaking": p.breaking,
            "note": p.note,
            "changes": [c.as_dict() for c in p.changes],
        }
        for p in found
    ]


def _cmd_diff(args: argparse.Namespace) -> int:
    try:
        from ..codegen import SpecError
        from ..codegen.diff import diff_files
    except ImportError as exc:
        print(f"error: {_NEEDS_CODEGEN} ({exc})", file=sys.stderr)
        return 2
    for path in (args.old, args.new):
        if not path.is_file():
            print(f"error: no spec file at {path}", file=sys.stderr)
            return 2
    try:
        changes = diff_files(args.old, args.new)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    breaking = any(c.breaking for c in changes)
    if args.json:
        print(
            json.dumps(
                {
                    "old": str(args.old),
                    "new": str(args.new),
                    "breaking": breaking,
                    "changes": [c.as_dict() for c in changes],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(f"{args.old} -> {args.new}: {_summary(changes)}")
        if changes:
            print()
            print("\n".join(change_lines(changes, "")))
    return 1 if breaking else 0


def _report_lines(report: Report) -> list[str]:
    lines = [report.file]
    total = sum(len(v) for v in report.codes.values())
    by = ", ".join(f"{k} {len(v)}" for k, v in report.codes.items())
    lines.append(f"  codes: {total}" + (f" ({by})" if by else ""))
    lines.append(f"  assumed: {len(report.assumptions)}")
    for a in report.assumptions:
        text = a.text if len(a.text) <= 110 else a.text[:107] + "..."
        lines.append(f"    line {a.line:<4} {a.path or '(top)'}: {text}")
    documents: dict[str, list[str]] = {}
    for c in report.citations:
        documents.setdefault(c.document, [])
        if c.section and c.section not in documents[c.document]:
            documents[c.document].append(c.section)
    lines.append(f"  cited: {len(report.citations)} citation(s) of {len(documents)} document(s)")
    for doc, sections in documents.items():
        lines.append(f"    {doc}" + (f": {'; '.join(sections)}" if sections else ""))
    lines.append(f"  findings: {len(report.findings) or 'none'}")
    for f in report.findings:
        where = f"{f.path}: " if f.path else ""
        lines.append(f"    {report.file}:{f.line}:{f.column}: {where}{f.message}")
    return lines


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        from ..codegen.lint import lint_file
    except ImportError as exc:
        print(f"error: {_NEEDS_CODEGEN} ({exc})", file=sys.stderr)
        return 2
    reports = []
    for path in args.files:
        if not path.is_file():
            print(f"error: no spec file at {path}", file=sys.stderr)
            return 2
        try:
            reports.append(lint_file(path))
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 2
    findings = sum(len(r.findings) for r in reports)
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        for i, report in enumerate(reports):
            if i:
                print()
            print("\n".join(_report_lines(report)))
        if len(reports) > 1:
            print(f"\n{len(reports)} specs, {findings} finding(s)")
    return 1 if findings else 0


def add_commands(sub: Any) -> None:
    """``mailspec spec diff`` and ``mailspec spec check``."""
    spec = sub.add_parser(
        "spec",
        help="spec tools (spec diff, spec check)",
        description="Tools for provider specs: what changed between two versions, and a "
        "review report of one (needs the codegen extra).",
    ).add_subparsers(dest="spec_command", required=True, title="commands", metavar="COMMAND")
    diff = spec.add_parser(
        "diff",
        help="what changed between two versions of a spec, breaking or not",
        description="Compare two versions of one provider's spec and print the change of "
        "its API surface, by section: operations, parameters (added, removed, renamed, "
        "required, types, limits, enums), rules, responses, codes (added, removed, "
        "category, retryability), envelope, auth, webhooks, limits, mapping, delivery. "
        "A change is breaking when code or a request valid under OLD may fail under NEW. "
        "Exit 1 when something breaks, 0 when not, 2 for a bad argument or spec.",
    )
    diff.add_argument("old", type=Path, metavar="OLD", help="the spec file as it was")
    diff.add_argument("new", type=Path, metavar="NEW", help="the spec file as it is now")
    diff.add_argument("--json", action="store_true", help="machine-readable output")
    diff.set_defaults(run=_cmd_diff)
    check = spec.add_parser(
        "check",
        help="review report of specs: codes, assumptions, citations, problems",
        description="For each spec file: its codes by category (one without a category is "
        "a finding), every ASSUMED comment with its line and key, the provider documents "
        "it cites (citing none, or never citing a document of provider.docs, is a "
        "finding), and every problem `mailspec generate` would refuse. Exit 1 on any "
        "finding, 2 for a file that cannot be read.",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE", help="spec files")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=_cmd_check)
