"""The generated code is clean: ``ruff check``, ``ruff format --check`` and
``mypy --strict``, with the repo's own configuration, run as a developer runs them."""

from __future__ import annotations

import random
from pathlib import Path

from codegen_support import GENERATED_DIR, run_tool

from mailspec.codegen.pysource import import_key, isort_key, string


def test_ruff_check_passes_on_generated() -> None:
    result = run_tool("ruff", "check", "--no-cache", "generated")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_check_passes_on_generated() -> None:
    result = run_tool("ruff", "format", "--check", "--no-cache", "generated")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would be reformatted" not in result.stdout


def test_mypy_strict_passes_on_generated(tmp_path: Path) -> None:
    result = run_tool("mypy", "--strict", "--cache-dir", tmp_path / "mypy-cache", "generated")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_every_generated_module_compiles() -> None:
    modules = sorted(GENERATED_DIR.rglob("*.py"))
    assert modules
    for module in modules:
        compile(module.read_text(encoding="utf-8"), str(module), "exec", dont_inherit=True)


def test_generated_name_orders_agree_with_ruff(tmp_path: Path) -> None:
    """``import_key`` orders a ``from … import`` as ruff's isort (I001) does and
    ``isort_key`` orders ``__all__`` as RUF022 does, for mixed case and numbers."""
    rng = random.Random(7)
    parts = ["A", "a", "B", "b", "_", "1", "2", "10", "Ab", "AB", "ab", "Request", "DECODER"]
    blocks = []
    for i in range(150):
        names: set[str] = set()
        while len(names) < 6:
            name = "".join(rng.choice(parts) for _ in range(rng.randint(1, 4)))
            if name.isidentifier() and not name.startswith("_"):
                names.add(name)
        imported = sorted(names, key=import_key)
        exported = sorted(names, key=isort_key)
        blocks.append(
            f"from m{i} import (\n"
            + "".join(f"    {n},\n" for n in imported)
            + f")\n\nprint({', '.join(imported)})\n"
            + f"__all__ = [{', '.join(string(n) for n in exported)}]\n"
        )
    probe = tmp_path / "probe.py"
    probe.write_text("\n".join(blocks), encoding="utf-8")
    result = run_tool("ruff", "check", "--isolated", "--no-cache", "--select", "I001,RUF022", probe)
    assert result.returncode == 0, result.stdout[:4000]
