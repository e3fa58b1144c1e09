"""Generate into a folder, or compare a folder with what would be generated.

Only files that carry the generator's do-not-edit header are ever replaced or
removed: a mistyped ``--out`` cannot overwrite or delete a hand-written module, and a
missing or empty spec folder is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .changes import ProviderChanges, changes_since
from .checks import check
from .context import ProviderContext, build
from .loader import load_spec
from .marks import is_generated
from .render import render_all

__all__ = ["Drift", "GenerateError", "generate", "is_generated", "load_dir", "render_dir", "write"]


class GenerateError(Exception):
    """A spec folder or output folder that generation will not use; nothing was written."""


def spec_files(spec_dir: Path) -> list[Path]:
    """The ``*.yaml`` specs in ``spec_dir``; GenerateError when it holds none."""
    if not spec_dir.is_dir():
        raise GenerateError(f"no spec directory at {spec_dir}")
    paths = sorted(spec_dir.glob("*.yaml"))
    if not paths:
        raise GenerateError(f"no specs (*.yaml) in {spec_dir}")
    return paths


def load_dir(spec_dir: Path) -> list[ProviderContext]:
    """Load, check and build every ``*.yaml`` in ``spec_dir``; raise SpecError on the
    first bad one."""
    models = []
    for path in spec_files(spec_dir):
        display = f"{spec_dir.name}/{path.name}"  # never a machine path: it lands in headers
        located = load_spec(path, display_name=display)
        check(located)
        models.append(build(located, display))
    return models


def render_dir(spec_dir: Path) -> dict[str, str]:
    """Every file the specs in ``spec_dir`` generate, by relative path."""
    return render_all(load_dir(spec_dir), spec_dir.name)


@dataclass
class Drift:
    """How a folder differs from what the specs generate, by path relative to it."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # hand-written files in the way
    # with changes=True: each provider's spec changes since the package in the folder
    changes: list[ProviderChanges] | None = None

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.extra or self.foreign)

    def lines(self) -> list[str]:
        """What ``--check`` reports."""
        return (
            [f"differs: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"extra:   {p}" for p in self.extra]
            + [f"not generated, in the way: {p}" for p in self.foreign]
        )

    def written_lines(self) -> list[str]:
        """What a ``generate`` that wrote this drift did."""
        return [f"wrote:   {p}" for p in self.changed + self.missing] + [
            f"removed: {p}" for p in self.extra
        ]


def compare(files: dict[str, str], out_dir: Path) -> Drift:
    existing = (
        {
            p.relative_to(out_dir).as_posix(): p
            for p in out_dir.rglob("*.py")
            if "__pycache__" not in p.parts
        }
        if out_dir.exists()
        else {}
    )
    drift = Drift()
    for rel, text in sorted(files.items()):
        if rel not in existing:
            drift.missing.append(rel)
        elif not is_generated(existing[rel]):
            drift.foreign.append(rel)
        elif existing[rel].read_bytes() != text.encode("utf-8"):
            drift.changed.append(rel)
    drift.extra = sorted(rel for rel in set(existing) - set(files) if is_generated(existing[rel]))
    return drift


def write(files: dict[str, str], out_dir: Path) -> Drift:
    """Make ``out_dir`` hold exactly ``files``: write what differs, remove stale
    generated modules. Raises GenerateError, writing nothing, when a hand-written file
    stands where a generated one would go."""
    drift = compare(files, out_dir)
    if drift.foreign:
        raise GenerateError(
            f"{out_dir} holds files that `mailspec generate` did not write "
            f"({', '.join(drift.foreign)}); choose another --out or move them"
        )
    for rel in drift.changed + drift.missing:
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel].encode("utf-8"))
    for rel in drift.extra:
        (out_dir / rel).unlink()
    for folder in sorted((p for p in out_dir.rglob("*") if p.is_dir()), reverse=True):
        if (
            folder.name != "__pycache__"
            and not any(folder.glob("*.py"))
            and not any(c for c in folder.iterdir() if c.name != "__pycache__")
        ):
            for cache in folder.glob("__pycache__"):
                for f in cache.iterdir():
                    f.unlink()
                cache.rmdir()
            folder.rmdir()
    return drift


def generate(
    spec_dir: Path, out_dir: Path, *, check_only: bool = False, changes: bool = False
) -> Drift:
    """Generate ``spec_dir`` into ``out_dir`` (``check_only``: only compare). With
    ``changes``, also say how each spec differs from the one the package it replaces
    was generated from (read before anything is written)."""
    models = load_dir(spec_dir)
    before = changes_since([m.spec for m in models], out_dir) if changes else None
    files = render_all(models, spec_dir.name)
    drift = compare(files, out_dir) if check_only else write(files, out_dir)
    drift.changes = before
    return drift
