"""Providers of one's own, as a user sets them up: mailspec installed from its wheel
(not editable) in a fresh virtualenv, a spec written for a provider of a known style,
`mailspec generate` into a package of the user's, then sends through it to the sandbox
over real HTTP on 127.0.0.1 — once registered with ``mailspec.register()`` and once
found through an entry point of an installed distribution. Every step is a real
command in a child process.

About 20 s: one virtualenv for the module, the session's wheel."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CLOUDMAILS = (ROOT / "spec" / "cloudmails.yaml").read_text(encoding="utf-8")


def spec_named(name: str, base_url: str) -> str:
    """spec/cloudmails.yaml as another provider of the same style, with its own base URL."""
    text = re.sub(r"^(provider:\n  name: )cloudmails", rf"\g<1>{name}", CLOUDMAILS, flags=re.M)
    assert text != CLOUDMAILS
    return text.replace("title: CloudMails\n", f"title: {name.title()}\n", 1).replace(
        "https://api.cloudmails.eu/v1", base_url
    )


class Venv:
    """A fresh virtualenv with mailspec's wheel (and its codegen extra) installed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.python = path / "bin" / "python"
        self.mailspec = path / "bin" / "mailspec"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MAILSPEC_"))}
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, cwd: Path, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(**env),
            check=False,
        )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, mailspec_wheel: Path) -> Venv:
    path = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120)
    made = Venv(path)
    installed = made.run(
        made.python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
        "-c", ROOT / "constraints" / "dev.txt", f"{mailspec_wheel}[codegen]",
        # what the entry-point test builds its distribution with (bdist_wheel built in)
        "setuptools>=70.1",
        cwd=path, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return made


def site_packages(venv: Venv) -> Path:
    (found,) = (venv.path / "lib").glob("python3*/site-packages")
    return found


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


SEND = """\
import json, sys
import mailspec
from mailspec import Mailer, Message
from mailspec.sandbox import Sandbox

name = sys.argv[1]
if len(sys.argv) > 2:
    print("registered", mailspec.register(sys.argv[2]), file=sys.stderr)
with Sandbox([name]) as sandbox:
    server = sandbox[name]
    p = mailspec.provider(name, api_key=server.credentials["api_key"], base_url=server.base_url)
    result = Mailer([p]).send(Message(
        from_email="orders@shop.example", to="ann@example.org",
        subject="Your order", html="<p>Hi</p>", text="Hi",
    ))
    statuses = p.status(result.message_ids)
    print(json.dumps({
        "provider": result.provider,
        "ids": result.message_ids,
        "held": [[a.message_id, a.recipient, a.params.get("subject")] for a in server.accepted],
        "status": [s.message_id for s in statuses],
        "base_url": server.base_url,
        "documented": mailspec.spec(name).regions["eu"].base_url,
        "available": mailspec.available(),
        "client_module": sys.modules[type(p.client).__module__].__file__,
        "mailspec": mailspec.__file__,
    }))
"""


def check_sent(out: dict[str, Any], name: str, documented: str) -> None:
    assert out["provider"] == name and len(out["ids"]) == 1
    assert out["held"] == [[out["ids"][0], "ann@example.org", "Your order"]]
    assert out["status"] == out["ids"]
    assert out["documented"] == documented
    assert out["base_url"].startswith("http://127.0.0.1:")
    assert name in out["available"] and "cloudmails" in out["available"]


def test_generate_register_and_send_as_a_user(venv: Venv, tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "myspecs").mkdir(parents=True)
    (app / "myspecs" / "postwave.yaml").write_text(
        spec_named("postwave", "https://api.postwave.example/v2"), encoding="utf-8"
    )
    (app / "send.py").write_text(SEND, encoding="utf-8")
    own = site_packages(venv) / "mailspec"
    before = files_of(own)

    made = venv.run(
        venv.mailspec, "generate", "--spec-dir", "myspecs", "--out", "myapp/mail_providers", cwd=app
    )
    assert made.returncode == 0, made.stderr
    assert "wrote:   postwave/client.py" in made.stdout
    package = app / "myapp" / "mail_providers"
    assert sorted(files_of(package)) == [
        "__init__.py", *(f"postwave/{f}" for f in ("__init__.py", "client.py", "codes.py", "models.py", "spec.py"))
    ]  # fmt: skip
    assert files_of(own) == before  # nothing written into the installed mailspec
    again = venv.run(
        venv.mailspec, "generate", "--spec-dir", "myspecs", "--out", "myapp/mail_providers",
        "--check", cwd=app,
    )  # fmt: skip
    assert (again.returncode, again.stdout) == (0, "generated code is up to date\n"), again.stderr

    sent = venv.run(venv.python, "send.py", "postwave", "myapp.mail_providers", cwd=app)
    assert sent.returncode == 0, sent.stderr
    out = json.loads(sent.stdout)
    check_sent(out, "postwave", "https://api.postwave.example/v2")
    assert Path(out["client_module"]).is_relative_to(package)
    assert Path(out["mailspec"]).is_relative_to(site_packages(venv))  # the wheel, not the checkout

    # the same providers from the command line: $MAILSPEC_PACKAGES, a sandbox, a send
    env = {"MAILSPEC_PACKAGES": "myapp.mail_providers", "PYTHONPATH": str(app)}
    listed = venv.run(venv.mailspec, "providers", "--json", cwd=app, **env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["postwave"]["batch"] is True
    sandbox = subprocess.Popen(
        [venv.mailspec, "sandbox", "postwave", "--json", "--seconds", "30"],
        cwd=app,
        env=venv.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        text = ""
        deadline = time.monotonic() + 20
        while not text.rstrip().endswith("]") and time.monotonic() < deadline:
            text += sandbox.stdout.readline()
        (row,) = json.loads(text)
        url = f"postwave://{row['credentials']['api_key']}@?base_url={row['base_url']}"
        cli_sent = venv.run(
            venv.mailspec, "send", "--provider", url, "--from", "orders@shop.example",
            "--to", "bob@example.org", "--subject", "Hi", "--html", "<p>Hi</p>", "--json",
            cwd=app, **env,
        )  # fmt: skip
        assert cli_sent.returncode == 0, cli_sent.stderr
        answer = json.loads(cli_sent.stdout)
        assert answer["provider"] == "postwave" and len(answer["message_ids"]) == 1
        status = venv.run(
            venv.mailspec, "status", "--provider", url, *answer["message_ids"], cwd=app, **env
        )
        assert status.returncode == 0, status.stderr
        assert status.stdout.startswith(answer["message_ids"][0])
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "parcelpost-mail"
version = "1.0"

[project.entry-points."mailspec.providers"]
parcelpost = "parcelpost_mail"

[tool.setuptools]
packages = ["parcelpost_mail", "parcelpost_mail.parcelpost"]
"""


def test_an_installed_entry_point_brings_its_providers(venv: Venv, tmp_path: Path) -> None:
    dist = tmp_path / "parcelpost-mail"
    (dist / "specs").mkdir(parents=True)
    (dist / "specs" / "parcelpost.yaml").write_text(
        spec_named("parcelpost", "https://api.parcelpost.example/"), encoding="utf-8"
    )
    (dist / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    made = venv.run(
        venv.mailspec, "generate", "--spec-dir", "specs", "--out", "parcelpost_mail", cwd=dist
    )
    assert made.returncode == 0, made.stderr
    installed = venv.run(
        venv.python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", dist, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"  # nothing of the dist's sources is importable here
    elsewhere.mkdir()
    (elsewhere / "send.py").write_text(SEND, encoding="utf-8")

    sent = venv.run(venv.python, "send.py", "parcelpost", cwd=elsewhere)  # no register()

    assert sent.returncode == 0, sent.stderr
    out = json.loads(sent.stdout)
    check_sent(out, "parcelpost", "https://api.parcelpost.example/")
    assert Path(out["client_module"]).is_relative_to(site_packages(venv) / "parcelpost_mail")
    listed = venv.run(venv.mailspec, "providers", cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert "parcelpost" in [row.split()[0] for row in listed.stdout.splitlines()[1:]]
    codes = venv.run(venv.mailspec, "codes", "parcelpost", "429", cwd=elsewhere)
    assert codes.returncode == 0 and "rate_limit" in codes.stdout


# distributions whose entry point names a broken package of providers: the code of the
# package's __init__ (None: no package at all; GENERATED: a generated one, see below)
GENERATED = "generated"
BROKEN_PLUGINS: dict[str, str | None] = {
    "missing_module": None,
    "import_error": "raise ImportError('needs libparcel')\n",
    "other_exception": "raise RuntimeError('plugin bug at import')\n",
    "sys_exit": "import sys\nsys.exit(3)\n",
    "not_a_provider_package": "VALUE = 1\n",
    "clash_with_builtin": GENERATED,  # names its provider cloudmails, as mailspec does
    "broken_spec": GENERATED,  # a provider whose spec module raises when first used
}

PROBE = """\
import json, sys
import mailspec
from mailspec import ValidationError

out = {"available": mailspec.available(), "asked": {}}
mailspec.provider("cloudmails", api_key="k")
out["cloudmails_url"] = mailspec.spec("cloudmails").regions["eu"].base_url
for name in sys.argv[1:]:
    try:
        mailspec.provider(name, api_key="k")
        out["asked"][name] = "ok"
    except ValidationError as exc:
        out["asked"][name] = str(exc)
print(json.dumps(out))
"""


def broken_distribution(venv: Venv, root: Path, variant: str) -> Path:
    """A distribution (sources) whose entry point ``variant`` names a broken package."""
    dist, package = root / variant, f"plug_{variant}"
    dist.mkdir()
    code = BROKEN_PLUGINS[variant]
    packages = [] if code is None else [package]
    if code == GENERATED:
        name = "cloudmails" if variant == "clash_with_builtin" else "brokenspec"
        (dist / "specs").mkdir()
        spec = CLOUDMAILS if name == "cloudmails" else spec_named(name, "https://b.example/")
        (dist / "specs" / f"{name}.yaml").write_text(spec, encoding="utf-8")
        made = venv.run(
            venv.mailspec, "generate", "--spec-dir", "specs", "--out", package, cwd=dist
        )
        assert made.returncode == 0, made.stderr
        packages.append(f"{package}.{name}")
        if name == "brokenspec":
            (dist / package / name / "spec.py").write_text("raise ValueError('broken spec')\n")
    elif code is not None:
        (dist / package).mkdir()
        (dist / package / "__init__.py").write_text(code, encoding="utf-8")
    value = package if code is not None else "no_such_plugin_module_xyz"
    (dist / "pyproject.toml").write_text(
        PYPROJECT.replace("parcelpost-mail", f"plug-{variant.replace('_', '-')}")
        .replace('parcelpost = "parcelpost_mail"', f'{variant} = "{value}"')
        .replace('["parcelpost_mail", "parcelpost_mail.parcelpost"]', json.dumps(packages)),
        encoding="utf-8",
    )
    return dist


def test_broken_plugins_are_left_out_and_the_others_keep_working(
    venv: Venv, tmp_path: Path
) -> None:
    """Every broken plugin at once, installed by pip into a site folder of their own, with
    one that works: mailspec's own providers and the good plugin send, and each broken
    one is named in a warning and when its provider is asked for."""
    good = tmp_path / "goodpost"
    (good / "specs").mkdir(parents=True)
    (good / "specs" / "goodpost.yaml").write_text(
        spec_named("goodpost", "https://api.goodpost.example/"), encoding="utf-8"
    )
    (good / "pyproject.toml").write_text(
        PYPROJECT.replace("parcelpost", "goodpost"), encoding="utf-8"
    )
    made = venv.run(
        venv.mailspec, "generate", "--spec-dir", "specs", "--out", "goodpost_mail", cwd=good
    )
    assert made.returncode == 0, made.stderr
    dists = [broken_distribution(venv, tmp_path, variant) for variant in BROKEN_PLUGINS]
    site = tmp_path / "site"
    installed = venv.run(
        venv.python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", "--target", site, good, *dists, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "send.py").write_text(SEND, encoding="utf-8")
    (elsewhere / "probe.py").write_text(PROBE, encoding="utf-8")
    env = {"PYTHONPATH": str(site)}

    sent = venv.run(venv.python, "send.py", "goodpost", cwd=elsewhere, **env)
    assert sent.returncode == 0, sent.stderr
    check_sent(json.loads(sent.stdout), "goodpost", "https://api.goodpost.example/")

    # what the venv has without the site folder (an earlier test may have installed one)
    baseline = venv.run(venv.python, "probe.py", cwd=elsewhere)
    assert baseline.returncode == 0, baseline.stderr
    before = json.loads(baseline.stdout)["available"]
    assert set(BUILTIN_NAMES) <= set(before)
    asked = [v for v in BROKEN_PLUGINS if v not in ("clash_with_builtin", "broken_spec")]
    probe = venv.run(venv.python, "probe.py", *asked, "brokenspec", cwd=elsewhere, **env)
    assert probe.returncode == 0, probe.stderr
    out = json.loads(probe.stdout)
    assert out["cloudmails_url"] == "https://api.cloudmails.eu/v1"  # mailspec's own
    assert sorted(out["available"]) == sorted([*before, "goodpost", "brokenspec"])
    for variant in asked:
        dist = f"plug-{variant.replace('_', '-')}"
        assert out["asked"][variant].startswith(
            f"provider: '{variant}' is not available: entry point '{variant}' of {dist} "
            "(mailspec.providers) was not loaded: "
        ), out["asked"][variant]
    assert "SystemExit: 3" in out["asked"]["sys_exit"]
    assert out["asked"]["brokenspec"].startswith("provider: 'brokenspec' cannot be loaded: ")

    listed = venv.run(venv.mailspec, "providers", cwd=elsewhere, **env)
    assert listed.returncode == 0, listed.stderr
    rows = [row.split()[0] for row in listed.stdout.splitlines()[1:]]
    assert rows == sorted([*before, "goodpost"])
    warnings = listed.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in warnings)
    assert len(warnings) == len(BROKEN_PLUGINS)  # each broken one, once
    for variant in BROKEN_PLUGINS:
        name = "brokenspec" if variant == "broken_spec" else variant
        assert any(f"'{name}'" in line for line in warnings), (variant, warnings)


BUILTIN_NAMES = ["aotsend", "aurorasendcloud", "cloudmails", "sendcloud"]


def _postwave_app(root: Path) -> Path:
    app = root / "app"
    (app / "myspecs").mkdir(parents=True)
    (app / "myspecs" / "postwave.yaml").write_text(
        spec_named("postwave", "https://api.postwave.example/v2"), encoding="utf-8"
    )
    return app


def test_the_console_script_imports_packages_from_the_working_directory(
    venv: Venv, tmp_path: Path
) -> None:
    # as `python -m mailspec` does: no PYTHONPATH (Venv.env drops it), the project's folder
    app = _postwave_app(tmp_path)
    out = ("--spec-dir", "myspecs", "--out", "myapp/mail_providers")
    assert venv.run(venv.mailspec, "generate", *out, cwd=app).returncode == 0
    listed = venv.run(
        venv.mailspec, "providers", "--json", cwd=app, MAILSPEC_PACKAGES="myapp.mail_providers"
    )
    assert listed.returncode == 0, listed.stderr
    assert "warning" not in listed.stderr
    assert "postwave" in json.loads(listed.stdout)


def test_generate_never_writes_a_schema_json_into_your_folders(venv: Venv, tmp_path: Path) -> None:
    app = _postwave_app(tmp_path)
    out = ("--spec-dir", "myspecs", "--out", "myapp/mail_providers")
    made = venv.run(venv.mailspec, "generate", *out, cwd=app)
    assert made.returncode == 0, made.stderr
    assert not (app / "myspecs" / "schema.json").exists()  # none created
    mine = '{"title": "my own schema"}\n'
    (app / "myspecs" / "schema.json").write_text(mine, encoding="utf-8")
    for extra in ((), ("--check",)):
        again = venv.run(venv.mailspec, "generate", *out, *extra, cwd=app)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "schema.json" not in again.stdout
    assert (app / "myspecs" / "schema.json").read_text(encoding="utf-8") == mine


def test_generate_check_verifies_the_installed_package(venv: Venv, tmp_path: Path) -> None:
    # the default spec folder is mailspec's own, shipped in the wheel, wherever one stands
    done = venv.run(venv.mailspec, "generate", "--check", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "generated code is up to date\n"), done.stderr


# --- the escape hatch: a Python hook in the user's own installed package ----------------

HOOKS_MODULE = '''\
"""Hand-written beside the generated providers: what the spec cannot say."""
import hashlib, hmac, json
from mailspec.runtime.encoding import HttpRequest


def sign_body(operation, request):
    digest = hmac.new(b"shop-secret", request.body or b"", hashlib.sha256).hexdigest()
    headers = {**request.headers, "X-Shop-Signature": digest, "X-Shop-Operation": operation}
    return HttpRequest(request.method, request.url, headers, request.body)


def unwrap(operation, status, headers, body):
    # this API wraps every answer in {"data": ...}
    return json.dumps(json.loads(body)["data"]).encode() if status < 300 else body


HOOKS = {"sign_body": sign_body, "unwrap": unwrap}
'''

HOOKED_SEND = """\
import json, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import mailspec
from mailspec import Message

seen = []

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        seen.append({"headers": dict(self.headers), "body": body.decode()})
        answer = json.dumps({"data": {"message_id": "m-42"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
p = mailspec.provider("hookpost", api_key="k", base_url=f"http://127.0.0.1:{server.server_port}/v1")
result = p.send(Message(from_email="a@shop.example", to="b@example.org", subject="s", html="h"))
server.shutdown()
print(json.dumps({"ids": result.message_ids, "seen": seen}))
"""


def test_a_hook_of_an_installed_package_signs_requests_and_reads_answers(
    venv: Venv, tmp_path: Path
) -> None:
    dist = tmp_path / "hookpost-mail"
    (dist / "specs").mkdir(parents=True)
    spec = spec_named("hookpost", "https://api.hookpost.example/v1")
    spec += "\nhooks: {request: sign_body, answer: unwrap}\n"
    (dist / "specs" / "hookpost.yaml").write_text(spec, encoding="utf-8")
    pyproject = PYPROJECT.replace("parcelpost", "hookpost")
    (dist / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    made = venv.run(
        venv.mailspec, "generate", "--spec-dir", "specs", "--out", "hookpost_mail", cwd=dist
    )
    assert made.returncode == 0, made.stderr
    (dist / "hookpost_mail" / "hooks.py").write_text(HOOKS_MODULE, encoding="utf-8")
    again = venv.run(
        venv.mailspec, "generate", "--spec-dir", "specs", "--out", "hookpost_mail", cwd=dist
    )
    assert again.returncode == 0, again.stderr  # the hand-written module is left alone
    assert (dist / "hookpost_mail" / "hooks.py").read_text(encoding="utf-8") == HOOKS_MODULE
    installed = venv.run(
        venv.python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
        "--disable-pip-version-check", dist, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "send.py").write_text(HOOKED_SEND, encoding="utf-8")

    sent = venv.run(venv.python, "send.py", cwd=elsewhere)

    assert sent.returncode == 0, sent.stderr
    out = json.loads(sent.stdout)
    assert out["ids"] == ["m-42"]  # read through the answer hook
    (request,) = out["seen"]
    expected = hmac.new(b"shop-secret", request["body"].encode(), hashlib.sha256).hexdigest()
    assert request["headers"]["X-Shop-Signature"] == expected
    assert request["headers"]["X-Shop-Operation"] == "send"
    assert request["headers"]["Authorization"] == "Bearer k"  # the spec's auth still applies
