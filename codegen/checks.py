"""Semantic checks on a decoded spec: what types alone cannot say.

Each check reports a :class:`SpecError` at the offending key's line, and every check
runs before anything is rendered, so a bad spec never produces half a package.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Iterator

import msgspec

from mailspec import wire_paths as wirepath
from mailspec._naming import Scope, ascii_fold, ident
from mailspec.spec_model import (
    MESSAGE_FIELDS,
    RESERVED_OPERATION_NAMES,
    AnyOf,
    CredentialSet,
    MaxSpan,
    OneOf,
    Operation,
    Param,
    Spec,
    WebhookEventFields,
    WebhookSignature,
    auth_keywords,
    code_field,
    placeholders,
    split_target,
)
from mailspec.spec_paths import PathError, Source, parse_path, parse_source, parse_template

from .loader import Located, SpecError
from .typeexpr import TypeExpr, TypeExprError
from .typeexpr import parse as parse_type

__all__ = ["ENVELOPE_SHAPE", "SMS_PARAMS", "check", "code_member_names", "problems"]

ENVELOPE_SHAPE = "Envelope"  # generated from `envelope:`; a spec may not define its own
# provider.send_sms() fills these parameters of a spec's send_sms operation
SMS_PARAMS = ("to", "template_id", "variables")
_AUTH_WORDS = ("default", "none")
_STR = TypeExpr("scalar", "str")
_INT = TypeExpr("scalar", "int")
# what an operation's `ids` and `count` paths may lead to: (in words, the types); an id
# written as a number (Mailjet's MessageID) is read as its text
_IDS = (
    "a str, int, any or a list of them",
    frozenset(
        {t for s in (_STR, _INT, TypeExpr("scalar", "any")) for t in (s, TypeExpr("list", item=s))}
    ),
)
_COUNT = ("an int", frozenset({TypeExpr("scalar", "int")}))
_PLACEHOLDER = re.compile(r"{([^{}]*)}")
# msgspec refuses to rename a Struct field to a name holding these
_BAD_WIRE = re.compile(r'["\\\x00-\x1f]')
# an HTTP header name is a token (RFC 9110, 5.6.2)
_BAD_HEADER_NAME = re.compile(r"[^!#$%&'*+.^_`|~0-9A-Za-z-]")
# the constraints that are a Param field of the same name, which a code for them needs
_CONSTRAINT_NEEDS = frozenset({"max_length", "max_items", "enum", "max_total_bytes"})


class _Taken:
    """The wire names and Python names already used in one struct (a shape, a request)."""

    def __init__(self, noun: str) -> None:
        self.noun = noun
        self.wires: dict[str, str] = {}
        self.idents: dict[str, str] = {}

    def take(self, name: str, wires: Iterable[str]) -> Iterator[str]:
        """Claim ``name`` and its wire spellings; yield a message for each clash."""
        for wire in wires:
            if wire in self.wires:
                yield f"wire name {wire!r} is already used by {self.noun} {self.wires[wire]!r}"
            self.wires[wire] = name
        py = ident(name)
        if py in self.idents:
            yield f"{self.noun}s {self.idents[py]!r} and {name!r} would both be named {py!r} in Python"
        self.idents[py] = name


# StatusCode already has these attributes (enum.IntEnum's), so no member may take them
_ENUM_ATTRS = frozenset({"name", "value"})


def _derived_code_names(spec: Spec) -> dict[int, str]:
    """The member name each code without a ``name:`` gets from its message: the
    message's first six ASCII words (none, e.g. a Chinese message: ``CODE_<n>``), made
    distinct in code order with ``_2``, ``_3``."""
    scope = Scope(_ENUM_ATTRS)
    derived = {}
    for number in sorted(spec.codes):
        row = spec.codes[number]
        if row.name is None:
            words = "_".join(re.findall(r"[A-Za-z0-9]+", ascii_fold(row.message))[:6])
            derived[number] = scope.claim(words or f"code_{number}", upper=True)
    return derived


def code_member_names(spec: Spec) -> dict[int, str]:
    """Every code's ``StatusCode`` member name, in code order: its ``name:`` if it has
    one, else the name derived from its message. :func:`check` has made them distinct."""
    derived = _derived_code_names(spec)
    return {number: spec.codes[number].name or derived[number] for number in sorted(spec.codes)}


def _code_name_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    derived = {name: number for number, name in _derived_code_names(spec).items()}
    given: dict[str, int] = {}
    for number in sorted(spec.codes):
        name = spec.codes[number].name
        if name is None:
            continue
        at = ("codes", number, "name")
        if name in given:
            yield at, f"{name!r} already names code {given[name]}"
        elif name in derived:
            yield (
                at,
                f"{name!r} is the name code {derived[name]} gets from its message; "
                f"choose another, or give code {derived[name]} a name of its own",
            )
        given.setdefault(name, number)


def check(located: Located) -> None:
    """Raise the first problem found, in file order of the checks below."""
    for path, message in _problems(located.spec):
        raise located.error(path, message)


def problems(located: Located) -> list[SpecError]:
    """Every problem :func:`check` would raise the first of, each at its line (for the
    linter, which reports them all at once)."""
    return [located.error(path, message) for path, message in _problems(located.spec)]


def _problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if spec.default_region not in spec.regions:
        yield (
            ("default_region",),
            f"{spec.default_region!r} is not a region (regions: {', '.join(spec.regions)})",
        )
    schemes = spec.auth.schemes()
    if len(schemes) != 1:
        yield (
            ("auth",),
            "give exactly one of body, query (credentials as parameters), bearer, headers "
            "(credentials in headers), basic (HTTP basic) or aws_sigv4"
            + (f"; found {', '.join(schemes)}" if schemes else ""),
        )
    yield from _auth_problems(spec)
    yield from _placeholder_problems(spec)
    if spec.envelope.code_from == "body" and spec.envelope.code is None:
        yield (
            ("envelope",),
            "code_from is body, so envelope.code must name the field holding the code",
        )
    for part in ("code", "message", "ok"):
        source = getattr(spec.envelope, part)
        for wire in (source.wire, *source.aliases) if source is not None else ():
            if _BAD_WIRE.search(wire):
                yield ("envelope", part), _bad_wire(wire)
            elif wirepath.is_path(wire) and part != "message":
                yield ("envelope", part), "only the message may be a path into the answer"
            elif wirepath.is_path(wire):
                try:
                    wirepath.parse(wire)
                except ValueError as exc:
                    yield ("envelope", part), f"not a wire path: {exc}"
    named = spec.envelope.error_name
    if named is not None and (named.header is None) == (named.wire is None):
        yield ("envelope", "error_name"), "give the header or the body key (wire), one of them"
    if (named is None) != (not spec.envelope.errors):
        yield (
            ("envelope", "errors" if named is None else "error_name"),
            "error_name says where an error names itself and errors what each name means: "
            "give both or neither",
        )
    if not any(row.category == "success" for row in spec.codes.values()):
        yield ("codes",), "no code has category success, so no answer could ever succeed"
    for number, row in spec.codes.items():
        if row.partial and row.category != "success":
            yield (
                ("codes", number, "partial"),
                "partial marks a success for some of the recipients; this code is not a success",
            )
    yield from _code_name_problems(spec)
    yield from _shape_problems(spec)
    for name, op in spec.operations.items():
        yield from _operation_problems(spec, name, op)
    yield from _mapping_problems(spec)
    yield from _idempotency_problems(spec)
    yield from _delivery_problems(spec)
    yield from _webhook_problems(spec)
    yield from _sandbox_problems(spec)
    # after the operations' own problems: an operation renamed is reported there first
    for number, row in spec.codes.items():
        for i, op_name in enumerate(row.operations):
            if op_name not in spec.operations:
                yield ("codes", number, "operations", i), f"no operation {op_name!r}"


def _sandbox_problems(spec: Spec) -> Iterator[Problem]:
    if spec.sandbox is None:
        return
    known = auth_keywords(spec.auth)[0]
    for credential, values in spec.sandbox.credentials.items():
        at = ("sandbox", "credentials", credential)
        if credential not in known or credential in spec.auth.settings:
            yield at, f"not a credential of this spec's auth ({', '.join(known)})"
        elif not values:
            yield at, "give at least one documented test value"
    for address in spec.sandbox.recipients:
        local, at_sign, domain = address.partition("@")
        if not (local and at_sign and domain) or address != address.strip().lower():
            yield ("sandbox", "recipients", address), "expected one address in lower case"


def _placeholder_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """A base URL may hold only ``{region}`` and settings; a setting may not be a
    secret credential as well (a URL is shown, a secret never is)."""
    auth = spec.auth
    fills = {"region", *auth.settings}
    secrets = {*auth_keywords(msgspec.structs.replace(auth, settings=[]))[0]}
    secrets.update(auth_keywords(auth)[1])
    for i, setting in enumerate(auth.settings):
        if setting == "region":
            yield ("auth", "settings", i), "region is the client's region already"
        elif setting in secrets:
            yield (
                ("auth", "settings", i),
                f"{setting!r} is a credential; a setting fills URLs and is no secret",
            )
    bases: list[tuple[tuple[str, ...], str]]
    bases = [(("regions", r, "base_url"), region.base_url) for r, region in spec.regions.items()]
    bases += [(("extra_bases", b), url) for b, url in spec.extra_bases.items()]
    for at, url in bases:
        for name in placeholders(url):
            if name not in fills:
                yield at, f"placeholder {{{name}}} is neither region nor one of auth.settings"
    for header in auth.headers:
        if _BAD_HEADER_NAME.search(header) or not header:
            yield ("auth", "headers", header), f"{header!r} is not an HTTP header name"


def _auth_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    auth = spec.auth
    every = auth_keywords(auth)[0]
    if auth.code is not None and auth.code not in spec.codes:
        yield ("auth", "code"), f"code {auth.code} is not in the codes table"
    for set_name, creds in auth.sets.items():
        at = ("auth", "sets", set_name)
        if creds.code is not None and creds.code not in spec.codes:
            yield (*at, "code"), f"code {creds.code} is not in the codes table"
        if set_name in _AUTH_WORDS:
            yield at, f"{set_name!r} is an auth keyword of operations; choose another name"
        for keyword_ in creds.body:
            if keyword_ in every:
                yield (*at, "body", keyword_), f"credential {keyword_!r} is already defined"
            every.append(keyword_)
        if creds.signing is not None:
            yield from _signing_problems(spec, at, creds)
    if auth.smtp is not None:
        for role in ("username", "password"):
            name = getattr(auth.smtp, role)
            if name not in auth.body:
                yield (
                    ("auth", "smtp", role),
                    f"{name!r} is not a credential in auth.body ({', '.join(auth.body)})",
                )
        if not any(region.smtp for region in spec.regions.values()):
            yield ("auth", "smtp"), "no region names an smtp server to log in to"


def _signing_problems(
    spec: Spec, at: tuple[str, ...], creds: CredentialSet
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    signing = creds.signing
    assert signing is not None
    if signing.key not in creds.body:
        yield (
            (*at, "signing", "key"),
            f"{signing.key!r} is not a credential of this set ({', '.join(creds.body)})",
        )
    if signing.stale_code is not None:
        if signing.timestamp is None:
            yield (
                (*at, "signing", "stale_code"),
                "a stale request needs a timestamp to be stale by; name the timestamp parameter",
            )
        if signing.stale_code not in spec.codes:
            yield (
                (*at, "signing", "stale_code"),
                f"code {signing.stale_code} is not in the codes table",
            )


def _bad_wire(wire: str) -> str:
    return f"wire name {wire!r} may not hold a double quote, a backslash or a control character"


def _shape_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if ENVELOPE_SHAPE in spec.shapes:
        yield (
            ("shapes", ENVELOPE_SHAPE),
            f"{ENVELOPE_SHAPE} is generated from `envelope:`; choose another name",
        )
    for shape_name, shape in spec.shapes.items():
        taken = _Taken("field")
        for field_name, field in shape.fields.items():
            at = ("shapes", shape_name, "fields", field_name)
            try:
                expr = parse_type(field.type)
            except TypeExprError as exc:
                yield (*at, "type"), str(exc)
                continue
            for ref in sorted(expr.shapes()):
                if ref not in spec.shapes and ref != ENVELOPE_SHAPE:
                    yield (
                        (*at, "type"),
                        f"no shape named {ref!r} (shapes: {', '.join(spec.shapes)})",
                    )
            for part, wire in (("wire", field.wire), *(("aliases", a) for a in field.aliases)):
                if wire is not None and _BAD_WIRE.search(wire):
                    yield (*at, part), _bad_wire(wire)
            # an alias fills the field when the answer lacks it, which a required field
            # never does, and a list or dict is never missing (it defaults to empty)
            if field.aliases and field.required:
                yield (*at, "aliases"), "a required field cannot have aliases: only optional ones"
            elif field.aliases and expr.kind in ("list", "dict"):
                yield (
                    (*at, "aliases"),
                    f"a {expr.kind} field cannot have aliases: only a scalar or a shape",
                )
            for clash in taken.take(field_name, (field.wire or field_name, *field.aliases)):
                yield at, clash


def _operation_problems(
    spec: Spec, name: str, op: Operation
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    at = ("operations", name)
    if keyword.iskeyword(name):  # it names the client's method
        yield at, f"{name!r} is a Python keyword, so it cannot name an operation's method"
    if name in RESERVED_OPERATION_NAMES:
        yield (
            at,
            f"{name!r} is taken by the client itself ({', '.join(sorted(RESERVED_OPERATION_NAMES))})",
        )
    if op.response not in spec.shapes and op.response != ENVELOPE_SHAPE:
        yield (
            (*at, "response"),
            f"no shape named {op.response!r} (shapes: {', '.join([ENVELOPE_SHAPE, *spec.shapes])})",
        )
    if op.auth not in _AUTH_WORDS and op.auth not in spec.auth.sets:
        yield (
            (*at, "auth"),
            f"{op.auth!r} is neither default, none nor a set in auth.sets "
            f"({', '.join(spec.auth.sets) or 'none defined'})",
        )
    creds = spec.auth.sets.get(op.auth)
    if creds is not None and creds.signing is not None and op.encoding == "json":
        # the signature is a digest of k=v pairs: a JSON body has none to sign
        yield (
            (*at, "encoding"),
            f"auth set {op.auth!r} signs its requests, which only a form or query "
            "encoding can carry",
        )
    if name == "send_sms":
        yield from _sms_problems(spec, op)
    if op.base is not None and op.base not in spec.extra_bases:
        yield (*at, "base"), f"no base named {op.base!r} in extra_bases"
    if op.response in spec.shapes:
        for role, dotted, leaf in (("ids", op.ids, _IDS), ("count", op.count, _COUNT)):
            through = role == "ids"  # ids are read from every item of a list; a count is one
            problem = _path_problem(spec, op.response, dotted, leaf, through) if dotted else None
            if problem:
                yield (*at, role), problem
    if op.body is not None:
        yield from _body_problems(op, at)
    if op.paging is not None:
        yield from _paging_problems(name, op, at)
    if op.query is not None:
        yield from _query_problems(name, op, at)
    if name == "status" and spec.delivery is not None and spec.delivery.total and op.paging is None:
        yield (*at, "paging"), "delivery.total counts records for paging: declare paging"
    if op.item_errors is not None and not op.response_list:
        yield (*at, "item_errors"), "errors per item need a list answer: say response_list"
    if op.ids_header is not None and op.ids is not None:
        yield (*at, "ids_header"), "the id is in the body (ids) or in a header, not both"
    rows = spec.mapping.get(name, {})
    for i, field in enumerate(op.ignores):
        if field not in MESSAGE_FIELDS:
            yield (*at, "ignores", i), f"{field!r} is not a Message field"
        elif field in rows:
            yield (*at, "ignores", i), f"{field!r} has a mapping row: it is sent, not ignored"
    if op.per_recipient and "to" not in rows:
        yield (*at, "per_recipient"), "one request per `to` address needs a mapping row for to"
    if op.fill_variables and not op.per_recipient:
        yield (*at, "fill_variables"), "variables are filled into each copy: say per_recipient"
    if op.batch is not None:
        yield from _batch_problems(spec, op, at)
    if op.multipart_param is not None:
        files = op.params.get(op.multipart_param)
        if files is None or files.type != "files":
            yield (
                (*at, "multipart_param"),
                f"{op.multipart_param!r} is not a parameter of type files",
            )
    taken = _Taken("parameter")
    for param_name, param in op.params.items():
        p_at = (*at, "params", param_name)
        wire = param.wire or param_name
        if _BAD_WIRE.search(wire):
            yield (*p_at, "wire"), _bad_wire(wire)
        for clash in taken.take(param_name, (wire,)):
            yield p_at, clash
        if param.join is not None and param.type != "list[str]":
            yield (*p_at, "join"), "join applies to list[str] parameters only"
        yield from _wire_form_problems(spec, name, op, param_name)
        if param.max_items is not None and param.type not in ("list[str]", "list[object]", "files"):
            yield (*p_at, "max_items"), "max_items applies to list parameters only"
        if param.max_length is not None and param.type != "str":
            yield (*p_at, "max_length"), "max_length applies to str parameters only"
        if param.format is not None and param.type not in ("str", "list[str]"):
            yield (*p_at, "format"), "format applies to str and list[str] parameters only"
        if param.location == "path" and f"{{{param_name}}}" not in op.path:
            yield (
                (*p_at, "location"),
                f"path parameter {param_name!r} does not appear in {op.path!r}",
            )
        for constraint, code in param.codes.items():
            if code not in spec.codes:
                yield (*p_at, "codes", constraint), f"code {code} is not in the codes table"
            if constraint in _CONSTRAINT_NEEDS and getattr(param, constraint) is None:
                yield (
                    (*p_at, "codes", constraint),
                    f"the parameter has no {constraint} for this code to explain",
                )
    fills = {"region", *spec.auth.settings}
    for placeholder in _PLACEHOLDER.findall(op.path):
        holder = op.params.get(placeholder)
        if placeholder in fills:
            if holder is not None:
                yield (
                    (*at, "params", placeholder),
                    f"{{{placeholder}}} is filled from the client's {placeholder}; "
                    "a parameter cannot fill it too",
                )
        elif holder is None or holder.location != "path":
            yield (
                (*at, "path"),
                f"placeholder {{{placeholder}}} needs a parameter with location: path "
                "(or to be region or one of auth.settings)",
            )
    for i, rule in enumerate(op.rules):
        r_at = (*at, "rules", i)
        names = (
            [n for group in rule.groups for n in group]
            if isinstance(rule, OneOf)
            else rule.params
            if isinstance(rule, AnyOf)
            else [rule.start, rule.end]
        )
        for n in names:
            if n not in op.params:
                yield r_at, f"rule names {n!r}, which is not a parameter of {name!r}"
        if isinstance(rule, MaxSpan):
            for n in (rule.start, rule.end):
                if n in op.params and op.params[n].type != "date":
                    yield r_at, f"max_span needs date parameters; {n!r} is {op.params[n].type}"
        if rule.code is not None and rule.code not in spec.codes:
            yield (*r_at, "code"), f"code {rule.code} is not in the codes table"


def _paging_problems(name: str, op: Operation, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """Offset paging (offset and limit), cursor paging (cursor and next) or next-URL
    paging (next_url), one kind only."""
    paging = op.paging
    assert paging is not None
    if paging.next_url is not None:
        others = [r for r in ("offset", "cursor", "next") if getattr(paging, r) is not None]
        for role in others:
            yield (
                (*at, "paging", role),
                "next-URL paging follows the answer's URL: no offset or cursor paging with it",
            )
        limit = op.params.get(paging.limit) if paging.limit is not None else None
        if paging.limit is not None and (limit is None or limit.type != "int"):
            yield (*at, "paging", "limit"), f"limit names an int parameter of {name!r}"
        return
    cursor = paging.cursor is not None or paging.next is not None
    roles = ("limit",) if cursor else ("offset", "limit")
    for role in roles:
        chosen = getattr(paging, role)
        param = op.params.get(chosen) if chosen is not None else None
        if (chosen is not None or not cursor) and (param is None or param.type != "int"):
            yield (*at, "paging", role), f"{role} names an int parameter of {name!r}"
    if cursor and paging.offset is not None:
        yield (*at, "paging", "offset"), "offset paging or cursor paging, not both"
    if cursor and (paging.cursor not in op.params or not paging.next):
        yield (
            (*at, "paging", "cursor"),
            f"cursor paging names a parameter of {name!r} (cursor) and the answer's path "
            "of the next cursor (next)",
        )


def _query_problems(name: str, op: Operation, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """A status query's parameters: ids a list (sent in groups) or a str parameter (one
    request per id: a path parameter, or a query filter such as Mailgun's `message-id`),
    recent an int."""
    query = op.query
    assert query is not None
    ids = op.params.get(query.ids) if query.ids is not None else None
    if query.ids is not None and not (ids is not None and ids.type in ("list[str]", "str")):
        yield (
            (*at, "query", "ids"),
            f"ids names a list[str] parameter (or a str one) of {name!r}",
        )
    recent = op.params.get(query.recent) if query.recent is not None else None
    if query.recent is not None and (recent is None or recent.type != "int"):
        yield (*at, "query", "recent"), f"recent names a int parameter of {name!r}"
    if query.client_window and (query.recent is not None or op.paging is not None):
        yield (
            (*at, "query", "client_window"),
            "a window kept client-side asks no window and no pages (recent, paging)",
        )


def _batch_problems(spec: Spec, op: Operation, at: tuple[str | int, ...]) -> Iterator[Problem]:
    """A batch takes one JSON object per message, through a list[object] parameter, and
    answers one id per message."""
    assert op.batch is not None
    where = (*at, "batch")
    batch = spec.operations.get(op.batch.operation)
    if batch is None:
        yield (*where, "operation"), f"no operation named {op.batch.operation!r}"
        return
    items = batch.params.get(op.batch.items)
    if items is None or items.type != "list[object]":
        yield (*where, "items"), f"{op.batch.items!r} names no list[object] parameter of the batch"
    if op.encoding != "json":
        yield (*where,), "each message travels as the JSON object it sends: encoding json"
    if batch.ids is None:
        yield (*where, "operation"), "the batch answers no message ids (ids)"


def _sms_problems(spec: Spec, op: Operation) -> Iterator[tuple[tuple[str | int, ...], str]]:
    at = ("operations", "send_sms")
    missing = [p for p in SMS_PARAMS if p not in op.params]
    if missing:
        yield (
            (*at, "params"),
            f"send_sms takes the parameters {', '.join(SMS_PARAMS)} (missing "
            f"{', '.join(missing)}); `wire` gives the provider's spelling",
        )
    # provider.send_sms() reports the answer's code, read from the decoded response
    if op.response in spec.shapes and code_field(spec, op.response) is None:
        yield (
            (*at, "response"),
            f"shape {op.response!r} has no field for the answer's code "
            "(the envelope's code, read from the body), which send_sms reports",
        )


def _path_problem(
    spec: Spec,
    shape_name: str,
    dotted: str,
    leaf: tuple[str, frozenset[TypeExpr]],
    role_through_lists: bool = True,
) -> str | None:
    """Why ``dotted`` does not lead through ``shape_name`` to a field of a ``leaf`` type.
    A step into a list of objects goes on in each of them (message ids in
    ``data[].id``) where ``role_through_lists``: the path then reads one value per item."""
    shape = spec.shapes[shape_name]
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        field = shape.fields.get(part)
        if field is None:
            return f"shape {shape_name!r} has no field {part!r}"
        try:
            expr = parse_type(field.type)
        except TypeExprError:
            return None  # reported with the shape
        last = i == len(parts) - 1
        if last:
            wanted, types = leaf
            return None if expr in types else f"{dotted!r} must be {wanted} field, not {field.type}"
        if expr.kind == "list" and expr.item is not None and expr.item.kind == "shape":
            if role_through_lists is False:
                return f"{part!r} is a list, so {dotted!r} cannot go further"
            expr = expr.item  # a list of objects: the rest of the path in each of them
        if expr.kind != "shape" or expr.name not in spec.shapes:
            return f"{part!r} is not a shape, so {dotted!r} cannot go further"
        shape_name, shape = expr.name, spec.shapes[expr.name]
    return None


_CONST_TYPES = {"str": str, "int": int, "bool": bool}


def _wire_form_problems(
    spec: Spec, op_name: str, op: Operation, name: str
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """The wire-form keys of one parameter, each where the runtime can write it."""
    param = op.params[name]
    at = ("operations", op_name, "params", name)
    form_like = op.encoding in ("form", "query")
    if param.const is not None:
        kind = _CONST_TYPES.get(param.type)
        if kind is None or type(param.const) is not kind:
            yield (
                (*at, "const"),
                f"a {param.type} parameter cannot hold the constant {param.const!r}",
            )
        if name in spec.mapping.get(op_name, {}).values():
            yield (*at, "const"), "a constant is sent as it is: no mapping row may fill it"
    if param.beside is not None and (param.const is None or param.beside not in op.params):
        yield (
            (*at, "beside"),
            "beside names another parameter of the operation, for a constant only",
        )
    yield from _value_map_problems(param, at, name in spec.mapping.get(op_name, {}).values())
    if param.repeat and (param.type != "list[str]" or not form_like or param.join is not None):
        yield (
            (*at, "repeat"),
            "repeat sends one form or query field per item: a list[str] without join, "
            "in a form or query operation",
        )
    if param.prefix is not None and (param.type != "object" or op.encoding == "query"):
        yield (
            (*at, "prefix"),
            "prefix names one field per entry of an object, in a form or JSON body",
        )
    if param.pairs is not None and (param.type != "object" or op.encoding != "json"):
        yield (*at, "pairs"), "pairs write an object as a JSON list: an object in a JSON body"
    if param.prefix is not None and param.pairs is not None:
        yield (*at, "prefix"), "give prefix or pairs, not both"
    if param.default is not None and param.type != "object":
        yield (*at, "default"), "a default is an object, for an object parameter"
    if param.number_wire is not None and (param.type != "str" or op.encoding != "json"):
        yield (*at, "number_wire"), "number_wire sends a str of digits as a number: in JSON"
    if param.number_wire is not None and param.number_wire in {
        p.wire or n for n, p in op.params.items()
    }:
        yield (*at, "number_wire"), f"{param.number_wire!r} is another parameter's wire name"
    wire = param.wire or name
    if wirepath.is_path(wire):
        try:
            wirepath.parse(wire)
        except ValueError as exc:
            yield (*at, "wire"), f"not a wire path: {exc}"
        if op.encoding != "json" or param.prefix is not None or param.location is not None:
            yield (
                (*at, "wire"),
                "a wire path places a value inside a JSON body: a json operation, "
                "no prefix, no location",
            )
        plain = {p.wire or n for n, p in op.params.items()}
        if wire.split(".")[0].split("[")[0] in plain:
            yield (*at, "wire"), "the path starts at a key another parameter fills whole"
    if param.address is not None and (
        param.type not in ("str", "list[str]")
        or op.encoding != "json"
        or param.format != "mailbox"
        or param.join is not None
    ):
        yield (
            (*at, "address"),
            "address objects write mailboxes in JSON: a str or list[str] parameter "
            "with format: mailbox, no join, in a json operation",
        )
    if param.keys is not None and (param.type != "files" or op.encoding != "json"):
        yield (*at, "keys"), "keys name the attachment objects of a files parameter in JSON"
    if param.text_entries and param.type != "object":
        yield (*at, "text_entries"), "text_entries is for an object parameter"
    if param.type == "object" and op.encoding != "json" and param.prefix is None:
        yield (
            (*at, "type"),
            "an object in a form or query has no wire form: give it a prefix, or type json "
            "(a JSON string)",
        )
    if param.recipients is not None:
        if param.type != "list[object]" or op.encoding != "json":
            yield (
                (*at, "recipients"),
                "recipients are objects in a JSON list: a list[object] of a JSON body",
            )
        rows = spec.mapping.get(op_name, {})
        if param.recipients.cc_header is not None and "headers" not in rows:
            yield (
                (*at, "recipients", "cc_header"),
                "the cc header goes where the headers mapping row puts headers: add that row",
            )
        if param.recipients.cc_header is not None and _BAD_HEADER_NAME.search(
            param.recipients.cc_header
        ):
            yield (*at, "recipients", "cc_header"), "not an HTTP header name"
    if param.location == "header" and param.type not in ("str", "int"):
        yield (*at, "location"), "a header parameter holds one str or int"
    if param.substitution is not None and param.type not in ("json", "object"):
        yield (*at, "substitution"), "a substitution block is an object: type json or object"
    if param.date_format is not None and param.type != (
        "int" if param.date_format == "epoch" else "str"
    ):
        yield (
            (*at, "date_format"),
            "date_format epoch writes an int parameter, iso8601 and rfc2822 a str one",
        )
    if param.filename_from is not None and (param.type != "files" or op.encoding != "form"):
        yield (*at, "filename_from"), "filename_from names the parts of a files parameter in a form"
    if param.inline_to is not None:
        target = op.params.get(param.inline_to)
        if param.type != "files" or target is None or target.type != "files":
            yield (*at, "inline_to"), "inline_to moves inline files to another files parameter"
        elif param.inline_to == name or target.inline_to is not None:
            yield (*at, "inline_to"), "inline_to names another files parameter, not a chain"
        if not spec.capabilities.inline_attachments:
            yield (*at, "inline_to"), "inline parts need capabilities.inline_attachments"


def _value_map_problems(param: Param, at: tuple[str | int, ...], mapped: bool) -> Iterator[Problem]:
    """A value map turns a Message field's value (a mapping row names the parameter)
    into one word of a scalar parameter's type, inside its enum where one is given."""
    if param.values is None:
        return
    kind = _CONST_TYPES.get(param.type)
    if kind is None:
        yield (*at, "values"), f"values map to one word of a str, int or bool, not {param.type}"
    elif any(type(word) is not kind for word in param.values.values()):
        yield (*at, "values"), f"every word of values is a {param.type}"
    if not mapped:
        yield (*at, "values"), "values map a Message field's value: a mapping row names it"
    if param.enum is not None and any(w not in param.enum for w in param.values.values()):
        yield (*at, "values"), "every word of values is one of the enum"
    if not param.values:
        yield (*at, "values"), "a value map has at least one entry"


def _body_problems(
    op: Operation, at: tuple[str, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """A body that is one parameter's value: a JSON list, and nothing else in the body."""
    assert op.body is not None
    param = op.params.get(op.body)
    if param is None or param.type != "list[object]" or op.encoding != "json":
        yield (*at, "body"), "body names a list[object] parameter of a JSON operation"
    others = [
        n for n, p in op.params.items() if n != op.body and p.location not in ("path", "header")
    ]
    if others:
        yield (
            (*at, "body"),
            f"the body is {op.body!r} alone, so {', '.join(others)} would have no place",
        )


def _mapping_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for op_name, rows in spec.mapping.items():
        op = spec.operations.get(op_name)
        if op is None:
            yield ("mapping", op_name), f"no operation named {op_name!r}"
            continue
        for field, param in rows.items():
            if field not in MESSAGE_FIELDS:
                yield (
                    ("mapping", op_name, field),
                    f"{field!r} is not a Message field ({', '.join(MESSAGE_FIELDS)})",
                )
            elif field == "provider_options":
                yield (
                    ("mapping", op_name, field),
                    "provider_options are merged into the request as they are; they need "
                    "no mapping row",
                )
            name, entry = split_target(param)
            if name not in op.params:
                yield (
                    ("mapping", op_name, field),
                    f"operation {op_name!r} has no parameter {name!r}",
                )
            elif field == "tags" and entry is None and op.params[name].type == "str":
                yield (
                    ("mapping", op_name, field),
                    f"tags are a list, and {name!r} is one string: make it list[str] (with "
                    "join for one string, and max_items: 1 where it holds one tag)",
                )
            elif entry is not None and op.params[name].type not in ("json", "object"):
                yield (
                    ("mapping", op_name, field),
                    f"{param!r} names an entry of {name!r}, which is a {op.params[name].type}, "
                    "not an object (json or object)",
                )


def _idempotency_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """A key's parameter and the window it deduplicates in come together."""
    keyed = [op for op, rows in spec.mapping.items() if "idempotency_key" in rows]
    window = spec.capabilities.idempotency_window
    if keyed and window is None:
        yield (
            ("capabilities", "idempotency_window"),
            f"mapping {keyed[0]!r} sends an idempotency_key: say how long the provider "
            "deduplicates it (seconds)",
        )
    if window is not None and not keyed:
        yield (
            ("capabilities", "idempotency_window"),
            "no mapping row says where the idempotency_key goes",
        )


def _record_path_type(spec: Spec, shape_name: str, dotted: str) -> str | None:
    """The type of the field at ``dotted`` (field names through nested shapes) of a
    record shape, or None where a step names no field."""
    kind = shape_name
    for part in dotted.split("."):
        shape = spec.shapes.get(kind)
        if shape is None or part not in shape.fields:
            return None
        kind = shape.fields[part].type
    return kind


def _delivery_problems(spec: Spec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    delivery = spec.delivery
    if delivery is None:
        return
    shape = spec.shapes.get(delivery.record)
    if shape is None:
        yield ("delivery", "record"), f"no shape named {delivery.record!r}"
        return
    for role in delivery.fields.__struct_fields__:
        field = getattr(delivery.fields, role)
        if field is not None and _record_path_type(spec, delivery.record, field) is None:
            yield ("delivery", "fields", role), f"shape {delivery.record!r} has no field {field!r}"
    status = spec.operations.get("status")
    if status is None:
        yield ("delivery",), "delivery tables need a `status` operation to read from"
    elif delivery.records == "." and status.response != delivery.record:
        yield (
            ("delivery", "records"),
            f"records is '.', so the status answer ({status.response!r}) must be the "
            f"record shape {delivery.record!r}",
        )


_EMPTY_FIELD = "name the payload field (an empty name matches nothing)"
Problem = tuple[tuple[str | int, ...], str]
# the keys each scheme reads besides its name; the others must keep their defaults
_SCHEME_KEYS = {
    "hmac": {
        "signed",
        "signature",
        "algorithm",
        "encoding",
        "key",
        "key_prefix",
        "separator",
        "prefix",
        "timestamp",
        "timestamp_format",
        "id",
        "tolerance_seconds",
    },
    "ecdsa_p256": {
        "signed",
        "signature",
        "separator",
        "prefix",
        "timestamp",
        "timestamp_format",
        "id",
        "tolerance_seconds",
    },
    "basic_auth": set(),
    "token": {"signature"},
}


def _webhook_problems(spec: Spec) -> Iterator[Problem]:
    hooks = spec.webhooks
    if hooks is None:
        return
    if not hooks.encodings:
        yield ("webhooks", "encodings"), "name at least one body encoding (form, json)"
    for encoding in sorted({e for e in hooks.encodings if hooks.encodings.count(e) > 1}):
        yield ("webhooks", "encodings"), f"encoding {encoding!r} is listed twice"
    if not hooks.events:
        yield ("webhooks", "events"), "list at least one event"
    if "" in hooks.events:
        yield ("webhooks", "events", ""), "an event name may not be empty"
    yield from _path_problems(("webhooks", "records"), hooks.records)
    if hooks.ping is not None:
        yield from _path_problems(("webhooks", "ping"), hooks.ping)
    # the receiver reads fields by these paths: one it cannot read would match nothing
    unified = _roles(hooks.fields)
    yield from _field_problems(("webhooks", "fields"), unified)
    for name, row in hooks.events.items():
        if row.fields is not None:
            yield from _field_problems(("webhooks", "events", name, "fields"), _roles(row.fields))
        if row.refine is not None:
            at = ("webhooks", "events", name, "refine")
            yield from _path_problems((*at, "path"), row.refine.path)
            if not row.refine.types:
                yield (*at, "types"), "name at least one value and the type it gives"
    sub_status_at: list[tuple[str | int, ...]] = (
        [("webhooks", "fields", "sub_status")] if hooks.fields.sub_status else []
    )
    sub_status_at += [
        ("webhooks", "events", name, "fields", "sub_status")
        for name, row in hooks.events.items()
        if row.fields is not None and row.fields.sub_status is not None
    ]
    if sub_status_at and (spec.delivery is None or not spec.delivery.sub_states):
        yield (
            sub_status_at[0],
            "a sub_status is read through delivery.sub_states, which this spec does not have",
        )
    if hooks.signature is not None:
        yield from _signature_problems(hooks.signature, unified)


def _roles(fields: WebhookEventFields) -> dict[str, str]:
    """The paths a fields table gives, by role."""
    named = ((role, getattr(fields, role)) for role in fields.__struct_fields__)
    return {role: path for role, path in named if path is not None}


def _field_problems(at: tuple[str | int, ...], paths: dict[str, str]) -> Iterator[Problem]:
    for role, path in paths.items():
        if not path:
            yield (*at, role), _EMPTY_FIELD
        else:
            yield from _path_problems((*at, role), path)


def _path_problems(at: tuple[str | int, ...], path: str) -> Iterator[Problem]:
    try:
        parse_path(path)
    except PathError as exc:
        yield at, f"not a payload path the receiver can read: {exc}"


def _signature_problems(signature: WebhookSignature, unified: dict[str, str]) -> Iterator[Problem]:
    at: tuple[str | int, ...] = ("webhooks", "signature")
    scheme = signature.scheme
    defaults = WebhookSignature(scheme=scheme)
    for key in WebhookSignature.__struct_fields__:
        unused = key != "scheme" and key not in _SCHEME_KEYS[scheme]
        if unused and getattr(signature, key) != getattr(defaults, key):
            yield (*at, key), f"the {scheme} scheme does not use {key}"
    if scheme in ("hmac", "ecdsa_p256") and signature.signed is None:
        yield at, f"the {scheme} scheme needs signed: what is signed, as {{timestamp}}{{token}}"
    if scheme in ("hmac", "ecdsa_p256", "token") and signature.signature is None:
        yield at, f"the {scheme} scheme needs signature: where the signature or token is"
    if signature.signed is not None and "signed" in _SCHEME_KEYS[scheme]:
        try:
            parse_template(signature.signed)
        except PathError as exc:
            yield (*at, "signed"), f"not a template the receiver can read: {exc}"
    sources: dict[str, Source] = {}
    for role in ("signature", "timestamp", "id"):
        text = getattr(signature, role)
        if text is None or role not in _SCHEME_KEYS[scheme]:
            continue
        problem, source = _source_problem(scheme, text)
        if problem:
            yield (*at, role), problem
        elif source is not None:
            sources[role] = source
    yield from _distinct_sources(at, sources, unified)
    if scheme == "ecdsa_p256" and any(s.kind == "field" for s in sources.values()):
        yield at, "ECDSA signs the request: its sources are headers and the body, not fields"


def _source_problem(scheme: str, text: str) -> tuple[str | None, Source | None]:
    if not text:
        return _EMPTY_FIELD, None
    try:
        source = parse_source(text)
    except PathError as exc:
        return f"not a source the receiver can read: {exc}", None
    if source.kind == "body":
        return "the raw body is not a value: name a header, a query or a field", None
    if scheme == "token" and source.kind not in ("header", "query"):
        return "a token travels in a header (header:NAME) or a query (query:NAME)", None
    return None, source


def _distinct_sources(
    at: tuple[str | int, ...], sources: dict[str, Source], unified: dict[str, str]
) -> Iterator[Problem]:
    # the id may be the signature itself (a replay carries the same one), not the time
    time = sources.get("timestamp")
    if time is not None and any(
        (s.kind, s.name) == (time.kind, time.name) for r, s in sources.items() if r != "timestamp"
    ):
        yield at, "the timestamp needs a source of its own, apart from the signature and id"
        return
    for role, source in sources.items():
        if source.kind != "field":
            continue
        # the signed timestamp may be the event's own; an id or a signature read as an
        # event's message id or name would make every event a replay, or unknown
        owners = [
            r for r, f in unified.items() if f == source.name and not role == r == "timestamp"
        ]
        if owners:
            yield (
                (*at, role),
                f"{source.name!r} is also webhooks.fields.{owners[0]}; the {role} needs a "
                "field of its own",
            )
