"""The provider specs as test data (imported as ``spec_support``; tests/ is on sys.path
through tests/conftest.py).

Tests that cover "every provider" take the providers from here, so a new spec of an
existing style is covered by them without editing a test. What a spec states is read
from the generated ``spec.SPEC`` (the decoded YAML), which is data the runtime code
paths under test (sending, parsing, explaining) consume but do not compute; a test
checks runtime behaviour against it, and keeps its hand-written facts for the known
providers on top.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mailspec
from mailspec.spec_model import Spec, auth_keywords

SPEC_DIR = Path(__file__).resolve().parent.parent / "spec"

# every provider with a generated package, by name
NAMES: list[str] = mailspec.available()
SPECS: dict[str, Spec] = {name: mailspec.registry.spec(name) for name in NAMES}


def names(where: Callable[[Spec], object]) -> list[str]:
    """The providers whose spec satisfies ``where``, by name."""
    return [name for name, spec in SPECS.items() if where(spec)]


def credentials(name: str, value: str = "k") -> dict[str, str]:
    """Keyword credentials for ``mailspec.provider(name, ...)``, as the spec names them."""
    keys, _ = auth_keywords(SPECS[name].auth)
    return dict.fromkeys(keys, value)


def template_only(name: str) -> bool:
    return SPECS[name].capabilities.template_only
