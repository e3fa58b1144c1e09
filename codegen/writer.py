"""Generate into a folder, or compare a folder with what would be generated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .checks import check
from .loader import load_spec
from .model import build
from .render import render_all

__all__ = ["Drift", "generate", "render_dir", "write"]


def render_dir(spec_dir: Path) -> dict[str, str]:
    """Load, check and render every ``*.yaml`` in ``spec_dir``; raise SpecError on the first bad one."""
    models = []
    for path in sorted(spec_dir.glob("*.yaml")):
        display = f"{spec_dir.name}/{path.name}"  # never a machine path: it lands in headers
        located = load_spec(path, display_name=display)
        check(located)
        models.append(build(located, display))
    return render_all(models, spec_dir.name)


@dataclass
class Drift:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.extra)

    def lines(self) -> list[str]:
        return (
            [f"differs: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.missing]
            + [f"extra:   {p}" for p in self.extra]
        )


def _existing(out_dir: Path) -> dict[str, Path]:
    return {
        p.relative_to(out_dir).as_posix(): p
        for p in out_dir.rglob("*.py")
        if "__pycache__" not in p.parts
    }


def compare(files: dict[str, str], out_dir: Path) -> Drift:
    existing = _existing(out_dir) if out_dir.exists() else {}
    drift = Drift()
    for rel, text in sorted(files.items()):
        if rel not in existing:
            drift.missing.append(rel)
        elif existing[rel].read_bytes() != text.encode("utf-8"):
            drift.changed.append(rel)
    drift.extra = sorted(set(existing) - set(files))
    return drift


def write(files: dict[str, str], out_dir: Path) -> Drift:
    """Make ``out_dir`` hold exactly ``files``: write what differs, remove stale modules."""
    drift = compare(files, out_dir)
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


def generate(spec_dir: Path, out_dir: Path, *, check_only: bool = False) -> Drift:
    files = render_dir(spec_dir)
    return compare(files, out_dir) if check_only else write(files, out_dir)
