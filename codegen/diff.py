"""What changed between two versions of a spec, as a changelog of the API surface.

:func:`diff` compares two checked specs section by section and returns one
:class:`Change` per difference, each marked breaking or not by one rule:

    A change is **breaking** when code written against the old spec (calls to
    ``mailspec.provider()``, the generated client, its request and response types,
    ``StatusCode``, error handlers) or a request or answer the old spec allowed may fail
    under the new one. Everything else (an addition, a loosened limit, a new optional
    parameter, a text) is not.

So a parameter made required, a limit tightened, an enum value removed, a code removed
or moved to another category (another error class is raised), a path or wire name
changed, a webhook event or delivery state dropped are breaking; their opposites are
not. A difference in a part of the spec model no rule here knows is reported too, as
breaking: the diff never says "no change" for specs that differ.

Specs are compared as resolved: a code's retryability as its category implies when
not given, a wire name as its key when not given, so only what behaves differently is
reported.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from mailspec.spec_model import (
    AnswerField,
    AnyOf,
    Code,
    MaxSpan,
    OneOf,
    Operation,
    Param,
    Rule,
    ShapeField,
    Spec,
)
from mailspec.vocabulary import RETRYABLE_CATEGORIES

from .checks import check, code_member_names
from .loader import load_spec

__all__ = ["SECTIONS", "Change", "diff", "diff_files", "load_checked"]

# the sections of a diff, in the order they are reported
SECTIONS = (
    "provider",
    "regions",
    "auth",
    "envelope",
    "limits",
    "capabilities",
    "operations",
    "parameters",
    "rules",
    "responses",
    "mapping",
    "delivery",
    "webhooks",
    "codes",
)


@dataclass(frozen=True)
class Change:
    """One difference: where (``section``, ``path``), what, and whether it breaks."""

    section: str
    path: str
    what: str
    breaking: bool
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "path": self.path,
            "change": self.what,
            "breaking": self.breaking,
            "old": msgspec.to_builtins(self.old),
            "new": msgspec.to_builtins(self.new),
        }


def load_checked(path: Path) -> Spec:
    """A spec file loaded and checked as ``generate`` would; SpecError if it is bad."""
    located = load_spec(path, display_name=str(path))
    check(located)
    return located.spec


def diff_files(old: Path, new: Path) -> list[Change]:
    """:func:`diff` of two spec files (SpecError naming file, line and field for a bad one)."""
    return diff(load_checked(old), load_checked(new))


def diff(old: Spec, new: Spec) -> list[Change]:
    """Every difference between ``old`` and ``new``, in :data:`SECTIONS` order."""
    a, b = _resolved(old), _resolved(new)
    changes = [
        *_provider(a, b),
        *_regions(a, b),
        *_auth(a, b),
        *_envelope(a, b),
        *_limits(a, b),
        *_capabilities(a, b),
        *_operations(a, b),
        *_shapes(a, b),
        *_mapping(a, b),
        *_delivery(a, b),
        *_webhooks(a, b),
        *_codes(a, b),
    ]
    order = {s: i for i, s in enumerate(SECTIONS)}
    return sorted(changes, key=lambda c: order[c.section])  # stable within a section


# --- resolving -------------------------------------------------------------------------


def _resolved(spec: Spec) -> Spec:
    """``spec`` with the defaults that do not change behaviour spelt out: each code's
    retryability, each parameter's and response field's wire name."""
    codes = {
        n: msgspec.structs.replace(
            c, retryable=c.category in RETRYABLE_CATEGORIES if c.retryable is None else c.retryable
        )
        for n, c in spec.codes.items()
    }
    operations = {
        name: msgspec.structs.replace(
            op,
            params={
                p: msgspec.structs.replace(param, wire=param.wire or p)
                for p, param in op.params.items()
            },
        )
        for name, op in spec.operations.items()
    }
    shapes = {
        name: msgspec.structs.replace(
            shape,
            fields={
                f: msgspec.structs.replace(field, wire=field.wire or f)
                for f, field in shape.fields.items()
            },
        )
        for name, shape in spec.shapes.items()
    }
    return msgspec.structs.replace(spec, codes=codes, operations=operations, shapes=shapes)


# --- helpers ---------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as a changelog line writes it."""
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, msgspec.Struct):
        return show(msgspec.to_builtins(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _keys(old: dict[Any, Any], new: dict[Any, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """(removed, added, kept) keys, in the new file's order (removed: the old's)."""
    return (
        [k for k in old if k not in new],
        [k for k in new if k not in old],
        [k for k in new if k in old],
    )


def _other(
    section: str, path: str, old: msgspec.Struct, new: msgspec.Struct, handled: Iterable[str]
) -> Iterator[Change]:
    """The fields of two structs that no rule above handled, reported as breaking: a
    field of the spec model this module does not know yet is never silently equal."""
    skip = set(handled)
    for name in old.__struct_fields__:
        if name in skip:
            continue
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield Change(
                section,
                f"{path}.{name}" if path else name,
                f"{name} changed: {show(before)} -> {show(after)}",
                True,
                before,
                after,
            )


def _limit(
    section: str, path: str, name: str, old: int | None, new: int | None, *, most: bool = True
) -> Iterator[Change]:
    """A maximum (``most``) or minimum that may be added, removed, raised or lowered:
    tightened is breaking, loosened is not."""
    if old == new:
        return
    label = "" if path.rsplit(".", 1)[-1] == name else f"{name} "  # not "x: x 1 -> 2"
    if old is None:
        tighter, how = True, f"{label}{new} added"
    elif new is None:
        tighter, how = False, f"{label}{old} removed"
    else:
        tighter = new < old if most else new > old
        how = f"{label}{old} -> {new}"
    yield Change(
        section, path, f"{how} ({'tightened' if tighter else 'loosened'})", tighter, old, new
    )


def _flag(
    section: str, path: str, what: str, old: Any, new: Any, *, breaking: bool
) -> Iterator[Change]:
    if old != new:
        yield Change(section, path, f"{what}: {show(old)} -> {show(new)}", breaking, old, new)


def _texts(
    section: str, path: str, old: msgspec.Struct, new: msgspec.Struct, *names: str
) -> Iterator[Change]:
    """Free text (descriptions, titles, summaries): changes, never breaking."""
    for name in names:
        yield from _flag(
            section, path, f"{name}", getattr(old, name), getattr(new, name), breaking=False
        )


# --- sections --------------------------------------------------------------------------


def _provider(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.provider, b.provider
    yield from _flag(
        "provider",
        "name",
        "renamed (mailspec.provider() takes the new name)",
        old.name,
        new.name,
        breaking=True,
    )
    yield from _texts("provider", "", old, new, "title", "description")
    for doc in old.docs:
        if doc not in new.docs:
            yield Change("provider", "docs", f"no longer built from {doc!r}", False, doc, None)
    for doc in new.docs:
        if doc not in old.docs:
            yield Change("provider", "docs", f"now also built from {doc!r}", False, None, doc)
    yield from _other("provider", "", old, new, ("name", "title", "description", "docs"))


def _regions(a: Spec, b: Spec) -> Iterator[Change]:
    yield from _flag(
        "regions",
        "default_region",
        "default region (calls without a region go elsewhere)",
        a.default_region,
        b.default_region,
        breaking=True,
    )
    removed, added, kept = _keys(a.regions, b.regions)
    for r in removed:
        yield Change("regions", r, "removed", True, a.regions[r], None)
    for r in added:
        yield Change("regions", r, f"added ({b.regions[r].base_url})", False, None, b.regions[r])
    for r in kept:
        old, new = a.regions[r], b.regions[r]
        yield from _flag("regions", r, "base_url", old.base_url, new.base_url, breaking=True)
        yield from _texts("regions", r, old, new, "title")
        if old.smtp != new.smtp:
            if new.smtp is None or old.smtp is None:
                gone = new.smtp is None
                yield Change(
                    "regions",
                    f"{r}.smtp",
                    "SMTP servers removed" if gone else "SMTP servers added",
                    gone,
                    old.smtp,
                    new.smtp,
                )
            else:
                yield from _flag(
                    "regions", f"{r}.smtp", "host", old.smtp.host, new.smtp.host, breaking=True
                )
                lost = [p for p in old.smtp.ports if p not in new.smtp.ports]
                yield from _flag(
                    "regions",
                    f"{r}.smtp",
                    "ports",
                    old.smtp.ports,
                    new.smtp.ports,
                    breaking=bool(lost),
                )
                yield from _flag(
                    "regions",
                    f"{r}.smtp",
                    "starttls_ports",
                    old.smtp.starttls_ports,
                    new.smtp.starttls_ports,
                    breaking=True,
                )
        yield from _other("regions", r, old, new, ("base_url", "title", "smtp"))
    removed, added, kept = _keys(a.extra_bases, b.extra_bases)
    for n in removed:
        yield Change("regions", f"extra_bases.{n}", "removed", True, a.extra_bases[n], None)
    for n in added:
        yield Change("regions", f"extra_bases.{n}", "added", False, None, b.extra_bases[n])
    for n in kept:
        yield from _flag(
            "regions", f"extra_bases.{n}", "URL", a.extra_bases[n], b.extra_bases[n], breaking=True
        )


def _auth(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.auth, b.auth
    removed, added, kept = _keys(old.body, new.body)
    for c in removed:
        yield Change(
            "auth",
            f"body.{c}",
            "credential removed (provider() no longer takes it)",
            True,
            old.body[c],
            None,
        )
    for c in added:
        yield Change(
            "auth",
            f"body.{c}",
            f"credential added, sent as {new.body[c]!r} (provider() needs it)",
            True,
            None,
            new.body[c],
        )
    for c in kept:
        yield from _flag("auth", f"body.{c}", "wire name", old.body[c], new.body[c], breaking=True)
    yield from _flag("auth", "bearer", "bearer credential", old.bearer, new.bearer, breaking=True)
    yield from _flag("auth", "code", "refusal code", old.code, new.code, breaking=False)
    removed, added, kept = _keys(old.sets, new.sets)
    for s in removed:
        yield Change("auth", f"sets.{s}", "credential set removed", True, old.sets[s], None)
    for s in added:
        yield Change("auth", f"sets.{s}", "credential set added", False, None, new.sets[s])
    for s in kept:
        before, after = old.sets[s], new.sets[s]
        yield from _flag(
            "auth", f"sets.{s}", "refusal code", before.code, after.code, breaking=False
        )
        yield from _other("auth", f"sets.{s}", before, after, ("code",))
    if old.smtp != new.smtp:
        breaking = old.smtp is not None  # a login added breaks nothing
        yield Change(
            "auth",
            "smtp",
            f"SMTP login: {show(old.smtp)} -> {show(new.smtp)}",
            breaking,
            old.smtp,
            new.smtp,
        )
    yield from _other("auth", "", old, new, ("body", "bearer", "code", "sets", "smtp"))


def _answer_field(path: str, old: AnswerField | None, new: AnswerField | None) -> Iterator[Change]:
    if old == new:
        return
    if old is None or new is None:
        yield Change("envelope", path, "added" if old is None else "removed", True, old, new)
        return
    yield from _flag("envelope", path, "wire name", old.wire, new.wire, breaking=True)
    lost = [x for x in old.aliases if x not in new.aliases]
    gained = [x for x in new.aliases if x not in old.aliases]
    if lost:
        yield Change(
            "envelope",
            path,
            f"aliases no longer read: {show(lost)}",
            True,
            old.aliases,
            new.aliases,
        )
    if gained:
        yield Change(
            "envelope", path, f"aliases also read: {show(gained)}", False, old.aliases, new.aliases
        )


def _envelope(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.envelope, b.envelope
    yield from _flag(
        "envelope",
        "code_from",
        "where the code is read",
        old.code_from,
        new.code_from,
        breaking=True,
    )
    for part in ("code", "message", "ok"):
        yield from _answer_field(part, getattr(old, part), getattr(new, part))
    yield from _other("envelope", "", old, new, ("code_from", "code", "message", "ok"))


def _limits(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.limits, b.limits
    enforced = ("rate_per_minute", "recipients_per_request", "reply_to_max", "batch_size")
    for name in enforced:
        yield from _limit("limits", name, name, getattr(old, name), getattr(new, name))
    for name in ("page_size", "daily_quota"):  # how answers are paged; informational
        yield from _flag(
            "limits", name, name, getattr(old, name), getattr(new, name), breaking=False
        )
    yield from _other("limits", "", old, new, (*enforced, "page_size", "daily_quota"))


def _capabilities(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.capabilities, b.capabilities
    for name in ("attachments", "inline_attachments", "cc_bcc", "recipient_variables"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield Change(
                "capabilities",
                name,
                "no longer supported" if before else "now supported",
                before,
                before,
                after,
            )
    if old.template_only != new.template_only:
        yield Change(
            "capabilities",
            "template_only",
            "every send now names a template" if new.template_only else "no longer template-only",
            new.template_only,
            old.template_only,
            new.template_only,
        )
    yield from _flag(
        "capabilities",
        "variable_syntax",
        "placeholder syntax",
        old.variable_syntax,
        new.variable_syntax,
        breaking=True,
    )
    before, after = old.idempotency_window, new.idempotency_window
    if before != after:
        # a shorter window (or none) resolves fewer ambiguous sends by resending the key;
        # a new or longer one, more: nothing that worked stops working
        shorter = after is None or (before is not None and after < before)
        yield Change(
            "capabilities",
            "idempotency_window",
            f"deduplicates an idempotency key for: {show(before)} -> {show(after)} seconds",
            shorter,
            before,
            after,
        )
    yield from _other(
        "capabilities",
        "",
        old,
        new,
        (
            "attachments",
            "inline_attachments",
            "cc_bcc",
            "recipient_variables",
            "template_only",
            "variable_syntax",
            "idempotency_window",
        ),
    )


def _operations(a: Spec, b: Spec) -> Iterator[Change]:
    removed, added, kept = _keys(a.operations, b.operations)
    for name in removed:
        op = a.operations[name]
        yield Change("operations", name, f"removed ({op.method} {op.path})", True, op, None)
    for name in added:
        op = b.operations[name]
        yield Change("operations", name, f"added ({op.method} {op.path})", False, None, op)
    for name in kept:
        old, new = a.operations[name], b.operations[name]
        if (old.method, old.path) != (new.method, new.path):
            yield Change(
                "operations",
                name,
                f"{old.method} {old.path} -> {new.method} {new.path}",
                True,
                f"{old.method} {old.path}",
                f"{new.method} {new.path}",
            )
        for field in ("encoding", "base", "auth", "response", "multipart_param"):
            yield from _flag(
                "operations", name, field, getattr(old, field), getattr(new, field), breaking=True
            )
        for field in ("ids", "count"):  # where mailspec reads the answer: no call changes
            yield from _flag(
                "operations", name, field, getattr(old, field), getattr(new, field), breaking=False
            )
        yield from _texts("operations", name, old, new, "summary")
        if old.examples != new.examples:  # the documents' examples: checked, never called
            yield Change(
                "operations",
                f"{name}.examples",
                f"documented examples: {len(old.examples)} -> {len(new.examples)}",
                False,
                len(old.examples),
                len(new.examples),
            )
        yield from _params(name, old, new)
        yield from _rules(name, old.rules, new.rules)
        yield from _other(
            "operations",
            name,
            old,
            new,
            (
                "method",
                "path",
                "encoding",
                "base",
                "auth",
                "response",
                "multipart_param",
                "ids",
                "count",
                "summary",
                "params",
                "rules",
                "examples",
            ),
        )


def _params(op: str, a: Operation, b: Operation) -> Iterator[Change]:
    removed, added, kept = _keys(a.params, b.params)
    # a parameter whose Python name changed but not its wire name is one rename
    for old_name in list(removed):
        twin = next(
            (n for n in added if b.params[n].wire == a.params[old_name].wire),
            None,
        )
        if twin is not None:
            removed.remove(old_name)
            added.remove(twin)
            yield Change(
                "parameters",
                f"{op}.{old_name}",
                f"renamed to {twin!r} (the same wire name, {b.params[twin].wire!r})",
                True,
                old_name,
                twin,
            )
            yield from _param(op, twin, a.params[old_name], b.params[twin])
    for name in removed:
        yield Change("parameters", f"{op}.{name}", "removed", True, a.params[name], None)
    for name in added:
        param = b.params[name]
        yield Change(
            "parameters",
            f"{op}.{name}",
            f"added, {'required' if param.required else 'optional'} ({param.type})",
            param.required,
            None,
            param,
        )
    for name in kept:
        yield from _param(op, name, a.params[name], b.params[name])


def _param(op: str, name: str, old: Param, new: Param) -> Iterator[Change]:
    at = f"{op}.{name}"
    if old.required != new.required:
        yield Change(
            "parameters",
            at,
            "now required" if new.required else "no longer required",
            new.required,
            old.required,
            new.required,
        )
    yield from _flag("parameters", at, "renamed on the wire", old.wire, new.wire, breaking=True)
    yield from _flag("parameters", at, "type", old.type, new.type, breaking=True)
    yield from _flag("parameters", at, "location", old.location, new.location, breaking=True)
    yield from _flag("parameters", at, "join", old.join, new.join, breaking=True)
    if old.format != new.format:
        # a mailbox is an address or `Name <address>`: email -> mailbox takes more
        loosened = new.format is None or (old.format, new.format) == ("email", "mailbox")
        yield Change(
            "parameters",
            at,
            f"format: {show(old.format)} -> {show(new.format)}",
            not loosened,
            old.format,
            new.format,
        )
    for limit in ("max_length", "max_items", "max_total_bytes", "maximum"):
        yield from _limit("parameters", at, limit, getattr(old, limit), getattr(new, limit))
    yield from _limit("parameters", at, "minimum", old.minimum, new.minimum, most=False)
    if old.enum != new.enum:
        if old.enum is None or new.enum is None:
            added = old.enum is None
            yield Change(
                "parameters",
                at,
                f"enum {show(new.enum)} added (tightened)" if added else "enum removed (loosened)",
                added,
                old.enum,
                new.enum,
            )
        else:
            lost = [v for v in old.enum if v not in new.enum]
            gained = [v for v in new.enum if v not in old.enum]
            if lost:
                yield Change(
                    "parameters", at, f"enum values removed: {show(lost)}", True, old.enum, new.enum
                )
            if gained:
                yield Change(
                    "parameters",
                    at,
                    f"enum values added: {show(gained)}",
                    False,
                    old.enum,
                    new.enum,
                )
    yield from _flag("parameters", at, "provider codes", old.codes, new.codes, breaking=False)
    yield from _texts("parameters", at, old, new, "description")
    yield from _other(
        "parameters",
        at,
        old,
        new,
        (
            "required",
            "wire",
            "type",
            "location",
            "join",
            "format",
            "max_length",
            "max_items",
            "max_total_bytes",
            "maximum",
            "minimum",
            "enum",
            "codes",
            "description",
        ),
    )


def _rule_key(rule: Rule) -> tuple[Any, ...]:
    if isinstance(rule, OneOf):
        return ("one_of", tuple(tuple(g) for g in rule.groups))
    if isinstance(rule, AnyOf):
        return ("any_of", tuple(rule.params))
    return ("max_span", rule.start, rule.end)


def _rule_text(rule: Rule) -> str:
    if isinstance(rule, OneOf):
        return "one_of " + " | ".join("+".join(g) for g in rule.groups)
    if isinstance(rule, AnyOf):
        return "any_of " + ", ".join(rule.params)
    return f"max_span {rule.start}..{rule.end} {rule.days} days"


def _rules(op: str, old: list[Rule], new: list[Rule]) -> Iterator[Change]:
    a = {_rule_key(r): r for r in old}
    b = {_rule_key(r): r for r in new}
    removed, added, kept = _keys(a, b)
    for k in removed:
        yield Change("rules", op, f"rule removed: {_rule_text(a[k])} (loosened)", False, a[k], None)
    for k in added:
        yield Change("rules", op, f"rule added: {_rule_text(b[k])} (tightened)", True, None, b[k])
    for k in kept:
        before, after = a[k], b[k]
        if isinstance(before, MaxSpan) and isinstance(after, MaxSpan):
            yield from _limit(
                "rules", op, f"max_span {before.start}..{before.end} days", before.days, after.days
            )
        yield from _flag(
            "rules", op, f"{_rule_text(after)}: code", before.code, after.code, breaking=False
        )


def _shape_field(at: str, old: ShapeField, new: ShapeField) -> Iterator[Change]:
    yield from _flag("responses", at, "type", old.type, new.type, breaking=True)
    yield from _flag("responses", at, "wire name", old.wire, new.wire, breaking=True)
    if old.required != new.required:
        what = (
            "now required (answers without it are refused)"
            if new.required
            else "no longer required (may be None)"
        )
        yield Change("responses", at, what, True, old.required, new.required)
    lost = [x for x in old.aliases if x not in new.aliases]
    gained = [x for x in new.aliases if x not in old.aliases]
    if lost:
        yield Change(
            "responses", at, f"aliases no longer read: {show(lost)}", True, old.aliases, new.aliases
        )
    if gained:
        yield Change(
            "responses", at, f"aliases also read: {show(gained)}", False, old.aliases, new.aliases
        )
    yield from _texts("responses", at, old, new, "description")
    yield from _other(
        "responses", at, old, new, ("type", "wire", "required", "aliases", "description")
    )


def _shapes(a: Spec, b: Spec) -> Iterator[Change]:
    removed, added, kept = _keys(a.shapes, b.shapes)
    for s in removed:
        yield Change("responses", s, "shape removed", True, a.shapes[s], None)
    for s in added:
        yield Change("responses", s, "shape added", False, None, b.shapes[s])
    for s in kept:
        old, new = a.shapes[s], b.shapes[s]
        gone, new_fields, both = _keys(old.fields, new.fields)
        for f in gone:
            yield Change("responses", f"{s}.{f}", "field removed", True, old.fields[f], None)
        for f in new_fields:
            field = new.fields[f]
            yield Change(
                "responses",
                f"{s}.{f}",
                f"field added ({field.type}{', required' if field.required else ''})",
                field.required,
                None,
                field,
            )
        for f in both:
            yield from _shape_field(f"{s}.{f}", old.fields[f], new.fields[f])
        yield from _texts("responses", s, old, new, "description")


def _mapping(a: Spec, b: Spec) -> Iterator[Change]:
    for op in dict.fromkeys([*a.mapping, *b.mapping]):
        old, new = a.mapping.get(op, {}), b.mapping.get(op, {})
        removed, added, kept = _keys(old, new)
        for f in removed:
            yield Change(
                "mapping",
                f"{op}.{f}",
                f"Message.{f} no longer carried (was {old[f]!r}): messages that set it are refused",
                True,
                old[f],
                None,
            )
        for f in added:
            yield Change(
                "mapping",
                f"{op}.{f}",
                f"Message.{f} now carried, as {new[f]!r}",
                False,
                None,
                new[f],
            )
        for f in kept:
            yield from _flag(
                "mapping",
                f"{op}.{f}",
                f"Message.{f} goes to another parameter",
                old[f],
                new[f],
                breaking=False,
            )


def _table(
    section: str, path: str, old: dict[str, Any], new: dict[str, Any], meaning: tuple[str, ...]
) -> Iterator[Change]:
    """A table of provider values -> unified meaning (states, sub-states, events): a
    value dropped or meaning something else is breaking, a value added is not."""
    removed, added, kept = _keys(old, new)
    for k in removed:
        yield Change(section, f"{path}.{k}", "removed (now read as unknown)", True, old[k], None)
    for k in added:
        what = ", ".join(show(getattr(new[k], m)) for m in meaning)
        yield Change(section, f"{path}.{k}", f"added ({what})", False, None, new[k])
    for k in kept:
        for m in meaning:
            yield from _flag(
                section, f"{path}.{k}", m, getattr(old[k], m), getattr(new[k], m), breaking=True
            )
        yield from _texts(section, f"{path}.{k}", old[k], new[k], "description")


def _delivery(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.delivery, b.delivery
    if old == new:
        return
    if old is None or new is None:
        yield Change(
            "delivery",
            "",
            "delivery tables added" if old is None else "delivery tables removed",
            new is None,
            old,
            new,
        )
        return
    for field in ("record", "records", "total", "timestamp_format"):
        yield from _flag(
            "delivery", field, field, getattr(old, field), getattr(new, field), breaking=True
        )
    yield from _flag("webhooks", "records", "events path", old.records, new.records, breaking=True)
    for role in old.fields.__struct_fields__:
        yield from _flag(
            "delivery",
            f"fields.{role}",
            "record field",
            getattr(old.fields, role),
            getattr(new.fields, role),
            breaking=True,
        )
    yield from _table("delivery", "states", old.states, new.states, ("state",))
    yield from _table("delivery", "sub_states", old.sub_states, new.sub_states, ("state", "reason"))
    yield from _other(
        "delivery",
        "",
        old,
        new,
        ("record", "records", "total", "timestamp_format", "fields", "states", "sub_states"),
    )


def _webhooks(a: Spec, b: Spec) -> Iterator[Change]:
    old, new = a.webhooks, b.webhooks
    if old == new:
        return
    if old is None or new is None:
        yield Change(
            "webhooks",
            "",
            "webhooks added" if old is None else "webhooks removed",
            new is None,
            old,
            new,
        )
        return
    lost = [e for e in old.encodings if e not in new.encodings]
    if old.encodings != new.encodings:
        yield Change(
            "webhooks",
            "encodings",
            f"encodings: {show(old.encodings)} -> {show(new.encodings)}",
            bool(lost),
            old.encodings,
            new.encodings,
        )
    yield from _flag(
        "webhooks",
        "timestamp_format",
        "timestamp format",
        old.timestamp_format,
        new.timestamp_format,
        breaking=True,
    )
    yield from _flag("webhooks", "records", "events path", old.records, new.records, breaking=True)
    for role in old.fields.__struct_fields__:
        yield from _flag(
            "webhooks",
            f"fields.{role}",
            "payload field",
            getattr(old.fields, role),
            getattr(new.fields, role),
            breaking=True,
        )
    before, after = old.signature, new.signature
    if before != after:
        if before is None or after is None:
            yield Change(
                "webhooks",
                "signature",
                "now signed: unsigned events are refused"
                if before is None
                else "no longer signed: events are accepted unverified",
                before is None,
                before,
                after,
            )
        else:
            # every input of the scheme: a changed one makes the old signatures fail
            inputs = [f for f in after.__struct_fields__ if f != "tolerance_seconds"]
            for field in inputs:
                yield from _flag(
                    "webhooks",
                    "signature",
                    field,
                    getattr(before, field),
                    getattr(after, field),
                    breaking=True,
                )
            yield from _limit(
                "webhooks",
                "signature",
                "tolerance_seconds",
                before.tolerance_seconds,
                after.tolerance_seconds,
                most=True,
            )
    yield from _table("webhooks", "events", old.events, new.events, ("type", "fields", "refine"))
    handled = ("encodings", "records", "timestamp_format", "fields", "signature", "events")
    yield from _other("webhooks", "", old, new, handled)


def _codes(a: Spec, b: Spec) -> Iterator[Change]:
    names_a, names_b = code_member_names(a), code_member_names(b)
    removed, added, kept = _keys(dict(sorted(a.codes.items())), dict(sorted(b.codes.items())))
    for n in removed:
        yield Change(
            "codes",
            str(n),
            f"removed (StatusCode.{names_a[n]}, {a.codes[n].message!r})",
            True,
            a.codes[n],
            None,
        )
    for n in added:
        row = b.codes[n]
        yield Change(
            "codes", str(n), f"added: {row.category.value}, {row.message!r}", False, None, row
        )
    for n in kept:
        yield from _code(str(n), a.codes[n], b.codes[n], names_a[n], names_b[n])


def _code(at: str, old: Code, new: Code, name_a: str, name_b: str) -> Iterator[Change]:
    yield from _flag(
        "codes",
        at,
        "category (another error class is raised)",
        old.category,
        new.category,
        breaking=True,
    )
    if old.retryable != new.retryable:
        yield Change(
            "codes",
            at,
            "now retried" if new.retryable else "no longer retried",
            bool(old.retryable),
            old.retryable,
            new.retryable,
        )
    yield from _flag("codes", at, "partial success", old.partial, new.partial, breaking=True)
    yield from _flag("codes", at, "StatusCode member renamed", name_a, name_b, breaking=True)
    yield from _texts("codes", at, old, new, "message")
    yield from _flag("codes", at, "operations", old.operations, new.operations, breaking=False)
    yield from _other(
        "codes", at, old, new, ("category", "retryable", "partial", "name", "message", "operations")
    )
