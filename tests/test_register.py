"""Providers of the user's own: generated into a package of theirs, registered with
``mailspec.register()``, then taken by name everywhere mailspec's own are.

Each test generates real packages from a copy of spec/cloudmails.yaml (renamed) into a
temp folder, imports them from there and sends to the sandbox over real HTTP. The
registry is replaced by an empty one for each test, so nothing registered leaks."""

from __future__ import annotations

import itertools
import logging
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
# mailspec's own providers: one per spec in spec/
BUILTINS = sorted(path.stem for path in (ROOT / "spec").glob("*.yaml"))
CLOUDMAILS_URL = "https://api.cloudmails.eu/v1"


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


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("raise ImportError('needs libparcel')\n", "ImportError: needs libparcel"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    ],
)
def test_a_package_that_fails_to_import_is_one_validation_error(
    root: Path, code: str, says: str
) -> None:
    broken = root / pkg_name("broken")
    broken.mkdir()
    (broken / "__init__.py").write_text(code, encoding="utf-8")
    with pytest.raises(ValidationError, match=says):
        mailspec.register(broken.name)
    assert "cloudmails" in mailspec.available()


def test_the_cli_takes_packages_from_the_environment(root: Path) -> None:
    package = make_package(root, pkg_name("cliapp"), {"postwave": renamed("postwave")})
    env = {"PYTHONPATH": str(root), "MAILSPEC_PACKAGES": package, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "mailspec"]
    matrix = subprocess.run(
        [*run, "providers"], capture_output=True, text=True, env=env, timeout=60
    )
    assert matrix.returncode == 0, matrix.stderr
    assert [row.split()[0] for row in matrix.stdout.splitlines()[1:]] == sorted(
        [*BUILTINS, "postwave"]
    )
    codes = subprocess.run(
        [*run, "codes", "postwave", "404"], capture_output=True, text=True, env=env, timeout=60
    )
    assert codes.returncode == 0 and "not_found" in codes.stdout
    env["MAILSPEC_PACKAGES"] = f"no_such_package_xyz {package}"
    bad = subprocess.run([*run, "providers"], capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 0  # the other package and mailspec's own providers still work
    assert "postwave" in bad.stdout and "cloudmails" in bad.stdout
    assert bad.stderr.startswith(
        "warning: $MAILSPEC_PACKAGES package 'no_such_package_xyz' was not loaded: "
    )
    assert "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1
    asked = subprocess.run(
        [*run, "codes", "no_such_package_xyz", "404"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert asked.returncode == 2  # a provider name that is no provider: a bad argument
    assert asked.stderr.splitlines()[-1].startswith(
        "error: provider: 'no_such_package_xyz' is not available: $MAILSPEC_PACKAGES package"
    )


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


# the ways a package of providers named by an entry point can be broken: the code of its
# __init__ (None: the module does not exist), or a generated package (GENERATED)
GENERATED = "generated"
BROKEN_ENTRY_POINTS = {
    "missing_module": (None, "cannot import 'no_such_package_xyz': No module named"),
    "import_error": ("raise ImportError('needs libparcel')\n", "ImportError: needs libparcel"),
    "other_exception": ("raise RuntimeError('plugin bug')\n", "RuntimeError: plugin bug"),
    "sys_exit": ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    "not_a_provider_package": ("VALUE = 1\n", "it has no PROVIDERS"),
    "not_a_table": ("PROVIDERS = ['parcel']\n", "PROVIDERS is not a table"),
    "clash_with_builtin": (GENERATED, "provider 'cloudmails' is already one of mailspec's own"),
    "not_a_package_name": ("pkg:attr", "its value must be a package name, got 'pkg:attr'"),
}


def broken_package(root: Path, variant: str) -> str:
    """The value of an entry point naming a package of providers broken as ``variant``."""
    code, _ = BROKEN_ENTRY_POINTS[variant]
    if code is None:
        return "no_such_package_xyz"
    if code == GENERATED:
        return make_package(root, pkg_name("clash"), {"cloudmails": renamed("cloudmails")})
    if ":" in code:
        return code
    package = root / pkg_name(variant)
    package.mkdir()
    (package / "__init__.py").write_text(code, encoding="utf-8")
    return package.name


def registry_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mailspec.registry"]


@pytest.mark.parametrize("variant", BROKEN_ENTRY_POINTS)
def test_a_broken_entry_point_is_left_out_named_and_the_rest_works(
    root: Path, caplog: pytest.LogCaptureFixture, variant: str
) -> None:
    _, says = BROKEN_ENTRY_POINTS[variant]
    good = make_package(root, pkg_name("good"), {"postwave": renamed("postwave")})
    add_entry_point(root, pkg_name("good_dist"), "postwave", good)
    dist = pkg_name("bad_dist")
    add_entry_point(root, dist, "parcel", broken_package(root, variant))
    where = f"entry point 'parcel' of {dist} (mailspec.providers)"

    with caplog.at_level(logging.WARNING, logger="mailspec.registry"):
        assert mailspec.available() == sorted([*BUILTINS, "postwave"])
        mailspec.provider("cloudmails", api_key="k")  # mailspec's own, and the good one
        assert mailspec.spec("cloudmails").regions["eu"].base_url == CLOUDMAILS_URL
        assert mailspec.spec("postwave").provider.name == "postwave"
    (warning,) = registry_warnings(caplog)
    assert warning.startswith(f"{where} was not loaded: ") and says in warning

    with pytest.raises(ValidationError) as asked:
        mailspec.provider("parcel", api_key="k")
    text = str(asked.value)
    assert text.startswith(f"provider: 'parcel' is not available: {where} was not loaded: ")
    assert says in text and "\n" not in text
    with pytest.raises(ValidationError, match=re.escape(f"left out with errors: {where}")):
        mailspec.spec("nosuch")


def test_a_provider_whose_generated_code_fails_is_an_error_when_asked_for(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    package = make_package(root, pkg_name("spec"), {"brokenspec": renamed("brokenspec")})
    spec_module = root / package / "brokenspec" / "spec.py"
    spec_module.write_text("raise ValueError('broken spec')\n", encoding="utf-8")
    add_entry_point(root, pkg_name("spec_dist"), "brokenspec", package)
    assert "brokenspec" in mailspec.available()  # its package reads: only its spec fails
    mailspec.provider("cloudmails", api_key="k")
    for ask in (
        lambda: mailspec.provider("brokenspec", api_key="k"),
        lambda: mailspec.spec("brokenspec"),
        lambda: mailspec.explain_code("brokenspec", 404),
    ):
        with pytest.raises(ValidationError) as asked:
            ask()
        assert str(asked.value).startswith("provider: 'brokenspec' cannot be loaded: ")
        assert "ValueError: broken spec" in str(asked.value)
    with caplog.at_level(logging.WARNING, logger="mailspec.registry"):
        matrix = mailspec.registry.capability_matrix()
    assert sorted(matrix) == BUILTINS
    (warning,) = registry_warnings(caplog)
    assert "'brokenspec' cannot be loaded" in warning


def test_a_generated_module_without_its_table_is_named(root: Path) -> None:
    package = make_package(root, pkg_name("nospec"), {"nospec": renamed("nospec")})
    with (root / package / "nospec" / "codes.py").open("a", encoding="utf-8") as codes:
        codes.write("CODES = None  # edited by hand\n")
    mailspec.register(package)
    with pytest.raises(ValidationError, match=r"'nospec' cannot be loaded: .*CODES is not a dict"):
        mailspec.explain_code("nospec", 404)
