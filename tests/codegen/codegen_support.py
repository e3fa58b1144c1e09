"""Helpers shared by the code-generator tests (imported as ``codegen_support``).

Everything here reads the checkout the tests run from (``ROOT``), never a hard-coded
list of providers: a new ``spec/*.yaml`` simply adds test cases and snapshots.
"""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "spec"
GENERATED_DIR = ROOT / "generated"
REFERENCE = SPEC_DIR / "aurorasendcloud.yaml"

# The smallest spec the checks accept: no delivery table, no shapes, an HTTP-status
# envelope. Tests copy it and add what they exercise.
MINIMAL_SPEC = """\
provider: {name: mini, title: Mini, style: cloudmails}
default_region: eu
regions:
  eu: {title: EU, base_url: "https://api.example.com/v1"}
auth: {bearer: api_key}
envelope: {code_from: http}
operations:
  send:
    summary: Send one email.
    method: POST
    path: /send
    encoding: json
    response: Envelope
    params:
      to: {type: "list[str]", required: true}
codes:
  200: {message: OK, category: success}
"""


def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def position(text: str, needle: str, offset: int = 0) -> tuple[int, int]:
    """1-based (line, column) of ``needle``'s first occurrence, plus ``offset`` characters.

    Expected error positions are computed from the text like this, never hard-coded,
    so editing the reference spec does not break the table of malformed specs.
    """
    index = text.index(needle) + offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def run_cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m mailspec ARGS`` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mailspec", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_tool(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m TOOL ARGS`` (ruff, mypy, py_compile) from the repo root by default."""
    return subprocess.run(
        [sys.executable, "-m", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


_counter = itertools.count()


def import_generated(package_dir: Path) -> dict[str, ModuleType]:
    """Import one generated provider package from any folder, under a unique name.

    The package's relative imports resolve inside it; its absolute ones
    (``mailspec.spec_model``, ``mailspec.runtime`` …) come from the installed library.
    Returns the package and its submodules by short name.
    """
    name = f"_mailspec_test_pkg_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    # kept in sys.modules: msgspec resolves a Struct's annotations through its module
    sys.modules[name] = package
    spec.loader.exec_module(package)
    modules = {"__init__": package}
    for sub in ("client", "codes", "spec", "models"):
        modules[sub] = importlib.import_module(f"{name}.{sub}")
    return modules
