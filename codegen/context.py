"""The render model: a checked spec with every Python name and annotation decided.

Templates only lay this out. All naming goes through :class:`mailspec._naming.Scope`,
asked in a fixed order, so the same spec always yields the same names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from mailspec._naming import Scope, ident
from mailspec.spec_model import Param, Shape, ShapeField, Spec
from mailspec.vocabulary import RETRYABLE_CATEGORIES

from .checks import ENVELOPE_SHAPE, code_member_names
from .loader import Located
from .pysource import call, import_key, isort_key, string
from .typeexpr import SCALARS, TypeExpr
from .typeexpr import parse as parse_type

__all__ = ["FieldContext", "OperationContext", "ProviderContext", "StructContext", "build"]

_PARAM_TYPES = {
    "str": "str",
    "int": "int",
    "bool": "bool",
    "date": "datetime.date",
    "list[str]": "list[str]",
    "json": "dict[str, Any]",
    "object": "dict[str, Any]",
    "list[object]": "list[dict[str, Any]]",
    "files": "list[Attachment]",
}


@dataclass(frozen=True)
class FieldContext:
    attr: str  # the Python attribute
    wire: str  # the name on the wire
    annotation: str
    default: str  # "required", "None", "list" or "dict"
    description: str = ""
    aliases: tuple[tuple[str, str], ...] = ()  # (attr, wire) of each alternative spelling

    def definition(self, indent: int = 4) -> str:
        """The field's line in a Struct body: ``attr: type = default``."""
        head = f"{self.attr}: {self.annotation}"
        args = []
        if self.default in ("list", "dict"):
            args.append(f"default_factory={self.default}")
        elif self.default == "None" and self.wire != self.attr:
            args.append("default=None")
        if self.wire != self.attr:
            args.append(f"name={string(self.wire)}")
        if not args:
            return head if self.default == "required" else f"{head} = {self.default}"
        return f"{head} = " + call("msgspec.field", args, indent, len(head) + 3)

    def alias_fields(self) -> list[FieldContext]:
        """One optional field per other spelling; ``__post_init__`` folds them in."""
        annotation = (
            self.annotation if self.annotation.endswith("| None") else f"{self.annotation} | None"
        )
        return [FieldContext(attr, wire, annotation, "None") for attr, wire in self.aliases]


@dataclass(frozen=True)
class StructContext:
    name: str
    description: str
    fields: list[FieldContext]
    kind: str  # "request" | "response"

    @property
    def aliased(self) -> list[FieldContext]:
        return [f for f in self.fields if f.aliases]


@dataclass(frozen=True)
class OperationContext:
    name: str  # the method name and the key in SPEC.operations
    summary: str
    method: str
    path: str
    request: str
    response: str  # the struct, imported
    decoder: str
    returns: str  # the method's return type: the struct, or a list of them

    @property
    def docstring(self) -> str:
        """The summary, and the HTTP call unless the summary already names its path."""
        if self.path in self.summary:
            return self.summary
        return f"{self.summary} Calls ``{self.method} {self.path}``."


@dataclass
class ProviderContext:
    module: str
    client_class: str
    title: str
    spec_file: str
    sha256: str
    spec: Spec  # with every code's retryability resolved
    structs: list[StructContext] = field(default_factory=list)
    operations: list[OperationContext] = field(default_factory=list)
    decoders: dict[str, str] = field(default_factory=dict)  # decoder name -> decoded type
    code_members: list[tuple[str, int]] = field(default_factory=list)

    @property
    def uses_date(self) -> bool:
        return any("datetime.date" in f.annotation for s in self.structs for f in s.fields)

    @property
    def decoder_lines(self) -> list[tuple[str, str]]:
        """Each decoder: its name and the type it decodes (a struct, or ``list[Struct]``)."""
        return list(self.decoders.items())

    @property
    def uses_any(self) -> bool:
        return any("Any" in f.annotation for s in self.structs for f in s.fields)

    @property
    def client_imports(self) -> list[str]:
        names = {"ENVELOPE_DECODER"}
        for op in self.operations:
            names.update((op.request, op.response, op.decoder))
        return sorted(names, key=import_key)

    @property
    def exports(self) -> list[str]:
        return sorted([s.name for s in self.structs] + list(self.decoders), key=isort_key)

    @property
    def uses_attachment(self) -> bool:
        return any("Attachment" in f.annotation for s in self.structs for f in s.fields)


def build(located: Located, spec_file: str) -> ProviderContext:
    spec = _resolve_codes(located.spec)
    title = spec.provider.title
    client_class = ident(spec.provider.name.title().replace("_", "") + "Client")
    # every name the generated modules import or define beside the models: a shape may
    # not take one (client.py imports models next to Spec, BaseClient and ClassVar)
    module_scope = Scope(
        frozenset(
            {"SPEC", "CODES", "StatusCode", "Any", "Attachment", "msgspec", "datetime"}
            | {"AnswerDecoder"}
            | {"Spec", "BaseClient", "ClassVar", "CLIENT", "ENVELOPE_DECODER", client_class}
        )
    )
    model = ProviderContext(
        module=ident(spec.provider.name),
        client_class=client_class,
        title=title,
        spec_file=spec_file,
        sha256=located.sha256,
        spec=spec,
    )
    envelope = _envelope_struct(spec, module_scope.claim(ENVELOPE_SHAPE))
    shape_names = {ENVELOPE_SHAPE: envelope.name}
    for name in sorted(spec.shapes):
        shape_names[name] = module_scope.claim(name)
    model.structs.append(envelope)
    model.decoders["ENVELOPE_DECODER"] = envelope.name
    decoder_of = {envelope.name: "ENVELOPE_DECODER"}
    for name in sorted(spec.shapes):
        model.structs.append(_shape_struct(shape_names[name], spec.shapes[name], shape_names))
    for op_name in sorted(spec.operations):
        op = spec.operations[op_name]
        camel = "".join(part.title() for part in op_name.split("_"))
        request = module_scope.claim(f"{camel}Request")
        model.structs.append(_request_struct(request, op.summary, op.params))
        response = shape_names[op.response]
        decoded = f"list[{response}]" if op.response_list else response
        decoder = decoder_of.get(decoded)
        if decoder is None:  # one decoder per decoded type, never two under one name
            stem = response.upper() if response.isupper() else _snake(response).upper()
            decoder = decoder_of[decoded] = module_scope.claim(
                f"{stem}_LIST_DECODER" if op.response_list else f"{stem}_DECODER"
            )
        model.decoders[decoder] = decoded
        model.operations.append(
            OperationContext(
                op_name, op.summary, op.method, op.path, request, response, decoder, decoded
            )
        )
    # a code's `name:`, else the first words of its message (checks.py decides both)
    model.code_members = [(name, code) for code, name in code_member_names(spec).items()]
    return model


def _resolve_codes(spec: Spec) -> Spec:
    """Spell out every code's retryability, so the generated table says it plainly."""
    codes = {
        number: msgspec.structs.replace(
            row,
            retryable=row.category in RETRYABLE_CATEGORIES
            if row.retryable is None
            else row.retryable,
        )
        for number, row in sorted(spec.codes.items())
    }
    return msgspec.structs.replace(spec, codes=codes)


def _envelope_struct(spec: Spec, name: str) -> StructContext:
    fields = []
    for attr, source, annotation in (
        ("code", spec.envelope.code, "int"),
        ("message", spec.envelope.message, "str"),
    ):
        if source is None:
            continue
        shape_field = ShapeField(type=annotation, wire=source.wire, aliases=source.aliases)
        fields.append(_response_field(attr, shape_field, {}))
    named = spec.envelope.error_name
    if named is not None and named.wire is not None:  # an error's name in the body
        fields.append(_response_field("error_name", ShapeField(type="str", wire=named.wire), {}))
    return StructContext(name, "The code and message every answer carries.", fields, "response")


def _shape_struct(name: str, shape: Shape, shape_names: dict[str, str]) -> StructContext:
    scope = Scope()
    fields = [
        _response_field(
            scope.claim(field_name), shape.fields[field_name], shape_names, scope, field_name
        )
        for field_name in shape.fields
    ]
    return StructContext(name, shape.description, fields, "response")


def _response_field(
    attr: str,
    field: ShapeField,
    shape_names: dict[str, str],
    scope: Scope | None = None,
    key: str | None = None,
) -> FieldContext:
    expr = parse_type(field.type)
    annotation = _annotation(expr, shape_names)
    if field.required:
        default = "required"
    elif expr.kind in ("list", "dict"):
        default = expr.kind
    else:
        annotation, default = f"{annotation} | None", "None"
    scope = scope or Scope(frozenset({attr}))
    aliases = tuple((scope.claim(f"{attr}_as_{alias}"), alias) for alias in field.aliases)
    wire = field.wire or key or attr
    return FieldContext(attr, wire, annotation, default, field.description, aliases)


def _annotation(expr: TypeExpr, shape_names: dict[str, str]) -> str:
    if expr.kind == "scalar":
        return SCALARS[expr.name]
    if expr.kind == "shape":
        return shape_names[expr.name]
    assert expr.item is not None
    inner = _annotation(expr.item, shape_names)
    return f"list[{inner}]" if expr.kind == "list" else f"dict[str, {inner}]"


def _request_struct(name: str, summary: str, params: dict[str, Param]) -> StructContext:
    fields = []
    # required first: reads like the documentation, and keeps the constructor honest
    for key in sorted(params, key=lambda k: not params[k].required):
        param = params[key]
        annotation = _PARAM_TYPES[param.type]
        default = "required" if param.required else "None"
        if not param.required:
            annotation += " | None"
        fields.append(
            FieldContext(ident(key), param.wire or key, annotation, default, param.description)
        )
    return StructContext(name, summary, fields, "request")


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(camel))
