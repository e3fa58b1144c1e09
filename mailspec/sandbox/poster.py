"""The sandbox's webhooks: the provider's events for what it accepted, posted to a URL.

Everything comes from the spec's ``webhooks`` table, read backwards: a unified state
becomes the provider's event name for it, the payload uses the provider's field names,
and the event is signed the way the provider signs (SendCloud's HMAC of timestamp and
token), or carries the shared secret as basic auth where the provider defines no
scheme. Posting happens on a background thread, so a slow receiver never slows a send.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import msgspec
import urllib3

from ..runtime import logfilter
from ..runtime.encoding import form_urlencode
from ..runtime.secrets import MIN_REDACTED, Secret
from ..spec_model import Spec, Webhooks
from ..vocabulary import DeliveryState, EventType
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
class Posted:
    """One event the sandbox posted: the provider's event name, the message it is about,
    and the receiver's HTTP status (None when it could not be reached)."""

    event: str
    message_id: str
    status: int | None


class WebhookPoster:
    """Posts a provider's events to ``url`` for messages its sandbox accepted.

    ``secret`` is the webhook key events are signed with (or, for a provider without a
    signature scheme, the basic-auth password). ``encoding`` is ``form`` or ``json``
    (default: the first the spec lists).
    """

    def __init__(
        self,
        spec: Spec,
        url: str,
        *,
        secret: str | None = None,
        encoding: str | None = None,
        timeout: float = 2.0,
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
        self._queue: queue.Queue[Any] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<WebhookPoster {self.spec.provider.name} -> {self._shown_url}>"

    # --- what to post --------------------------------------------------------------

    def accepted(self, row: Accepted) -> None:
        """A message was accepted: its queued event, then the events to its outcome."""
        self._post(row, (EventType.QUEUED, *self._path(row.outcome.state)))

    def changed(self, row: Accepted, previous: DeliveryState) -> None:
        """A message moved on from ``previous``: the events it has not yet reported."""
        done = set(self._path(previous))
        self._post(row, tuple(t for t in self._path(row.outcome.state) if t not in done))

    def _path(self, state: DeliveryState) -> tuple[EventType, ...]:
        # the failure states have event types of the same name
        return _PATH.get(state, (EventType(state.value),))

    def _post(self, row: Accepted, types: tuple[EventType, ...]) -> None:
        for event_type in types:
            name = self._names.get(event_type)
            if name is None:
                continue  # the provider reports no such event
            with self._idle:
                self._pending += 1
            # a copy: the message may move on again before this event is posted
            self._queue.put((name, event_type, dataclasses.replace(row)))

    # --- payloads ------------------------------------------------------------------

    def payload(self, name: str, event_type: EventType, row: Accepted) -> dict[str, Any]:
        """One event as the provider would post it, signed where it signs."""
        fields, now = self.hooks.fields, time.time()
        values: dict[str | None, Any] = {
            fields.event: name,
            fields.message_id: row.message_id,
            fields.recipient: row.recipient,
            fields.timestamp: int(now)
            if self.hooks.timestamp_format == "epoch"
            else datetime.datetime.fromtimestamp(int(now), datetime.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        sub = row.outcome.sub_status
        if event_type in (EventType.BOUNCED, EventType.SOFT_BOUNCED) and sub is not None:
            row_info = self.spec.delivery.sub_states.get(sub) if self.spec.delivery else None
            values[fields.sub_status] = sub
            values[fields.reason] = row_info.description if row_info else sub
        if event_type is EventType.CLICKED:
            values[fields.url] = _CLICKED_URL
        if event_type in (EventType.OPENED, EventType.CLICKED):
            values[fields.user_agent] = _USER_AGENT
        if fields.metadata is not None:
            echoed = self._echoed(row)
            if echoed is not None:
                values[fields.metadata.partition(".")[0]] = echoed
        out = {k: v for k, v in values.items() if k is not None}
        signature = self.hooks.signature
        if signature is not None and self._secret is not None:
            from ..webhooks import sign  # the receiving side's own function, shared

            token = secrets.token_hex(25)
            out[signature.timestamp] = out.get(signature.timestamp, int(now))
            out[signature.token] = token
            out[signature.signature] = sign(self._secret.reveal(), out[signature.timestamp], token)
        return out

    def _echoed(self, row: Accepted) -> Any:
        """The parameter the message's metadata travelled in (``custom_args``, or the
        custom ``headers`` holding it), as the provider echoes it on every event."""
        target = self.spec.mapping.get(row.operation, {}).get("metadata")
        if target is None:
            return None
        value = row.params.get(target.partition(".")[0])
        return value or None

    def _request(self, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        headers: dict[str, str] = {}
        if self.hooks.signature is None and self._secret is not None:
            token = base64.b64encode(f"sandbox:{self._secret.reveal()}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        if self.encoding == "json":
            headers["Content-Type"] = "application/json"
            return msgspec.json.encode(body), headers
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        pairs = [(key, _form_value(value)) for key, value in body.items()]
        return form_urlencode(pairs).encode("ascii"), headers

    # --- the background thread -----------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            name, event_type, row = item
            status = self._deliver(self.payload(name, event_type, row))
            self.posted.append(Posted(name, row.message_id, status))
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _deliver(self, payload: dict[str, Any]) -> int | None:
        body, headers = self._request(payload)
        status: int | None = None
        for _ in range(_ATTEMPTS):
            try:
                answer = self._pool.request("POST", self.url, body=body, headers=headers)
            except urllib3.exceptions.HTTPError as exc:
                log.debug("webhook to %s failed: %s", self._shown_url, type(exc).__name__)
                status = None
                continue
            status = answer.status
            if status in _REDIRECTS and self._follow_slash(answer.headers.get("Location", "")):
                continue  # the same event again, at the path the receiver serves
            if status < 500:
                break
        if status is None or not 200 <= status < 300:
            self._lost(payload, status)
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

    def _lost(self, payload: dict[str, Any], status: int | None) -> None:
        """An event the receiver did not take: said, never dropped silently."""
        event = payload.get(self.hooks.fields.event, "?")
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
    """Unified type -> the provider's first event name for it (the table read backwards)."""
    names: dict[EventType, str] = {}
    for name, row in hooks.events.items():
        names.setdefault(EventType(row.type), name)
    return names
