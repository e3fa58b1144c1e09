"""The committed generated/ is exactly what the specs produce, and ``--check`` says so;
on a copy, every kind of drift is reported, and ``generate`` repairs it."""

from __future__ import annotations

import re
from pathlib import Path

from codegen_support import GENERATED_DIR, position, run_cli

from mailspec.codegen.schema import schema_text
from mailspec.codegen.writer import compare, generate


def test_committed_generated_code_equals_a_fresh_regeneration(rendered: dict[str, str]) -> None:
    drift = compare(rendered, GENERATED_DIR)
    assert not drift, "generated/ is stale; run `python -m mailspec generate`:\n" + "\n".join(
        drift.lines()
    )


def test_check_exits_0_on_the_checkout() -> None:
    result = run_cli("generate", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "generated code is up to date\n"
    assert result.stderr == ""


def _first_code_message(text: str) -> str:
    """The message of the first row under ``codes:`` (a value that only lands in codes.py)."""
    codes_at = text.index("\ncodes:\n")
    match = re.compile(r"\n  \d+: \{message: ([^,}]+),").search(text, codes_at)
    assert match is not None
    return match[1]


def test_check_reports_every_kind_of_drift_and_generate_repairs_it(checkout_copy: Path) -> None:
    spec, out = checkout_copy / "spec", checkout_copy / "generated"
    reference = spec / "aurorasendcloud.yaml"
    text = reference.read_text(encoding="utf-8")
    message = _first_code_message(text)
    reference.write_text(text.replace(f"{{message: {message},", "{message: Changed,", 1), "utf-8")
    (out / "aurorasendcloud" / "stray.py").write_text("x = 1\n", encoding="utf-8")
    (out / "aurorasendcloud" / "models.py").unlink()

    result = run_cli("generate", "--check", "--spec-dir", spec, "--out", out)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # the spec's sha256 is in every header, so each of its modules differs
    assert "differs: aurorasendcloud/codes.py" in lines
    assert "differs: aurorasendcloud/client.py" in lines
    assert "missing: aurorasendcloud/models.py" in lines
    assert "extra:   aurorasendcloud/stray.py" in lines
    assert not any("differs: " in line and "aurorasendcloud" not in line for line in lines)
    assert f"{len(lines)} generated file(s) out of date" in result.stderr
    assert (out / "aurorasendcloud" / "stray.py").exists(), "--check must not touch the output"

    fixed = run_cli("generate", "--spec-dir", spec, "--out", out)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert not (out / "aurorasendcloud" / "stray.py").exists()
    assert (out / "aurorasendcloud" / "models.py").exists()
    codes = (out / "aurorasendcloud" / "codes.py").read_text(encoding="utf-8")
    assert 'message="Changed"' in codes
    again = run_cli("generate", "--check", "--spec-dir", spec, "--out", out)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout == "generated code is up to date\n"


def test_check_is_exact_to_the_byte(checkout_copy: Path) -> None:
    spec, out = checkout_copy / "spec", checkout_copy / "generated"
    target = out / "aurorasendcloud" / "meta.py"
    target.write_bytes(target.read_bytes() + b"\n")
    result = run_cli("generate", "--check", "--spec-dir", spec, "--out", out)
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["differs: aurorasendcloud/meta.py"]


def test_generate_removes_a_stray_package_and_its_folder(checkout_copy: Path) -> None:
    spec, out = checkout_copy / "spec", checkout_copy / "generated"
    stray = out / "gone_provider"
    stray.mkdir()
    (stray / "__init__.py").write_text("", encoding="utf-8")
    (stray / "__pycache__").mkdir()
    (stray / "__pycache__" / "x.pyc").write_bytes(b"")
    drift = generate(spec, out)
    assert drift.extra == ["gone_provider/__init__.py"]
    assert not stray.exists()
    assert not generate(spec, out, check_only=True)


def test_check_reports_a_stale_schema(checkout_copy: Path) -> None:
    spec, out = checkout_copy / "spec", checkout_copy / "generated"
    (spec / "schema.json").write_text("{}\n", encoding="utf-8")
    result = run_cli("generate", "--check", "--spec-dir", spec, "--out", out)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"differs: {spec / 'schema.json'}"]
    assert run_cli("generate", "--spec-dir", spec, "--out", out).returncode == 0
    assert (spec / "schema.json").read_text(encoding="utf-8") == schema_text()


def test_a_bad_spec_fails_through_the_cli_without_a_traceback(checkout_copy: Path) -> None:
    spec, out = checkout_copy / "spec", checkout_copy / "generated"
    reference = spec / "aurorasendcloud.yaml"
    text = reference.read_text(encoding="utf-8")
    needle = "page_size: "
    assert needle in text
    bad = re.sub(r"page_size: \d+", "page_size: 0", text, count=1)
    reference.write_text(bad, encoding="utf-8")
    before = {p: p.read_bytes() for p in out.rglob("*.py")}

    for args in (["--check"], []):
        result = run_cli("generate", *args, "--spec-dir", spec, "--out", out)
        assert result.returncode == 1
        line, col = position(bad, "page_size: 0")
        assert result.stderr == (
            f"error: spec/aurorasendcloud.yaml:{line}:{col}: limits.page_size: "
            "expected an integer >= 1, got 0\n"
        )
        assert "Traceback" not in result.stderr
        assert result.stdout == ""
    # a bad spec never produces half a package
    assert {p: p.read_bytes() for p in out.rglob("*.py")} == before
