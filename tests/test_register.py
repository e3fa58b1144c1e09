"""Providers of the user's own: generated into a package of theirs, registered with
``mailspec.register()``, then taken by name everywhere mailspec's own are.

Each test generates real packages from a copy of spec/cloudmails.yaml (renamed) into a
temp folder, imports them from there and sends to the sandbox over real HTTP. The
registry is replaced by an empty one for each test, so nothing registered leaks."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mailspec
from mailspec import Mailer, Message, ValidationError, registry
from mailspec.codegen.writer import generate
from mailspec.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
CLOUDMAILS = (ROOT / "spec" / "cloudmails.yaml").read_text(encoding="utf-8")
_unique = itertools.count()


def renamed(name: str, base_url: str = "https://api.postwave.example/v2") -> str:
    """spec/cloudmails.yaml as a provider of another name and base URL."""
    text = re.sub(r"^(provider:\n  name: )cloudmails", rf"\g<1>{name}", CLOUDMAILS, flags=re.M)
    text = text.replace("title: CloudMails\n", f"title: {name.title()}\n", 1)
    return text.replace("https://api.cloudmails.eu/v1", base_url)


def make_package(root: Path, package: str, specs: dict[str, str]) -> str:
    """Generate ``specs`` (file stem -> text) into ``root/<package as folders>``."""
    spec_dir = root / f"specs_{next(_unique)}"
    spec_dir.mkdir()
    for stem, text in specs.items():
        (spec_dir / f"{stem}.yaml").write_text(text, encoding="utf-8")
    generate(spec_dir, root.joinpath(*package.split(".")))
    return package


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for this test's packages, and an empty registry."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def pkg_name(stem: str) -> str:
    return f"{stem}_{next(_unique)}"  # never one sys.modules already holds


MESSAGE = Message(
    from_email="shop@example.com", to="ann@example.org", subject="Hi", html="<p>x</p>"
)


def test_a_registered_package_sends_through_the_sandbox(root: Path) -> None:
    package = make_package(
        root, f"{pkg_name('myapp')}.mail_providers", {"postwave": renamed("postwave")}
    )
    assert "postwave" not in mailspec.available()
    assert mailspec.register(package) == ["postwave"]
    assert "postwave" in mailspec.available() and "cloudmails" in mailspec.available()
    assert mailspec.spec("postwave").regions["eu"].base_url == "https://api.postwave.example/v2"
    assert mailspec.explain_code("postwave", 429).category.value == "rate_limit"
    with Sandbox(["postwave"]) as sandbox:
        server = sandbox["postwave"]
        assert server.base_url.endswith("/v2")
        direct = mailspec.provider(
            "postwave", api_key=server.credentials["api_key"], base_url=server.base_url
        )
        result = Mailer([direct]).send(MESSAGE)
        assert result.provider == "postwave" and result.message_ids
        from_url = mailspec.provider_from_url(
            f"postwave://{server.credentials['api_key']}@?base_url={server.base_url}"
        )
        statuses = from_url.status(result.message_ids)
        assert [s.message_id for s in statuses] == result.message_ids
        (held,) = server.accepted
        assert (held.message_id, held.recipient) == (result.message_ids[0], "ann@example.org")
        assert held.params["subject"] == "Hi"


def test_registering_twice_is_harmless_and_the_module_is_the_users(root: Path) -> None:
    package = make_package(root, pkg_name("twice"), {"postwave": renamed("postwave")})
    assert mailspec.register(package) == mailspec.register(package) == ["postwave"]
    client = type(mailspec.provider("postwave", api_key="k").client)
    assert client.__module__ == f"{package}.postwave.client"


def test_a_generated_package_imports_under_any_name(root: Path) -> None:
    specs = {"postwave": renamed("postwave")}
    deep = make_package(root, f"{pkg_name('a')}.b.c", specs)
    flat = make_package(root, pkg_name("flat"), {"postmark2": renamed("postmark2")})
    assert mailspec.register(deep) == ["postwave"]
    assert mailspec.register(flat) == ["postmark2"]
    for name, package in (("postwave", deep), ("postmark2", flat)):
        spec_module = sys.modules.get(f"{package}.{name}.spec")
        assert spec_module is None  # nothing imported until first used
        assert mailspec.spec(name).provider.name == name
        assert f"{package}.{name}.spec" in sys.modules


def test_a_name_of_mailspecs_own_is_refused(root: Path) -> None:
    package = make_package(root, pkg_name("clash"), {"cloudmails": renamed("cloudmails")})
    with pytest.raises(
        ValidationError, match="provider 'cloudmails' is already one of mailspec's own"
    ):
        mailspec.register(package)
    assert mailspec.spec("cloudmails").regions["eu"].base_url == "https://api.cloudmails.eu/v1"


def test_a_name_another_package_has_is_refused(root: Path) -> None:
    first = make_package(root, pkg_name("first"), {"postwave": renamed("postwave")})
    second = make_package(
        root, pkg_name("second"), {"postwave": renamed("postwave", "https://b.example/")}
    )
    mailspec.register(first)
    with pytest.raises(ValidationError, match=rf"provider 'postwave' is already in {first}"):
        mailspec.register(second)
    assert mailspec.spec("postwave").regions["eu"].base_url == "https://api.postwave.example/v2"


@pytest.mark.parametrize(
    ("package", "message"),
    [
        ("no_such_package_xyz", "cannot import 'no_such_package_xyz': No module named"),
        ("json", "'json' is not a package `mailspec generate` wrote: it has no PROVIDERS"),
        ("", "expected a package name"),
        (42, "expected a package name"),
    ],
)
def test_what_is_not_a_generated_package_is_refused(
    root: Path, package: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        mailspec.register(package)  # type: ignore[arg-type]


def test_a_package_that_fails_to_import_is_one_validation_error(root: Path) -> None:
    broken = root / pkg_name("broken")
    broken.mkdir()
    (broken / "__init__.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="RuntimeError: boom"):
        mailspec.register(broken.name)


def test_the_cli_takes_packages_from_the_environment(root: Path) -> None:
    package = make_package(root, pkg_name("cliapp"), {"postwave": renamed("postwave")})
    env = {"PYTHONPATH": str(root), "MAILSPEC_PACKAGES": package, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "mailspec"]
    matrix = subprocess.run(
        [*run, "providers"], capture_output=True, text=True, env=env, timeout=60
    )
    assert matrix.returncode == 0, matrix.stderr
    assert [row.split()[0] for row in matrix.stdout.splitlines()[1:]] == [
        "aotsend",
        "aurorasendcloud",
        "cloudmails",
        "postwave",
        "sendcloud",
    ]
    codes = subprocess.run(
        [*run, "codes", "postwave", "404"], capture_output=True, text=True, env=env, timeout=60
    )
    assert codes.returncode == 0 and "not_found" in codes.stdout
    env["MAILSPEC_PACKAGES"] = "no_such_package_xyz"
    bad = subprocess.run([*run, "providers"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: $MAILSPEC_PACKAGES: ") and "Traceback" not in bad.stderr
    assert len(bad.stderr.splitlines()) == 1


def add_entry_point(root: Path, dist: str, name: str, value: str) -> None:
    """An installed distribution's metadata, as pip writes it, with one entry point in
    the group mailspec.providers (importlib.metadata finds it on sys.path)."""
    info = root / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[mailspec.providers]\n{name} = {value}\n", encoding="utf-8"
    )


def test_an_entry_point_is_read_once_when_a_provider_is_first_looked_up(root: Path) -> None:
    package = make_package(root, pkg_name("ep"), {"postwave": renamed("postwave")})
    add_entry_point(root, pkg_name("ep_dist"), "postwave", package)
    assert package not in sys.modules  # registering is lazy: nothing read yet
    assert "postwave" in mailspec.available()
    assert package in sys.modules and f"{package}.postwave" not in sys.modules
    assert mailspec.spec("postwave").provider.name == "postwave"
    assert mailspec.register(package) == ["postwave"]  # the same package: no clash
    add_entry_point(root, pkg_name("late"), "late", "no_such_package_xyz")
    assert "postwave" in mailspec.available()  # read once: a later one is not looked at


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_such_package_xyz", "cannot import 'no_such_package_xyz'"),
        ("pkg:attr", "its value must be a package name, got 'pkg:attr'"),
        ("CLASH", "provider 'cloudmails' is already one of mailspec's own"),
    ],
)
def test_a_bad_entry_point_is_one_validation_error_naming_it(
    root: Path, value: str, message: str
) -> None:
    if value == "CLASH":
        value = make_package(root, pkg_name("clash"), {"cloudmails": renamed("cloudmails")})
    dist = pkg_name("bad_dist")
    add_entry_point(root, dist, "mine", value)
    with pytest.raises(ValidationError) as info:
        mailspec.provider("cloudmails", api_key="k")
    text = str(info.value)
    assert text.startswith(f"entry point 'mine' of {dist} (mailspec.providers): ")
    assert message in text and "\n" not in text
