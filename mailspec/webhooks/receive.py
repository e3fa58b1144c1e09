"""``parse()``: one webhook request -> verified, unified events.

The steps, each from the provider's spec: the shared secret is checked where the
provider signs nothing; the body is decoded and its events found (``records``); the
signature is checked (per event or per request, see :mod:`.signature`); every event
is built; and only then are the one-time ids claimed from the replay guard. A request
with one bad event is refused whole, and leaves no id behind to refuse the provider's
corrected retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from .. import registry
from ..checks import arguments as args
from ..errors import UnsupportedOperation, ValidationError, WebhookVerificationError
from ..spec_model import Spec, Webhooks
from ..spec_paths import parse_path, read_path
from .events import Event, build_event
from .payload import decode, header
from .replay import DEFAULT_GUARD, ReplayGuard
from .shared_secret import check_shared_secret
from .signature import Request, verify_request
from .timestamps import to_epoch

__all__ = ["Received", "parse", "parse_with", "webhooks_of"]


class Received(list[Event]):
    """The events of one request, and the one-time ids claimed for them (released
    when handling them failed, so the provider's retry is accepted)."""

    def __init__(self, events: Iterable[Event] = (), ids: Iterable[str] = ()) -> None:
        super().__init__(events)
        self.ids = list(ids)


def webhooks_of(provider: str | Spec) -> tuple[Spec, Webhooks]:
    """A provider's spec (by name, or a spec at hand) and its ``webhooks`` table;
    UnsupportedOperation if it has none."""
    if isinstance(provider, str):
        spec = registry.spec(provider)
    elif isinstance(provider, Spec):
        spec = provider
    else:
        raise ValidationError(
            f"expected a provider name or a Spec, got {type(provider).__name__}",
            field="provider_name",
        )
    if spec.webhooks is None:
        raise UnsupportedOperation(spec.provider.name, "webhooks")
    return spec, spec.webhooks


def parse(
    provider_name: str | Spec,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    now: datetime | float | None = None,
    url: str | None = None,
    verify: bool = True,
    tolerance: float | None = None,
    replay: ReplayGuard | None = None,
) -> list[Event]:
    """The events of one webhook request from ``provider_name``, verified.

    ``provider_name`` may also be a :class:`~mailspec.spec_model.Spec` at hand. ``body``
    is the request body as received and ``headers`` its headers (any case);
    ``Content-Type`` says form or JSON (the body is sniffed without one).

    Verification, with ``verify`` (the default):

    - a provider with a signature scheme (``webhooks.signature``): ``secret`` is
      required: the account's webhook key (hmac), the provider's public key
      (ecdsa_p256), the ``user:password`` or password of the webhook URL
      (basic_auth) or the shared token (token). The signature must match, its
      timestamp must be within ``tolerance`` seconds of ``now`` (default: the spec's
      ``tolerance_seconds``; ``now`` defaults to the real clock), and its one-time id
      must not have been seen by ``replay`` (default: one guard per process).
    - a provider that signs nothing (CloudMails): ``secret`` is a secret of your own
      in the webhook URL you register, as the basic-auth password or a ``?secret=``
      query parameter; pass ``url`` (the request URL, with its query string) for the
      second form. **Without a secret such events are accepted unverified**: anyone
      who learns the URL can post them, so set one.

    Raises :class:`~mailspec.WebhookVerificationError` (answer 401) or
    :class:`~mailspec.WebhookPayloadError` (answer 400); never with the secret in
    the message. An event name the spec does not list is returned with type
    ``unknown``. ``verify=False`` skips every check: for tests and replays of
    stored events only.
    """
    _check_arguments(body, headers, secret, now, url, verify, tolerance, replay)
    spec, hooks = webhooks_of(provider_name)
    return parse_with(
        spec,
        hooks,
        body,
        headers,
        secret=secret,
        now=now,
        url=url,
        verify=verify,
        tolerance=tolerance,
        replay=replay,
    )


def _check_arguments(
    body: object,
    headers: object,
    secret: object,
    now: object,
    url: object,
    verify: object,
    tolerance: object,
    replay: object,
) -> None:
    """ValidationError naming the first argument of :func:`parse` of a wrong type or
    value (the caller's mistake, not the request's: not a WebhookError)."""
    if not isinstance(body, bytes | str):
        raise ValidationError(
            f"expected bytes or a string, got {type(body).__name__}", field="body"
        )
    if isinstance(body, str):
        try:
            body.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "cannot be encoded as UTF-8 (a lone surrogate)", field="body"
            ) from None
    args.mapping_of_strings(headers, "headers")
    args.optional_text(secret, "secret")
    args.optional_text(url, "url")
    args.flag(verify, "verify")
    if now is not None and not isinstance(now, datetime):
        args.number(now, "now")
    if tolerance is not None:
        args.number(tolerance, "tolerance", above=True)
    if replay is not None and not isinstance(replay, ReplayGuard):
        raise ValidationError(
            f"expected a ReplayGuard or None, got {type(replay).__name__}", field="replay"
        )


def parse_with(
    spec: Spec,
    hooks: Webhooks,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    secret: str | None,
    now: datetime | float | None,
    url: str | None,
    verify: bool,
    tolerance: float | None,
    replay: ReplayGuard | None,
) -> Received:
    """:func:`parse` for a provider whose spec and webhooks table are already at hand
    (:class:`WebhookApp` looks them up once, not per request)."""
    provider_name = spec.provider.name
    raw = body.encode() if isinstance(body, str) else body
    scheme = hooks.signature
    if verify and scheme is not None and not secret:
        raise WebhookVerificationError(
            provider_name, "no secret to verify with (pass the account's webhook key)"
        )
    if verify and scheme is None and secret:
        check_shared_secret(provider_name, headers, url, secret)
    content_type = header(headers, "Content-Type")
    records = decode(provider_name, raw, content_type, hooks.encodings, parse_path(hooks.records))
    if hooks.ping is not None:  # the provider's test ping: no event
        ping = parse_path(hooks.ping)
        records = [r for r in records if read_path(r, ping) not in ({}, [])]
    tokens: list[tuple[str, float]] = []
    moment = to_epoch(now)
    if verify and scheme is not None and secret:  # (secret: raised above if missing)
        window = scheme.tolerance_seconds if tolerance is None else tolerance
        if not window > 0:
            raise ValidationError("must be a positive number of seconds", field="tolerance")
        tokens = verify_request(
            provider_name,
            scheme,
            Request(raw, headers, url),
            records,
            secret=secret,
            now=moment,
            tolerance=window,
        )
    received = Received(
        (build_event(provider_name, spec, hooks, record) for record in records),
        (token for token, _ in tokens),
    )
    guard = replay if replay is not None else DEFAULT_GUARD  # an empty guard is falsy
    if tokens and not guard.claim(provider_name, tokens, now=moment):
        raise WebhookVerificationError(provider_name, "a token was seen before (a replay)")
    return received
