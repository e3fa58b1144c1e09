"""Small specs written in a test, generated into a package of the test's and
registered as a user's would be (imported as ``wire_support``; tests/ is on sys.path
through tests/conftest.py).

``mini_spec`` writes a whole spec around one operation's parameters and mapping, so a
test of one wire form states only that form.
"""

from __future__ import annotations

import itertools
import re
import textwrap
from pathlib import Path

import mailspec
from mailspec.codegen.writer import generate

_unique = itertools.count()


def mini_spec(
    params: str,
    mapping: str,
    *,
    name: str = "wirewave",
    encoding: str = "json",
    auth: str = "bearer: api_key",
    operation: str = "",
    capabilities: str = "attachments: true\n  inline_attachments: true\n  cc_bcc: true",
    response: str = "message_id: {type: str}",
    envelope: str = "code_from: http\n  message: {wire: message}",
    ids: str = "ids: message_id",
) -> str:
    """A spec whose ``send`` (``POST send``, answer ``{"message_id": ...}``) has the
    ``params`` and ``mapping`` given as YAML lines (indented as under their keys), an
    HTTP-status envelope and the usual codes; ``operation`` adds operations (YAML at
    the indentation of ``send:``)."""
    params = textwrap.indent(textwrap.dedent(params).strip(), " " * 6)
    mapping = textwrap.indent(textwrap.dedent(mapping).strip(), " " * 4)
    operation = textwrap.indent(textwrap.dedent(operation).strip(), " " * 2)
    return f"""\
provider:
  name: {name}
  title: {name.title()}
default_region: default
regions:
  default: {{title: Global, base_url: "https://api.{name}.example/"}}
auth:
  {auth}
  code: 401
envelope:
  {envelope}
capabilities:
  {capabilities}
operations:
  send:
    summary: Send an email.
    method: POST
    path: send
    encoding: {encoding}
    response: SendResponse
    {ids}
    params:
{params}
{operation}
shapes:
  SendResponse:
    fields:
      {response}
mapping:
  send:
{mapping}
codes:
  200: {{message: OK, category: success}}
  202: {{message: Accepted, category: success}}
  400: {{message: Bad request, category: validation}}
  401: {{message: Unauthorized, category: authentication}}
  422: {{message: Unprocessable, category: validation}}
  429: {{message: Too many requests, category: rate_limit}}
  500: {{message: Server error, category: server}}
"""


def register_spec(root: Path, text: str) -> str:
    """Generate the spec ``text`` into a fresh package under ``root`` (on sys.path),
    register it, and return the provider's name."""
    package = f"wirespecs_{next(_unique)}"
    spec_dir = root / f"specs_{package}"
    spec_dir.mkdir()
    found = re.search(r"^provider:\n  name: (\w+)", text, flags=re.M)
    assert found is not None
    (spec_dir / f"{found.group(1)}.yaml").write_text(text, encoding="utf-8")
    generate(spec_dir, root / package)
    assert mailspec.register(package) == [found.group(1)]
    return found.group(1)


def spec_error(root: Path, text: str) -> str:
    """The text of the SpecError generating ``text`` raises (AssertionError if none)."""
    from mailspec.codegen.loader import SpecError

    spec_dir = root / f"bad_{next(_unique)}"
    spec_dir.mkdir()
    (spec_dir / "wirewave.yaml").write_text(text, encoding="utf-8")
    try:
        generate(spec_dir, root / f"out_{next(_unique)}")
    except SpecError as exc:
        return str(exc)
    raise AssertionError("the spec was accepted")
