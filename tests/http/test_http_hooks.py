"""The hooks of a spec (``hooks: {request, answer}``), resolved in the ``hooks`` module of
the user's package: a hook that is missing is refused when the provider is built, one
that fails is a typed error, never a bare exception. (An installed package's hooks:
tests/test_user_providers.py.)"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from wire_support import mini_spec

import mailspec
from mailspec import MalformedResponseError, Message, ValidationError, registry
from mailspec.codegen.writer import generate

MESSAGE = Message(from_email="a@example.com", to=["b@example.org"], subject="s", html="h")
PARAMS = (
    "from_email: {wire: from, type: str, required: true}\nto: {type: str, required: true}\n"
    "subject: {type: str}\nhtml: {type: str}"
)
ROWS = "from_email: from_email\nto: to\nsubject: subject\nhtml: html"
_unique = itertools.count()


def hooked(root: Path, hooks_source: str | None, hooks: str) -> str:
    number = next(_unique)
    package, name = f"hookspecs_{number}", f"hookwave{number}"
    spec_dir = root / f"specs_{package}"
    spec_dir.mkdir()
    text = mini_spec(PARAMS, ROWS, name=name) + f"hooks: {hooks}\n"
    (spec_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    generate(spec_dir, root / package)
    if hooks_source is not None:
        (root / package / "hooks.py").write_text(hooks_source, encoding="utf-8")
    assert mailspec.register(package) == [name]
    return name


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TABLE", registry._Table())
    return tmp_path


def test_a_missing_hook_module_or_name_is_refused_when_the_provider_is_built(root: Path) -> None:
    name = hooked(root, None, "{request: sign}")
    with pytest.raises(ValidationError, match=r"hooks cannot be imported"):
        mailspec.provider(name, api_key="k")
    name2 = hooked(root, "HOOKS = {'other': print}\n", "{request: sign}")
    with pytest.raises(
        ValidationError, match=r"names the hook 'sign', which its package's HOOKS lacks"
    ):
        mailspec.provider(name2, api_key="k")


def test_a_failing_hook_is_a_typed_error(root: Path, httpserver: HTTPServer) -> None:
    source = (
        "def boom(operation, request):\n    raise RuntimeError('hook bug')\n"
        "def bad_answer(operation, status, headers, body):\n    return 'text'\n"
        "HOOKS = {'boom': boom, 'bad_answer': bad_answer}\n"
    )
    name = hooked(root, source, "{request: boom}")
    httpserver.expect_request(re.compile(".*")).respond_with_json({"message_id": "m"})
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(ValidationError, match="the request hook raised RuntimeError: hook bug"):
        provider.send(MESSAGE)
    assert not httpserver.log  # nothing was sent
    name = hooked(root, source, "{answer: bad_answer}")
    provider = mailspec.provider(name, api_key="k", base_url=httpserver.url_for("/"))
    with pytest.raises(MalformedResponseError, match="answer hook failed") as caught:
        provider.send(MESSAGE)
    assert caught.value.ambiguous  # the provider said 200: it may have the message
    assert json.loads(httpserver.log[-1][0].get_data())["to"] == "b@example.org"
