"""Conformance of a spec to its provider's documents: every documented example an
operation carries (``operations.<name>.examples``) is encoded and decoded by the
runtime exactly as the spec would send and read it, and compared with the document.

A documented request: the example's ``message`` becomes a unified ``Message``, the
provider turns it into requests (no I/O, :meth:`Provider.requests`), and the first
request's fields, credentials left out, must be the documented ones (only those
shown, for a ``partial`` example). A form value holding JSON text equals the document's
object when it decodes to it. A documented answer: its body is read as the runtime
reads a provider's answer, and must mean the example's ``outcome`` (the error class of
its category) and, for a success, yield its ``ids``.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import urllib3

from .errors import MailspecError, ProviderError, error_class_for
from .spec_model import Example, Operation, Spec, auth_keywords
from .vocabulary import ErrorCategory

__all__ = ["example_problems", "generated_sha256"]

# where the requests of the examples would go: nothing is sent there
_NOWHERE = "http://127.0.0.1:9/"


def example_problems(name: str) -> list[tuple[tuple[str | int, ...], str]]:
    """Every way provider ``name``'s documented examples and its spec disagree: the
    example's path in the spec (``operations``, operation, ``examples``, index) and
    what differs, naming the example's source; empty when none."""
    from . import registry
    from .message import Message

    spec = registry.spec(name)
    required, optional = auth_keywords(spec.auth)
    options: dict[str, Any] = {c: f"example-{c}" for c in (*required, *optional)}
    provider = registry.provider(name, base_url=_NOWHERE, **options)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for op_name, op in spec.operations.items():
        for i, example in enumerate(op.examples):
            path: tuple[str | int, ...] = ("operations", op_name, "examples", i)
            found: list[str] = []
            if example.message is not None and example.request is not None:
                try:
                    sent = provider.requests(Message(**example.message))
                except (MailspecError, TypeError) as exc:
                    found.append(f"the message is refused: {exc}")
                else:
                    found += _differences(example, _fields(spec, op, sent[0].url, sent[0].body))
            if example.answer is not None or example.headers:
                problem = _answer_problem(spec, op_name, op, example, provider.client)
                found += [problem] if problem else []
            problems += [(path, f"{example.source}: {text}") for text in found]
    return problems


def generated_sha256(name: str) -> str | None:
    """The sha256 of the spec provider ``name``'s generated package was made from (its
    do-not-edit header), or None where it has none."""
    from . import registry

    module = registry._package(name, ".spec")
    source = getattr(module, "__file__", None)
    if source is None:
        return None
    with open(source, encoding="utf-8") as text:
        for line in itertools.islice(text, 3):
            if line.startswith("# Spec sha256: "):
                return line.removeprefix("# Spec sha256: ").strip()
    return None


def _fields(spec: Spec, op: Operation, url: str, body: bytes | None) -> dict[str, Any]:
    """A request's fields by wire name, credentials left out."""
    if op.encoding == "json":
        decoded = json.loads(body or b"{}")
        fields: dict[str, Any] = decoded if isinstance(decoded, dict) else {"": decoded}
    else:
        text = urlsplit(url).query if op.encoding == "query" else (body or b"").decode()
        fields = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            fields[key] = (
                [*fields[key], value]
                if isinstance(fields.get(key), list)
                else ([fields[key], value] if key in fields else value)
            )
    secret = {*spec.auth.body.values(), *spec.auth.query.values()}
    for creds in spec.auth.sets.values():
        secret.update(creds.body.values())
    return {k: v for k, v in fields.items() if k not in secret}


def _same(documented: Any, sent: Any) -> bool:
    """Equal, or a form value of JSON text decoding to the documented object."""
    if documented == sent:
        return True
    if isinstance(sent, str) and not isinstance(documented, str):
        try:
            return bool(json.loads(sent) == documented)
        except ValueError:
            return False
    return False


def _differences(example: Example, fields: dict[str, Any]) -> list[str]:
    documented = example.request or {}
    out = [
        f"{key}: the document has {value!r}, the spec sends {fields.get(key)!r}"
        for key, value in documented.items()
        if key not in fields or not _same(value, fields[key])
    ]
    if not example.partial:
        out += [
            f"{key}: the spec sends {fields[key]!r}, which the document does not show"
            for key in fields
            if key not in documented
        ]
    return out


def _answer_problem(
    spec: Spec, op_name: str, op: Operation, example: Example, client: Any
) -> str | None:
    from .runtime.answers import read_answer
    from .runtime.transport import Answer

    headers = urllib3.HTTPHeaderDict({"Content-Type": "application/json", **example.headers})
    body = b"" if example.answer is None else json.dumps(example.answer).encode()
    answer = Answer(example.status, headers, body)
    try:
        decoded = read_answer(
            spec, op, answer, client.decoders[op_name], client.envelope_decoder, []
        )
    except ProviderError as exc:
        if example.outcome == ErrorCategory.SUCCESS:
            return f"a success is read as {type(exc).__name__}: {exc}"
        if not isinstance(exc, error_class_for(example.outcome)):
            return f"read as {type(exc).__name__}, not a {example.outcome.value} error"
        return None
    if example.outcome != ErrorCategory.SUCCESS:
        return f"read as a success, not a {example.outcome.value} error"
    if example.ids is not None:
        from .adapters.base import at_path, id_list

        if op.ids_header is not None:  # the id is in a header (SendGrid's X-Message-Id)
            got = id_list(headers.get(op.ids_header))
        else:
            got = id_list(at_path(decoded, op.ids) if op.ids else None)
        if got != example.ids:
            return f"yields the ids {got}, not {example.ids}"
    return None
