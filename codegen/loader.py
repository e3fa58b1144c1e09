"""YAML spec file → spec model, with errors that name file, line, column and field path.

YAML is composed with the safe loader into nodes, turned into plain data while every
node's position is kept, and decoded into the spec model by msgspec. A spec is small,
flat, written by hand data, so anything else is refused before it can cost much: a file
over :data:`MAX_BYTES`, more than :data:`MAX_NODES` nodes, nesting deeper than
:data:`MAX_DEPTH`, and YAML anchors and aliases (a few hundred bytes of aliases expand
to billions of nodes). msgspec reports *where* in
the data a value is wrong (``$.operations[...].params[...].max_items``) but not which
mapping key ``[...]`` stands for, so :func:`_locate` walks the data and the spec model's types
together to find the concrete key, and the position table gives its line.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import msgspec
import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from mailspec.spec_model import Spec

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Located",
    "SpecError",
    "compose",
    "decode",
    "dotted",
    "load_spec",
    "load_text",
]

PathKey = tuple[str | int, ...]

# Limits on a spec file, far above what the specs in spec/ need (the biggest is 35 KB,
# 2,588 nodes and 8 levels deep) and far below what would exhaust the generator; see
# docs/spec-format.md, "Limits".
MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000  # about 3,000 status codes
MAX_DEPTH = 32


class SpecError(Exception):
    """A spec that cannot be used, with where and why: ``file:line:col: path: message``."""

    def __init__(self, file: str, line: int, column: int, path: str, message: str) -> None:
        self.file, self.line, self.column, self.path, self.message = (
            file,
            line,
            column,
            path,
            message,
        )
        where = f"{file}:{line}:{column}"
        super().__init__(f"{where}: {path}: {message}" if path else f"{where}: {message}")


@dataclass(frozen=True)
class Located:
    """A decoded spec and the position of every key and value in its file."""

    spec: Spec
    file: str
    positions: dict[PathKey, tuple[int, int]]
    sha256: str

    def error(self, path: PathKey, message: str) -> SpecError:
        return _error_at(self.file, self.positions, path, message)


def load_spec(path: Path, *, display_name: str | None = None) -> Located:
    """Read and decode one spec file; raise :class:`SpecError` for anything wrong.

    At most :data:`MAX_BYTES` + 1 characters are read, so a huge file is refused
    without being read into memory.
    """
    file = display_name or str(path)
    try:
        with path.open(encoding="utf-8") as stream:
            text = stream.read(MAX_BYTES + 1)
    except UnicodeDecodeError as exc:
        raise SpecError(file, 1, 1, "", f"not UTF-8 text ({exc.reason})") from None
    return load_text(text, file)


def load_text(text: str, file: str) -> Located:
    """Decode one spec's text; raise :class:`SpecError` for anything wrong."""
    data, positions = compose(text, file)
    return decode(data, positions, file, text)


def compose(text: str, file: str) -> tuple[Any, dict[PathKey, tuple[int, int]]]:
    """One spec's text as plain data and the position of every key and value, within
    the limits; SpecError for anything else (the linter reads the data before decoding)."""
    _check_size(text, file)
    return _compose(text, file)


def decode(data: Any, positions: dict[PathKey, tuple[int, int]], file: str, text: str) -> Located:
    """Composed data decoded into the spec model; SpecError at the offending line."""
    try:
        spec = msgspec.convert(_without_retired_style(data), Spec)
    except msgspec.ValidationError as exc:
        raise _explain(exc, data, positions, file) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Located(spec=spec, file=file, positions=positions, sha256=digest)


# `provider.style` named a hand-written adapter; every provider is now its spec alone.
# An older spec's style is read and dropped, so that older versions still load (and
# `mailspec spec diff` compares them); any other value is an unknown key as before.
_RETIRED_STYLES = frozenset({"generic", "sendcloud", "cloudmails", "aotsend"})


def _without_retired_style(data: Any) -> Any:
    provider = data.get("provider") if isinstance(data, dict) else None
    if isinstance(provider, dict) and provider.get("style") in _RETIRED_STYLES:
        return {**data, "provider": {k: v for k, v in provider.items() if k != "style"}}
    return data


# --- YAML with positions -------------------------------------------------------------


def _check_size(text: str, file: str) -> None:
    """Refuse a text over :data:`MAX_BYTES` (UTF-8) before YAML sees it."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8")) > MAX_BYTES:
        raise SpecError(
            file,
            1,
            1,
            "",
            f"the file is larger than {MAX_BYTES // 1024} KiB, the most a spec may be",
        )


class _Limits:
    """A composer mixin refusing what a spec never needs while it composes.

    Each refusal is a :class:`SpecError` at the offending node, raised before the node
    is composed: an alias or an anchor (aliases make a tiny file expand to billions of
    nodes, and an anchor is only there for an alias), a node nested deeper than
    :data:`MAX_DEPTH` (the composer and the conversion to data recurse once per level,
    so this comes long before Python's recursion limit) and the node after
    :data:`MAX_NODES`.
    """

    file = ""
    path: list[str | int]  # of the node being composed; its depth
    nodes = 0

    def _limit(self, file: str) -> None:
        self.file, self.path, self.nodes = file, [], 0

    if typing.TYPE_CHECKING:

        def peek_event(self) -> yaml.Event: ...  # the parser's

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if parent is not None:
            self.path.append(_part(index))
        try:
            self._admit(self.peek_event())
            return typing.cast(yaml.Node, super().compose_node(parent, index))  # type: ignore[misc]
        finally:
            if parent is not None:
                self.path.pop()

    def _admit(self, event: yaml.Event) -> None:
        """Refuse the node ``event`` starts unless a spec may hold it."""
        if isinstance(event, yaml.AliasEvent):
            self._refuse(event, f"YAML aliases (*{event.anchor}) are not allowed in a spec")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._refuse(event, f"YAML anchors (&{anchor}) are not allowed in a spec")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._refuse(event, f"more than {MAX_NODES} YAML nodes, the most a spec may have")
        if len(self.path) > MAX_DEPTH:
            self._refuse(event, f"nested deeper than {MAX_DEPTH} levels, the most a spec may be")

    def _refuse(self, event: yaml.Event, message: str) -> typing.NoReturn:
        mark = event.start_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError(self.file, line, col, _dotted(tuple(self.path)), message)


class _SpecLoader(_Limits, yaml.SafeLoader):
    """PyYAML's own safe loader, with the limits: the reference for every error."""

    def __init__(self, text: str, file: str) -> None:
        yaml.SafeLoader.__init__(self, text)
        self._limit(file)


def _c_parser() -> Any:
    """libyaml's parser (``yaml._yaml.CParser``), where pyyaml is built with libyaml."""
    try:
        from yaml._yaml import CParser
    except ImportError:
        return None
    return CParser


_CParser = _c_parser()
_STR_TAG = "tag:yaml.org,2002:str"


class _Unusual(Exception):
    """Something the fast path leaves to the reference loader, which explains it."""


class _Scalars(SafeConstructor, Resolver):
    """PyYAML's own implicit tag resolution and scalar constructors, for the fast path."""

    def __init__(self) -> None:
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    def value(self, event: Any) -> Any:
        """The Python value of a plain or quoted scalar event without an explicit tag,
        exactly as the composer and the safe constructor make it."""
        if event.anchor is not None or event.tag not in (None, "!"):
            raise _Unusual
        tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag == _STR_TAG:
            return event.value
        if tag not in self.yaml_constructors:
            raise _Unusual  # a merge key (<<)
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark)
        return self.yaml_constructors[tag](self, node)


class _FastCompose:
    """YAML text → plain data and positions straight from libyaml's events.

    No node graph is built and no Python composer runs: one loop over the C parser's
    events makes the data, the positions and the limits' counts at once, about 2.5
    times faster than composing nodes and converting them. It takes only what a spec
    is (block and flow mappings and sequences of untagged scalars, string, integer or boolean
    keys, one document) and raises :class:`_Unusual` for anything else (an anchor, an
    alias, a tag, a merge or complex key, a duplicate, a limit reached), so that the
    reference loader reads that file instead and words every error; a test holds the
    two to the same data and positions for every spec.
    """

    def __init__(self, text: str) -> None:
        self.parser = _CParser(text)
        self.scalars = _Scalars()
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.nodes = 0

    def run(self) -> tuple[Any, dict[PathKey, tuple[int, int]]]:
        get = self.parser.get_event
        try:
            if not isinstance(get(), yaml.StreamStartEvent):
                raise _Unusual
            if not isinstance(get(), yaml.DocumentStartEvent):
                raise _Unusual  # an empty file: told by the reference loader
            root = self._node(get(), (), 0)
            if not isinstance(get(), yaml.DocumentEndEvent):
                raise _Unusual
            if not isinstance(get(), yaml.StreamEndEvent):
                raise _Unusual  # a second document
        finally:
            self.parser.dispose()
        return root, self.positions

    def _admit(self, event: Any, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH or event.anchor is not None:
            raise _Unusual

    def _node(self, event: Any, path: PathKey, depth: int) -> Any:
        self._admit(event, depth)
        mark = event.start_mark
        self.positions.setdefault(path, (mark.line + 1, mark.column + 1))
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalars.value(event)
        if event.tag not in (None, "!") or kind not in (
            yaml.MappingStartEvent,
            yaml.SequenceStartEvent,
        ):
            raise _Unusual  # an alias, or a tagged collection
        get = self.parser.get_event
        if kind is yaml.SequenceStartEvent:
            items: list[Any] = []
            item = get()
            while type(item) is not yaml.SequenceEndEvent:
                items.append(self._node(item, (*path, len(items)), depth + 1))
                item = get()
            return items
        out: dict[Any, Any] = {}
        key_event: Any = get()
        while type(key_event) is not yaml.MappingEndEvent:
            if type(key_event) is not yaml.ScalarEvent:
                raise _Unusual  # a complex key, or an alias as a key
            self._admit(key_event, depth + 1)
            key = self.scalars.value(key_event)
            if type(key) not in (str, int, bool) or key in out:
                raise _Unusual  # a duplicate, null, a float...  (a boolean: a value map's key)
            key_mark: Any = key_event.start_mark
            at = (*path, key)
            self.positions[at] = (key_mark.line + 1, key_mark.column + 1)
            value_event = get()
            out[key] = self._node(value_event, at, depth + 1)
            value_mark = value_event.start_mark
            self.positions[(*at, "<value>")] = (value_mark.line + 1, value_mark.column + 1)
            key_event = get()
        return out


def _part(index: Any) -> str | int:
    """One step of a composing node's path: a sequence index, a mapping key's text,
    or ``<key>`` for a mapping key itself."""
    if isinstance(index, int):
        return index
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    return "<key>"


def _compose(text: str, file: str) -> tuple[Any, dict[PathKey, tuple[int, int]]]:
    """YAML text → plain data and the position of every key and value."""
    if _CParser is not None:
        try:
            yaml.reader.Reader(text)  # PyYAML's check of every character, as below
            return _FastCompose(text).run()
        except (yaml.YAMLError, _Unusual):
            pass  # read again by PyYAML's own loader, which words every error
    try:
        loader = _SpecLoader(text, file)  # checks every character at once
    except yaml.reader.ReaderError as exc:  # a control character (NUL…): not YAML
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise SpecError(
            file,
            line,
            col,
            "",
            f"invalid YAML: the character U+{int(exc.character):04X} is not allowed",
        ) from None
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError(
            file, line, col, "", f"invalid YAML: {exc.problem or exc.context}"
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(file, 1, 1, "", f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return _to_data(root, file, loader)


def _to_data(
    root: yaml.Node | None, file: str, loader: Any
) -> tuple[Any, dict[PathKey, tuple[int, int]]]:
    if root is None:
        raise SpecError(file, 1, 1, "", "the file is empty")
    positions: dict[PathKey, tuple[int, int]] = {}
    return _build(root, (), positions, file, loader), positions


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(
    node: yaml.Node,
    path: PathKey,
    positions: dict[PathKey, tuple[int, int]],
    file: str,
    loader: yaml.SafeLoader,
) -> Any:
    positions.setdefault(path, _mark(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, col = _mark(key_node)
                raise SpecError(file, line, col, _dotted(path), "merge keys (<<) are not supported")
            key = _build(key_node, (*path, "<key>"), {}, file, loader)
            if isinstance(key, (list, dict)) or key is None:
                line, col = _mark(key_node)
                raise SpecError(
                    file, line, col, _dotted(path), "mapping keys must be strings or integers"
                )
            if key in first_seen:
                line, col = _mark(key_node)
                what = "status code" if path == ("codes",) else "key"
                raise SpecError(
                    file,
                    line,
                    col,
                    _dotted((*path, key)),
                    f"duplicate {what} {key!r} (first at line {first_seen[key]})",
                )
            first_seen[key] = key_node.start_mark.line + 1
            positions[(*path, key)] = _mark(key_node)
            out[key] = _build(value_node, (*path, key), positions, file, loader)
            positions[(*path, key, "<value>")] = _mark(value_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), positions, file, loader) for i, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        line, col = _mark(node)
        raise SpecError(file, line, col, _dotted(path), f"invalid value: {exc.problem}") from None


def dotted(path: PathKey) -> str:
    """A position's path as errors write it: ``operations.send.params.to``, ``codes[200]``."""
    return _dotted(path)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += (
            f"[{part}]"
            if isinstance(part, int) and not isinstance(part, bool) and out
            else f".{part}"
        )
    return out.lstrip(".")


def _error_at(
    file: str, positions: dict[PathKey, tuple[int, int]], path: PathKey, message: str
) -> SpecError:
    probe = path
    while probe and probe not in positions:
        probe = probe[:-1]
    line, col = positions.get(probe, (1, 1))
    return SpecError(file, line, col, _dotted(path), message)


# --- explaining msgspec's errors -----------------------------------------------------

_AT = re.compile(r"^(?P<msg>.*?) - at `(?P<where>[^`]*)`(?: in `(?P<container>[^`]*)`)?$", re.S)
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+|\.\.\.)\]")


def _explain(
    exc: msgspec.ValidationError, data: Any, positions: dict[PathKey, tuple[int, int]], file: str
) -> SpecError:
    text = str(exc)
    m = _AT.match(text)
    if not m:  # an error about the whole document
        return _error_at(file, positions, (), _friendly(text, data, Spec))
    msg, where, container = m["msg"], m["where"], m["container"]
    if container is not None:  # "at `key` in `$.codes`": a mapping key is wrong
        path, value, tp = _locate(data, _segments(container))
        key_args = typing.get_args(_unwrap(tp, value))
        key_type = key_args[0] if key_args else str
        bad = (
            next((k for k in value if not _fits(k, key_type)), None)
            if isinstance(value, dict)
            else None
        )
        full = (*path, bad) if bad is not None else path
        return _error_at(
            file, positions, full, f"key {_render(bad)}: {_friendly(msg, bad, key_type)}"
        )
    path, value, tp = _locate(data, _segments(where))
    unknown = re.match(r"Object contains unknown field `(.*)`", msg)
    if unknown:
        field = unknown[1]
        cls = _struct_for(tp, value)
        allowed = sorted(f.encode_name for f in msgspec.structs.fields(cls)) if cls else []
        hint = difflib.get_close_matches(field, allowed, n=1)
        suffix = (
            f" (did you mean {hint[0]!r}?)" if hint else f" (expected one of: {', '.join(allowed)})"
        )
        return _error_at(file, positions, (*path, field), f"unknown field {field!r}{suffix}")
    missing = re.match(r"Object missing required field `(.*)`", msg)
    if missing:
        return _error_at(file, positions, path, f"missing required field {missing[1]!r}")
    return _error_at(file, positions, path, _friendly(msg, value, tp))


def _segments(where: str) -> list[str]:
    return [name or index for name, index in _SEGMENT.findall(where.removeprefix("$"))]


def _locate(data: Any, segments: list[str]) -> tuple[PathKey, Any, Any]:
    """Follow msgspec's path through ``data`` and the spec model's types; resolve each ``[...]``."""
    path: list[str | int] = []
    value: Any = data
    tp: Any = Spec
    for seg in segments:
        tp = _unwrap(tp, value)
        if seg == "...":
            value_type = typing.get_args(tp)[1] if typing.get_origin(tp) is dict else Any
            key = (
                next((k for k, v in value.items() if not _fits(v, value_type)), None)
                if isinstance(value, dict)
                else None
            )
            if key is None:
                break
            path.append(key)
            value, tp = value[key], value_type
        elif seg.isdigit():
            index = int(seg)
            if not isinstance(value, list) or index >= len(value):
                break
            path.append(index)
            value, tp = value[index], (typing.get_args(tp) or (Any,))[0]
        else:
            cls = _struct_for(tp, value)
            if not isinstance(value, dict) or seg not in value:
                path.append(seg)
                value, tp = None, Any
                break
            if cls is None:  # no member of a tagged union matched: report against the union
                path.append(seg)
                value = value[seg]
                break
            field = next((f for f in msgspec.structs.fields(cls) if f.encode_name == seg), None)
            path.append(seg)
            value, tp = value[seg], (field.type if field else Any)
    return tuple(path), value, tp


def _unwrap(tp: Any, value: Any) -> Any:
    """The member of a union (``X | None``, a tagged union) that ``value`` is meant to be."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        for member in members:
            if (
                isinstance(value, dict)
                and isinstance(member, type)
                and issubclass(member, msgspec.Struct)
            ):
                tag = member.__struct_config__.tag
                tag_field = member.__struct_config__.tag_field
                if tag is None or value.get(tag_field) == tag:
                    return member
            if isinstance(value, list) and typing.get_origin(member) is list:
                return member
            if isinstance(value, dict) and typing.get_origin(member) is dict:
                return member
        return members[0] if len(members) == 1 else tp
    return tp


def _struct_for(tp: Any, value: Any) -> type[msgspec.Struct] | None:
    tp = _unwrap(tp, value)
    return tp if isinstance(tp, type) and issubclass(tp, msgspec.Struct) else None


def _fits(value: Any, tp: Any) -> bool:
    try:
        msgspec.convert(value, tp)
    except msgspec.ValidationError:
        return False
    return True


_TYPE_WORDS = {
    "int": "an integer",
    "str": "a string",
    "bool": "true or false",
    "float": "a number",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
}


def _friendly(msg: str, value: Any, tp: Any) -> str:
    """Turn msgspec's wording into the spec author's: what was expected, what was found."""
    expected = re.match(r"Expected `([^`]*)`(.*?), got `[^`]*`$", msg)
    if expected:
        words = [
            _TYPE_WORDS.get(w.strip(), w.strip())
            for w in expected[1].split("|")
            if w.strip() != "null"
        ]
        return f"expected {' or '.join(words)}, got {_render(value)}"
    constrained = re.match(r"Expected `([^`]*)` (.*)$", msg)
    if constrained:
        base = _TYPE_WORDS.get(constrained[1], constrained[1])
        condition = constrained[2]
        description = _meta_description(tp)
        if condition.startswith("matching regex") and description:
            return f"expected {description[0].lower()}{description[1:].rstrip('.')}, got {_render(value)}"
        return f"expected {base} {condition}, got {_render(value)}"
    if msg.startswith("Invalid enum value") or msg.startswith("Invalid value"):
        choices = _choices(tp)
        if choices:
            return f"{_render(value)} is not one of: {', '.join(choices)}"
    return msg[0].lower() + msg[1:] if msg else msg


def _meta_description(tp: Any) -> str | None:
    if typing.get_origin(tp) is typing.Annotated:
        for meta in typing.get_args(tp)[1:]:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return None


def _choices(tp: Any) -> list[str]:
    tags = [
        str(m.__struct_config__.tag)
        for m in typing.get_args(tp)
        if isinstance(m, type) and issubclass(m, msgspec.Struct) and m.__struct_config__.tag
    ]
    if tags:
        return tags
    for member in _walk_types(tp):
        if isinstance(member, type) and issubclass(member, enum.Enum):
            return [str(m.value) for m in member]
        if typing.get_origin(member) is Literal:
            return [str(a) for a in typing.get_args(member)]
    return []


def _walk_types(tp: Any) -> Iterator[Any]:
    yield tp
    for arg in typing.get_args(tp):
        yield from _walk_types(arg)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)
