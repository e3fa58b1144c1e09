"""``mailspec spec check``: one report per spec file of what a reviewer asks about.

- **codes**: every status code with its category; a code without one, or filed as
  ``unknown``, is a finding (``generate`` refuses the first; the report names all).
- **assumptions**: every comment saying ``ASSUMED`` (how specs mark what the provider
  documents do not say), with its line and the key it is about.
- **citations**: every comment naming a document of ``provider.docs`` by its title,
  with the section after it ("AuroraSendCloud API Overview, Complete Status Code
  Reference"). A spec that cites nothing, a document it lists but never cites, and a
  comment citing a file name instead of a title are findings.
- **checks**: everything the loader and :mod:`codegen.checks` refuse, all of them, not
  only the first.

Comments are found from the YAML scanner's tokens, so a ``#`` inside a quoted or block
string is never taken for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .checks import problems
from .loader import MAX_BYTES, Located, PathKey, SpecError, compose, decode, dotted

__all__ = ["Assumption", "Citation", "Finding", "Report", "lint_file", "lint_text"]

_ASSUMED = re.compile(r"(?<![\"'])\bASSUMED\b(?![\"'])")
# a comment citing a copy of a document rather than the document
_FILE_NAME = re.compile(r"\b[\w.-]+\.(?:pdf|docx?|html?)\b", re.I)


@dataclass(frozen=True)
class Finding:
    line: int
    column: int
    path: str
    message: str


@dataclass(frozen=True)
class Assumption:
    line: int
    path: str  # the key the comment is about
    text: str


@dataclass(frozen=True)
class Citation:
    line: int
    document: str
    section: str  # "" when the comment names the document only


@dataclass
class Report:
    file: str
    codes: dict[str, list[int]] = field(default_factory=dict)  # category -> codes
    assumptions: list[Assumption] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Comment:
    line: int
    column: int
    text: str  # without the "#"
    alone: bool  # the only thing on its line


def lint_file(path: Path, display: str | None = None) -> Report:
    """The report of one spec file; OSError when it cannot be read."""
    with path.open("rb") as stream:
        raw = stream.read(MAX_BYTES + 1)
    file = display or str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report = Report(file)
        report.findings.append(Finding(1, 1, "", f"not UTF-8 text ({exc.reason})"))
        return report
    return lint_text(text, file)


def lint_text(text: str, file: str) -> Report:
    report = Report(file)
    try:
        data, positions = compose(text, file)
    except SpecError as exc:
        report.findings.append(Finding(exc.line, exc.column, exc.path, exc.message))
        data, positions = None, {}
    comments = list(_comments(text))
    keys = _key_lines(positions)
    report.assumptions = [
        Assumption(c.line, _about(c, keys), _block_text(c, comments))
        for c in comments
        if _ASSUMED.search(c.text)
    ]
    if not isinstance(data, dict):
        return report
    report.codes, missing = _codes(data, positions, report.findings)
    docs = _docs(data)
    report.citations = [cite for c in comments for cite in _citations(c, docs)]
    _citation_findings(report, docs, comments, positions)
    if missing is not None:  # decode with the uncategorized filed as unknown, to go on
        for number in missing:
            data["codes"][number]["category"] = "unknown"
    try:
        located = decode(data, positions, file, text)
    except SpecError as exc:
        report.findings.append(Finding(exc.line, exc.column, exc.path, exc.message))
    else:
        found = problems(located)
        # the examples are run only through a spec the checks accept
        for problem in found or _example_problems(located):
            report.findings.append(
                Finding(problem.line, problem.column, problem.path, problem.message)
            )
    report.findings.sort(key=lambda f: (f.line, f.column))
    return report


def _example_problems(located: Located) -> list[SpecError]:
    """Where the spec's documented examples and what its generated client sends or
    reads disagree. Checked against the provider's generated package when it was made
    from this very file (the same sha256); a spec not generated yet is not run."""
    from mailspec import registry
    from mailspec.conformance import example_problems, generated_sha256

    spec = located.spec
    name = spec.provider.name
    if not any(op.examples for op in spec.operations.values()):
        return []
    if name not in registry.available() or generated_sha256(name) != located.sha256:
        return []
    return [located.error(path, message) for path, message in example_problems(name)]


# --- comments --------------------------------------------------------------------------


def _scalar_spans(text: str) -> list[tuple[int, int]] | None:
    """Where the scalars are (character offsets), from the YAML scanner; None when it
    cannot scan the text (the load reports why)."""
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [
            (token.start_mark.index, token.end_mark.index)
            for token in yaml.scan(text, Loader=loader)
            if isinstance(token, yaml.ScalarToken)
        ]
    except yaml.YAMLError:
        return None


def _comments(text: str) -> Iterator[_Comment]:
    """Every comment: a ``#`` at a line's start or after a blank, outside any scalar."""
    spans = _scalar_spans(text) or []
    span_i = 0
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        for match in re.finditer(r"(?:^|(?<=[ \t]))#", line):
            at = offset + match.start()
            while span_i < len(spans) and spans[span_i][1] <= at:
                span_i += 1
            if span_i < len(spans) and spans[span_i][0] <= at < spans[span_i][1]:
                continue  # inside a string
            body = line[match.start() + 1 :].rstrip("\r\n")
            yield _Comment(
                number, match.start() + 1, body.strip(), not line[: match.start()].strip()
            )
            break  # the rest of the line is the comment
        offset += len(line)


def _key_lines(positions: dict[PathKey, tuple[int, int]]) -> dict[int, str]:
    """The key that starts each line (the least nested one, where several do)."""
    found: dict[int, tuple[int, str]] = {}
    for value_path in positions:
        if not value_path or value_path[-1] != "<value>":
            continue  # a mapping's key is what has a "<value>" beside it
        path = value_path[:-1]
        line = positions[path][0]
        if line not in found or len(path) < found[line][0]:
            found[line] = (len(path), dotted(path))
    return {line: name for line, (_, name) in found.items()}


def _about(comment: _Comment, keys: dict[int, str]) -> str:
    """The key a comment is about: the one on its line, or the next one below it."""
    if not comment.alone and comment.line in keys:
        return keys[comment.line]
    below = [line for line in keys if line > comment.line]
    return keys[min(below)] if below else ""


def _block_text(comment: _Comment, comments: list[_Comment]) -> str:
    """The comment and the whole-line comments that continue it."""
    parts = [comment.text]
    line = comment.line
    following = {c.line: c for c in comments if c.alone}
    while comment.alone and line + 1 in following and not _ASSUMED.search(following[line + 1].text):
        line += 1
        parts.append(following[line].text)
    return " ".join(parts)


# --- codes and citations ---------------------------------------------------------------


def _codes(
    data: dict[Any, Any], positions: dict[PathKey, tuple[int, int]], findings: list[Finding]
) -> tuple[dict[str, list[int]], list[Any] | None]:
    """Codes by category, and the codes without one (None when there are none)."""
    table = data.get("codes")
    by_category: dict[str, list[int]] = {}
    missing: list[Any] = []
    if not isinstance(table, dict):
        return by_category, None
    for number, row in table.items():
        line, column = positions.get(("codes", number), (1, 1))
        category = row.get("category") if isinstance(row, dict) else None
        if isinstance(row, dict) and category is None:
            missing.append(number)
            findings.append(Finding(line, column, dotted(("codes", number)), "no category"))
        elif category == "unknown":
            findings.append(
                Finding(
                    line,
                    column,
                    dotted(("codes", number, "category")),
                    "filed as unknown: categorize it",
                )
            )
        if isinstance(category, str) or category is None:
            by_category.setdefault(category or "(none)", []).append(number)
    return dict(sorted(by_category.items())), missing or None


def _docs(data: dict[Any, Any]) -> list[str]:
    provider = data.get("provider")
    docs = provider.get("docs") if isinstance(provider, dict) else None
    return [d for d in docs if isinstance(d, str) and d.strip()] if isinstance(docs, list) else []


def _citations(comment: _Comment, docs: list[str]) -> Iterator[Citation]:
    """Each mention of a document's title in a comment, with the section after it."""
    for doc in sorted(docs, key=len, reverse=True):  # the longest title first
        for match in re.finditer(re.escape(doc), comment.text):
            rest = comment.text[match.end() :]
            section = _section(rest[2:]) if rest.startswith(", ") else ""
            yield Citation(comment.line, doc, section)


# words a section title may hold beside capitalized ones
_TITLE_WORDS = frozenset({"and", "of", "the", "for", "to", "in", "on", "a", "&"})


# a title ended by punctuation may hold lower-case words ("Error codes", "Send an email") up
# to this length; a longer run is prose, where the title is the capitalized words it starts with
_MAX_TITLE_WORDS = 3


def _section(text: str) -> str:
    """The section title at the start of ``text``, up to punctuation: all of it when it
    is short and starts with a capital ("Error codes: ..."), else its capitalized words
    (and the small words between them), up to the first word of the prose after it."""
    text = re.split(r"[:;.()]|, (?=[a-z])", text, maxsplit=1)[0]
    segment = text.split()
    if segment and segment[0][0].isupper() and len(segment) <= _MAX_TITLE_WORDS:
        return " ".join(segment).strip('", ')
    words = []
    for word in text.split():
        bare = word.strip('",')
        if not bare or not (bare[0].isupper() or bare[0].isdigit() or bare in _TITLE_WORDS):
            break
        words.append(word)
    while words and words[-1].strip('",') in _TITLE_WORDS:
        words.pop()
    return " ".join(words).strip('", ')


def _citation_findings(
    report: Report,
    docs: list[str],
    comments: list[_Comment],
    positions: dict[PathKey, tuple[int, int]],
) -> None:
    line, column = positions.get(("provider",), (1, 1))
    if not docs:
        report.findings.append(Finding(line, column, "provider.docs", "names no provider document"))
    elif not report.citations:
        report.findings.append(
            Finding(1, 1, "", "no comment cites a provider document (by its title and section)")
        )
    else:
        cited = {c.document for c in report.citations}
        at = positions.get(("provider", "docs"), (line, column))
        for doc in docs:
            if doc not in cited:
                report.findings.append(
                    Finding(*at, "provider.docs", f"{doc!r} is listed but never cited")
                )
    for comment in comments:
        for match in _FILE_NAME.finditer(comment.text):
            report.findings.append(
                Finding(
                    comment.line,
                    comment.column,
                    "",
                    f"cites a file ({match.group()}), not a document by title and section",
                )
            )
