"""The one runtime behind every provider: a unified :class:`~mailspec.Message` becomes
requests, and a status query becomes records, by the provider's spec alone.

The spec's ``mapping`` says which parameter each Message field fills and each
parameter's wire form how it is written; an operation may send one copy per recipient
(``per_recipient``, with the variables filled in client-side by ``fill_variables``) and
send copies and several messages through a batch operation (``batch``). The status
query follows the ``status`` operation's declarations (:mod:`.status`). Every call
goes through the client's one call path (``prepare`` checks, ``execute`` sends;
``call`` does both), so a new provider needs YAML only.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from mailspec._naming import ident
from mailspec.checks.carry import HINTS
from mailspec.checks.message import check_message, check_required, check_rules, required_fields
from mailspec.contract import Capabilities, Sender
from mailspec.errors import (
    MalformedResponseError,
    PartialDeliveryError,
    ProviderError,
    UnsupportedOperation,
    ValidationError,
    error_class_for,
    mark_written,
)
from mailspec.message import Message, derived
from mailspec.results import Attempt, DeliveryStatus, SendResult, SmsResult
from mailspec.runtime import BaseClient
from mailspec.runtime.client import Call
from mailspec.runtime.encoding import HttpRequest, json_object
from mailspec.runtime.mime import mailbox
from mailspec.runtime.numbers import int_or_none
from mailspec.runtime.xsmtpapi import xsmtpapi
from mailspec.spec_model import (
    Batch,
    Delivery,
    Operation,
    Param,
    RecipientKeys,
    Spec,
    code_field,
    split_target,
)
from mailspec.vocabulary import BounceReason, DeliveryState, ErrorCategory

from . import status as _status
from .status import MAX_STATUS_REQUESTS

__all__ = [
    "Provider",
    "Step",
    "at_path",
    "id_list",
    "send_steps",
    "status_query",
    "with_options",
]

# attribute names of spec names, on every send and status record: names come from the
# specs only, so the cache stays as small as they are
_attr = functools.cache(ident)


def at_path(value: Any, dotted: str) -> Any:
    """Follow ``a.b.c`` through decoded answer Structs; None where a step is missing.
    ``.`` is the value itself; a list (the answer, or a field on the way) is followed
    into each of its items (``data.id`` of ``{"data": [{"id": ...}, ...]}``)."""
    if dotted == ".":
        return value
    if isinstance(value, list):  # a list answer (or a list on the way): the path in every item
        return [at_path(item, dotted) for item in value]
    part, _, rest = dotted.partition(".")
    value = getattr(value, _attr(part), None)
    if not rest or value is None:
        return value
    if isinstance(value, list):  # a list on the way: the rest of the path in each item,
        return [v for item in value for v in _as_list(at_path(item, rest))]  # flattened
    return at_path(value, rest)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


class Provider(Sender):
    """One provider behind the unified ``send()``/``status()``."""

    # Message fields a subclass handles without a mapping row of their own (not
    # refused, not unplaced)
    implied: frozenset[str] = frozenset()

    def __init__(self, client: BaseClient) -> None:
        self.client = client
        self.spec: Spec = client.spec
        self.name: str = self.spec.provider.name
        self.capabilities = Capabilities.of(self.spec)
        # per operation: the mapping rows whose parameter maps values to words (few)
        self._worded: dict[str, list[tuple[str, str]]] = {
            name: [
                (field, target)
                for field, target in self.spec.mapping.get(name, {}).items()
                if _word_param(op, target)
            ]
            for name, op in self.spec.operations.items()
        }
        self._required = {name: required_fields(self.spec, name) for name in self.spec.operations}
        self._placed: dict[str, frozenset[str]] = {}  # per operation, made when first asked
        self._layouts = {
            name: _Layout.of(op, self.spec.mapping.get(name, {}))
            for name, op in self.spec.operations.items()
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.client.base_url}>"

    # --- sending ---------------------------------------------------------------------

    def check(self, message: Message) -> None:
        """Validate ``message`` against this provider's spec: ValidationError, no I/O."""
        check_message(message)
        self.check_rules(message)

    def check_rules(self, message: Message) -> None:
        """This provider's limits and required fields, for a message ``check_message``
        has passed."""
        check_rules(message, self.spec)
        check_required(message, self.spec, self._required)

    def unplaced(self, message: Message) -> list[str]:
        """The fields ``message`` sets that the spec's mapping has no row for, in the
        operation the message would be sent by."""
        operation = "send_template" if message.template else "send"
        if operation not in self.spec.operations:
            operation = "send"
        placed = self._placed.get(operation)
        if placed is None:
            # the fields with a mapping row, and those the provider fills or ignores
            placed = self._placed[operation] = frozenset(
                {*self.spec.mapping.get(operation, {}), *self.implied, *HINTS}
                | {"provider_options", *self.spec.operations[operation].ignores}
            )
        return [f for f in message.set_fields() if f not in placed]

    def deliver(self, message: Message) -> SendResult:
        """Send a message :meth:`check` has passed. The Mailer checks once and may
        deliver several times (retries), so the check is not repeated here. Every
        request is prepared (checked against the spec) before the first is sent; copies
        of a message go out through the operation's ``batch`` where it declares one."""
        started = time.perf_counter()
        batch = self._batch([message])
        calls = self._calls(message)
        # several copies go out together; one message is one request of its own (a
        # Postmark message to two addresses is one /email, not a batch of one)
        if batch is not None and len(calls) > 1:
            return self._send_batches(batch, [calls])[0]
        return self._accepted(
            send_steps(self.name, [self._step(r, call) for r, call in calls]), started
        )

    def ensure_pool_size(self, size: int) -> None:
        """Keep at least ``size`` keep-alive connections to the provider, for that many
        threads sending at once (a Mailer's ``send_many`` calls this with its
        concurrency)."""
        self.client.ensure_pool_size(size)

    def send_many(self, messages: Sequence[Message]) -> list[SendResult]:
        """One result per message, in order. Every message is validated (and its
        requests prepared) before the first is sent; a failure after the first raises
        PartialDeliveryError naming who was reached."""
        batch = self._batch(messages)
        if batch is not None:
            for message in messages:
                self.check(message)
            return self._send_batches(batch, [self._calls(message) for message in messages])
        planned = []
        for message in messages:
            self.check(message)
            planned.append(self._steps(message))
        results: list[SendResult] = []

        def sender(steps: list[Step]) -> Callable[[], list[str]]:
            def send() -> list[str]:
                started = time.perf_counter()
                results.append(self._accepted(send_steps(self.name, steps), started))
                return results[-1].message_ids

            return send

        send_steps(
            self.name,
            [Step(list(m.to), sender(s)) for m, s in zip(messages, planned, strict=True)],
        )
        return results

    def requests(self, message: Message) -> list[HttpRequest]:
        """The HTTP requests ``send(message)`` would make, encoded with this provider's
        credentials, without I/O: what goes out, for review and for the documented
        examples a spec carries. ValidationError where ``send`` would refuse."""
        self.check(message)
        return [self.client.encode(call) for _, call in self._calls(message)]

    def _steps(self, message: Message) -> list[Step]:
        """The requests that send ``message``, each prepared (no I/O)."""
        return [self._step(recipients, call) for recipients, call in self._calls(message)]

    def _batch(self, messages: Sequence[Message]) -> Batch | None:
        """The batch operation all of ``messages`` go out through (their send
        operations declare the same ``batch``), or None."""
        batches = set()
        for message in messages:
            op = self.spec.operations.get("send_template" if message.template else "send")
            op = op or self.spec.operations.get("send")
            batches.add(op.batch if op is not None else None)
        return batches.pop() if len(batches) == 1 else None

    def _send_batches(
        self, batch: Batch, per_message: list[list[tuple[list[str], Call]]]
    ) -> list[SendResult]:
        """Every call, as the JSON object its operation sends, through ``batch`` in
        chunks the API allows (its items' ``max_items``, else ``limits.batch_size``);
        one result per message, whose ids come back in the order sent. A chunk failing
        after an earlier one went out raises PartialDeliveryError (:func:`send_steps`)."""
        op = self._require(batch.operation)
        size = op.params[batch.items].max_items or self.spec.limits.batch_size or 1000
        flat = [(owner, call) for owner, calls in enumerate(per_message) for call in calls]
        ids: list[list[str]] = [[] for _ in per_message]
        durations = [0.0] * len(per_message)

        def sender(chunk: list[tuple[int, tuple[list[str], Call]]]) -> Callable[[], list[str]]:
            def send_chunk() -> list[str]:
                started = time.perf_counter()
                objects = [
                    {**json_object(self.spec.operations[c.operation], c.values), **c.extra}
                    for _, (_, c) in chunk
                ]
                response = self.client.call(batch.operation, {batch.items: objects})
                elapsed = time.perf_counter() - started
                refused = self._refused_items(op, response)
                accepted = [item for i, item in enumerate(chunk) if i not in refused]
                if refused:
                    response = [r for i, r in enumerate(response) if i not in refused]
                got = id_list(at_path(response, op.ids) if op.ids else None)
                if len(got) != len(accepted):
                    raise MalformedResponseError(
                        self.name,
                        f"sent a batch of {len(accepted)} messages, got {len(got)} message "
                        "ids back",
                        http_status=None,
                        ambiguous=True,
                    )
                for (owner, _), message_id in zip(accepted, got, strict=True):
                    ids[owner].append(message_id)
                for owner in {owner for owner, _ in chunk}:
                    durations[owner] += elapsed
                if refused:
                    raise self._partly_refused(chunk, accepted, got, refused)
                return got

            return send_chunk

        chunks = [flat[start : start + size] for start in range(0, len(flat), size)]
        steps = [Step([r for _, (rs, _) in chunk for r in rs], sender(chunk)) for chunk in chunks]
        send_steps(self.name, steps)
        return [
            SendResult(
                provider=self.name,
                message_ids=message_ids,
                attempts=[Attempt(self.name, "accepted", duration)],
            )
            for message_ids, duration in zip(ids, durations, strict=True)
        ]

    def _refused_items(self, op: Operation, response: Any) -> dict[int, ProviderError]:
        """The items of a list answer that say their message was refused
        (``item_errors``), by index, each as the error its code's category raises."""
        rule = op.item_errors
        if rule is None or not isinstance(response, list):
            return {}
        refused: dict[int, ProviderError] = {}
        for i, item in enumerate(response):
            raw = at_path(item, rule.code)
            code = int_or_none(raw)
            if raw is None or code in rule.ok:
                continue  # an item that names no code is taken as accepted
            row = self.spec.codes.get(code) if code is not None else None
            category = row.category if row is not None else ErrorCategory.UNKNOWN
            # an item's code named in the envelope's `errors` (Postmark's ErrorCode: 406 an
            # inactive recipient) is read as an error answer's name is, over the codes table
            named = self.spec.envelope.errors.get(str(code)) if code is not None else None
            if named is not None:
                category, row = ErrorCategory(named), None
            if category == ErrorCategory.SUCCESS:
                continue
            text = at_path(item, rule.message) if rule.message else None
            refused[i] = error_class_for(category)(
                self.name,
                code,
                str(text or (row.message if row else f"code {raw}")),
                http_status=None,
                retryable=row.retryable if row is not None else None,
            )
        return refused

    def _partly_refused(
        self,
        chunk: Sequence[tuple[int, tuple[list[str], Call]]],
        accepted: Sequence[tuple[int, tuple[list[str], Call]]],
        ids: list[str],
        refused: dict[int, ProviderError],
    ) -> ProviderError | PartialDeliveryError:
        """What a batch some of whose items were refused raises: the first refusal as
        it is where none went out, else PartialDeliveryError naming who was reached."""
        cause = refused[min(refused)]
        if not accepted:
            return cause
        return PartialDeliveryError(
            self.name,
            cause,
            sent_to=[r for _, (rs, _) in accepted for r in rs],
            pending=[r for i, (_, (rs, _)) in enumerate(chunk) if i in refused for r in rs],
            message_ids=ids,
        )

    def _calls(self, message: Message) -> list[tuple[list[str], Call]]:
        """The prepared calls of ``message``, each with the recipients it reaches: the
        one ``_values`` makes, or, for an operation sending ``per_recipient``, one per
        ``to`` address with that recipient's variables."""
        if self.spec.capabilities.template_only and not message.template:
            raise ValidationError(
                f"{self.name} sends stored templates only: set the template id",
                field="template",
                provider=self.name,
            )
        op = self.spec.operations[self._operation(message)]
        if not op.per_recipient:
            operation, values = self._values(message)
            return [(list(message.to), self._prepare(operation, values, message))]
        if len(message.to) > 1:
            _refuse_copied_fields(self.name, message)
        calls = []
        for to in message.to:
            data = {**message.variables, **message.recipient_variables.get(to, {})}
            # the message was checked: its own recipient and values need no check again
            one = derived(message, to=[to], variables=data, recipient_variables={})
            if op.fill_variables:
                one = self._filled(one, data, to in message.recipient_variables)
            operation, values = self._values(one)
            calls.append(([to], self._prepare(operation, values, message)))
        return calls

    def _filled(self, copy: Message, data: dict[str, str], own: bool) -> Message:
        """One recipient's copy with ``data`` substituted into its subject, html and text
        (``fill_variables``), carrying no variables itself. A value that would put a
        line break into the subject is refused (header injection), naming
        ``recipient_variables`` where the recipient has values of its own (``own``)."""
        syntax = self.spec.capabilities.variable_syntax or "{{{{{name}}}}}"
        subject = fill(copy.subject, data, syntax)
        if subject is not None and _LINE_BREAK.search(subject):
            raise ValidationError(
                "a value would put a line break into the subject (header injection)",
                field="recipient_variables" if own else "variables",
                provider=self.name,
            )
        return derived(
            copy,
            subject=subject,
            html=fill(copy.html, data, syntax),
            text=fill(copy.text, data, syntax),
            variables={},
        )

    def _operation(self, message: Message) -> str:
        """The send operation of ``message``: ``send_template`` for a message naming a
        template, where the spec has it, else ``send`` (UnsupportedOperation without)."""
        operation = "send_template" if message.template else "send"
        if operation not in self.spec.operations:
            operation = "send"
        self._require(operation)
        return operation

    def _prepare(self, operation: str, values: dict[str, Any], message: Message) -> Call:
        """The call of ``operation`` with ``values`` and ``message``'s options for this
        provider (:func:`with_options`), checked against the spec (no I/O)."""
        options = message.provider_options.get(self.name) or {}
        values, extra = with_options(self.spec.operations[operation], values, options)
        return self.client.prepare(operation, values, extra)

    def _step(self, recipients: list[str], call: Call) -> Step:
        """A step that executes ``call`` and returns the message ids of its answer."""
        op = self.spec.operations[call.operation]

        def send() -> list[str]:
            response, headers = self.client.exchange(call)
            if op.ids_header is not None:
                return id_list(headers.get(op.ids_header))
            return id_list(at_path(response, op.ids) if op.ids else None)

        return Step(recipients, send)

    def _accepted(self, ids: list[list[str]], started: float) -> SendResult:
        """The result of steps that all went out: the ids of them all."""
        attempt = Attempt(self.name, "accepted", time.perf_counter() - started)
        return SendResult(
            provider=self.name, message_ids=[i for got in ids for i in got], attempts=[attempt]
        )

    def _values(self, message: Message) -> tuple[str, dict[str, Any]]:
        """The operation to call and its parameter values for ``message``: by the
        spec's ``mapping`` alone (``send_template`` for a message naming a template, where
        the spec has it), each parameter then written in its declared wire form."""
        operation = self._operation(message)
        return operation, self._mapped(operation, message, self._substituted(operation, message))

    def _substituted(self, operation: str, message: Message) -> dict[str, Any]:
        """The values of the fields whose mapping row names a ``substitution``
        parameter: the block built from the message's recipients and variables (the
        SendCloud platform's ``xsmtpapi``), written where the message has variables, or
        always where the recipients themselves travel in it."""
        op = self.spec.operations[operation]
        mapping = self.spec.mapping.get(operation, {})
        rows = ("variables", "recipient_variables", "to")
        for field in rows:
            param = op.params.get(mapping.get(field, ""))
            if param is None or param.substitution != "xsmtpapi":
                continue
            carries_to = mapping.get("to") == mapping[field]
            if not (message.variables or message.recipient_variables or carries_to):
                return {}
            block = xsmtpapi(message, self.spec.capabilities.variable_syntax)
            return {f: block for f in rows if mapping.get(f) == mapping[field]}
        return {}

    def _mapped(
        self, operation: str, message: Message, transform: dict[str, Any]
    ) -> dict[str, Any]:
        """Parameter values from the spec's mapping; ``transform`` holds the values of
        fields built from several (the ``substitution`` block). A set field with no mapping row is refused.

        Two kinds of row share a parameter with another field: a sender name whose row
        names the sender address's parameter makes it one mailbox
        (``Shop <orders@shop.example>``), and a ``parameter.Entry`` row adds the field,
        as text, to an object parameter (tags as a custom header)."""
        mapping = self.spec.mapping.get(operation, {})
        op = self.spec.operations[operation]
        layout = self._layouts[operation]
        values: dict[str, Any] = {}
        entries: dict[str, dict[str, tuple[str, Any]]] = {}
        fields = message.set_fields()
        # a value map with a word for an unset-looking value (False) sends that word too:
        # track_clicks=False is then the provider's "no tracking", not its default
        fields += [
            f
            for f, target in self._worded[operation]
            if f not in fields and _word_for(op, target, getattr(message, f, None)) is not None
        ]
        listed = layout.listed
        for param, keys in listed.items():
            rows = [f for f in ("to", "cc", "bcc") if mapping.get(f) == param]
            if any(getattr(message, f) for f in rows):
                values[param] = _recipient_objects(keys, message, rows)
            if keys.cc_header and "cc" in rows and message.cc and "headers" in mapping:
                cc = ", ".join(_with_names(message.cc, message.display_names))
                entries.setdefault(layout.headers_param, {})[keys.cc_header] = ("cc", cc)
        for field in fields:
            target = mapping.get(field)
            if target in listed and field in ("to", "cc", "bcc"):
                continue  # written with the other recipients, above
            if field == "provider_options" or (target is None and field in HINTS):
                continue  # options join the request in _prepare; a hint may go unsent
            if target is None and field in op.ignores:
                continue  # the provider's own value is used
            if target is None:
                raise UnsupportedOperation(
                    self.name, f"the message field {field!r}", f"{operation} has no place for it"
                )
            if field == "attachments" and not self.spec.capabilities.inline_attachments:
                inline = [a.filename for a in message.attachments if a.content_id]
                if inline:
                    raise UnsupportedOperation(
                        self.name,
                        "inline attachments (content_id)",
                        f"{', '.join(inline)} would lose their content id",
                    )
            value = transform[field] if field in transform else getattr(message, field)
            param, entry = layout.targets[field]
            files = op.params[param].keys if param in op.params else None
            if field == "attachments" and files is not None and files.utf8_text:
                _refuse_other_charsets(self.name, message)
            if entry is not None:  # an object parameter keeps the value as it is
                kept = _entry_value(op.params[param], value)
                entries.setdefault(param, {})[entry] = (field, kept)
                continue
            if field == "from_name" and target == mapping.get("from_email"):
                continue  # written with the address, below
            if field == "from_email" and message.from_name and mapping.get("from_name") == target:
                value = mailbox(message.from_name, value)
            if field in _RECIPIENT_FIELDS and op.params[param].format == "mailbox":
                value = _with_names(value, message.display_names)
            value = _fit_to_param(op, param, field, value, self.name)
            values[param] = _wire_word(op.params[param].values, field, value, self.name)
        for param, extra in entries.items():
            # header names ignore case (a JSON string of them, {Name, Value} pairs,
            # an object of text entries, or the headers row's object)
            fold = (
                op.params[param].type != "object"
                or op.params[param].pairs is not None
                or op.params[param].text_entries
                or param == layout.headers_param
            )
            owner = layout.owners.get(param)
            values[param] = self._with_entries(owner, values.get(param), extra, fold)
        return values

    def _with_entries(
        self, owner: str | None, given: Any, extra: dict[str, tuple[str, Any]], fold: bool
    ) -> dict[str, Any]:
        """An object parameter's value with the entries other fields put there; an entry
        the message set itself (a header of that name, a metadata key), through the
        field ``owner`` whose row fills the whole parameter, is refused, not overwritten
        (compared ignoring case where ``fold``)."""
        merged = dict(given or {})
        taken = {name.lower() if fold else name for name in merged}
        for name, (field, value) in extra.items():
            if (name.lower() if fold else name) in taken:
                raise ValidationError(
                    f"{owner} may not use the key {name!r} when the message has {field} "
                    f"(both travel in the same parameter of {self.name})",
                    # a header is named in the field; an object's key is the field's own
                    field=f"{owner}[{name}]" if fold else owner,
                    provider=self.name,
                )
            merged[name] = value
        return merged

    def _require(self, operation: str) -> Operation:
        op = self.spec.operations.get(operation)
        if op is None:
            raise UnsupportedOperation(self.name, operation)
        return op

    # --- SMS -------------------------------------------------------------------------

    def send_sms(
        self,
        to: str | Sequence[str],
        template_id: str,
        variables: Mapping[str, str] | None = None,
    ) -> SmsResult:
        """Send a template SMS to one number or several (E.164, e.g. ``+6591234567``).

        ``variables`` fill the template's placeholders. The request is checked against
        the spec's ``send_sms`` operation before any I/O (a bad number is a
        ValidationError carrying the provider's code for it), and goes out with the
        credentials the operation's ``auth`` names: plain, or signed when the provider
        was built with ``signed=True``. ``partial`` is true when the answer's code is
        one the spec marks as a partial success (some numbers refused).
        """
        op = self._require("send_sms")  # UnsupportedOperation before anything else
        code_name = code_field(self.spec, op.response)
        if code_name is None:  # the spec checks refuse this; a hand-built spec may not
            raise UnsupportedOperation(
                self.name, "send_sms", f"its answer ({op.response}) carries no code"
            )
        values = {
            # a tuple or other sequence becomes a list; anything else is left for the
            # spec check to refuse with the parameter's name
            "to": [to] if isinstance(to, str) else list(to) if isinstance(to, Sequence) else to,
            "template_id": template_id,
            "variables": _sms_variables(self.name, variables),
        }
        response = self.client.call("send_sms", values)
        ids = at_path(response, op.ids) if op.ids else None
        # a success answer always has its code (the client refuses one without)
        raw_code = at_path(response, code_name)
        code = int_or_none(raw_code)  # "200" as well as 200
        row = self.spec.codes.get(code) if code is not None else None
        return SmsResult(
            provider=self.name,
            message_ids=id_list(ids),
            code=raw_code if code is None else code,
            partial=row is not None and row.partial,
        )

    # --- status ----------------------------------------------------------------------

    def status(
        self,
        message_ids: Sequence[str] | None = None,
        *,
        since: datetime | date | None = None,
        until: datetime | date | None = None,
        recipient: str | None = None,
        max_requests: int = MAX_STATUS_REQUESTS,
    ) -> list[DeliveryStatus]:
        """Statuses by message id and/or time window, as the spec's ``status`` operation
        asks for them (:mod:`~mailspec.adapters.status`): ids in groups the API takes or
        one request per id, a window longer than the provider allows split into allowed
        spans (or kept client-side), and every page of each.

        At most ``max_requests`` requests are made (default
        :data:`~mailspec.adapters.status.MAX_STATUS_REQUESTS`): a window and id list
        needing more spans x groups than that is refused with a ValidationError naming
        ``since``/``until`` before any request; answers with more pages than the rest of
        the budget raise a ValidationError naming ``max_requests`` when the budget runs
        out (status changes nothing, so nothing is lost: narrow the window or raise the
        bound).
        """
        op = self._require("status")
        _status.check_budget(self.name, max_requests)
        message_ids, first, last = status_query(self.name, message_ids, since, until)
        if message_ids == []:
            return []  # no ids asks for nothing, not for every message in the window
        delivery = self.spec.delivery
        assert delivery is not None  # a spec with a status operation has delivery tables (checked)
        if recipient is not None and delivery.fields.recipient is None:
            raise UnsupportedOperation(
                self.name, "status by recipient", "a status answer names no recipient"
            )
        query = _status.query_of(op)
        groups = _status.id_groups(self.name, op, message_ids)
        spans = _status.windows(self.name, op, first, last, max_requests, len(groups))
        budget = _status.Budget(self.name, max_requests)

        def call(values: dict[str, Any], url: str | None = None) -> Any:
            prepared = self.client.prepare("status", values)
            return self.client.execute(Call(prepared.operation, prepared.values, url=url))

        records: list[Any] = []
        for span in spans:
            for ids in groups:
                values = span if ids is None or query.ids is None else {**span, query.ids: ids}
                records.extend(_status.pages(self.spec, op, call, at_path, values, budget))
        statuses = self._statuses(delivery, records, recipient)
        return _status.within(statuses, since, until) if query.client_window else statuses

    def _statuses(
        self, delivery: Delivery, records: Sequence[Any], recipient: str | None
    ) -> list[DeliveryStatus]:
        out = [to_status(self.name, delivery, r) for r in records]
        return [s for s in out if recipient is None or s.recipient == recipient]


def with_options(
    operation: Operation, values: dict[str, Any], options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` with a provider's ``options`` (wire name -> value) merged in, and the
    options no parameter declares, which go to the top level of the request as given.

    An option naming a parameter (by its wire name) replaces its value, or, when both
    are objects, is merged into it key by key (``{"headers": {"X-Campaign": "7"}}``
    adds a header to the message's own): anymail's ``esp_extra`` convention."""
    merged, extra = dict(values), {}
    by_wire = {param.wire or name: name for name, param in operation.params.items()}
    for wire, value in options.items():
        name = by_wire.get(wire)
        if name is None:
            extra[wire] = value
        elif isinstance(value, Mapping) and isinstance(merged.get(name), Mapping):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged, extra


def id_list(ids: Any) -> list[str]:
    """The message ids an answer carries (one id, a list of them, or none) as a list of
    text: an id written as a number (Mailjet's ``MessageID``) is read as its digits."""
    if isinstance(ids, str | int) and not isinstance(ids, bool):
        return [str(ids)]
    return [str(i) if isinstance(i, int) and not isinstance(i, bool) else i for i in ids or []]


class Step(NamedTuple):
    """One request of several that together send a message (or a list of them): who
    it reaches, and ``send``, which makes it and returns the provider's ids for it."""

    recipients: list[str]
    send: Callable[[], list[str]]


def send_steps(provider: str, steps: Sequence[Step]) -> list[list[str]]:
    """Send ``steps`` in order; the ids of each.

    A failure of the first step is raised as it is (nothing went out), unless the step
    was partial itself (a batch some of whose items were refused). Any failure of a
    later one — a provider error, a network fault, or any other exception, such as a
    value that cannot be encoded or a bug — raises PartialDeliveryError naming who was
    reached and who was not (the original error as its ``cause`` and ``__cause__``), so
    that nobody is sent it twice. A step that itself raised PartialDeliveryError (a
    message of a batch sent in several requests) adds the recipients it reached.
    ``KeyboardInterrupt`` and ``SystemExit`` are not turned into a send error: they go
    on as they are, with a note saying what had been sent, marked as written
    (:func:`~mailspec.errors.mark_written`) once a step went out.
    """
    done: list[list[str]] = []
    for i, step in enumerate(steps):
        try:
            done.append(step.send())
        except Exception as exc:
            if not done and not isinstance(exc, PartialDeliveryError):
                raise  # nothing went out
            raise _partial(provider, steps, i, done, exc) from exc
        except BaseException as exc:
            if done:
                exc.add_note(_partial(provider, steps, i, done, exc).args[0])
                mark_written(exc, provider)  # the steps before went out
            raise
    return done


def _partial(
    provider: str, steps: Sequence[Step], failed: int, done: list[list[str]], exc: BaseException
) -> PartialDeliveryError:
    """What went out before step ``failed`` raised ``exc``: the steps before it, and
    what that step reached itself when it was partial too."""
    sent_to = [r for sent in steps[:failed] for r in sent.recipients]
    pending = [r for unsent in steps[failed + 1 :] for r in unsent.recipients]
    message_ids = [m for ids in done for m in ids]
    cause = exc
    if isinstance(exc, PartialDeliveryError):
        sent_to += exc.sent_to
        message_ids += exc.message_ids
        pending = exc.pending + pending
        cause = exc.cause
    else:
        pending = steps[failed].recipients + pending
    return PartialDeliveryError(
        provider,
        cause,
        sent_to=sent_to,
        pending=pending,
        message_ids=message_ids,
    )


def status_query(
    provider: str, message_ids: Any, since: Any, until: Any
) -> tuple[list[str] | None, date | None, date | None]:
    """Checked ``status()`` arguments: ids as a list (one id may be a plain string; an
    empty list asks for nothing), and the window as dates, ``since`` not after ``until``."""
    if isinstance(message_ids, str):
        message_ids = [message_ids]
    if message_ids is not None:
        if isinstance(message_ids, bytes | Mapping) or not isinstance(message_ids, Iterable):
            raise ValidationError(
                f"expected a list of message id strings, got {type(message_ids).__name__}",
                field="message_ids",
                provider=provider,
            )
        message_ids = list(message_ids)
        if not all(isinstance(i, str) and i for i in message_ids):
            raise ValidationError(
                "expected message id strings", field="message_ids", provider=provider
            )
    days = []
    for name, value in (("since", since), ("until", until)):
        if value is not None and not isinstance(value, date):
            raise ValidationError(
                f"expected a date or datetime, got {type(value).__name__}",
                field=name,
                provider=provider,
            )
        days.append(value.date() if isinstance(value, datetime) else value)
    first, last = days
    if first is not None and last is not None and first > last:
        raise ValidationError("since is after until", field="since", provider=provider)
    return message_ids, first, last


def _sms_variables(provider: str, variables: Any) -> dict[str, str] | None:
    """``variables`` as a plain dict of strings (sent as one JSON object), or None."""
    if variables is None:
        return None
    if not isinstance(variables, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ValidationError(
            "expected a mapping of str to str", field="variables", provider=provider
        )
    return dict(variables)


def _as_text(value: Any) -> str:
    """A value as an entry of an object parameter holds it: a string as it is, anything
    else as compact JSON in ASCII (a header value must be)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


# the fields whose addresses may have display names (Message.display_names); a
# parameter of `format: mailbox` carries them, any other the bare address
_RECIPIENT_FIELDS = frozenset({"to", "cc", "bcc", "reply_to"})


class _Layout(NamedTuple):
    """What :meth:`Provider._mapped` needs of one operation's mapping, worked out once:
    each row's target as ``(parameter, entry)``, the parameters carrying recipients as
    objects, the field whose row fills each whole parameter, and the headers row's
    parameter ("" without one)."""

    targets: dict[str, tuple[str, str | None]]
    listed: dict[str, RecipientKeys]
    owners: dict[str, str]
    headers_param: str

    @classmethod
    def of(cls, op: Operation, mapping: Mapping[str, str]) -> _Layout:
        return cls(
            targets={field: split_target(target) for field, target in mapping.items()},
            listed=_recipient_params(op, mapping),
            owners={split_target(t)[0]: f for f, t in mapping.items() if "." not in t},
            headers_param=split_target(mapping.get("headers", ""))[0],
        )


def _recipient_params(op: Operation, mapping: Mapping[str, str]) -> dict[str, RecipientKeys]:
    """The parameters carrying the recipients as objects (``recipients``) that a
    ``to``, ``cc`` or ``bcc`` row names, with their keys."""
    out: dict[str, RecipientKeys] = {}
    for field in ("to", "cc", "bcc"):
        name = mapping.get(field)
        param = op.params.get(name) if name is not None else None
        if name is not None and param is not None and param.recipients is not None:
            out[name] = param.recipients
    return out


def _recipient_objects(
    keys: RecipientKeys, message: Message, rows: Sequence[str]
) -> list[dict[str, Any]]:
    """One object per address of the ``rows`` fields (to, then cc, then bcc): its
    address, and either the To header every recipient is shown (``header_to``: the to
    mailboxes) or its own display name (``name``), where the keys name them."""
    names = message.display_names
    shown = ", ".join(_with_names(message.to, names)) if keys.header_to else None
    out: list[dict[str, Any]] = []
    for field in rows:
        for address in getattr(message, field):
            item: dict[str, Any] = {}
            _put_key(item, keys.email, address)
            if shown is not None and keys.header_to is not None:
                _put_key(item, keys.header_to, shown)
            elif keys.name is not None and names.get(address):
                _put_key(item, keys.name, names[address])
            out.append(item)
    return out


def _put_key(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``value`` at the dotted key ``a.b`` of ``target``, making the objects on the way."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[leaf] = value


def _entry_value(param: Param, value: Any) -> Any:
    """A field's value as an entry of an object parameter: as it is in an ``object``
    parameter (as text where its entries are text: ``text_entries``), one text per item of a list of texts in a ``pairs`` one (one ``X-Tag``
    pair per tag), and as text otherwise."""
    if param.type == "object" and param.pairs is None and not param.text_entries:
        return value
    if param.pairs is not None and isinstance(value, list):
        return [_as_text(item) for item in value]
    return _as_text(value)


def _with_names(value: Any, names: Mapping[str, str]) -> Any:
    """Addresses (one or a list) as mailboxes, each with its display name if it has one."""
    if isinstance(value, str):
        return mailbox(names[value], value) if value in names else value
    return [mailbox(names[a], a) if a in names else a for a in value]


# the charsets a provider that labels every text attachment UTF-8 reads correctly
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_CHARSET = re.compile(r"(?i)(?:^|;)\s*charset\s*=\s*\"?([^\";\s]+)")


def _refuse_other_charsets(provider: str, message: Message) -> None:
    """A provider that adds ``charset=utf-8`` to every text attachment (``keys:
    {utf8_text: true}``) would mislabel one in another charset: refused, naming it."""
    for attachment in message.attachments:
        kind, _, params = attachment.content_type.partition(";")
        if not kind.strip().lower().startswith("text/"):
            continue
        declared = _CHARSET.search(params)
        try:
            attachment.content.decode("utf-8")
            utf8 = declared is None or declared.group(1).lower() in _UTF8_NAMES
        except UnicodeDecodeError:
            utf8 = False
        if not utf8:
            raise ValidationError(
                f"{provider} labels every text attachment UTF-8: "
                f"{attachment.filename!r} is not UTF-8 text",
                field="attachments",
                provider=provider,
            )


def _word_param(op: Operation, target: str) -> bool:
    """Whether the parameter of ``target`` maps values to the provider's words."""
    param = op.params.get(split_target(target)[0])
    return param is not None and param.values is not None


def _word_for(op: Operation, target: str, value: Any) -> Any:
    """The word a value map gives ``value`` in the parameter of ``target``, or None."""
    param = op.params.get(split_target(target)[0])
    if param is None or param.values is None or value is None:
        return None
    return next((w for k, w in param.values.items() if type(k) is type(value) and k == value), None)


def _wire_word(
    words: Mapping[str | int | bool, str | int | bool] | None, field: str, value: Any, provider: str
) -> Any:
    """The provider's word for a Message field's value, where the parameter declares
    ``values``; a value the provider has no word for is a ValidationError (a rule of
    this provider: a Mailer moves on to the next), before any I/O."""
    if words is None:
        return value
    for given, word in words.items():
        if type(given) is type(value) and given == value:  # True is not 1
            return word
    raise ValidationError(
        f"{provider} has no value for {value!r} (it takes {', '.join(map(repr, words))})",
        field=field,
        provider=provider,
    )


def _fit_to_param(op: Operation, param: str, field: str, value: Any, provider: str) -> Any:
    """Shape a value to its parameter's type: one address into a list, or a list of one
    into a string, a time (``send_at``) into Unix seconds for an int parameter or ISO
    8601 text to the second for a str one, a text of digits into an int (a template
    id, which a Message holds as text); anything else that does not fit is an error
    naming the field."""
    kind = op.params[param].type
    if isinstance(value, datetime) and op.params[param].date_format is not None:
        return value  # the encoder writes it in the parameter's date_format (rfc2822, ...)
    if isinstance(value, datetime) and kind in ("int", "str"):
        # to the second: a schedule has no use for less, and a format such as
        # SparkPost's start_time (YYYY-MM-DDTHH:MM:SS+-HH:MM) takes no fraction
        return int(value.timestamp()) if kind == "int" else value.isoformat("T", "seconds")
    if kind == "list[str]" and isinstance(value, str):
        return [value]
    if kind == "int" and isinstance(value, str):  # a stored template's number (Brevo)
        if not value.isascii() or not value.isdigit():
            raise ValidationError(
                f"{provider} takes a number here, got {value!r}", field=field, provider=provider
            )
        return int(value)
    if kind == "str" and isinstance(value, list):
        if len(value) != 1:
            raise ValidationError(
                f"{provider} takes one address here, got {len(value)}",
                field=field,
                provider=provider,
            )
        return value[0]
    return value


# states an open or a click can follow (a bounced or failed message was never read)
_ENGAGEABLE = (DeliveryState.QUEUED, DeliveryState.SENDING, DeliveryState.DELIVERED)


def to_status(provider: str, delivery: Delivery, record: Any) -> DeliveryStatus:
    """One provider status record → a unified DeliveryStatus, by the spec's tables."""
    fields = delivery.fields

    def get(name: str | None) -> Any:
        return at_path(record, name) if name else None  # a field, or a dotted path

    # numbers the decoder left as text (a field the spec types `str` or `any`) are read
    # as the numbers they are: "0" is no sub-status, "2" clicks are clicks
    raw_status, raw_sub = get(fields.status), get(fields.sub_status)
    row = delivery.states.get(str(raw_status)) if raw_status is not None else None
    no_sub = raw_sub in (None, "") or int_or_none(raw_sub) == 0
    sub = None if no_sub else delivery.sub_states.get(str(raw_sub))
    state = sub.state if sub else row.state if row else DeliveryState.UNKNOWN
    if state in _ENGAGEABLE:  # counters promote a message that got through
        if (int_or_none(get(fields.clicks)) or 0) > 0:
            state = DeliveryState.CLICKED
        elif (int_or_none(get(fields.opens)) or 0) > 0:
            state = DeliveryState.OPENED
    reason: BounceReason | None = sub.reason if sub else None
    return DeliveryStatus(
        provider=provider,
        message_id=str(get(fields.message_id) or ""),
        state=DeliveryState(state),
        recipient=get(fields.recipient),
        reason=BounceReason(reason) if reason else None,
        code=None if raw_status is None else str(raw_status),
        sub_code=None if raw_sub in (None, "") else str(raw_sub),
        description=get(fields.description)
        or (sub.description if sub else row.description if row else None),
        timestamp=_timestamp(get(fields.timestamp), delivery.timestamp_format)
        or _timestamp(get(fields.accepted_at), delivery.timestamp_format),
    )


def _timestamp(value: Any, fmt: str) -> datetime | None:
    if fmt == "epoch":  # seconds since 1970, a number or its text (Mailgun's 1529704976.104692)
        number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                return None
        if number is None or not math.isfinite(number):
            return None
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        return (
            datetime.strptime(value, fmt)
            if fmt
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except ValueError:
        return None  # the raw text stays in the provider's record; a bad date is no reason to fail


_LINE_BREAK = re.compile(r"[\r\n\x00]")


def fill(text: str | None, values: Mapping[str, str], syntax: str) -> str | None:
    """``text`` with every placeholder of ``syntax`` (``{{{{{name}}}}}``: ``{{name}}``)
    that has a value substituted, in one pass: a value is never searched again, so a
    value that itself reads ``{{other}}`` stays as written. Placeholders with no value
    are left as they are; values are inserted as given (not HTML-escaped)."""
    if not text or not values:
        return text
    prefix, _, suffix = syntax.format(name="\0").partition("\0")
    names = "|".join(re.escape(n) for n in sorted(values, key=len, reverse=True))
    pattern = re.compile(f"{re.escape(prefix)}({names}){re.escape(suffix)}")
    return pattern.sub(lambda m: values[m.group(1)], text)


def _refuse_copied_fields(provider: str, message: Message) -> None:
    """A message going out as one copy per ``to`` address may not have cc or bcc:
    every copy would go to them again."""
    for field in ("cc", "bcc"):
        if getattr(message, field):
            raise UnsupportedOperation(
                provider,
                f"the message field {field!r} with several `to` addresses",
                "each `to` address gets its own copy, and every copy would go to "
                f"the {field} addresses again; send one message per recipient",
            )
