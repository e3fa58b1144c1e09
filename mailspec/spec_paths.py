"""Payload paths and value sources: where a webhook spec finds things in a request.

Part of the spec model's vocabulary (it imports nothing else from mailspec), so the
generator's checks and the runtime read a path with the one parser: ``spec check``
refuses exactly what the receiver could not read.

A **path** names a value inside a decoded payload, one step at a time:

- ``event`` is the key ``event`` of the object at hand; ``event-data.event`` steps
  into the object ``event-data`` first (a key is any text without ``.``, ``[``,
  ``]``, quotes or spaces);
- ``to[0]`` is the first item of the list ``to``; ``[0]`` alone the first item of a
  payload that is a list;
- ``["a.b"]`` is the key ``a.b`` (quoted, for a key with a dot or a bracket);
- ``.`` is the value at hand itself;
- ``*`` is any key: ``msys.*.type`` reads ``type`` in the first entry of ``msys`` that
  has one (an event wrapped in an object named by its kind, SparkPost's
  ``{"msys": {"track_event": {...}}}``); written, it is the object already there.

A step into **text** reads the text as JSON first: a form field carrying a JSON
object, or SNS's ``Message`` (a JSON document inside a JSON string), is walked into
like any object. A path that leads nowhere (a missing key, an index past the end)
reads as None.

A **source** is where a signature scheme reads one of its inputs: ``header:NAME``
(a request header, any case), ``query:NAME`` (a parameter of the request URL),
``body`` (the raw body, exactly as received) or a path into the event
(``field:PATH``, or the bare path). A **template** concatenates sources and
constant text: ``{header:svix-id}.{header:svix-timestamp}.{body}``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import msgspec

from .spec_model import WebhookSignature

__all__ = [
    "WILDCARD",
    "PathError",
    "Source",
    "Step",
    "parse_path",
    "parse_source",
    "parse_template",
    "per_event",
    "read_path",
    "write_path",
]

Step = str | int
# a step standing for any key: reading, the first entry the rest of the path leads
# somewhere from (SparkPost's {"msys": {"message_event": {...}}}, whatever the wrapper)
WILDCARD = "*"
SourceKind = Literal["field", "header", "query", "body", "text"]

# a bare key, an index, or a quoted key; then a dot or the next bracket
_KEY = r"[^.\[\]\"'\s]+"
_STEP = re.compile(rf"({_KEY})|\[([0-9]{{1,6}})\]|\[\"([^\"]+)\"\]|\['([^']+)'\]")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_MAX_PATH = 300
_MAX_DEPTH = 32


class PathError(ValueError):
    """A path, source or template that cannot be read (the message says where)."""


@lru_cache(maxsize=512)
def parse_path(text: str) -> tuple[Step, ...]:
    """``text`` as its steps (a key is text, an index an int); PathError if malformed."""
    if text == ".":
        return ()
    if not text or len(text) > _MAX_PATH:
        raise PathError("a path is one or more steps, such as event-data.event or to[0]")
    steps: list[Step] = []
    position = 0
    while position < len(text):
        if steps and text[position] == ".":
            position += 1  # a dot separates steps; a bracket needs none
            if position == len(text) or text[position] in ".[":
                raise PathError(f"nothing after the dot at character {position} of {text!r}")
        match = _STEP.match(text, position)
        if match is None:
            raise PathError(f"cannot read {text!r} at character {position + 1}")
        key, index, double, single = match.groups()
        steps.append(int(index) if index is not None else key or double or single)
        position = match.end()
        if position < len(text) and text[position] not in ".[":
            raise PathError(f"cannot read {text!r} at character {position + 1}")
    if len(steps) > _MAX_DEPTH:
        raise PathError(f"a path has at most {_MAX_DEPTH} steps")
    return tuple(steps)


def read_path(value: Any, steps: tuple[Step, ...]) -> Any:
    """The value at ``steps`` inside ``value``, or None where the path leads nowhere.

    Text met before the last step is read as JSON; PathError when it is not JSON.
    """
    for i, step in enumerate(steps):
        if isinstance(value, str):
            value = _json(value)
        if step == WILDCARD:  # the first entry the rest of the path leads somewhere from
            if not isinstance(value, dict):
                return None
            found = (read_path(item, steps[i + 1 :]) for item in value.values())
            return next((v for v in found if v is not None), None)
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and step < len(value) else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def write_path(target: dict[str, Any], steps: tuple[Step, ...], value: Any) -> None:
    """Set ``value`` at ``steps`` in ``target``, making the objects and lists on the way
    (the sandbox lays a provider's payload out from the same paths it is read with)."""
    if not steps:
        raise PathError("cannot write the whole payload")
    here: Any = target
    for step, after in itertools.pairwise(steps):
        fresh: Any = [] if isinstance(after, int) else {}
        here = _child(here, step, fresh)
    _put(here, steps[-1], value)


def _child(here: Any, step: Step, fresh: Any) -> Any:
    if step == WILDCARD:  # into the object already there (the event's own wrapper)
        inner = [v for v in here.values() if isinstance(v, dict)] if isinstance(here, dict) else []
        if not inner:
            raise PathError("a * step writes into an object already there; there is none")
        return inner[0]
    if isinstance(step, int):
        while len(here) <= step:
            here.append(None)
        if here[step] is None:
            here[step] = fresh
        return here[step]
    return here.setdefault(step, fresh)


def _put(here: Any, step: Step, value: Any) -> None:
    if isinstance(step, int):
        while len(here) <= step:
            here.append(None)
    here[step] = value


def _json(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError, ValueError):
        raise PathError("a step into text that is not JSON") from None


@dataclass(frozen=True)
class Source:
    """One input of a signature scheme: what kind, and its name or path."""

    kind: SourceKind
    name: str = ""  # a header or query name, or constant text
    steps: tuple[Step, ...] = ()  # a field's path


@lru_cache(maxsize=512)
def parse_source(text: str) -> Source:
    """``header:NAME``, ``query:NAME``, ``body``, ``field:PATH`` or a bare path."""
    kind, colon, rest = text.partition(":")
    if colon and kind in ("header", "query"):
        if not rest.strip() or rest != rest.strip():
            raise PathError(f"{kind}: needs a name, as in {kind}:X-Signature")
        return Source(kind, rest)  # type: ignore[arg-type]
    if text == "body":
        return Source("body")
    path = rest if colon and kind == "field" else text
    return Source("field", path, parse_path(path))


@lru_cache(maxsize=128)
def parse_template(text: str) -> tuple[Source, ...]:
    """A template's parts in order: sources in ``{}``, constant text between them."""
    parts: list[Source] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(_constant(text[position : match.start()]))
        parts.append(parse_source(match.group(1)))
        position = match.end()
    if position < len(text):
        parts.append(_constant(text[position:]))
    if not parts:
        raise PathError("a template needs at least one part, such as {timestamp}{token}")
    return tuple(parts)


def _constant(text: str) -> Source:
    if "{" in text or "}" in text:
        raise PathError(f"unbalanced brace in {text!r}")
    return Source("text", text)


def per_event(scheme: WebhookSignature) -> bool:
    """True when a signature scheme reads the payload, so each event carries its own
    proof; False when it reads only the request (headers, body), checked once."""
    sources = [scheme.signature, scheme.timestamp, scheme.id]
    parts = [parse_source(s) for s in sources if s is not None]
    if scheme.signed is not None:
        parts += parse_template(scheme.signed)
    return any(part.kind == "field" for part in parts)
