"""What each extra must declare so that it works alone in a fresh virtualenv
(scripts/extras-check installs each one alone and runs what it promises)."""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser
from pathlib import Path


def _requires(wheel: Path, extra: str) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(meta_name).decode())
    names = set()
    for requirement in meta.get_all("Requires-Dist") or []:
        if f'extra == "{extra}"' in requirement:
            names.add(re.match(r"[A-Za-z0-9_.-]+", requirement).group().lower())  # type: ignore[union-attr]
    return names


def test_the_celery_extra_declares_packaging(mailspec_wheel: Path) -> None:
    # kombu (Celery's messaging) imports packaging without declaring it: without it,
    # `celery -A tasks worker` stops on ModuleNotFoundError in a fresh venv
    assert {"celery", "packaging"} <= _requires(mailspec_wheel, "celery")
