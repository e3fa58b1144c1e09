"""Wire paths: where in a nested JSON body a parameter's value goes.

A JSON parameter's ``wire`` is a key (``subject``) or a path of steps joined by ``.``:

- ``key``: the key of an object (``tracking_settings.click_tracking.enable``);
- ``key[N]``: item N of the list at ``key`` (``personalizations[0].to``);
- ``key[field=value]``: the item of the list at ``key`` whose ``field`` is ``value``
  (``content[type=text/plain].value``), appended with that field when there is none.

The encoder writes values along paths (:func:`put`); the sandbox reads them back
(:func:`get`) and refuses a body holding anything no path leads to (:func:`leftover`).
Nothing here is per provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["Step", "found", "get", "is_path", "leftover", "parse", "put"]

_STEP = re.compile(
    r"(?P<key>[A-Za-z0-9_$@-]+)"
    r"(?:\[(?:(?P<index>[0-9]+)|(?P<field>[A-Za-z0-9_-]+)=(?P<value>[^\]\[=]+))\])?"
)


class Step(NamedTuple):
    key: str
    item: int | None = None  # key[N]
    match: tuple[str, str] | None = None  # key[field=value]


def is_path(wire: str) -> bool:
    """``wire`` is more than one plain key."""
    return "." in wire or "[" in wire


def parse(wire: str) -> list[Step]:
    """The steps of a wire path; ValueError when it is not one."""
    steps = []
    for part in _split(wire):
        m = _STEP.fullmatch(part)
        if m is None:
            raise ValueError(f"{part!r} is not a step (key, key[N] or key[field=value])")
        index = int(m["index"]) if m["index"] is not None else None
        match = (m["field"], m["value"]) if m["field"] is not None else None
        steps.append(Step(m["key"], index, match))
    return steps


def _split(wire: str) -> list[str]:
    """Split at the dots outside brackets (a matched value may hold a dot)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(wire):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "." and depth == 0:
            parts.append(wire[start:i])
            start = i + 1
    parts.append(wire[start:])
    return parts


def put(document: dict[str, Any], wire: str, value: Any) -> None:
    """Write ``value`` at ``wire`` in ``document``, making the objects and list items
    on the way."""
    steps = parse(wire)
    node: Any = document
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if step.item is None and step.match is None:
            if last:
                node[step.key] = value
            else:
                node = node.setdefault(step.key, {})
            continue
        items = node.setdefault(step.key, [])
        item = _item(items, step)
        if item is None:
            item = dict([step.match]) if step.match is not None else {}
            if step.item is not None:
                items.extend({} for _ in range(step.item + 1 - len(items)))
                items[step.item] = item
            else:
                items.append(item)
        if last:  # a whole item: the matching field is kept
            item.update(value if isinstance(value, dict) else {})
        node = item


def _item(items: Any, step: Step) -> Any:
    if not isinstance(items, list):
        return None
    if step.item is not None:
        return items[step.item] if step.item < len(items) and items[step.item] else None
    assert step.match is not None
    field, wanted = step.match
    return next((x for x in items if isinstance(x, dict) and x.get(field) == wanted), None)


_ABSENT = object()


def get(document: Any, wire: str) -> Any:
    """The value at ``wire`` in ``document``, or ``_ABSENT`` (see :func:`found`)."""
    node = document
    for step in parse(wire):
        if not isinstance(node, dict) or step.key not in node:
            return _ABSENT
        node = node[step.key]
        if step.item is None and step.match is None:
            continue
        node = _item(node, step)
        if node is None:
            return _ABSENT
    return node


def found(value: Any) -> bool:
    """``get`` found a value."""
    return value is not _ABSENT


def leftover(document: Any, wires: Iterable[str]) -> list[str]:
    """What ``document`` holds that no path of ``wires`` leads to, as paths: the keys
    and list items a provider would not read. A path's value itself is not looked
    into (an object parameter's keys are its own)."""
    tree: dict[Any, Any] = {}
    for wire in wires:
        node = tree
        for step in parse(wire):
            node = node.setdefault(step, {})
        node[None] = True  # a value ends here
    out: list[str] = []
    _walk(document, tree, "", out)
    return out


def _walk(value: Any, tree: dict[Any, Any], at: str, out: list[str]) -> None:
    if tree.get(None):
        return
    if not isinstance(value, dict):
        out.append(at or ".")
        return
    by_key: dict[str, list[Step]] = {}
    for step in tree:
        if step is not None:
            by_key.setdefault(step.key, []).append(step)
    for key, item in value.items():
        here = f"{at}.{key}" if at else key
        steps = by_key.get(key)
        if not steps:
            out.append(here)
            continue
        plain = next((s for s in steps if s.item is None and s.match is None), None)
        if plain is not None:
            _walk(item, tree[plain], here, out)
            continue
        if not isinstance(item, list):
            out.append(here)
            continue
        for n, element in enumerate(item):
            step = next((s for s in steps if _item(item, s) is element), None)
            if step is None:
                out.append(f"{here}[{n}]")
            else:
                sub = dict(tree[step])
                if step.match is not None:  # the matching field is the path's own
                    sub.setdefault(Step(step.match[0]), {None: True})
                _walk(element, sub, f"{here}[{n}]", out)
