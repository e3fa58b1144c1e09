"""The codegen_scale case: ``mailspec generate --check`` on 4, 40 and 160 specs.

The specs are copies of those in spec/, each renamed (``cloudmails_7``), written to a
temp folder and generated once, so ``--check`` does all its work (load, check, render,
compare) and finds nothing to report. Each size runs as a whole process, the three
sizes interleaved in a shuffled order each round; the table gives the median per size
and per spec, and the ratio of 160 specs to 40 says whether the time grows in
proportion (4.0) or worse. A last in-process run of the 160 specs splits the time into
the pipeline's phases, to show where it goes.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = (4, 40, 160)  # specs generated at once: renamed copies of spec/'s, in turn


def write_copies(spec_dir: Path, count: int) -> int:
    """``count`` specs in ``spec_dir``: renamed copies of the specs in spec/, taken in
    turn (so the mix of providers is the same at every size); how many."""
    spec_dir.mkdir(parents=True)
    sources = sorted((ROOT / "spec").glob("*.yaml"))
    texts = [path.read_text(encoding="utf-8") for path in sources]
    for i in range(count):
        name = f"{sources[i % len(sources)].stem}_{i}"
        renamed = re.sub(
            r"^(provider:\n  name: )\S+",
            rf"\g<1>{name}",
            texts[i % len(texts)],
            count=1,
            flags=re.M,
        )
        (spec_dir / f"{name}.yaml").write_text(renamed, encoding="utf-8")
    return count


def _generate(spec_dir: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mailspec", "generate", "--spec-dir", str(spec_dir), "--out", str(out), *extra]  # fmt: skip


def phases(spec_dir: Path, out: Path) -> dict[str, float]:
    """Seconds per phase of one in-process ``--check`` (imports already done)."""
    from mailspec.codegen.checks import check
    from mailspec.codegen.context import build
    from mailspec.codegen.loader import load_spec
    from mailspec.codegen.render import render_all
    from mailspec.codegen.writer import compare, spec_files

    spent = dict.fromkeys(("load", "check", "build", "render", "compare"), 0.0)

    def timed(phase: str, run: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = run()
        spent[phase] += time.perf_counter() - t0
        return value

    models = []
    for path in spec_files(spec_dir):
        display = f"{spec_dir.name}/{path.name}"
        located = timed("load", lambda: load_spec(path, display_name=display))  # noqa: B023
        timed("check", lambda: check(located))  # noqa: B023
        models.append(timed("build", lambda: build(located, display)))  # noqa: B023
    files = timed("render", lambda: render_all(models, spec_dir.name))
    timed("compare", lambda: compare(files, out))
    return spent


def case_codegen_scale(report: Any, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mailspec-bench-") as tmp:
        sizes: dict[str, tuple[Path, Path, int]] = {}
        for size in SIZES:
            spec_dir, out = Path(tmp) / f"x{size}" / "spec", Path(tmp) / f"x{size}" / "out"
            count = write_copies(spec_dir, size)
            subprocess.run(_generate(spec_dir, out), check=True, capture_output=True)
            sizes[f"generate --check, {count} specs (process)"] = (spec_dir, out, count)
        samples: dict[str, list[float]] = {k: [] for k in sizes}
        names = list(sizes)
        rng = random.Random(7)
        for _ in range(rounds):
            rng.shuffle(names)
            for name in names:
                spec_dir, out, _count = sizes[name]
                t0 = time.perf_counter()
                subprocess.run(_generate(spec_dir, out, "--check"), check=True, capture_output=True)
                samples[name].append(time.perf_counter() - t0)
        meds = report.add("codegen_scale", samples)
        for row in report.rows[-len(samples) :]:
            row.unit = "s"
        per_spec = {
            name.replace("(process)", "per spec"): [s / sizes[name][2] for s in samples[name]]
            for name in names
        }
        report.add("codegen_scale", dict(sorted(per_spec.items(), key=lambda kv: len(kv[0]))))
        for row in report.rows[-len(per_spec) :]:
            row.unit = "s"
        forty, big = (n for n in sizes if sizes[n][2] in (40, 160))
        report.goal("codegen_scale", "generate --check, 40 specs, s (absolute goal)", meds[forty], "<", 1.0)  # fmt: skip
        report.ratio("codegen_scale", "160 specs / 40 specs (4.0: grows in proportion)", samples, big, forty, "<=", 4.0)  # fmt: skip
        spec_dir, out, count = sizes[big]
        split = phases(spec_dir, out)
        report.notes.append(
            f"codegen_scale: {count} specs in process: "
            + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in split.items())
        )
