"""``mailspec generate``: regenerate the provider clients from their YAML specs, or
check that they are up to date."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import (
    UsageError,
)

_PROJECT = Path(__file__).resolve().parents[2]


def _default_dir(name: str) -> Path:
    """mailspec's own spec/ and generated/: the checkout's this package runs from, else
    the installed package's (its specs ship as data beside the clients made from them),
    whatever the working directory."""
    if (_PROJECT / "pyproject.toml").is_file() and (_PROJECT / "spec").is_dir():
        return _PROJECT / name
    package = Path(__file__).resolve().parents[1]
    return package / "_data" / "spec" if name == "spec" else package / name


def _own_folders() -> list[Path]:
    """Where mailspec itself is: its package and its generated providers' package."""
    import importlib.util

    folders = [Path(__file__).resolve().parents[1]]
    found = importlib.util.find_spec("mailspec.generated")
    if found is not None and found.submodule_search_locations:
        folders += [Path(p).resolve() for p in found.submodule_search_locations]
    return folders


def _generate_dirs(spec_dir: Path | None, out: Path | None) -> tuple[Path, Path]:
    """``--spec-dir`` and ``--out``, defaults filled in. Users' specs are never written
    into mailspec's own package: a ``--spec-dir`` of one's own needs an ``--out``, and
    an ``--out`` inside mailspec is only for mailspec's own specs."""
    default_specs = _default_dir("spec")
    if spec_dir is None:
        spec_dir = default_specs
    if out is None:
        if spec_dir.resolve() != default_specs.resolve():
            raise UsageError(
                f"--spec-dir {spec_dir} needs --out, the folder of your package "
                "(for example --out myapp/mail_providers)"
            )
        out = _default_dir("generated")
    mine = _is_own(spec_dir)
    target = out.resolve()
    for folder in _own_folders():
        if not mine and (target == folder or folder in target.parents):
            raise UsageError(
                f"--out {out} is inside mailspec's own package ({folder}); generate your "
                "providers into a package of yours (for example --out myapp/mail_providers)"
            )
    return spec_dir, out


def _is_own(spec_dir: Path) -> bool:
    """Whether ``spec_dir`` is mailspec's own spec folder (not a user's)."""
    own = _default_dir("spec")
    return own.is_dir() and spec_dir.resolve() == own.resolve()


SCHEMA_TITLE = "mailspec provider spec"  # what codegen.schema writes as the title


def _schema_is_ours(spec_dir: Path, path: Path) -> bool:
    """Whether ``generate`` may write ``path``: in mailspec's own spec/, always; in a
    folder of yours, only a schema.json an earlier ``generate`` wrote (its title says
    so). Only files generate made are replaced, and JSON cannot carry the do-not-edit
    header: a schema.json of your own is never touched, and none is created."""
    if _is_own(spec_dir):
        return True
    try:
        found = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and found.get("title") == SCHEMA_TITLE


def _cmd_generate(args: argparse.Namespace) -> int:
    try:
        from ..codegen import GenerateError, SpecError, generate
        from ..codegen.schema import schema_text
    except ImportError as exc:  # pyyaml/jinja2 are the codegen extra, not runtime deps
        print(
            f"mailspec generate needs the codegen extra: pip install 'mailspec[codegen]' ({exc})",
            file=sys.stderr,
        )
        return 2
    spec_dir, args.out = _generate_dirs(args.spec_dir, args.out)
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is not a directory")
    try:
        drift = generate(spec_dir, args.out, check_only=args.check, changes=args.changes)
    except GenerateError as exc:  # a mistyped folder: nothing was written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a folder that cannot be created or written
        print(f"error: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    schema_path = spec_dir / "schema.json"
    schema = schema_text()
    try:
        schema_stale = _schema_is_ours(spec_dir, schema_path) and (
            not schema_path.exists() or schema_path.read_text(encoding="utf-8") != schema
        )
        if schema_stale and not args.check:
            schema_path.write_text(schema, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: {schema_path}: {getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        return 1
    if drift.changes is not None:  # before the drift: what the specs changed, then files
        from .spec import changes_lines

        for line in changes_lines(drift.changes):
            print(line)
    if args.check:
        lines = drift.lines() + ([f"differs: {schema_path}"] if schema_stale else [])
        for line in lines:
            print(line)
        if lines:
            print(
                f"{len(lines)} generated file(s) out of date: run `mailspec generate`",
                file=sys.stderr,
            )
            return 1
        print("generated code is up to date")
        return 0
    for line in drift.written_lines() + (["wrote:   schema.json"] if schema_stale else []):
        print(line)
    print("generated code is up to date" if not drift and not schema_stale else "done")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``generate`` to the subcommands ``sub``."""
    gen = sub.add_parser(
        "generate",
        help="regenerate clients from the YAML specs, or check them",
        description="Regenerate the provider clients and spec/schema.json from the YAML "
        "specs (needs the codegen extra). A spec mistake is reported with file, line and "
        "field, and nothing is written.",
    )
    gen.add_argument(
        "--spec-dir",
        type=Path,
        metavar="DIR",
        help="the folder of provider specs (default: mailspec's spec/)",
    )
    gen.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="the folder to write the package of clients to: needed with a --spec-dir of "
        "your own, and never inside mailspec (default: mailspec's generated/)",
    )
    gen.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the output is not up to date"
    )
    gen.add_argument(
        "--changes",
        action="store_true",
        help="also print each spec's changes since the package in --out was generated "
        "(as `mailspec spec diff` does, breaking or not; new and removed providers too)",
    )
    gen.set_defaults(run=_cmd_generate)
