"""The wheel installs one import package, ships its typing marker and templates, and
keeps pyyaml/jinja2 out of the runtime dependencies; importing mailspec stays lazy."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from spec_support import NAMES, SPECS, template_only

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(mailspec_wheel: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(mailspec_wheel)


def test_wheel_holds_one_import_package(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"mailspec"}
    names = set(wheel.namelist())
    for expected in (
        "mailspec/py.typed",
        "mailspec/codegen/loader.py",
        "mailspec/codegen/templates/client.py.j2",
        "mailspec/generated/__init__.py",
        "mailspec/generated/aurorasendcloud/client.py",
        "mailspec/adapters/status.py",
        "mailspec/runtime/client.py",
    ):
        assert expected in names


def test_the_wheel_carries_the_mit_license(wheel: zipfile.ZipFile) -> None:
    (license_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_name).decode().startswith("MIT License")
    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(wheel.read(meta_name).decode())
    assert meta["License-Expression"] == "MIT"


def test_the_dev_constraints_pin_every_tool_the_dev_extra_names() -> None:
    root = Path(__file__).resolve().parent.parent
    pinned = {
        re.split(r"==", line)[0].lower().replace("_", "-")
        for line in (root / "constraints" / "dev.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert all(
        "==" in line
        for line in (root / "constraints" / "dev.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    # cryptography: the webhooks-ecdsa extra, which the dev extra installs
    for tool in (
        "pytest",
        "ruff",
        "mypy",
        "syrupy",
        "hypothesis",
        "msgspec",
        "urllib3",
        "cryptography",
    ):
        assert tool in pinned, tool


def test_runtime_dependencies_are_urllib3_and_msgspec_only(wheel: zipfile.ZipFile) -> None:
    (meta_name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = Parser().parsestr(wheel.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist") or []
    unconditional = {
        re.match(r"[A-Za-z0-9_.-]+", r).group(): r  # type: ignore[union-attr]
        for r in requires
        if "extra ==" not in r
    }
    assert sorted(unconditional) == ["msgspec", "urllib3"]
    # the Transport sends on urllib3 2's pooled connections directly
    assert "<3" in unconditional["urllib3"], unconditional
    codegen = [r for r in requires if 'extra == "codegen"' in r]
    assert any(r.lower().startswith("pyyaml") for r in codegen)
    assert any(r.lower().startswith("jinja2") for r in codegen)


# what `import mailspec` (the Mailer included) must not load: provider code, the HTTP
# runtime, the code generator and its dependencies, and the spec model
HEAVY = (
    "mailspec.generated",
    "mailspec.adapters",
    "mailspec.runtime",
    "mailspec.checks.request",
    "mailspec.codegen",
    "mailspec.spec_model",
    "urllib3",
    "celery",
    "django",
    "redis",
    "yaml",
    "opentelemetry",
    "jinja2",
    "greenlet",
    "h11",
)


def test_import_is_lazy() -> None:
    probe = (
        "import sys, mailspec\n"
        "assert mailspec.Mailer.__module__ == 'mailspec.mailer.core'\n"
        f"heavy = [m for m in sys.modules if m.startswith({HEAVY!r})]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == ""


def test_cli_codes_and_providers() -> None:
    run = [sys.executable, "-m", "mailspec"]
    one = subprocess.run(
        [*run, "codes", "aurorasendcloud", "40005"], capture_output=True, text=True, check=True
    )
    assert "authentication" in one.stdout and "40005" in one.stdout
    bad = subprocess.run([*run, "codes", "no-such-provider"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
    matrix = subprocess.run([*run, "providers"], capture_output=True, text=True, check=True)
    assert "aurorasendcloud" in matrix.stdout and "3000" in matrix.stdout
    # one row per spec, first column the provider's name, in name order
    header, *rows = matrix.stdout.rstrip().splitlines()
    assert header.split()[:2] == ["send", "template"]
    assert [row.split()[0] for row in rows] == NAMES
    # labels are two or more spaces apart, and may hold one space ("sender name")
    starts = [found.start() for found in re.finditer(r"\S+(?: \S+)*", header)]

    def cell(row: str, label: str) -> str:
        start = header.index(label)
        later = [s for s in starts if s > start]
        return row[start : later[0] if later else None].strip()

    for row in rows:
        name = row.split()[0]
        assert cell(row, "send") == "yes"  # every spec has a send operation
        has_template = (
            "send_template" in SPECS[name].operations
            or template_only(name)
            or "template" in SPECS[name].mapping.get("send", {})  # stored templates via send
        )
        assert cell(row, "template") == ("yes" if has_template else "-"), row
        limit = SPECS[name].limits.recipients_per_request
        assert cell(row, "rcpts/req") == (str(limit) if limit else "-"), row
        mapping = SPECS[name].mapping.get("send", {})
        assert cell(row, "sender name") == ("yes" if "from_name" in mapping else "-"), row
        assert cell(row, "tags") == ("yes" if "tags" in mapping else "-"), row
    by_name = {row.split()[0]: row for row in rows}
    # CloudMails requires html; SendCloud caps attachments at 10 MiB (code 40819)
    assert cell(by_name["cloudmails"], "text-only") == "-"
    assert cell(by_name["sendcloud"], "text-only") == "yes"
    assert cell(by_name["sendcloud"], "attach max") == "10 MiB"
    assert cell(by_name["cloudmails"], "attach max") == "-"
