"""The sandbox's webhooks: the provider's events for what it accepted, posted to a URL.

Everything comes from the spec's ``webhooks`` table, read backwards: a unified state
becomes the provider's event name for it, the payload is laid out by the same paths
the receiver reads (nested objects, an event type's own paths, a list of events
where the provider posts lists, the spec's ``records`` envelope), and the request is
signed as the spec's scheme says (an HMAC over its template, in the payload or in
headers; ECDSA with the private key given as ``secret``; basic auth; a token), or
carries the shared secret as basic auth where the provider defines no scheme.
Posting happens on a background thread, so a slow receiver never slows a send.

Providers report out of order and more than once; so can the sandbox, on demand:
:meth:`WebhookPoster.post` posts any events about a message in any order (repeats
included), and :meth:`WebhookPoster.hold` keeps every event back until
:meth:`WebhookPoster.release` posts them shuffled, reversed or repeated. An event the
receiver did not take is posted again, after each of ``retry_delays`` seconds when given.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import functools
import logging
import queue
import random
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
import urllib3

from ..runtime import logfilter
from ..runtime.encoding import form_urlencode
from ..runtime.secrets import MIN_REDACTED, Secret
from ..spec_model import Spec, Webhooks, WebhookSignature, split_target
from ..spec_paths import WILDCARD, parse_path, parse_source, per_event, write_path
from ..vocabulary import DeliveryState, EventType
from ..webhooks.events import fields_for
from ..webhooks.signature import (
    Request,
    hmac_signature,
    require_backend,
    signed_text,
)
from .emulator import Accepted

__all__ = ["Posted", "WebhookPoster"]

log = logging.getLogger("mailspec.sandbox")

# The events a message goes through to reach a state, after it was accepted (queued).
_PATH: dict[DeliveryState, tuple[EventType, ...]] = {
    DeliveryState.QUEUED: (),
    DeliveryState.SENDING: (),
    DeliveryState.UNKNOWN: (),
    DeliveryState.DELIVERED: (EventType.DELIVERED,),
    DeliveryState.OPENED: (EventType.DELIVERED, EventType.OPENED),
    DeliveryState.CLICKED: (EventType.DELIVERED, EventType.OPENED, EventType.CLICKED),
    DeliveryState.UNSUBSCRIBED: (EventType.DELIVERED, EventType.UNSUBSCRIBED),
    DeliveryState.COMPLAINED: (EventType.DELIVERED, EventType.COMPLAINED),
}
_CLICKED_URL = "https://example.com/welcome"  # what a sandbox recipient clicks
_USER_AGENT = "Mozilla/5.0 (mailspec sandbox)"
_ATTEMPTS = 3  # per event; a receiver that is down for longer loses the event, as with providers
_STOP = object()
_REDIRECTS = (307, 308)  # redirects that keep the method and body


@dataclass(frozen=True)
class _Item:
    """One event to post: the provider's name for it, its type, the message, and when
    it happened."""

    name: str
    type: EventType
    row: Accepted
    at: float


@dataclass(frozen=True)
class Posted:
    """One event the sandbox posted: the provider's event name, the message it is about,
    and the receiver's HTTP status (None when it could not be reached)."""

    event: str
    message_id: str
    status: int | None


class WebhookPoster:
    """Posts a provider's events to ``url`` for messages its sandbox accepted.

    ``secret`` is what events are signed with: the webhook key (hmac), the private key
    in PEM (ecdsa_p256; the receiver takes its public key), the ``user:password`` or
    password (basic_auth, and a provider without a scheme), or the token (token).
    ``encoding`` is ``form`` or ``json`` (default: the first the spec lists).
    """

    def __init__(
        self,
        spec: Spec,
        url: str,
        *,
        secret: str | None = None,
        encoding: str | None = None,
        timeout: float = 2.0,
        retry_delays: Sequence[float] = (),
    ) -> None:
        if spec.webhooks is None:
            raise ValueError(f"{spec.provider.name} posts no webhooks")
        self.hooks: Webhooks = spec.webhooks
        self.spec = spec
        self.url = url
        self.encoding = encoding or self.hooks.encodings[0]
        if self.encoding not in self.hooks.encodings:
            raise ValueError(
                f"{spec.provider.name} posts {', '.join(self.hooks.encodings)}, not {self.encoding}"
            )
        self._secret = Secret(secret) if secret else None
        # a receiver URL may carry a secret of its own (?secret=..., user:password@):
        # our records name it without them, and urllib3's have them redacted
        self._shown_url = _without_secrets(url)
        self._url_secrets = _url_secrets(url)
        logfilter.install()
        self._names = _event_names(self.hooks)
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False
        )
        self.posted: list[Posted] = []
        self.retry_delays = [float(d) for d in retry_delays]
        self._held: list[_Item] | None = None  # while held
        self._queue: queue.Queue[Any] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<WebhookPoster {self.spec.provider.name} -> {self._shown_url}>"

    # --- what to post --------------------------------------------------------------

    def accepted(self, row: Accepted) -> None:
        """A message was accepted: its queued event, then the events to its outcome
        (nothing at all for a silent outcome)."""
        if not row.outcome.silent:
            self._post(row, (EventType.QUEUED, *self._path(row.outcome.state)))

    def changed(self, row: Accepted, previous: DeliveryState) -> None:
        """A message moved on from ``previous``: the events it has not yet reported."""
        done = set(self._path(previous))
        self._post(row, tuple(t for t in self._path(row.outcome.state) if t not in done))

    def post(self, row: Accepted, types: Sequence[EventType]) -> int:
        """Post these events about ``row``'s message, in this order, repeats included;
        the number queued (a type the provider names no event for is left out)."""
        return self._post(row, tuple(types))

    def hold(self) -> None:
        """Keep every event back from now on, until :meth:`release`."""
        with self._idle:
            if self._held is None:
                self._held = []

    def release(self, *, order: str = "as_made", repeat: int = 1, seed: int | None = None) -> int:
        """Post the events kept back since :meth:`hold`, and stop holding: in the
        ``order`` they were made, ``reversed``, or ``shuffled`` (by
        ``random.Random(seed)``), each ``repeat`` times (the repeats shuffled among the
        rest too); the number queued."""
        with self._idle:
            held, self._held = self._held or [], None
        items = held * max(1, repeat)
        if order == "reversed":
            items.reverse()
        elif order == "shuffled":
            random.Random(seed).shuffle(items)
        elif order != "as_made":
            raise ValueError("order is 'as_made', 'reversed' or 'shuffled'")
        for item in items:
            self._enqueue(item)
        return len(items)

    def _path(self, state: DeliveryState) -> tuple[EventType, ...]:
        # the failure states have event types of the same name
        return _PATH.get(state, (EventType(state.value),))

    def _post(self, row: Accepted, types: tuple[EventType, ...]) -> int:
        """Queue (or hold) these events; they happened now, and a repeat of one, posted
        later, still says it happened then, as a provider's retry does."""
        queued, now = 0, time.time()
        for event_type in types:
            name = self._names.get(event_type)
            if name is None:
                continue  # the provider reports no such event
            # a copy: the message may move on again before this event is posted
            item = _Item(name, event_type, dataclasses.replace(row), now)
            with self._idle:
                if self._held is not None:
                    self._held.append(item)
                    queued += 1
                    continue
            self._enqueue(item)
            queued += 1
        return queued

    def _enqueue(self, item: _Item) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(item)

    # --- payloads ------------------------------------------------------------------

    def payload(
        self, name: str, event_type: EventType, row: Accepted, at: float | None = None
    ) -> dict[str, Any]:
        """One event as the provider would post it, signed where the event carries its
        own signature; it happened ``at`` (default now)."""

        row_info = self.hooks.events.get(name)
        fields = fields_for(self.hooks, row_info.fields if row_info else None)
        now = time.time() if at is None else at
        event: dict[str, Any] = {}
        put = functools.partial(_put, event)
        if WILDCARD in parse_path(self.hooks.fields.event):
            put(fields.message_id, row.message_id)  # first: `*` writes into its object
            put(self.hooks.fields.event, name)
        else:
            put(self.hooks.fields.event, name)
            put(fields.message_id, row.message_id)
        put(fields.recipient, row.recipient)
        put(fields.timestamp, self._time(int(now), self.hooks.timestamp_format))
        sub = row.outcome.sub_status
        if event_type in (EventType.BOUNCED, EventType.SOFT_BOUNCED) and sub is not None:
            sub_row = self.spec.delivery.sub_states.get(sub) if self.spec.delivery else None
            put(fields.sub_status, sub)
            put(fields.reason, sub_row.description if sub_row else sub)
        if event_type is EventType.CLICKED:
            put(fields.url, _CLICKED_URL)
        if event_type in (EventType.OPENED, EventType.CLICKED):
            put(fields.user_agent, _USER_AGENT)
        if fields.metadata is not None:
            self._put_echoed(event, fields.metadata, row)
        if row_info is not None and row_info.refine is not None:
            # a type the event name gives only with its refining value: write that value
            refined = [v for v, t in row_info.refine.types.items() if t == event_type]
            if refined and event_type is not EventType(row_info.type):
                put(row_info.refine.path, refined[0])
        scheme = self.hooks.signature
        if scheme is not None and self._secret is not None and _signs_events(scheme):
            self._sign_event(event, scheme, int(now))
        return event

    def _time(self, now: int, timestamp_format: str) -> int | str:
        if timestamp_format == "epoch":
            return now
        moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
        return moment.isoformat().replace("+00:00", "Z")

    def _put_echoed(self, event: dict[str, Any], path: str, row: Accepted) -> None:
        """The parameter the message's metadata travelled in (``custom_args``, or the
        custom ``headers`` holding it), where the provider echoes it on every event:
        at the path, or, for one entry of an object parameter, at the path's parent, or
        the entry's value alone where the path is one key (a header echoed by name)."""

        target = self.spec.mapping.get(row.operation, {}).get("metadata")
        if target is None:
            return
        param, entry = split_target(target)
        value = row.params.get(param)
        spec_param = self.spec.operations[row.operation].params.get(param)
        if value and entry is None and spec_param is not None and spec_param.type == "json":
            value = msgspec.json.encode(value).decode()  # given back as the text it was sent
        steps = parse_path(path)
        if entry is not None and len(steps) == 1 and isinstance(value, dict):
            # the entry alone, at the top of the event (Brevo's X-Mailin-custom header)
            echoed = next((v for k, v in value.items() if k.lower() == entry.lower()), None)
            if echoed is not None:
                write_path(event, steps, echoed)
            return
        if value and (steps[:-1] if entry else steps):
            write_path(event, steps[:-1] if entry else steps, value)

    def _sign_event(self, event: dict[str, Any], scheme: WebhookSignature, now: int) -> None:
        """Sign inside the event (SendCloud's and Mailgun's timestamp, token, signature)."""

        secret = self._reveal()
        for source, value in ((scheme.timestamp, now), (scheme.id, secrets.token_hex(25))):
            part = parse_source(source) if source else None
            if part is not None and part.kind == "field":
                write_path(
                    event,
                    part.steps,
                    value
                    if source != scheme.timestamp
                    else self._time(now, scheme.timestamp_format),
                )
        message = signed_text(scheme, Request(b"", {}), event)
        signature = parse_source(scheme.signature or "")
        write_path(event, signature.steps, scheme.prefix + hmac_signature(scheme, secret, message))

    def _reveal(self) -> str:
        assert self._secret is not None
        return self._secret.reveal()

    def _request(self, event: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
        """The body, headers and URL of one post, signed where the request is signed."""
        headers: dict[str, str] = {}
        records = _records_path(self.hooks)
        body_value: Any = [event] if self.hooks.batch else event
        if records:
            envelope: dict[str, Any] = {}
            write_path(envelope, records, body_value)
            body_value = envelope
        if self.encoding == "json":
            headers["Content-Type"] = "application/json"
            body = msgspec.json.encode(body_value)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            pairs = [(key, _form_value(value)) for key, value in body_value.items()]
            body = form_urlencode(pairs).encode("ascii")
        url = self.url
        scheme = self.hooks.signature
        if self._secret is None:
            return body, headers, url
        if scheme is None or scheme.scheme == "basic_auth":
            secret = self._reveal()
            credentials = secret if ":" in secret else f"sandbox:{secret}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        elif scheme.scheme == "token":
            url = self._put_token(scheme, headers, url)
        elif not _signs_events(scheme):
            self._sign_request(scheme, body, headers)
        return body, headers, url

    def _put_token(self, scheme: WebhookSignature, headers: dict[str, str], url: str) -> str:

        source = parse_source(scheme.signature or "")
        if source.kind == "header":
            headers[source.name] = self._reveal()
            return url
        parts = urlsplit(url)
        query = urlencode([*parse_qsl(parts.query), (source.name, self._reveal())])
        return urlunsplit(parts._replace(query=query))

    def _sign_request(self, scheme: WebhookSignature, body: bytes, headers: dict[str, str]) -> None:
        """Sign in headers, over the body (Svix's id, timestamp and signature; SendGrid's
        ECDSA signature and timestamp)."""

        now = int(time.time())
        one_time = "msg_" + secrets.token_hex(12)
        for source, value in (
            (scheme.timestamp, self._time(now, scheme.timestamp_format)),
            (scheme.id, one_time),
        ):
            part = parse_source(source) if source else None
            if part is not None and part.kind == "header":
                headers[part.name] = str(value)
        message = signed_text(scheme, Request(body, headers), None)
        if scheme.scheme == "ecdsa_p256":
            signature = _ecdsa_sign(self._reveal(), message)
        else:
            signature = hmac_signature(scheme, self._reveal(), message)
        headers[parse_source(scheme.signature or "").name] = scheme.prefix + signature

    # --- the background thread -----------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            event = self.payload(item.name, item.type, item.row, item.at)
            status = self._deliver(item.name, event)
            self.posted.append(Posted(item.name, item.row.message_id, status))
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _deliver(self, name: str, event: dict[str, Any]) -> int | None:
        """Post one event, retried as a provider retries; its answer's status, or None."""
        body, headers, url = self._request(event)
        status: int | None = None
        waits = [0.0] * (_ATTEMPTS - 1) if not self.retry_delays else self.retry_delays
        for wait in [0.0, *waits]:
            if wait:
                time.sleep(wait)
            try:
                answer = self._pool.request("POST", url, body=body, headers=headers)
            except urllib3.exceptions.HTTPError as exc:
                log.debug("webhook to %s failed: %s", self._shown_url, type(exc).__name__)
                status = None
                continue
            status = answer.status
            if status in _REDIRECTS and self._follow_slash(answer.headers.get("Location", "")):
                # the same event again, at the path the receiver serves (signed for it)
                body, headers, url = self._request(event)
                continue
            if status < 500:
                break
        if status is None or not 200 <= status < 300:
            self._lost(name, status)
        return status

    def _follow_slash(self, location: str) -> bool:
        """Take a redirect that only adds or removes the path's trailing slash, as a
        mounted ASGI app (Starlette's ``Mount``) or Django's ``APPEND_SLASH`` answers:
        post there from now on, and say which URL to register, since a provider may
        not follow redirects. Any other redirect is an answer like a 4xx."""
        parts = urlsplit(self.url)
        target = urlsplit(location).path
        if not target or target.rstrip("/") != parts.path.rstrip("/") or target == parts.path:
            return False
        self.url = urlunsplit(parts._replace(path=target))
        self._shown_url = _without_secrets(self.url)
        log.warning(
            "webhook receiver redirected to %s: posting there from now on; register that "
            "URL (with its trailing slash as written) at %s, which may not follow redirects",
            self._shown_url,
            self.spec.provider.name,
        )
        return True

    def _lost(self, event: str, status: int | None) -> None:
        """An event the receiver did not take: said, never dropped silently."""
        answer = "could not be reached" if status is None else f"answered {status}"
        log.warning("webhook %s event to %s lost: the receiver %s", event, self._shown_url, answer)

    @property
    def failed(self) -> list[Posted]:
        """The events the receiver did not accept (no answer, or not a 2xx)."""
        return [p for p in self.posted if p.status is None or not 200 <= p.status < 300]

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was posted; False if ``timeout`` ran out first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout)
        self._pool.clear()


def _without_secrets(url: str) -> str:
    """``url`` as logs and reprs may show it: scheme, host, port and path, without the
    user info, query and fragment, where a receiver's own secret may travel."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _url_secrets(url: str) -> list[Secret]:
    """The values in ``url`` that may be secrets (the password, every query value), as
    Secrets: while they are alive, the log filter redacts them from urllib3's records
    (its request lines show the query)."""
    parts = urlsplit(url)
    values = [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    if parts.password:
        values.append(parts.password)
    return [Secret(v) for v in values if len(v) >= MIN_REDACTED]


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return msgspec.json.encode(value).decode()  # an object (metadata) as JSON text


def _event_names(hooks: Webhooks) -> dict[EventType, str]:
    """Unified type -> the provider's first event name for it (the table read backwards;
    an event whose ``refine`` value gives the type, where no name gives it plainly)."""
    names: dict[EventType, str] = {}
    for name, row in hooks.events.items():
        names.setdefault(EventType(row.type), name)
    for name, row in hooks.events.items():
        for refined in row.refine.types.values() if row.refine else ():
            names.setdefault(EventType(refined), name)
    return names


def _put(event: dict[str, Any], path: str | None, value: Any) -> None:

    if path is not None and value is not None:
        write_path(event, parse_path(path), value)


def _signs_events(scheme: WebhookSignature) -> bool:

    return scheme.scheme in ("hmac", "ecdsa_p256") and per_event(scheme)


def _records_path(hooks: Webhooks) -> tuple[Any, ...]:

    return parse_path(hooks.records)


def _ecdsa_sign(private_key: str, message: bytes) -> str:
    """SendGrid's signature: base64 DER ECDSA P-256/SHA-256, with the PEM private key."""

    require_backend(WebhookSignature(scheme="ecdsa_p256"))
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(private_key.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("an ecdsa_p256 sandbox needs an EC private key (PEM) as its secret")
    return base64.b64encode(key.sign(message, ec.ECDSA(hashes.SHA256()))).decode()
