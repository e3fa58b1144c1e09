"""No import circles among mailspec's modules: a module that imports another (at the
top, in a function, or for type checking only) is never imported back by it, directly
or through others. A circle works until an import moves, and makes the modules one
piece to read. The graph is read from the source (ast), so nothing is imported here.
A module that is handed an object of a module above it (a Mailer) types it with a
Protocol of what it reads (``otel.ObservedMailer``, ``mailer.delivery.Owner``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# where each installed package's source lives in the checkout (setup.py's FOLDERS)
FOLDERS = {"mailspec": "mailspec", "mailspec.codegen": "codegen", "mailspec.adapters": "adapters"}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``name`` imports, wherever the import statement is."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            origin = (
                (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            )
            if origin is None:
                continue
            for alias in node.names:  # `from . import otel` names a module
                sub = f"{origin}.{alias.name}"
                targets.add(sub if sub in known else origin)
    # a package that holds ``name`` is imported before it (``mailspec`` before
    # ``mailspec.otel``), so importing from it closes no circle
    ancestors = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
    return {t for t in targets if t in known and t != name and t not in ancestors}


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    found = modules()
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    assert [sorted(c) for c in circles(graph)] == []


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]
