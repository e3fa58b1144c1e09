"""The fenced code blocks of a Markdown file, in order: each with its language, its text,
the line its fence opens on, and the HTML comment just before it, if any (where a block
says it is not run, and why)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>```+)(?P<lang>[\w+-]*)[^\n]*$")
_COMMENT = re.compile(r"^\s*<!--(?P<text>.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    note: str  # the HTML comment on the line before the fence (stripped), or ""

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end].removeprefix(indent))
            end += 1
        before = lines[index - 1] if index else ""
        comment = _COMMENT.match(before)
        text = "\n".join(body) + "\n" if body else ""
        note = comment["text"].strip() if comment else ""
        blocks.append(Block(path, index + 1, opening["lang"], text, note))
        index = end + 1
    return blocks
