"""A table of malformed specs, each with the exact error a spec author sees:
``spec/x.yaml:LINE:COL: path: message``.

Most cases are one small edit of the reference spec (the needle is asserted to exist
first); positions are computed from the edited text and the parts of a message that
list what the reference spec defines (its shapes, regions…) are computed from it too,
so editing the reference spec does not break this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
import yaml
from codegen_support import MINIMAL_SPEC, SPEC_DIR, position, reference_text, run_cli

from mailspec.codegen import loader
from mailspec.codegen.checks import check
from mailspec.codegen.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, SpecError, load_spec, load_text
from mailspec.message import MESSAGE_FIELDS
from mailspec.spec_model import Operation
from mailspec.vocabulary import DeliveryState, ErrorCategory

FILE = "spec/x.yaml"
REF = reference_text()
REF_SPEC = load_text(REF, FILE).spec


def edit(old: str, new: str, text: str = REF) -> str:
    assert old in text, f"the reference spec no longer contains {old!r}"
    return text.replace(old, new, 1)


def _nodes(text: str) -> int:
    """How many YAML nodes (keys, values, collections) ``text`` composes into."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    stack, count = [node], 0
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, yaml.MappingNode):
            stack += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return count


def at(text: str, needle: str, offset: int = 0) -> str:
    line, col = position(text, needle, offset)
    return f"{FILE}:{line}:{col}"


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: Callable[[str], str]  # the edited text -> the full error message


def _choices(enum: type[ErrorCategory] | type[DeliveryState]) -> str:
    return ", ".join(m.value for m in enum)


_SHAPES = ", ".join(REF_SPEC.shapes)
_REGIONS = ", ".join(REF_SPEC.regions)
_OP_FIELDS = ", ".join(sorted(f.encode_name for f in msgspec.structs.fields(Operation)))

CASES = [
    # --- YAML itself --------------------------------------------------------------
    Case(
        "invalid-yaml-flow",
        "provider: [a, b\nregions: {}\n",
        lambda t: f"{at(t, 'regions:', 7)}: invalid YAML: expected ',' or ']', but got ':'",
    ),
    Case(
        "invalid-yaml-indent",
        edit("  title: AuroraSendCloud\n", "  title: AuroraSendCloud\n   bad: indent\n"),
        lambda t: (
            f"{at(t, '   bad: indent', 6)}: invalid YAML: mapping values are not allowed here"
        ),
    ),
    Case(
        "invalid-yaml-tab",
        "provider:\n\tname: x\n",
        lambda t: (
            f"{at(t, chr(9))}: invalid YAML: found character '\\t' that cannot start any token"
        ),
    ),
    Case("empty-file", "", lambda t: f"{FILE}:1:1: the file is empty"),
    Case("only-comments", "# nothing here\n\n", lambda t: f"{FILE}:1:1: the file is empty"),
    Case(
        "a-list-not-a-mapping",
        "- a\n- b\n",
        lambda t: f"{FILE}:1:1: expected a mapping, got a list",
    ),
    Case(
        "merge-key",
        edit(
            "provider:\n  name: aurorasendcloud\n",
            "provider:\n  <<: {title: X}\n  name: aurorasendcloud\n",
        ),
        lambda t: f"{at(t, '<<: {')}: provider: merge keys (<<) are not supported",
    ),
    Case(
        "yaml-anchor",
        edit("provider:\n  name: aurorasendcloud\n", "provider:\n  name: &n aurorasendcloud\n"),
        lambda t: f"{at(t, '&n')}: provider.name: YAML anchors (&n) are not allowed in a spec",
    ),
    Case(
        "yaml-alias",
        edit("provider:\n  name: aurorasendcloud\n", "provider:\n  name: *n\n"),
        lambda t: f"{at(t, '*n')}: provider.name: YAML aliases (*n) are not allowed in a spec",
    ),
    Case(
        "yaml-alias-as-a-merge",
        edit("provider:\n  name: aurorasendcloud\n", "provider:\n  <<: *d\n  name: x\n"),
        lambda t: f"{at(t, '*d')}: provider.<<: YAML aliases (*d) are not allowed in a spec",
    ),
    Case(
        "nested-too-deep",
        MINIMAL_SPEC + "extra: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n",
        # `extra:`'s value is one level down, so the bracket at offset MAX_DEPTH is the
        # first node nested deeper than MAX_DEPTH
        lambda t: (
            f"{at(t, '[[[', MAX_DEPTH)}: extra{'[0]' * MAX_DEPTH}: "
            f"nested deeper than {MAX_DEPTH} levels, the most a spec may be"
        ),
    ),
    Case(
        "nested-too-deep-in-blocks",
        MINIMAL_SPEC + "".join("  " * i + "k:\n" for i in range(MAX_DEPTH + 5)),
        lambda t: (
            f"{at(t, chr(10) + '  ' * MAX_DEPTH + 'k:', 1 + 2 * MAX_DEPTH)}: "
            f"{'.'.join(['k'] * MAX_DEPTH)}.<key>: "
            f"nested deeper than {MAX_DEPTH} levels, the most a spec may be"
        ),
    ),
    Case(
        "too-many-nodes",
        MINIMAL_SPEC + "extra: [" + "1," * MAX_NODES + "]\n",
        # MINIMAL_SPEC's own nodes come first, so the limit is reached inside the list
        lambda t: (
            f"{at(t, 'extra: [', 8 + 2 * (MAX_NODES - _nodes(MINIMAL_SPEC) - 2))}: "
            f"extra[{MAX_NODES - _nodes(MINIMAL_SPEC) - 2}]: "
            f"more than {MAX_NODES} YAML nodes, the most a spec may have"
        ),
    ),
    Case(
        "too-big",
        MINIMAL_SPEC + "# " + "x" * MAX_BYTES + "\n",
        lambda t: (
            f"{FILE}:1:1: the file is larger than {MAX_BYTES // 1024} KiB, the most a spec may be"
        ),
    ),
    Case(
        "too-big-in-utf8-bytes",  # fewer characters than MAX_BYTES, more bytes
        MINIMAL_SPEC + "# " + "é" * (MAX_BYTES // 2) + "\n",
        lambda t: (
            f"{FILE}:1:1: the file is larger than {MAX_BYTES // 1024} KiB, the most a spec may be"
        ),
    ),
    Case(
        "duplicate-yaml-key",
        edit("  title: AuroraSendCloud\n", "  title: AuroraSendCloud\n  title: Other\n"),
        lambda t: (
            f"{at(t, '  title: Other', 2)}: provider.title: duplicate key 'title' "
            f"(first at line {position(t, '  title: AuroraSendCloud')[0]})"
        ),
    ),
    Case(
        "duplicate-status-code",
        REF.rstrip("\n") + "\n  200: {message: Again, category: success}\n",
        lambda t: (
            f"{at(t, '  200: {message: Again', 2)}: codes[200]: duplicate status code 200 "
            f"(first at line {position(t, chr(10) + '  200: ', 1)[0]})"
        ),
    ),
    Case(
        "python-tag",
        edit("title: AuroraSendCloud", "title: !!python/object:os.system x"),
        lambda t: (
            f"{at(t, '!!python')}: provider.title: invalid value: could not determine a "
            "constructor for the tag 'tag:yaml.org,2002:python/object:os.system'"
        ),
    ),
    Case(
        "non-scalar-key",
        edit("extra_bases:\n  sms:", "extra_bases:\n  [a, b]:"),
        lambda t: f"{at(t, '[a, b]:')}: extra_bases: mapping keys must be strings or integers",
    ),
    # --- types and values ---------------------------------------------------------
    Case(
        "wrong-scalar-type",
        edit("max_items: 100,\n", "max_items: many,\n"),
        lambda t: (
            f"{at(t, 'max_items: many')}: operations.send.params.to.max_items: "
            'expected an integer, got "many"'
        ),
    ),
    Case(
        "null-for-a-string",
        edit("title: AuroraSendCloud", "title:"),
        lambda t: f"{at(t, 'title:')}: provider.title: expected a string, got nothing",
    ),
    Case(
        "yaml-date-for-a-string",
        edit("title: AuroraSendCloud", "title: 2024-01-31"),
        lambda t: f"{at(t, 'title: 2024')}: provider.title: expected a string, got 2024-01-31",
    ),
    Case(
        "scalar-for-a-mapping",
        edit("limits:\n", "limits: plenty\nold_limits:\n"),
        lambda t: f'{at(t, "limits: plenty")}: limits: expected a mapping, got "plenty"',
    ),
    Case(
        "unknown-field-did-you-mean",
        edit("    summary: Send an email", "    sumary: Send an email"),
        lambda t: (
            f"{at(t, 'sumary:')}: operations.send.sumary: "
            "unknown field 'sumary' (did you mean 'summary'?)"
        ),
    ),
    Case(
        "unknown-field-lists-the-allowed-ones",
        edit("    summary: Send an email", "    zzz: 1\n    summary: Send an email"),
        lambda t: (
            f"{at(t, 'zzz:')}: operations.send.zzz: unknown field 'zzz' "
            f"(expected one of: {_OP_FIELDS})"
        ),
    ),
    Case(
        "missing-required-field",
        edit("    method: POST\n    path: api/mail/send\n", "    path: api/mail/send\n"),
        lambda t: f"{at(t, '  send:', 2)}: operations.send: missing required field 'method'",
    ),
    Case(
        "category-outside-the-unified-list",
        edit("category: authentication}", "category: authenticated}"),
        lambda t: (
            f"{at(t, 'category: authenticated')}: codes[40005].category: "
            f'"authenticated" is not one of: {_choices(ErrorCategory)}'
        ),
    ),
    Case(
        "delivery-state-outside-the-unified-list",
        edit('"4": {state: bounced', '"4": {state: bouncy'),
        lambda t: (
            f"{at(t, 'state: bouncy')}: delivery.states.4.state: "
            f'"bouncy" is not one of: {_choices(DeliveryState)}'
        ),
    ),
    Case(
        "bad-rule-tag",
        edit("rule: any_of", "rule: all_of"),
        lambda t: (
            f"{at(t, 'rule: all_of')}: operations.send.rules[0].rule: "
            '"all_of" is not one of: one_of, any_of, max_span'
        ),
    ),
    Case(
        "camel-case-region-name",
        edit("regions:\n  sg:", "regions:\n  Sg:"),
        lambda t: (
            f'{at(t, "Sg:")}: regions.Sg: key "Sg": expected a region name '
            '(`eu`, `us-east-1`), got "Sg"'
        ),
    ),
    Case(
        "status-code-not-an-integer",
        edit("  501: {message: Server exception", "  abc: {message: Server exception"),
        lambda t: f'{at(t, "abc: ")}: codes.abc: key "abc": expected an integer, got "abc"',
    ),
    Case(
        "integer-constraint",
        edit("page_size: 100", "page_size: 0"),
        lambda t: f"{at(t, 'page_size: 0')}: limits.page_size: expected an integer >= 1, got 0",
    ),
    Case(
        "port-out-of-range",
        edit("ports: [25, 2525, 587]", "ports: [25, 70000, 587]"),
        lambda t: (
            f"{at(t, 'ports: [25, 70000', 12)}: regions.sg.smtp.ports[1]: "
            "expected an integer <= 65535, got 70000"
        ),
    ),
    Case(
        "url-pattern",
        edit("base_url: https://api-us.", "base_url: ftp://api-us."),
        lambda t: (
            f"{at(t, 'base_url: ftp')}: regions.us.base_url: "
            'expected an absolute http(s) URL, got "ftp://api-us.aurorasendcloud.com/"'
        ),
    ),
    Case(
        "unknown-constraint-in-param-codes",
        edit("codes: {format: 40804}", "codes: {format: 40804, bogus: 1}"),
        lambda t: (
            f"{at(t, 'bogus: 1')}: operations.send.params.from_name.codes.bogus: "
            'key "bogus": "bogus" is not one of: required, format, max_length, max_items, '
            "enum, range, max_total_bytes"
        ),
    ),
    # --- semantic checks ----------------------------------------------------------
    Case(
        "mapping-names-a-message-field-that-does-not-exist",
        edit("    text: plain", "    texte: plain"),
        lambda t: (
            f"{at(t, 'texte: plain')}: mapping.send.texte: "
            f"'texte' is not a Message field ({', '.join(MESSAGE_FIELDS)})"
        ),
    ),
    Case(
        "mapping-names-a-param-that-does-not-exist",
        edit("    html: html\n", "    html: htm\n"),
        lambda t: (
            f"{at(t, '    html: htm', 4)}: mapping.send.html: "
            "operation 'send' has no parameter 'htm'"
        ),
    ),
    Case(
        "mapping-names-an-operation-that-does-not-exist",
        edit("mapping:\n  send:", "mapping:\n  sned:"),
        lambda t: f"{at(t, 'sned:')}: mapping.sned: no operation named 'sned'",
    ),
    Case(
        "two-params-with-one-wire-name",
        edit('      cc: {type: "list[str]"', '      cc: {wire: bcc, type: "list[str]"'),
        lambda t: (
            f"{at(t, '      bcc: ', 6)}: operations.send.params.bcc: "
            "wire name 'bcc' is already used by parameter 'cc'"
        ),
    ),
    Case(
        "two-params-with-one-python-name",
        edit("      html: {type: str}\n", "      class: {type: str}\n      class_: {type: str}\n"),
        lambda t: (
            f"{at(t, '      class_: ', 6)}: operations.send.params.class_: "
            "parameters 'class' and 'class_' would both be named 'class_' in Python"
        ),
    ),
    Case(
        "shape-field-names-an-unknown-shape",
        edit("info: {type: SendInfo}", "info: {type: SendInf}"),
        lambda t: (
            f"{at(t, 'type: SendInf}')}: shapes.SendResponse.fields.info.type: "
            f"no shape named 'SendInf' (shapes: {_SHAPES})"
        ),
    ),
    Case(
        "aliases-on-a-list-field",
        edit(
            'vo_list: {wire: voList, type: "list[StatusRecord]"}',
            'vo_list: {wire: voList, aliases: [volist], type: "list[StatusRecord]"}',
        ),
        lambda t: (
            f"{at(t, 'aliases: [volist]')}: shapes.StatusInfo.fields.vo_list.aliases: "
            "a list field cannot have aliases: only a scalar or a shape"
        ),
    ),
    Case(
        "aliases-on-a-dict-field",
        edit("      total: {type: int}", '      total: {type: "dict[str, int]", aliases: [sum]}'),
        lambda t: (
            f"{at(t, 'aliases: [sum]')}: shapes.StatusInfo.fields.total.aliases: "
            "a dict field cannot have aliases: only a scalar or a shape"
        ),
    ),
    Case(
        "aliases-on-a-required-field",
        edit(
            "info: {type: SendInfo}",
            "info: {type: SendInfo, required: true, aliases: [data]}",
        ),
        lambda t: (
            f"{at(t, 'aliases: [data]')}: shapes.SendResponse.fields.info.aliases: "
            "a required field cannot have aliases: only optional ones"
        ),
    ),
    Case(
        "unknown-type-expression",
        edit("total: {type: int}", "total: {type: integer}"),
        lambda t: (
            f"{at(t, 'type: integer')}: shapes.StatusInfo.fields.total.type: "
            "unknown type 'integer' (expected str, int, bool, float, any, list[T], "
            "dict[str, T] or a shape name)"
        ),
    ),
    Case(
        "response-names-an-unknown-shape",
        edit("response: SendResponse", "response: SendResponze"),
        lambda t: (
            f"{at(t, 'response: SendResponze')}: operations.send.response: "
            f"no shape named 'SendResponze' (shapes: Envelope, {_SHAPES})"
        ),
    ),
    Case(
        "a-shape-named-envelope",
        edit("shapes:\n", "shapes:\n  Envelope:\n    fields: {a: {type: str}}\n"),
        lambda t: (
            f"{at(t, '  Envelope:', 2)}: shapes.Envelope: "
            "Envelope is generated from `envelope:`; choose another name"
        ),
    ),
    Case(
        "rule-names-an-unknown-param",
        edit("params: [html, plain], code: 40870", "params: [html, plian], code: 40870"),
        lambda t: (
            f"{at(t, '{rule: any_of')}: operations.send.rules[0]: "
            "rule names 'plian', which is not a parameter of 'send'"
        ),
    ),
    Case(
        "rule-code-missing-from-the-table",
        edit("params: [html, plain], code: 40870", "params: [html, plain], code: 1"),
        lambda t: (
            f"{at(t, 'code: 1}')}: operations.send.rules[0].code: code 1 is not in the codes table"
        ),
    ),
    Case(
        "param-code-missing-from-the-table",
        edit("codes: {format: 40804}", "codes: {format: 40899}"),
        lambda t: (
            f"{at(t, 'format: 40899')}: operations.send.params.from_name.codes.format: "
            "code 40899 is not in the codes table"
        ),
    ),
    Case(
        "param-code-with-nothing-to-explain",
        edit("codes: {format: 40804}", "codes: {max_items: 40804}"),
        lambda t: (
            f"{at(t, 'max_items: 40804')}: operations.send.params.from_name.codes.max_items: "
            "the parameter has no max_items for this code to explain"
        ),
    ),
    Case(
        "default-region-not-in-regions",
        edit("default_region: sg", "default_region: eu"),
        lambda t: (
            f"{at(t, 'default_region: eu')}: default_region: "
            f"'eu' is not a region (regions: {_REGIONS})"
        ),
    ),
    Case(
        "auth-with-body-and-bearer",
        edit("auth:\n  body:", "auth:\n  bearer: token\n  body:"),
        lambda t: (
            f"{at(t, 'auth:')}: auth: give exactly one of body, query (credentials as "
            "parameters), bearer, headers (credentials in headers), basic (HTTP basic) or "
            "aws_sigv4; found body, bearer"
        ),
    ),
    Case(
        "ids-path-that-does-not-resolve",
        edit("ids: info.email_id_list", "ids: info.email_ids"),
        lambda t: (
            f"{at(t, 'ids: info.email_ids')}: operations.send.ids: "
            "shape 'SendInfo' has no field 'email_ids'"
        ),
    ),
    Case(
        "ids-path-through-a-scalar",
        edit("ids: info.email_id_list", "ids: result.email_id_list"),
        lambda t: (
            f"{at(t, 'ids: result')}: operations.send.ids: "
            "'result' is not a shape, so 'result.email_id_list' cannot go further"
        ),
    ),
    Case(
        "extra-base-that-does-not-exist",
        edit("    base: sms\n", "    base: mms\n"),
        lambda t: (
            f"{at(t, 'base: mms')}: operations.send_sms.base: no base named 'mms' in extra_bases"
        ),
    ),
    Case(
        "path-placeholder-without-a-path-param",
        edit("path: api/mail/send", "path: api/mail/{id}/send"),
        lambda t: (
            f"{at(t, 'path: api/mail/{id}')}: operations.send.path: "
            "placeholder {id} needs a parameter with location: path "
            "(or to be region or one of auth.settings)"
        ),
    ),
    Case(
        "max-length-on-a-non-string",
        edit("      html: {type: str}", "      html: {type: int, max_length: 3}"),
        lambda t: (
            f"{at(t, 'max_length: 3')}: operations.send.params.html.max_length: "
            "max_length applies to str parameters only"
        ),
    ),
    Case(
        "delivery-field-that-does-not-exist",
        edit("recipient: recipient, status: status", "recipient: recipients, status: status"),
        lambda t: (
            f"{at(t, 'recipient: recipients')}: delivery.fields.recipient: "
            "shape 'StatusRecord' has no field 'recipients'"
        ),
    ),
    Case(
        "operation-named-by-a-python-keyword",
        edit("  send_sms:\n", "  import:\n"),
        lambda t: (
            f"{at(t, '  import:', 2)}: operations.import: "
            "'import' is a Python keyword, so it cannot name an operation's method"
        ),
    ),
    Case(
        "no-success-code",
        MINIMAL_SPEC.replace("category: success", "category: server"),
        lambda t: (
            f"{at(t, 'codes:')}: codes: no code has category success, so no answer could ever succeed"
        ),
    ),
    Case(
        "http-envelope-needs-no-code-but-body-does",
        MINIMAL_SPEC.replace("envelope: {code_from: http}", "envelope: {code_from: body}"),
        lambda t: (
            f"{at(t, 'envelope:')}: envelope: code_from is body, so envelope.code must name "
            "the field holding the code"
        ),
    ),
]


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        check(load_text(text, FILE))
    return str(info.value)


def test_the_table_is_big_enough_and_the_reference_itself_is_fine() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)
    check(load_text(REF, FILE))
    check(load_text(MINIMAL_SPEC, FILE))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_malformed_spec_reports_file_line_column_path_and_message(case: Case) -> None:
    assert _error(case.text) == case.expected(case.text)


def test_the_error_carries_its_parts() -> None:
    text = edit("page_size: 100", "page_size: 0")
    with pytest.raises(SpecError) as info:
        load_text(text, FILE)
    line, col = position(text, "page_size: 0")
    err = info.value
    assert (err.file, err.line, err.column, err.path) == (FILE, line, col, "limits.page_size")
    assert err.message == "expected an integer >= 1, got 0"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(REF.encode("utf-8").replace(b"AuroraSendCloud", b"Aurora\xc3SendCloud", 1))
    with pytest.raises(SpecError) as info:
        load_spec(path, display_name=FILE)
    assert str(info.value) == f"{FILE}:1:1: not UTF-8 text (invalid continuation byte)"


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(MINIMAL_SPEC.replace("Mini", "Mün").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path, display_name=FILE)
    assert str(info.value) == f"{FILE}:1:1: not UTF-8 text (invalid start byte)"


def test_the_cli_reports_a_malformed_spec_without_a_traceback(tmp_path: Path) -> None:
    spec_dir, out = tmp_path / "spec", tmp_path / "out"
    spec_dir.mkdir()
    text = edit("    summary: Send an email", "    sumary: Send an email")
    (spec_dir / "aurorasendcloud.yaml").write_text(text, encoding="utf-8")
    result = run_cli("generate", "--spec-dir", spec_dir, "--out", out)
    line, col = position(text, "sumary:")
    assert result.returncode == 1
    assert result.stderr == (
        f"error: spec/aurorasendcloud.yaml:{line}:{col}: operations.send.sumary: "
        "unknown field 'sumary' (did you mean 'summary'?)\n"
    )
    assert result.stdout == ""
    assert not out.exists(), "nothing may be written for a bad spec"


def test_the_cli_names_the_bad_file_among_good_ones(tmp_path: Path) -> None:
    spec_dir, out = tmp_path / "spec", tmp_path / "out"
    spec_dir.mkdir()
    (spec_dir / "aurorasendcloud.yaml").write_text(REF, encoding="utf-8")
    (spec_dir / "zz_empty.yaml").write_text("", encoding="utf-8")
    result = run_cli("generate", "--check", "--spec-dir", spec_dir, "--out", out)
    assert result.returncode == 1
    assert result.stderr == "error: spec/zz_empty.yaml:1:1: the file is empty\n"
    assert "Traceback" not in result.stderr


def test_the_dev_environment_has_libyaml() -> None:
    # the pinned PyYAML wheel is built with libyaml; without it the tests below would
    # compare the reference loader with itself
    assert loader._CParser is not None


@pytest.mark.parametrize("path", sorted(SPEC_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_the_libyaml_loader_reads_a_spec_exactly_as_pyyaml_does(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fast path takes every spec in spec/ itself, without falling back
    data, positions = loader._FastCompose(path.read_text(encoding="utf-8")).run()
    assert data and positions
    fast = load_spec(path, display_name=FILE)
    monkeypatch.setattr(loader, "_CParser", None)
    slow = load_spec(path, display_name=FILE)
    assert (fast.spec, fast.positions, fast.sha256) == (slow.spec, slow.positions, slow.sha256)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_error_is_the_same_without_libyaml(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader, "_CParser", None)
    assert _error(case.text) == case.expected(case.text)


# YAML the fast path hands to the reference loader, or must read exactly as it does
TRICKY = [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "true: 1\n",
    "a: {true: HtmlAndText, false: None}\n",  # a value map's boolean keys
    "a: {1: x, true: y}\n",  # the same key to Python: the reference loader explains
    "1.5: x\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 5\n",
    "<<: {a: 1}\n",
    "? [a]\n: 1\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\na: 2\n",
    "~: 1\n",
    "a: 2001-12-14\nb: 0x1F\nc: yes\nd: ~\ne: 1e3\n",
    "- [a, b]\n- {x: 'y'}\n- \"z\"\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_fast_path_reads_unusual_yaml_as_the_reference_does(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read() -> object:
        try:
            return loader._compose(text, FILE)
        except SpecError as exc:
            return str(exc)

    fast = read()
    monkeypatch.setattr(loader, "_CParser", None)
    assert fast == read()
