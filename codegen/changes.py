"""How each spec of a folder differs from the one its generated package was made from,
for ``mailspec generate --changes``.

A provider whose package is in the out folder is compared with the spec recorded there
(:mod:`codegen.recorded`); one without is new; a generated package whose spec is gone
is reported removed, which is breaking (the provider's name no longer exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mailspec._naming import ident
from mailspec.spec_model import Spec

from .diff import Change, diff
from .recorded import RecordError, recorded_spec

__all__ = ["ProviderChanges", "changes_since"]

Status = Literal["changed", "unchanged", "new", "removed", "unreadable"]


@dataclass
class ProviderChanges:
    """One provider's changes since its generated package (``status`` says which case)."""

    provider: str
    status: Status
    changes: list[Change] = field(default_factory=list)
    note: str = ""

    @property
    def breaking(self) -> bool:
        return self.status == "removed" or any(c.breaking for c in self.changes)


def changes_since(specs: list[Spec], out_dir: Path) -> list[ProviderChanges]:
    """Each spec's changes against ``out_dir/<provider>/``, by provider name."""
    found: list[ProviderChanges] = []
    modules = set()
    for spec in specs:
        name = spec.provider.name
        module = ident(name)
        modules.add(module)
        try:
            previous = recorded_spec(out_dir / module)
        except RecordError as exc:
            found.append(ProviderChanges(name, "unreadable", note=str(exc)))
            continue
        if previous is None:
            found.append(ProviderChanges(name, "new"))
            continue
        changes = diff(previous, spec)
        found.append(ProviderChanges(name, "changed" if changes else "unchanged", changes))
    if out_dir.is_dir():
        for folder in sorted(p for p in out_dir.iterdir() if p.is_dir()):
            if folder.name in modules:
                continue
            try:
                gone = recorded_spec(folder)
            except RecordError:
                continue
            if gone is not None:
                found.append(ProviderChanges(gone.provider.name, "removed"))
    return sorted(found, key=lambda c: c.provider)
