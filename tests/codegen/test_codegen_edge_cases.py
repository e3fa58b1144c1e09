"""Specs at the edges of the format still generate clean, importable code: no
delivery table, empty structs, dates without ``Any``, and shape names that collide
with what the generated modules import or generate themselves."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import msgspec
import pytest
from codegen_support import MINIMAL_SPEC, import_generated, run_tool

from mailspec.codegen.writer import generate
from mailspec.runtime import BaseClient
from mailspec.spec_model import Spec

# Shapes named after what client.py imports (Spec, BaseClient, ClassVar), after the
# client class itself, after the envelope's decoder (ENVELOPE -> ENVELOPE_DECODER),
# two shapes whose decoders would share a name (AB, Ab), and after a request struct.
COLLIDE_SPEC = """\
provider: {name: collide, title: Collide, style: cloudmails}
default_region: eu
regions:
  eu: {title: EU, base_url: "https://api.example.com/v1"}
auth: {bearer: api_key}
envelope: {code_from: http, message: {wire: message}}
operations:
  a:
    {summary: A., method: GET, path: /a, encoding: query, response: Spec,
     params: {day: {type: date}}}
  b: {summary: B., method: GET, path: /b, encoding: query, response: BaseClient}
  c: {summary: C., method: GET, path: /c, encoding: query, response: ClassVar}
  d: {summary: D., method: GET, path: /d, encoding: query, response: CollideClient}
  e: {summary: E., method: GET, path: /e, encoding: query, response: ENVELOPE}
  f: {summary: F., method: GET, path: /f, encoding: query, response: AB}
  g: {summary: G., method: GET, path: /g, encoding: query, response: Ab}
  h: {summary: H., method: GET, path: /h, encoding: query, response: HRequest}
  i: {summary: I., method: GET, path: /i, encoding: query, response: Envelope}
shapes:
  Spec: {fields: {s: {type: str}}}
  BaseClient: {fields: {b: {type: int}}}
  ClassVar: {fields: {c: {type: bool}}}
  CollideClient: {fields: {d: {type: float}}}
  ENVELOPE: {fields: {e: {type: "list[str]"}}}
  AB: {fields: {f: {type: "dict[str, int]"}}}
  Ab: {fields: {g: {type: str, required: true}}}
  HRequest: {fields: {h: {type: str}}}
codes:
  200: {message: OK, category: success}
"""


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("edge")
    spec_dir, out = root / "spec", root / "out"
    spec_dir.mkdir()
    (spec_dir / "mini.yaml").write_text(MINIMAL_SPEC, encoding="utf-8")
    (spec_dir / "collide.yaml").write_text(COLLIDE_SPEC, encoding="utf-8")
    generate(spec_dir, out)
    return {
        "out": out,
        "mini": import_generated(out / "mini"),
        "collide": import_generated(out / "collide"),
    }


def test_edge_output_passes_ruff(edge: dict[str, Any]) -> None:
    lint = run_tool("ruff", "check", "--no-cache", edge["out"])
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = run_tool("ruff", "format", "--check", "--no-cache", edge["out"])
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_edge_output_passes_mypy_strict(edge: dict[str, Any], tmp_path: Path) -> None:
    out = edge["out"]
    result = run_tool(
        "mypy", "--strict", "--cache-dir", tmp_path / "cache", out / "mini", out / "collide"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_spec_without_delivery_imports_no_vocabulary_it_does_not_use(
    edge: dict[str, Any],
) -> None:
    spec_source = (edge["out"] / "mini" / "spec.py").read_text(encoding="utf-8")
    assert "from mailspec.vocabulary import" not in spec_source
    assert edge["mini"]["spec"].SPEC.delivery is None


def test_empty_structs_have_only_their_docstring(edge: dict[str, Any]) -> None:
    models = edge["mini"]["models"]
    assert msgspec.structs.fields(models.Envelope) == ()
    source = (edge["out"] / "mini" / "models.py").read_text(encoding="utf-8")
    assert "\n\n\n\n" not in source


def test_shapes_never_shadow_what_the_client_module_imports(edge: dict[str, Any]) -> None:
    client_mod, models = edge["collide"]["client"], edge["collide"]["models"]
    client = client_mod.CollideClient
    assert client_mod.Spec is Spec
    assert client_mod.BaseClient is BaseClient
    assert issubclass(client, BaseClient)
    assert isinstance(client.spec, Spec)
    renamed = {"Spec": "Spec_2", "BaseClient": "BaseClient_2", "ClassVar": "ClassVar_2"}
    for shape, struct in renamed.items():
        assert getattr(models, struct).__doc__ == struct, shape
    assert models.CollideClient_2.__doc__ == "CollideClient_2"
    assert models.HRequest.__doc__ == "HRequest"  # the shape keeps its name...
    assert models.HRequest_2.__doc__ == "H."  # ...and the request struct moves aside


def test_every_operation_decodes_with_its_own_response_struct(edge: dict[str, Any]) -> None:
    client_cls = edge["collide"]["client"].CollideClient
    models = edge["collide"]["models"]
    assert client_cls.envelope_decoder.type is models.Envelope
    decoders = {n: getattr(models, n) for n in models.__all__ if n.endswith("_DECODER")}
    assert len({id(d.type) for d in decoders.values()}) == len(decoders)  # one struct each

    client = client_cls.__new__(client_cls)
    # no I/O: the one call path answers which operation and which decoder it would use
    client.values_of = lambda operation, request: {}
    client.call = lambda operation, values: (operation, client_cls.decoders[operation])
    for name, request_type in client_cls.request_types.items():
        method = getattr(client, name)
        operation, decoder = method(request_type())
        assert operation == name
        response = inspect.signature(method).return_annotation
        assert decoder.type is response, name
    returns = {
        n: inspect.signature(getattr(client, n)).return_annotation for n in client.spec.operations
    }
    assert {n: struct.__doc__ for n, struct in returns.items()} == {
        "a": "Spec_2",
        "b": "BaseClient_2",
        "c": "ClassVar_2",
        "d": "CollideClient_2",
        "e": "ENVELOPE",
        "f": "AB",
        "g": "Ab",
        "h": "HRequest",
        "i": "The code and message every answer carries.",
    }
