"""The provider list the tests iterate over (spec_support.NAMES) is the set of spec
files, so a spec added under spec/ is covered by every test that takes its providers
from there, and a generated package without a spec is noticed."""

from __future__ import annotations

import yaml
from spec_support import NAMES, SPEC_DIR, SPECS, credentials


def test_the_providers_under_test_are_the_spec_files() -> None:
    files = sorted(p for p in SPEC_DIR.glob("*.yaml"))
    declared = [yaml.safe_load(p.read_text(encoding="utf-8"))["provider"]["name"] for p in files]
    assert sorted(declared) == NAMES
    # the four providers the design names are among them
    assert {"aurorasendcloud", "sendcloud", "cloudmails", "aotsend"} <= set(NAMES)


def test_the_generated_specs_say_which_provider_they_are() -> None:
    assert all(spec.provider.name == name for name, spec in SPECS.items())


def test_credentials_follow_the_documented_names() -> None:
    assert credentials("aurorasendcloud") == {"api_user": "k", "api_key": "k"}
    assert credentials("sendcloud") == {"api_user": "k", "api_key": "k"}
    assert credentials("cloudmails") == {"api_key": "k"}
    assert credentials("aotsend") == {"app_key": "k"}
