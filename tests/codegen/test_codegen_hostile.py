"""Hostile strings and names cannot break or inject into generated code.

A spec full of quotes, backslashes, control characters, template syntax, non-ASCII
text and Python keywords is generated into a temp package, imported, and every such
string must come back byte-identical from the generated tables; the output must still
pass ruff and mypy. Property tests cover :func:`pysource.string`, :func:`docstring`
and the code table for arbitrary text.
"""

from __future__ import annotations

import ast
import datetime
import itertools
import json
import keyword
import random
import shutil
import time
import tracemalloc
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
import yaml
from codegen_support import MINIMAL_SPEC, SPEC_DIR, import_generated, run_cli, run_tool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailspec._naming import ident
from mailspec.codegen.checks import check
from mailspec.codegen.context import build
from mailspec.codegen.loader import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    SpecError,
    load_spec,
    load_text,
)
from mailspec.codegen.pysource import LINE_LENGTH, docstring, string
from mailspec.codegen.render import render_provider
from mailspec.codegen.writer import generate

HOSTILE = [
    "single ' and double \" quotes",
    'triple """ double',
    "triple ''' single",
    'ends with a quote"',
    'ends with triple quotes"""',
    "ends with a backslash \\",
    "back\\slash \\n \\x1b \\u2028 \\N{BULLET} \\",
    "carriage\rreturn, new\nline, tab\there",
    "jinja {{ m.title }} {% if x %}{% endif %} {# c #}",
    "percent %s %d %(x)s %% {0} {x!r}",
    "non-ASCII é ü ß 中文 emoji 🎉📧 right-to-left \u202e",
    "line separator \u2028 and paragraph \u2029",
    "escape \x1b[31m red \x07 bell \x7f del \x0c ff",
    '"quoted at both ends"',
    '"""; import os; os.system(\'echo pwned\'); """',
    "'); import os  # ",
    "   leading and trailing spaces   ",
    "\ufeffbom \u200b zero-width \u00a0 nbsp",
]

# Wire names become msgspec field names, which may not hold `"`, `\` or control
# characters (the checks refuse those, see below); everything else goes.
WIRES = ["it's", "'''", "{{ x }}", "{% if %}", "%s %(x)s %%", "é 中文 🎉", "a\u2028b\u2029",
         "with space", "class", "\u202e rtl", "\x7f del", "#hash", "a/b?c=d&e", "", "é"]  # fmt: skip

# names that are keywords, soft keywords, builtins or modules the generated code uses
PARAM_NAMES = ["class", "import", "type", "id", "from", "lambda", "match", "case", "self",
               "msgspec", "datetime", "list", "none", "async", "print"]  # fmt: skip
SHAPE_FIELD_NAMES = ["def", "return", "msgspec", "datetime", "self", "object", "yield"]
OPERATION_NAMES = ["type", "match", "list", "print", "status"]  # keywords are refused, see below


def _hostile_spec() -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, name in enumerate(PARAM_NAMES):
        params[name] = {
            "type": "date" if name == "datetime" else "str",
            "wire": WIRES[i % len(WIRES)] + f" #{i}",
            "description": HOSTILE[(i + 1) % len(HOSTILE)],
            "required": i % 2 == 0,
        }
    fields = {
        name: {"type": "str", "wire": WIRES[-1 - i] + f" ~{i}", "description": HOSTILE[i]}
        for i, name in enumerate(SHAPE_FIELD_NAMES)
    }
    operations = {
        name: {
            "summary": HOSTILE[i],
            "method": "POST",
            "path": "/x",
            "encoding": "json",
            "response": "Weird",
            "params": params if i == 0 else {},
        }
        for i, name in enumerate(OPERATION_NAMES)
    }
    return {
        "provider": {
            "name": "hostile",
            "title": HOSTILE[0] + HOSTILE[8],
            "style": "cloudmails",
            "description": "".join(HOSTILE),
            "docs": HOSTILE[:5],
        },
        "default_region": "eu",
        "regions": {
            f"r{i}": {"title": text, "base_url": "https://example.com/" + text}
            for i, text in enumerate(HOSTILE)
        }
        | {"eu": {"title": HOSTILE[4], "base_url": "https://example.com/"}},
        "auth": {"bearer": "api_key"},
        "envelope": {"code_from": "http", "message": {"wire": WIRES[0], "aliases": WIRES[1:3]}},
        "capabilities": {"variable_syntax": HOSTILE[8]},
        "operations": operations,
        "shapes": {"Weird": {"description": HOSTILE[9], "fields": fields}},
        "delivery": {
            "record": "Weird",
            "records": "def",
            "fields": {"message_id": "def", "status": "return"},
            "timestamp_format": HOSTILE[9],
            "states": {text: {"state": "delivered", "description": text} for text in HOSTILE},
            "sub_states": {
                text: {"state": "bounced", "reason": "other", "description": text}
                for text in HOSTILE
            },
        },
        "codes": {
            200 + i: {"message": text, "category": "success"} for i, text in enumerate(HOSTILE)
        }
        | {
            300: {"message": "", "category": "server"},
            301: {"message": "中文", "category": "quota"},
        },
    }


def _keyword_provider() -> str:
    """A second provider whose own name is a keyword, in the same spec folder."""
    return MINIMAL_SPEC.replace("name: mini", "name: class").replace(
        "title: Mini", "title: 'It''s \"class\"'"
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    spec_dir, out = root / "spec", root / "out"
    spec_dir.mkdir()
    data = _hostile_spec()
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    assert yaml.safe_load(text) == data, "the YAML writer must round-trip the fixture"
    (spec_dir / "hostile.yaml").write_text(text, encoding="utf-8")
    (spec_dir / "keyword.yaml").write_text(_keyword_provider(), encoding="utf-8")
    drift = generate(spec_dir, out)
    assert sorted(drift.missing) == sorted(
        ["__init__.py"]
        + [
            f"{pkg}/{m}.py"
            for pkg in ("hostile", "class_")
            for m in ("__init__", "client", "codes", "spec", "models")
        ]
    )
    located = load_spec(spec_dir / "hostile.yaml", display_name="spec/hostile.yaml")
    return {
        "data": data,
        "out": out,
        "spec": build(located, "spec/hostile.yaml").spec,
        "modules": import_generated(out / "hostile"),
    }


def test_the_generated_spec_table_equals_the_loaded_spec(hostile: dict[str, Any]) -> None:
    spec_module: ModuleType = hostile["modules"]["spec"]
    assert hostile["spec"] == spec_module.SPEC
    assert msgspec.json.encode(spec_module.SPEC) == msgspec.json.encode(hostile["spec"])


def test_every_hostile_string_comes_back_byte_identical(hostile: dict[str, Any]) -> None:
    data, modules = hostile["data"], hostile["modules"]
    spec, codes = modules["spec"].SPEC, modules["codes"].CODES
    for number, row in data["codes"].items():
        assert codes[number].message == row["message"]
        assert spec.codes[number].message == row["message"]
    for name, op in data["operations"].items():
        assert spec.operations[name].summary == op["summary"]
        for param, p in op["params"].items():
            assert spec.operations[name].params[param].wire == p["wire"]
            assert spec.operations[name].params[param].description == p["description"]
    assert spec.provider.title == data["provider"]["title"]
    assert spec.provider.description == data["provider"]["description"]
    assert spec.provider.docs == data["provider"]["docs"]
    for key, region in data["regions"].items():
        assert spec.regions[key].title == region["title"]
        assert spec.regions[key].base_url == region["base_url"]
    shape = data["shapes"]["Weird"]
    assert spec.shapes["Weird"].description == shape["description"]
    for name, field in shape["fields"].items():
        assert spec.shapes["Weird"].fields[name].wire == field["wire"]
    assert spec.envelope.message is not None
    assert spec.envelope.message.wire == data["envelope"]["message"]["wire"]
    assert spec.envelope.message.aliases == data["envelope"]["message"]["aliases"]
    assert spec.capabilities.variable_syntax == data["capabilities"]["variable_syntax"]
    assert spec.delivery is not None
    assert list(spec.delivery.states) == list(data["delivery"]["states"])
    assert list(spec.delivery.sub_states) == list(data["delivery"]["sub_states"])
    for key, row in data["delivery"]["states"].items():
        assert spec.delivery.states[key].description == row["description"]
    assert spec.delivery.timestamp_format == data["delivery"]["timestamp_format"]


def test_wire_names_reach_the_structs_and_the_wire(hostile: dict[str, Any]) -> None:
    data, models = hostile["data"], hostile["modules"]["models"]
    first = next(iter(data["operations"]))
    params = data["operations"][first]["params"]
    request_cls = hostile["modules"]["client"].HostileClient.request_types[first]
    encode_names = {f.name: f.encode_name for f in msgspec.structs.fields(request_cls)}
    assert encode_names == {ident(name): p["wire"] for name, p in params.items()}
    assert all(keyword.iskeyword(name) <= (ident(name) == name + "_") for name in params)

    values = {
        attr: datetime.date(2024, 1, 31) if attr == "datetime_" else f"v-{attr}"
        for attr in encode_names
    }
    wire = json.loads(msgspec.json.encode(request_cls(**values)))
    assert wire == {
        p["wire"]: "2024-01-31" if name == "datetime" else f"v-{ident(name)}"
        for name, p in params.items()
    }

    fields = data["shapes"]["Weird"]["fields"]
    weird = models.Weird
    assert {f.encode_name for f in msgspec.structs.fields(weird)} == {
        f["wire"] for f in fields.values()
    }
    body = json.dumps({f["wire"]: f"value {i}" for i, f in enumerate(fields.values())})
    decoded = msgspec.json.decode(body.encode(), type=weird)
    assert sorted(msgspec.structs.asdict(decoded).values()) == sorted(
        f"value {i}" for i in range(len(fields))
    )

    envelope = models.ENVELOPE_DECODER.decode(json.dumps({WIRES[1]: "via alias"}).encode())
    assert envelope.message == "via alias"  # an alias folds into the field


def test_keyword_names_are_sanitized_and_builtin_method_names_work(
    hostile: dict[str, Any],
) -> None:
    client = hostile["modules"]["client"].HostileClient
    for name in OPERATION_NAMES:
        assert callable(getattr(client, name))
        assert name in client.request_types
    codes_mod = hostile["modules"]["codes"]
    members = [m.name for m in codes_mod.StatusCode]
    assert all(m.isidentifier() and m.isupper() for m in members)
    assert len(members) == len(set(members)) == len(hostile["data"]["codes"])
    class_pkg = import_generated(hostile["out"] / "class_")
    assert class_pkg["spec"].SPEC.provider.name == "class"
    assert class_pkg["__init__"].CLIENT.__name__ == "ClassClient"
    providers = (hostile["out"] / "__init__.py").read_text(encoding="utf-8")
    assert '"class": ".class_"' in providers


def test_hostile_output_passes_ruff(hostile: dict[str, Any]) -> None:
    out = hostile["out"]
    check_result = run_tool("ruff", "check", "--no-cache", out)
    assert check_result.returncode == 0, check_result.stdout + check_result.stderr
    fmt = run_tool("ruff", "format", "--check", "--no-cache", out)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_hostile_output_passes_mypy_strict(hostile: dict[str, Any], tmp_path: Path) -> None:
    result = run_tool(
        "mypy", "--strict", "--cache-dir", tmp_path / "cache", hostile["out"] / "hostile"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hostile_output_compiles_and_holds_no_raw_control_characters(
    hostile: dict[str, Any],
) -> None:
    files = sorted(hostile["out"].rglob("*.py"))
    assert len(files) == 11
    for path in files:
        compiled = run_tool("py_compile", path)
        assert compiled.returncode == 0, compiled.stderr
        text = path.read_text(encoding="utf-8")
        bad = {ch for ch in text if not ch.isprintable() and ch != "\n"}
        assert not bad, f"{path.name} holds raw {sorted(bad)!r}"


@pytest.mark.parametrize("wire", ['a"b', "a\\b", "tab\there", "new\nline", "nul\x00", "\x1b[0m"])
def test_a_wire_name_msgspec_cannot_use_is_refused_not_generated(wire: str) -> None:
    spec = yaml.safe_load(MINIMAL_SPEC)
    spec["operations"]["send"]["params"]["to"]["wire"] = wire
    text = yaml.safe_dump(spec, allow_unicode=True)
    with pytest.raises(SpecError) as info:
        check(load_text(text, "spec/mini.yaml"))
    assert info.value.path == "operations.send.params.to.wire"
    assert info.value.message == (
        f"wire name {wire!r} may not hold a double quote, a backslash or a control character"
    )


def test_an_operation_named_by_a_keyword_is_refused() -> None:
    text = MINIMAL_SPEC.replace("  send:\n", "  import:\n")
    with pytest.raises(Exception, match=r"'import' is a Python keyword"):
        check(load_text(text, "spec/mini.yaml"))


# --- properties ------------------------------------------------------------------


@given(st.text())
@settings(max_examples=300)
def test_string_literal_round_trips(text: str) -> None:
    source = string(text)
    assert ast.literal_eval(source) == text
    assert "\n" not in source and "\r" not in source
    assert all(ch.isprintable() for ch in source)


@given(st.text(), st.sampled_from([0, 4, 8]))
@settings(max_examples=300)
def test_docstring_is_valid_and_keeps_every_visible_word(text: str, indent: int) -> None:
    source = docstring(text, indent)
    tree = ast.parse(f"def f():\n{source}\n" if indent else source)
    node = tree.body[0].body[0] if indent else tree.body[0]  # type: ignore[attr-defined]
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    assert isinstance(node.value.value, str)
    visible = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    assert node.value.value.split() == visible.split()
    assert all(ch.isprintable() for line in source.splitlines() for ch in line)


def _minimal_model_source(message: str) -> str:
    located = load_text(MINIMAL_SPEC, "spec/mini.yaml")
    spec = located.spec
    row = msgspec.structs.replace(spec.codes[200], message=message)
    located = type(located)(
        spec=msgspec.structs.replace(spec, codes={200: row, 201: row}),
        file=located.file,
        positions=located.positions,
        sha256=located.sha256,
    )
    source: str = render_provider(build(located, "spec/mini.yaml"))["mini/codes.py"]
    return source


@given(st.text())
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_code_message_round_trips_through_the_generated_table(message: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_minimal_model_source(message), "codes.py", "exec"), namespace)
    assert namespace["CODES"][200].message == message
    assert namespace["CODES"][201].message == message
    members = list(namespace["StatusCode"])
    assert [m.value for m in members] == [200, 201]
    assert members[0].name != members[1].name


def test_strings_and_docstrings_are_already_ruff_formatted(tmp_path: Path) -> None:
    """Many hostile texts in one file, one ruff run: generated literals and docstrings
    must be exactly what ``ruff format`` would write, at any length and indentation."""
    rng = random.Random(20240131)
    alphabet = ['"', "'", "\\", " ", "  ", "a", "word", "é", "中", "🎉", "\u2028", "\x1b",
                "\r", "\n", "\t", "{", "}", "%", "x" * 30, "\x00", "\x7f", "\xa0", "\ufeff",
                "\u200b", "#", ":", "-", '"""', "'''"]  # fmt: skip
    texts = [*HOSTILE, "", " ", "\x1b", '"', "'", "\\", "word " * 40 + '"', "word " * 40 + "\\"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 70))) for _ in range(300)]
    chunks = []
    for i, text in enumerate(texts):
        chunks.append(f"class C{i}:\n{docstring(text, 4)}\n\n    x = {string(text)}\n")
        chunks.append(f"def f{i}() -> None:\n{docstring(text, 4)}\n")
        chunks.append(f"{docstring(text, 0)}\n")
    source = "\n\n".join(chunks)
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert max(len(line) for line in source.splitlines()) > LINE_LENGTH  # long ones too
    result = run_tool(
        "ruff", "format", "--isolated", "--line-length", str(LINE_LENGTH), "--diff", path
    )
    assert result.returncode == 0, result.stdout[:4000] + result.stderr


# --- specs that would exhaust the generator ---------------------------------------
#
# Each is refused with a positioned SpecError before it costs much: a billion-laughs
# alias bomb, nesting far deeper than any spec, and a spec far bigger than any. Time
# and memory are measured in separate runs (tracemalloc slows Python down several
# times). Before the limits, the bomb ran for minutes into a MemoryError, the nesting
# hit a RecursionError and 200,000 codes took about 1 GB.


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: ``levels`` lists of nine aliases of the one before, 9**levels
    strings when expanded, in a few hundred bytes."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    names = "abcdefghijklmnopqrstuvwxyz"
    for before, name in itertools.pairwise(names[:levels]):
        lines.append(f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    """The minimal spec with a flow list nested ``depth`` levels under ``extra``."""
    return MINIMAL_SPEC + "extra: " + "[" * depth + "]" * depth + "\n"


def nested_blocks(depth: int) -> str:
    """The minimal spec with a block mapping nested ``depth`` levels under ``k``."""
    return MINIMAL_SPEC + "".join("  " * i + "k:\n" for i in range(depth)) + "  " * depth + "x\n"


def many_codes(count: int) -> str:
    """The minimal spec with ``count`` more status codes (about 50 bytes each)."""
    rows = (f"  {1000 + i}: {{message: Code {i}, category: validation}}\n" for i in range(count))
    return MINIMAL_SPEC + "".join(rows)


def many_nodes(count: int) -> str:
    """The minimal spec with a list of ``count`` one-digit items: few bytes, many nodes."""
    return MINIMAL_SPEC + "extra: [" + ",".join(["1"] * count) + "]\n"


EXHAUSTING = {
    "alias-bomb": (alias_bomb(), "1:4", "a: YAML anchors (&a) are not allowed in a spec"),
    "alias-without-anchors": (
        MINIMAL_SPEC + "b: [" + ", ".join(["*a"] * 9) + "]\n",
        f"{MINIMAL_SPEC.count(chr(10)) + 1}:5",
        "b[0]: YAML aliases (*a) are not allowed in a spec",
    ),
    "nested-500": (nested(500), f"{MINIMAL_SPEC.count(chr(10)) + 1}:{8 + MAX_DEPTH}",
                   "extra" + "[0]" * MAX_DEPTH + f": nested deeper than {MAX_DEPTH} levels"),
    "nested-100000": (nested(100_000), f"{MINIMAL_SPEC.count(chr(10)) + 1}:{8 + MAX_DEPTH}",
                      "extra" + "[0]" * MAX_DEPTH + f": nested deeper than {MAX_DEPTH} levels"),
    "nested-blocks-500": (
        nested_blocks(500),
        f"{MINIMAL_SPEC.count(chr(10)) + MAX_DEPTH + 1}:{2 * MAX_DEPTH + 1}",
        ".".join(["k"] * MAX_DEPTH) + f".<key>: nested deeper than {MAX_DEPTH} levels",
    ),
    "codes-200000": (many_codes(200_000), "1:1",
                     f"the file is larger than {MAX_BYTES // 1024} KiB, the most a spec may be"),
    "nodes-200000": (many_nodes(200_000), f"{MINIMAL_SPEC.count(chr(10)) + 1}:",
                     f"more than {MAX_NODES} YAML nodes, the most a spec may have"),
}  # fmt: skip

# far above what refusing any of them takes (at most about 0.2 s and 3 MiB), far below
# what they took before
SECONDS = 5.0  # unbounded, these took 10-129 s; generous, as the machine may be loaded
PEAK_BYTES = 16 * 1024 * 1024


def _refusal(text: str, tmp_path: Path) -> SpecError:
    """The SpecError of loading ``text`` from a file, as ``mailspec generate`` does."""
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        check(load_spec(path, display_name="spec/hostile.yaml"))
    return info.value


def _timed_refusal(text: str, tmp_path: Path) -> float:
    started = time.perf_counter()
    _refusal(text, tmp_path)
    return time.perf_counter() - started


@pytest.mark.parametrize("name", EXHAUSTING)
def test_an_exhausting_spec_is_refused_where_it_goes_wrong(name: str, tmp_path: Path) -> None:
    text, where, message = EXHAUSTING[name]
    error = _refusal(text, tmp_path)
    assert str(error).startswith(f"spec/hostile.yaml:{where}"), str(error)[:300]
    assert message in str(error)


@pytest.mark.parametrize("name", EXHAUSTING)
def test_an_exhausting_spec_is_refused_quickly_and_in_little_memory(
    name: str, tmp_path: Path
) -> None:
    text = EXHAUSTING[name][0]
    elapsed = min(_timed_refusal(text, tmp_path) for _ in range(2))  # busy-machine noise
    assert elapsed < SECONDS, f"{name}: {elapsed:.2f} s"
    tracemalloc.start()
    try:
        _refusal(text, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{name}: {peak / 2**20:.1f} MiB"


def test_the_limits_are_far_above_the_real_specs() -> None:
    """Every spec in spec/ sits well inside the limits (and uses no anchors): a limit
    a real spec nears is a limit that will be raised in a hurry."""
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert len(text.encode("utf-8")) * 10 < MAX_BYTES, path.name
        events = list(yaml.parse(text, Loader=yaml.SafeLoader))
        assert not [e for e in events if getattr(e, "anchor", None)], path.name
        nodes = depth = deepest = 0
        for event in events:
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
                nodes += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                deepest = max(deepest, depth)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        assert nodes * 5 < MAX_NODES, path.name
        # a documented JSON answer nests deeply (Mailjet's Messages[].To[].MessageID)
    assert deepest * 2 < MAX_DEPTH, path.name


@pytest.mark.parametrize("name", ["alias-bomb", "nested-100000", "codes-200000", "nodes-200000"])
def test_mailspec_generate_refuses_an_exhausting_spec_in_one_line(
    name: str, tmp_path: Path
) -> None:
    spec_dir, out = tmp_path / "spec", tmp_path / "out"
    spec_dir.mkdir()
    shutil.copy(SPEC_DIR / "aurorasendcloud.yaml", spec_dir)  # a good one, loaded first
    text, where, message = EXHAUSTING[name]
    (spec_dir / "zz_hostile.yaml").write_text(text, encoding="utf-8")
    for args in (["--check"], []):
        result = run_cli("generate", *args, "--spec-dir", spec_dir, "--out", out)
        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr.startswith(f"error: spec/zz_hostile.yaml:{where}")
        assert message in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stdout == ""
    assert not out.exists(), "nothing may be written for a bad spec"
