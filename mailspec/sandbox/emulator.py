"""A provider's behaviour, derived from its spec: what the sandbox answers and keeps.

Nothing here is written per provider. The operation is found by method and path, the
parameters are decoded by their wire names and types, authentication and every spec
constraint are checked with the same code the client uses, and answers are built from
the spec's envelope, response shapes and code table.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from email.message import Message as EmailPart
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .. import wire_paths as wirepath
from ..checks.addresses import AddressError, is_email, parse_mailbox
from ..checks.request import check_request
from ..errors import ValidationError
from ..message import Attachment
from ..runtime.mime import mailbox
from ..runtime.signing import valid_signature
from ..spec_model import (
    CredentialSet,
    Delivery,
    FileKeys,
    Operation,
    Param,
    RecipientKeys,
    Spec,
    fill_template,
)
from ..vocabulary import DeliveryState, ErrorCategory

__all__ = ["Accepted", "Answer", "Emulator", "Outcome"]

_SEND_OPERATIONS = ("send", "send_template", "send_batch", "send_sms")
_ENGAGED = (
    DeliveryState.OPENED,
    DeliveryState.CLICKED,
    DeliveryState.UNSUBSCRIBED,
    DeliveryState.COMPLAINED,
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What becomes of an accepted message: a unified state, and the provider's
    sub-status where the spec has one (e.g. 406 for a hard bounce, no such user)."""

    state: DeliveryState = DeliveryState.DELIVERED
    sub_status: str | None = None
    silent: bool = False  # no webhook at all (status lookups still report the state)


@dataclass
class Accepted:
    """One message the sandbox accepted, for one recipient."""

    message_id: str
    operation: str
    recipient: str
    params: dict[str, Any]
    accepted_at: datetime.datetime
    outcome: Outcome = field(default_factory=Outcome)


class Emulator:
    """Answers requests for one provider as its spec says it would."""

    def __init__(self, spec: Spec, credentials: Mapping[str, str], base_path: str) -> None:
        self.spec = spec
        self.credentials = dict(credentials)
        self.base_path = "/" + base_path.strip("/")
        self.accepted: list[Accepted] = []
        self.outcomes: dict[str, Outcome] = {}  # recipient -> outcome; "*" for everyone else
        # the provider's documented test addresses (spec `sandbox.recipients`)
        self._documented = {
            address: Outcome(row.state, row.sub_status, row.silent)
            for address, row in (spec.sandbox.recipients if spec.sandbox else {}).items()
        }
        # told of every message accepted, after the fact (the webhook poster listens)
        self.listeners: list[Callable[[Accepted], None]] = []
        # write every number the spec types int or float as a string ("200", "2"), as
        # some providers do; off by default, since their documents show JSON numbers
        self.numbers_as_strings = False
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # (operation, idempotency key) -> (when, the answer), for the spec's window; one
        # lock around the look-up and the send, so two repeats cannot both be accepted
        self._answered: dict[tuple[str, str], tuple[float, Answer]] = {}
        self._keyed = threading.Lock()
        # the first code of each category each operation may answer (a code's
        # `operations`, default every one); None: a request no operation matched
        self._first_codes: dict[tuple[str | None, ErrorCategory], int] = {}
        for code, row in sorted(spec.codes.items()):
            for op_name in [None, *spec.operations]:
                if not row.operations or op_name in row.operations:
                    self._first_codes.setdefault((op_name, ErrorCategory(row.category)), code)
        # settings fill their placeholders as the client fills them (Mailgun's domain)
        fills = {name: self.credentials[name] for name in spec.auth.settings}
        fills["region"] = spec.default_region
        self._routes = [
            (_route(self.base_path, op, fills), name, op) for name, op in spec.operations.items()
        ]

    # --- codes ---------------------------------------------------------------------

    def code_for(self, category: ErrorCategory, operation: str | None = None) -> int:
        """The first documented code of a category that ``operation`` may answer: what
        the sandbox answers for it (AuroraSendCloud: 50000 for a rate-limited email
        send, 496 for a rate-limited SMS, as the spec's `operations` of each say)."""
        code = self._first_codes.get((operation, category))
        if code is not None:
            return code
        return {ErrorCategory.SUCCESS: 200, ErrorCategory.RATE_LIMIT: 429}.get(category, 500)

    def operation_for(self, method: str, target: str) -> str | None:
        """The name of the operation a request calls; None when none matches."""
        path = urlsplit(target).path
        return next(
            (
                name
                for route, name, op in self._routes
                if op.method == method and route.fullmatch(path)
            ),
            None,
        )

    def error(
        self,
        category: ErrorCategory,
        message: str | None = None,
        *,
        code: int | None = None,
        operation: str | None = None,
    ) -> Answer:
        if code is None or code not in self.spec.codes:
            code = self.code_for(category, operation)
        row = self.spec.codes.get(code)
        text = message or (row.message if row is not None else category.value)
        if self.spec.envelope.code_from == "http":
            answer = self._answer(
                code if 400 <= code < 600 else 400, self._envelope(None, text, ok=False)
            )
        else:
            status = 500 if category == ErrorCategory.SERVER else 200
            answer = self._answer(status, self._envelope(code, text, ok=False))
        wait = self.spec.limits.retry_after_header
        if category == ErrorCategory.RATE_LIMIT and wait is not None:
            answer.headers[wait] = "1"  # the provider's own "seconds until it resets"
        return self._named(answer, category)

    def _named(self, answer: Answer, category: ErrorCategory) -> Answer:
        """``answer`` naming its error as the spec's `error_name` says, by the first
        name `errors` files under ``category`` (none when it files none)."""
        source = self.spec.envelope.error_name
        names = [n for n, c in self.spec.envelope.errors.items() if c == category]
        if source is None or not names:
            return answer
        if source.header is not None:
            answer.headers[source.header] = names[0]
            return answer
        # a name of digits is a number in the body, as the provider writes it (Postmark's
        # ErrorCode); the client reads either form
        value: str | int = int(names[0]) if names[0].isdecimal() else names[0]
        body = {**json.loads(answer.body), str(source.wire): value}
        return _json_answer(answer.status, body)

    def _answer(self, status: int, body: dict[str, Any], shape: str | None = None) -> Answer:
        """A JSON answer: ``body`` follows ``shape`` (a response shape; None: the
        envelope only), with its numbers as strings when ``numbers_as_strings``."""
        if self.numbers_as_strings:
            body = _numbers_as_strings(self.spec, shape, body)
        return _json_answer(status, body)

    def _envelope(self, code: int | None, message: str, *, ok: bool) -> dict[str, Any]:
        env = self.spec.envelope
        body: dict[str, Any] = {}
        if env.ok is not None:
            body[env.ok.wire] = ok
        if env.code is not None and code is not None and env.code_from == "body":
            body[env.code.wire] = code
        if env.message is not None and wirepath.is_path(env.message.wire):
            wirepath.put(body, env.message.wire, message)  # {"errors": [{"message": ...}]}
        elif env.message is not None:
            body[env.message.wire] = message
        return body

    # --- requests ------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        headers = {name.lower(): value for name, value in headers.items()}  # any case, as HTTP
        parts = urlsplit(target)
        candidates = [
            (name, op, m)
            for route, name, op in self._routes
            if op.method == method and (m := route.fullmatch(parts.path))
        ]
        if not candidates:
            return Answer(
                404, b'{"message": "no such operation"}', {"Content-Type": "application/json"}
            )
        # operations sharing a method and path (SES's simple and template sends) are
        # told apart by the body: the first whose parameters read it takes it
        problems: list[str] = []
        chosen: tuple[str, Operation, re.Match[str], dict[str, Any]] | None = None
        for candidate in candidates:
            try:
                raw = self._raw_params(candidate[1], parts.query, headers, body)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            chosen = (*candidate, raw)
            break
        if chosen is None:
            return self.error(
                ErrorCategory.VALIDATION,
                f"unreadable request: {problems[0]}",
                operation=candidates[0][0],
            )
        name, op, match, raw = chosen
        refusal, testing = self._refusal(name, op, raw, headers)
        if refusal is not None:
            return refusal
        # path parameters after the credentials: a signature covers the sent pairs only
        raw.update({k: unquote(v) for k, v in match.groupdict().items()})
        try:
            values = _decode_params(op, raw, as_json=op.encoding == "json")
            check_request(self.spec.provider.name, op, values)
        except ValidationError as exc:
            return self.error(ErrorCategory.VALIDATION, str(exc), code=exc.code, operation=name)
        if name == "status":
            return self._status(name, op, values, parts.path, parts.query)
        if name in _SEND_OPERATIONS:
            return self._send(name, op, values, testing=testing)
        return self._success(name, op, {})

    def _raw_params(
        self, op: Operation, query: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        """The request's fields by wire name. A field the spec repeats (``repeat``)
        gathers every value into a list; any other field sent twice keeps its last
        value, as before. A JSON body is an object of known keys only, or, where the
        operation's ``body`` says so, one parameter's value (a top-level array)."""
        repeated = {p.wire or n for n, p in op.params.items() if p.repeat}
        raw: dict[str, Any] = _fields(parse_qsl(query, keep_blank_values=True), repeated)
        content_type = headers.get("content-type", "")
        if content_type.startswith("application/json"):
            decoded = json.loads(body or b"{}")
            if op.body is not None:
                if not isinstance(decoded, list):
                    raise ValueError("expected a JSON array")
                decoded = {op.params[op.body].wire or op.body: decoded}
            if not isinstance(decoded, dict):
                raise ValueError("expected a JSON object")
            keys = self._json_keys(op, decoded)
            paths = [w for w in keys if wirepath.is_path(w)]
            tops = {wirepath.parse(w)[0].key for w in paths}
            unknown = sorted(set(decoded) - keys - tops)
            if paths:  # nested places: anything else inside them is unknown too
                nested = {k: v for k, v in decoded.items() if k in tops}
                unknown += wirepath.leftover(nested, [*paths, *(keys & tops)])
            if unknown:
                raise ValueError(f"unknown field(s) {', '.join(map(repr, unknown))}")
            raw.update(decoded)
            for wire in paths:
                value = wirepath.get(decoded, wire)
                if wirepath.found(value):
                    raw[wire] = value
        elif content_type.startswith("multipart/form-data"):
            raw.update(_multipart(op, content_type, body, repeated))
        elif body:
            raw.update(_fields(parse_qsl(body.decode("utf-8"), keep_blank_values=True), repeated))
        for name, param in op.params.items():  # a header parameter travels as a header only
            if param.location == "header":
                wire = param.wire or name
                raw.pop(wire, None)
                if wire.lower() in headers:
                    raw[wire] = headers[wire.lower()]
        return raw

    def _json_keys(self, op: Operation, decoded: Mapping[str, Any]) -> set[str]:
        """The keys a JSON body of ``op`` may hold: its parameters' wire names (and the
        keys a ``prefix`` parameter names), and where credentials travel in the body."""
        auth = self.spec.auth
        keys = {p.wire or n for n, p in op.params.items() if p.location != "header"}
        keys.update(p.number_wire for p in op.params.values() if p.number_wire is not None)
        keys.update(auth.body.values())
        for creds in auth.sets.values():
            keys.update(creds.body.values())
        for p in op.params.values():
            if p.prefix is not None:
                keys.update(k for k in decoded if k.startswith(p.prefix))
        return keys

    def _refusal(
        self, name: str, op: Operation, raw: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[Answer | None, bool]:
        """The answer refusing the request's credentials (or its stale signing time),
        None when they pass, with the credentials taken out of ``raw``; and whether they
        are one of the provider's documented test credentials (nothing is delivered)."""
        creds = self.spec.auth.sets.get(op.auth)
        testing = False
        if not self._authenticated(op, creds, raw, headers):
            testing = creds is None and self._test_authenticated(raw, headers)
            if not testing:
                code = creds.code if creds is not None else self.spec.auth.code
                return self.error(ErrorCategory.AUTHENTICATION, code=code, operation=name), False
        signing = creds.signing if creds is not None else None
        if signing is None or signing.timestamp is None or signing.timestamp not in raw:
            return None, testing
        stamp = raw.pop(signing.timestamp)
        age = _age_seconds(stamp)
        if age is None or age > signing.tolerance_seconds:
            text = f"the timestamp {stamp!r} is more than {signing.tolerance_seconds} s from now"
            answer = self.error(
                ErrorCategory.VALIDATION, text, code=signing.stale_code, operation=name
            )
            return answer, False
        return None, testing

    def _test_authenticated(self, raw: dict[str, Any], headers: Mapping[str, str]) -> bool:
        """Whether the request carries one of the spec's documented test credentials in
        place of the configured one (``raw`` loses the credentials when it does)."""
        documented = self.spec.sandbox.credentials if self.spec.sandbox else {}
        for keyword, values in documented.items():
            for value in values:
                trial = dict(raw)
                if self._default_authenticated(
                    trial, headers, {**self.credentials, keyword: value}
                ):
                    raw.clear()
                    raw.update(trial)
                    return True
        return False

    def _authenticated(
        self,
        op: Operation,
        creds: CredentialSet | None,
        raw: dict[str, Any],
        headers: Mapping[str, str],
    ) -> bool:
        if op.auth == "none":
            return True
        if creds is not None:
            return self._set_authenticated(creds, raw)
        return self._default_authenticated(raw, headers)

    def _default_authenticated(
        self,
        raw: dict[str, Any],
        headers: Mapping[str, str],
        credentials: Mapping[str, str] | None = None,
    ) -> bool:
        """Every place the spec's auth names carries exactly its credential, and no
        other scheme's header stands in for it (a bearer token where the provider wants
        its own header is refused, as the provider refuses it). Credentials sent as
        parameters are taken out of ``raw``. ``credentials``: the configured ones by
        default."""
        auth = self.spec.auth
        creds = self.credentials if credentials is None else credentials
        in_params = [*auth.body.items(), *auth.query.items()]
        params_ok = all([raw.pop(wire, None) == creds[n] for n, wire in in_params])
        if auth.aws_sigv4 is not None:
            key_id = creds[auth.aws_sigv4.access_key_id]
            scope = f"AWS4-HMAC-SHA256 Credential={key_id}/"
            return params_ok and headers.get("authorization", "").startswith(scope)
        expected = self._expected_headers(creds)
        if "authorization" not in {n.lower() for n in expected} and "authorization" in headers:
            return False  # an Authorization header the scheme does not use
        sent = {name: headers.get(name.lower()) for name in expected}
        return params_ok and all(sent[name] == value for name, value in expected.items())

    def _expected_headers(self, creds: Mapping[str, str]) -> dict[str, str]:
        """The credential headers a request must carry, as the spec's auth writes them;
        AWS Signature Version 4 is checked for its scheme and key id only (the sandbox
        does not recompute the signature)."""
        auth = self.spec.auth
        out = {name: fill_template(t, creds, str) for name, t in auth.headers.items()}
        if auth.bearer:
            out["Authorization"] = f"Bearer {creds[auth.bearer]}"
        if auth.basic is not None:
            pair = f"{fill_template(auth.basic.username, creds, str)}:"
            pair += fill_template(auth.basic.password, creds, str)
            out["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return out

    def _set_authenticated(self, creds: CredentialSet, raw: dict[str, Any]) -> bool:
        """Plain: every credential of the set as sent. Signed (the signature parameter
        is there): the key absent, the other credentials as sent, and the signature
        valid over every other pair the request carries."""
        signing = creds.signing
        if signing is None or signing.param not in raw:
            return all(
                raw.pop(wire, None) == self.credentials[name] for name, wire in creds.body.items()
            )
        given = raw.pop(signing.param)
        if creds.body[signing.key] in raw:  # the key travelled: signing is to keep it home
            return False
        pairs = [(k, v) for k, v in raw.items() if isinstance(v, str)]
        signed = isinstance(given, str) and valid_signature(
            pairs, given, algorithm=signing.algorithm, key=self.credentials[signing.key]
        )
        timed = signing.timestamp is None or signing.timestamp in raw
        others = [(name, wire) for name, wire in creds.body.items() if name != signing.key]
        return (
            all(raw.pop(wire, None) == self.credentials[name] for name, wire in others)
            and signed
            and timed
        )

    # --- operations ----------------------------------------------------------------

    def _send(
        self, name: str, op: Operation, values: dict[str, Any], *, testing: bool = False
    ) -> Answer:
        """Accept a message; a repeat of an idempotency key within the spec's window is
        answered as the first was, and accepts nothing more (ASSUMED: the documents say
        a repeat is processed once, not what it is answered)."""
        param = self.spec.mapping.get(name, {}).get("idempotency_key")
        window = self.spec.capabilities.idempotency_window
        key = values.get(param) if param is not None else None
        if not key or window is None:
            return self._accept(name, op, values, testing=testing)
        with self._keyed:
            now = time.monotonic()
            seen = self._answered.get((name, key))
            if seen is not None and now - seen[0] < window:
                return seen[1]
            answer = self._accept(name, op, values, testing=testing)
            if answer.status < 300:
                self._answered[(name, key)] = (now, answer)
            return answer

    def _accept(
        self, name: str, op: Operation, values: dict[str, Any], *, testing: bool = False
    ) -> Answer:
        recipients = _recipients(values, op)
        now = datetime.datetime.now().replace(microsecond=0)
        # an answer holding one id (Brevo's messageId, SES's MessageId, Postmark's
        # MessageID), or one in a header (SendGrid's X-Message-Id), names one message,
        # whoever it goes to: every recipient's row carries that id, as its events do
        one_id = not op.response_list and (
            op.ids_header is not None or (op.ids is not None and self._leaf_is_str(op))
        )
        with self._lock:
            ids = [
                f"{self.spec.provider.name[:4]}-{next(self._ids):06d}"
                for _ in ([""] if one_id else recipients or [""])
            ]
            if one_id:
                ids *= max(1, len(recipients))
            rows = [
                Accepted(
                    message_id,
                    name,
                    recipient,
                    values,
                    now,
                    _NEVER_DELIVERED if testing else self._outcome(recipient),
                )
                for message_id, recipient in zip(ids, recipients or [""], strict=True)
            ]
            self.accepted.extend(rows)
        for row in rows:
            for listener in self.listeners:
                listener(row)
        ids_value: Any = ids
        if op.ids is not None and self._leaf_is_str(op):
            ids_value = ids[0]
        placed = {op.ids: ids_value} if op.ids else {}
        if op.count is not None:  # every recipient was taken
            placed[op.count] = len(ids)
        if op.response_list:  # one object per message, each with its own id
            count = len(values.get(op.body or "") or ids)
            items = [self._success(name, op, {op.ids: i} if op.ids else {}) for i in ids[:count]]
            return _json_answer(200, [json.loads(item.body) for item in items])
        answer = self._success(name, op, placed)
        if op.ids_header is not None:  # the id travels in a header only (SendGrid)
            if not self.spec.shapes[op.response].fields:  # and the body is empty
                answer = Answer(answer.status, b"", {})
            answer.headers[op.ids_header] = ids[0]
        return answer

    def _outcome(self, recipient: str) -> Outcome:
        """The outcome a test set for ``recipient``, else the one the provider documents
        for it as a test address, else the one set for everyone (``"*"``)."""
        if recipient in self.outcomes:
            return self.outcomes[recipient]
        documented = self._documented.get(_unlabelled(recipient))
        return documented or self.outcomes.get("*", Outcome())

    def _leaf_is_str(self, op: Operation) -> bool:
        shape = self.spec.shapes[op.response]
        *parents, leaf = (op.ids or "").split(".")
        lists = False
        for part in parents:
            kind = shape.fields[part].type
            lists = lists or kind.startswith("list[")
            shape = self.spec.shapes[_item_type(kind)]
        # one id per item where the path goes through a list (Mailjet's To[].MessageID)
        return shape.fields[leaf].type in ("str", "int") and not lists

    def _status(
        self, name: str, op: Operation, values: dict[str, Any], path: str = "", query: str = ""
    ) -> Answer:
        delivery = self.spec.delivery
        if delivery is None:
            return self._success(name, op, {})
        ids_param = op.query.ids if op.query is not None else None
        wanted = values.get(ids_param or "") or values.get("message_id")
        wanted_ids = {wanted} if isinstance(wanted, str) else set(wanted or [])
        with self._lock:
            rows = [a for a in self.accepted if not wanted_ids or a.message_id in wanted_ids]
        if delivery.records == ".":  # one record per call: the answer is the record itself
            if not rows:
                return self.error(ErrorCategory.NOT_FOUND, "no such message", operation=name)
            record = self._record(rows[0])
            if self.spec.envelope.code_from == "body":
                record = {
                    **self._envelope(self.code_for(ErrorCategory.SUCCESS, name), "ok", ok=True),
                    **record,
                }
            return self._answer(200, record, op.response)
        offset, limit_param = (
            (op.paging.offset or "", op.paging.limit or "") if op.paging else ("", "")
        )
        pairs = parse_qsl(query, keep_blank_values=True)
        next_url = op.paging.next_url if op.paging else None
        page_at = dict(pairs).get(_PAGE, "") if next_url else ""
        start = int(values.get(offset) or (page_at if page_at.isdigit() else 0))
        limit = int(values.get(limit_param) or self.spec.limits.page_size or 100)
        page = rows[start : start + limit]
        records = [self._record(a) for a in page]
        out: dict[str, Any] = {delivery.records: records}
        if next_url and start + limit < len(rows):
            # the next page's URL, relative to the base, keeping the query's filters
            kept = [(k, v) for k, v in pairs if k != _PAGE] + [(_PAGE, str(start + limit))]
            relative = path[len(self.base_path) :].lstrip("/")
            out[next_url] = f"{relative}?{urlencode(kept)}"
        if delivery.total:
            out[delivery.total] = len(rows)
        return self._success(name, op, out)

    def _record(self, accepted: Accepted) -> dict[str, Any]:
        delivery = self.spec.delivery
        assert delivery is not None
        fields = delivery.fields
        raw_status = _raw_status(delivery, accepted.outcome.state)
        sub = accepted.outcome.sub_status

        def kind(dotted: str) -> str:  # the type of a record field, or of a nested one
            shape = self.spec.shapes[delivery.record]
            *parents, leaf = dotted.split(".")
            for part in parents:
                shape = self.spec.shapes[shape.fields[part].type]
            return shape.fields[leaf].type

        values: dict[str, Any] = {
            fields.message_id: accepted.message_id,
            fields.status: _typed(kind(fields.status), raw_status),
        }
        if fields.recipient:
            values[fields.recipient] = accepted.recipient
        state = accepted.outcome.state
        if fields.opens:
            values[fields.opens] = int(state in (DeliveryState.OPENED, DeliveryState.CLICKED))
        if fields.clicks:
            values[fields.clicks] = int(state == DeliveryState.CLICKED)
        if fields.sub_status and sub is not None:
            values[fields.sub_status] = _typed(kind(fields.sub_status), sub)
        if fields.description:
            row = delivery.sub_states.get(sub or "") or delivery.states.get(raw_status or "")
            values[fields.description] = row.description if row else ""
        if fields.timestamp:
            fmt, at = delivery.timestamp_format, accepted.accepted_at
            values[fields.timestamp] = (
                at.astimezone(datetime.UTC).timestamp()  # the sandbox's local time, as epoch
                if fmt == "epoch"
                else at.strftime(fmt)
                if fmt
                else at.isoformat()
            )
        record: dict[str, Any] = {}
        for dotted, value in values.items():  # a dotted path is a field of a nested shape
            _place(self.spec, delivery.record, dotted, value, record)
        return record

    def _success(self, name: str, op: Operation, values_by_path: dict[str, Any]) -> Answer:
        code = self.code_for(ErrorCategory.SUCCESS, name)
        body = self._envelope(
            code, self.spec.codes[code].message if code in self.spec.codes else "ok", ok=True
        )
        for dotted, value in values_by_path.items():
            _place(self.spec, op.response, dotted, value, body)
        # where the HTTP status is the code, the operation's success code is the status
        # (SendGrid's 202 Accepted); elsewhere success is a 200 carrying its code
        status = code if self.spec.envelope.code_from == "http" and 200 <= code < 300 else 200
        return self._answer(status, body, op.response)


# the query field of the sandbox's own next-page URLs (next-URL paging): where a page starts
_PAGE = "page"


# a message sent with a documented test credential: accepted, never delivered
_NEVER_DELIVERED = Outcome(DeliveryState.QUEUED, silent=True)


def _unlabelled(address: str) -> str:
    """``ann+label@x.org`` -> ``ann@x.org``, lower case: how test addresses match."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


def _age_seconds(stamp: Any) -> float | None:
    """How far a millisecond timestamp is from the sandbox clock; None if unreadable."""
    try:
        return abs(time.time() - int(stamp) / 1000)
    except (TypeError, ValueError):
        return None


def _raw_status(delivery: Delivery, state: DeliveryState) -> str | None:
    """The provider's status value for a unified state. A state the provider reports
    only through a sub-status (AuroraSendCloud's "rejected" blacklist entries) goes
    under the bounce family's status, as the provider does. A message that was opened
    or clicked was delivered: providers keep engagement apart, in counters if at all. A
    queued one, where the provider has no such status, is in its sending status."""
    for value, row in delivery.states.items():
        if row.state == state:
            return value
    if state in _ENGAGED:
        return _raw_status(delivery, DeliveryState.DELIVERED)
    if state is DeliveryState.QUEUED:  # not yet on its way: the earliest status there is
        for value, row in delivery.states.items():
            if row.state == DeliveryState.SENDING:
                return value
    for value, row in delivery.states.items():
        if row.state == DeliveryState.BOUNCED:
            return value
    # a status that only says how far the provider got (Postmark's Queued and Sent, with
    # delivery and bounces as events apart): whatever happened after, it was sent
    for value, row in delivery.states.items():
        if row.state == DeliveryState.SENDING:
            return value
    return None


def _route(base_path: str, op: Operation, fills: Mapping[str, str]) -> re.Pattern[str]:
    path = base_path.rstrip("/") + "/" + op.path.lstrip("/")
    path = fill_template(path, fills, lambda value: quote(value, safe=""))
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(pattern)


def _fields(pairs: list[tuple[str, str]], repeated: Collection[str]) -> dict[str, Any]:
    """Form or query pairs by name: the last value, or every value of a repeated one."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in repeated:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _multipart(
    op: Operation, content_type: str, body: bytes, repeated: Collection[str] = ()
) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) and part.get_content_type() == "message/rfc822":
            payload = b"".join(m.as_bytes() for m in part.get_payload() if isinstance(m, EmailPart))
        if not isinstance(payload, bytes):
            payload = b""
        if filename is not None:
            # the type as sent, with a text part's charset (what its bytes mean)
            kind = part.get_content_type() or "application/octet-stream"
            charset = part.get_param("charset")
            if isinstance(charset, str):
                kind = f"{kind}; charset={charset}"
            out.setdefault(name, []).append(Attachment(filename, payload, kind))
        elif name in repeated:
            out.setdefault(name, []).append(payload.decode("utf-8"))
        else:
            out[name] = payload.decode("utf-8")
    return out


def _decode_params(op: Operation, raw: dict[str, Any], *, as_json: bool = False) -> dict[str, Any]:
    """Wire values → typed parameter values; a value of the wrong form is a
    ValidationError carrying the parameter's own ``format`` code. A ``prefix``
    parameter gathers the fields its prefix names into one object."""
    values: dict[str, Any] = {}
    for name, param in op.params.items():
        wire = param.wire or name
        if param.prefix is not None:
            found = {
                k[len(param.prefix) :]: v for k, v in raw.items() if k.startswith(param.prefix)
            }
            if found:
                values[name] = found
            continue
        if param.number_wire is not None and param.number_wire in raw:
            number = raw[param.number_wire]
            if wire in raw or type(number) is not int or number < 0:
                # both keys, or not a number: another form than the spec's
                raise ValidationError(
                    f"{param.number_wire} takes a number, in place of {wire}",
                    field=name,
                    code=param.codes.get("format"),
                )
            values[name] = str(number)
            continue
        if wire not in raw:
            continue
        try:
            values[name] = _decode_value(param, raw[wire], as_json=as_json)
        except (ValueError, TypeError, KeyError):
            raise ValidationError(
                f"cannot read {raw[wire]!r} as {_wire_form(param, as_json)}",
                field=name,
                code=param.codes.get("format"),
            ) from None
    return values


def _wire_form(param: Param, as_json: bool) -> str:
    """What the spec says a parameter looks like on the wire, for a refusal."""
    if param.type == "list[str]" and param.join is not None and as_json:
        return f"one string joined by {param.join!r}"
    if param.pairs is not None:
        return f"a list of {{{param.pairs.key!r}, {param.pairs.value!r}}} objects"
    if param.recipients is not None:
        return f"a list of recipient objects with an address at {param.recipients.email!r}"
    if param.type == "files" and as_json:
        keys = param.keys or FileKeys()
        named = [k for k in (keys.filename, keys.content, keys.content_type) if k is not None]
        return f"a list of {{{', '.join(map(repr, named))}}} objects"
    return param.type


def _content_id(value: Any, prefix: str) -> Any:
    """An attachment object's content id without the spec's ``content_id_prefix``
    (Postmark's ``cid:``); one without the prefix is in another form, refused."""
    if value is None or not prefix:
        return value
    if not isinstance(value, str) or not value.startswith(prefix):
        raise TypeError(f"a content id that does not start with {prefix!r}")
    return value[len(prefix) :]


def _decode_value(param: Param, value: Any, *, as_json: bool = False) -> Any:
    if param.recipients is not None:
        return _recipient_objects(param.recipients, value)
    if param.type == "files":
        if isinstance(value, list) and all(isinstance(v, Attachment) for v in value):
            return value
        if isinstance(value, list):  # JSON attachment objects with base64 content
            keys = param.keys or FileKeys()
            allowed = {keys.filename, keys.content, keys.content_type, keys.content_id} - {None}
            allowed |= set(keys.inline)
            if not all(isinstance(v, dict) and set(v) <= allowed for v in value):
                raise TypeError("attachment objects with other keys")
            if keys.utf8_text and any(";" in str(v.get(keys.content_type, "")) for v in value):
                raise TypeError("a content type with parameters, where the type alone is wanted")
            for v in value:  # an inline part carries its marks (disposition: inline)
                if keys.content_id in v and any(v.get(k) != w for k, w in keys.inline.items()):
                    raise TypeError("an inline part without its marks")
            return [
                Attachment(
                    v[keys.filename],
                    base64.b64decode(v[keys.content], validate=True),
                    v.get(keys.content_type or "", "application/octet-stream"),
                    # an inline part's, kept for the tests to see
                    _content_id(v.get(keys.content_id), keys.content_id_prefix),
                )
                for v in value
            ]
        raise TypeError("expected files")
    if param.pairs is not None:
        if not isinstance(value, list):
            raise TypeError("expected a list of pairs")
        pair = {param.pairs.key, param.pairs.value}
        if not all(isinstance(v, dict) and set(v) == pair for v in value):
            raise TypeError("expected pair objects")
        out: dict[str, Any] = {}
        for v in value:  # a name given several times (X-Tag per tag) keeps every value
            name, item = v[param.pairs.key], v[param.pairs.value]
            if name in out:
                kept = out[name]
                out[name] = [*kept, item] if isinstance(kept, list) else [kept, item]
            else:
                out[name] = item
        return out
    if param.type == "json" and as_json and not isinstance(value, str):
        raise TypeError("a JSON string is wanted")  # an object where the spec wants text
    if param.address is not None and as_json:
        return _mailboxes(param, value)
    joined = as_json and param.type == "list[str]" and param.join is not None
    if joined and not isinstance(value, str):
        raise TypeError("a joined string is wanted")  # a list where the spec joins
    if as_json and param.type == "list[str]" and not joined and not isinstance(value, list):
        raise TypeError("a JSON array is wanted")  # a string where the spec wants a list
    if param.date_format == "rfc2822" and isinstance(value, str):
        email.utils.parsedate_to_datetime(value)  # a ValueError on any other writing
    elif param.date_format == "iso8601" and isinstance(value, str):
        datetime.datetime.fromisoformat(value)
    if not isinstance(value, str):
        return value  # JSON bodies arrive typed already
    if param.type == "int":
        return int(value)
    if param.type == "bool":
        return {"true": True, "false": False, "1": True, "0": False}[value.lower()]
    if param.type == "date":
        return datetime.date.fromisoformat(value)
    if param.type == "list[str]":
        return [v for v in value.split(param.join or ",") if v] if value else []
    if param.type in ("json", "object"):
        return json.loads(value)
    return value


def _recipient_objects(keys: RecipientKeys, value: Any) -> list[dict[str, Any]]:
    """A ``recipients`` list as sent: objects holding an address at ``keys.email`` and
    nothing but the keys the spec names; TypeError for any other form."""
    allowed = {k for k in (keys.email, keys.name, keys.header_to) if k is not None}
    if not isinstance(value, list) or not value:
        raise TypeError("expected a list of recipient objects")
    for item in value:
        if not isinstance(item, dict) or not set(_dotted_keys(item)) <= allowed:
            raise TypeError("recipient objects with other keys")
        address = _at_key(item, keys.email)
        if not isinstance(address, str) or not is_email(address):
            raise ValueError("a recipient object without an address")
    return value


def _dotted_keys(value: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of the values inside an object (``address.email``)."""
    out: list[str] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        out += _dotted_keys(item, name + ".") if isinstance(item, dict) else [name]
    return out


def _at_key(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _mailboxes(param: Param, value: Any) -> Any:
    """Address objects (``{"email": ..., "name": ...}``) as the mailboxes the client
    checks (``Ann <ann@example.org>``): one object for a str parameter, a list of them
    for a list; any other form is refused."""
    keys = param.address
    assert keys is not None

    def one(item: Any) -> str:
        if not isinstance(item, dict) or not set(item) <= {keys.email, keys.name}:
            raise TypeError("an address object is wanted")
        email, name = item.get(keys.email), item.get(keys.name, "")
        if not isinstance(email, str) or not isinstance(name, str):
            raise TypeError("an address object is wanted")
        return mailbox(name, email)

    if param.type == "list[str]":
        if not isinstance(value, list):
            raise TypeError("a list of address objects is wanted")
        return [one(item) for item in value]
    return one(value)


def _recipients(values: dict[str, Any], op: Operation | None = None) -> list[str]:
    """Who a request sends to, as addresses (a `to` written as a mailbox,
    ``Ann <ann@example.org>``, is its address: the recipient a status names; a `to`
    of recipient objects, the address each holds)."""
    keys = op.params["to"].recipients if op is not None and "to" in op.params else None
    if keys is not None and isinstance(values.get("to"), list):
        return [str(_at_key(item, keys.email)) for item in values["to"]]
    messages = values.get("messages")
    if isinstance(messages, list):  # a batch: one recipient per message
        return [_address(str(m.get("to", ""))) for m in messages if isinstance(m, dict)]
    for key in ("to", "phone"):
        value = values.get(key)
        if isinstance(value, list):
            return [_address(str(v)) for v in value]
        if isinstance(value, str):
            return [_address(v) for v in value.split(",") if v]
    return []


def _address(recipient: str) -> str:
    """The address of a mailbox; anything else (a phone number) as it is."""
    if "<" not in recipient:
        return recipient
    try:
        return parse_mailbox(recipient).address
    except AddressError:
        return recipient


def _typed(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    return int(value) if kind == "int" and value.lstrip("-").isdigit() else value


def _place(spec: Spec, shape_name: str, dotted: str, value: Any, body: dict[str, Any]) -> None:
    """Put ``value`` at ``dotted`` (field names) in ``body`` (wire names), following shapes."""
    shape = spec.shapes[shape_name]
    part, _, rest = dotted.partition(".")
    field_def = shape.fields[part]
    wire = field_def.wire or part
    if not rest:
        body[wire] = value
        return
    inner = _item_type(field_def.type)
    if inner == field_def.type:  # an object
        _place(spec, inner, rest, value, body.setdefault(wire, {}))
        return
    # a list of objects: one item, or, at the last list of the path, one item per value
    deeper = any(f.type.startswith("list[") for f in _fields_on(spec, inner, rest.split(".")[:-1]))
    if isinstance(value, list) and not deeper:
        items = body.setdefault(wire, [])
        for one in value:
            items.append({})
            _place(spec, inner, rest, one, items[-1])
        return
    items = body.setdefault(wire, [{}])
    _place(spec, inner, rest, value, items[0])


def _item_type(kind: str) -> str:
    """The item type of ``list[X]``; any other type as it is."""
    return kind[5:-1] if kind.startswith("list[") and kind.endswith("]") else kind


def _fields_on(spec: Spec, shape_name: str, parts: list[str]) -> list[Any]:
    """The fields a path of field names goes through, from ``shape_name``."""
    out = []
    for part in parts:
        field_def = spec.shapes[shape_name].fields[part]
        out.append(field_def)
        shape_name = _item_type(field_def.type)
    return out


def _numbers_as_strings(spec: Spec, shape: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every value at an int or float field of ``shape`` (and at the
    envelope's code) written as a string: ``{"statusCode": "200"}``."""
    kinds: dict[str, str] = {}
    code = spec.envelope.code
    if code is not None:
        kinds.update(dict.fromkeys((code.wire, *code.aliases), "int"))
    if shape is not None and shape in spec.shapes:
        for name, f in spec.shapes[shape].fields.items():
            kinds.update(dict.fromkeys((f.wire or name, *f.aliases), f.type))
    return {key: _as_strings(spec, kinds.get(key), value) for key, value in body.items()}


def _as_strings(spec: Spec, kind: str | None, value: Any) -> Any:
    if kind is None or value is None:
        return value
    if kind in ("int", "float"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return json.dumps(value) if is_number else value
    if kind.startswith("list[") and isinstance(value, list):
        return [_as_strings(spec, kind[5:-1], v) for v in value]
    if kind.startswith("dict[str,") and isinstance(value, dict):
        return {k: _as_strings(spec, kind[9:-1].strip(), v) for k, v in value.items()}
    if kind in spec.shapes and isinstance(value, dict):
        fields = spec.shapes[kind].fields
        kinds = {w: f.type for n, f in fields.items() for w in (f.wire or n, *f.aliases)}
        return {k: _as_strings(spec, kinds.get(k), v) for k, v in value.items()}
    return value


def _json_answer(status: int, body: dict[str, Any] | list[Any]) -> Answer:
    return Answer(
        status,
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        {"Content-Type": "application/json"},
    )
