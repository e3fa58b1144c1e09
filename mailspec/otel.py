"""OpenTelemetry spans and metrics of a Mailer's sends (the ``otel`` extra).

mailspec depends on the OpenTelemetry API only, as libraries do: every Mailer reports
through it when ``opentelemetry-api`` is importable (``Mailer(telemetry=False)`` turns
that off), and the API does nothing until the application sets up an SDK. Without the
package, :func:`telemetry` gives a stand-in that does nothing at all.

Spans (tracer ``mailspec``):

- ``mailspec.send``: one per :meth:`~mailspec.Mailer.send`, from the ledger check to
  the result or the error; ``mailspec.outcome`` is ``accepted``, ``replayed`` (the
  ledger held the key as accepted; no request) or ``failed``.
- ``mailspec.attempt``: one child per recorded :class:`~mailspec.Attempt`. An attempt
  is recorded once it is over, carrying its duration, so its span is made then with
  explicit start and end times. Spans rather than span events: a trace view draws
  them as a waterfall with each attempt's duration and status, and a backend can
  select them by provider. They cannot be the parents of spans made during the
  request (an instrumented HTTP client's): those are children of the send span.

Attributes name the provider key, the outcome, the error class (``error.type``), the
provider's code, the retry number and whether the send had failed over. Never an
address, a subject, a credential, or the idempotency key (a caller may build keys
from what names a person).

A redelivery (:meth:`~mailspec.Mailer.redeliver_due`) is a ``mailspec.send`` span of
its own, marked ``mailspec.redelivery`` true.

Metrics (meter ``mailspec``): ``mailspec.events`` (counter of the providers' events
recorded, by ``mailspec.event_type`` and ``mailspec.repeat``: true for an event kept
before, a provider's retry, counted once in the timeline), ``mailspec.suppressions``
(counter by ``mailspec.action``: ``added`` to the list by an event, ``left_out`` of a
send), ``mailspec.redeliveries`` (counter by ``mailspec.outcome``: ``accepted``,
``failed`` — tried again on the next run — or ``abandoned``), ``mailspec.attempts`` (counter by provider, outcome,
error.type), ``mailspec.failovers`` (counter by the provider failed over from and
to), ``mailspec.attempt.duration`` and ``mailspec.send.duration`` (histograms, s),
and ``mailspec.breaker.open`` (gauge per provider: 1 while its breaker is open),
read from each live Mailer's store when the SDK collects.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from .results import Attempt, SendResult


class ObservedMailer(Protocol):
    """What telemetry reads of a Mailer (for the breaker gauge): its provider keys and
    each one's breaker. A protocol, so that this module never imports the Mailer's."""

    @property
    def providers(self) -> Iterable[str]: ...

    def breaker(self, key: str) -> Any: ...


if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span

    from .webhooks.events import Event

__all__ = ["Sending", "Telemetry", "telemetry"]

SCOPE = "mailspec"


class Sending:
    """One send under way: :meth:`done` records its result on the send span."""

    def __init__(self, span: Span | None = None) -> None:
        self.span = span

    def done(self, result: SendResult) -> SendResult:
        if self.span is not None:
            self.span.set_attributes(
                {
                    "mailspec.outcome": "replayed" if result.replayed else "accepted",
                    "mailspec.provider": result.provider,
                    "mailspec.attempts": len(result.attempts),
                    "mailspec.failover": _failed_over(result.attempts),
                }
            )
        return result


class _Untraced(AbstractContextManager[Sending]):
    """The context of a send that reports nothing: a class rather than a generator, so
    that entering it costs next to nothing."""

    sending = Sending()  # holds no span: one serves every send

    def __enter__(self) -> Sending:
        return self.sending

    def __exit__(self, *exc_info: object) -> None:
        return None


_UNTRACED = _Untraced()


class Telemetry:
    """The stand-in when telemetry is off or the API is not installed: does nothing."""

    def sending(self) -> AbstractContextManager[Sending]:
        """Around one send: the span that its attempts' spans are children of."""
        return _UNTRACED

    def attempt(self, attempts: Sequence[Attempt]) -> None:
        """Report the last of ``attempts`` (the send's attempts so far)."""

    def recorded(self, new: Sequence[Event], repeated: int, suppressed: int) -> None:
        """Events recorded: ``new`` ones, ``repeated`` ones already kept, and the
        addresses they suppressed."""

    def suppressed(self, recipients: int) -> None:
        """Recipients left out of a send because they are suppressed."""

    def redelivered(self, outcome: str) -> None:
        """A redelivery ended: ``accepted``, ``failed`` (tried again later) or
        ``abandoned``."""


class _OpenTelemetry(Telemetry):
    """Spans and metrics through the OpenTelemetry API."""

    def __init__(self, mailer: ObservedMailer) -> None:
        self._i = _instruments()
        _mailers.add(mailer)  # for the breaker gauge

    def sending(self) -> AbstractContextManager[Sending]:
        return self._traced() if _set_up() else _UNTRACED

    @contextmanager
    def _traced(self) -> Iterator[Sending]:
        started = time.perf_counter()
        outcome = "failed"
        with self._i.tracer.start_as_current_span(
            "mailspec.send", record_exception=False, set_status_on_exception=False
        ) as span:
            sending = Sending(span)
            try:
                yield sending
                outcome = "accepted"
            except BaseException as exc:
                from opentelemetry.trace import Status, StatusCode

                span.set_attributes({"mailspec.outcome": "failed", "error.type": _name(exc)})
                # the class only: an error's text may quote a provider's answer
                span.set_status(Status(StatusCode.ERROR, _name(exc)))
                raise
            finally:
                self._i.send_duration.record(
                    time.perf_counter() - started, {"mailspec.outcome": outcome}
                )

    def attempt(self, attempts: Sequence[Attempt]) -> None:
        if not _set_up():
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode

        attempt, before = attempts[-1], attempts[:-1]
        error = type(attempt.error).__name__ if attempt.error is not None else None
        attributes: dict[str, Any] = {
            "mailspec.provider": attempt.provider,
            "mailspec.outcome": attempt.outcome,
            "mailspec.retry": sum(
                1 for a in before if a.provider == attempt.provider and a.outcome != "skipped"
            ),
            "mailspec.failover": any(a.provider != attempt.provider for a in before),
        }
        if error is not None:
            attributes["error.type"] = error
        code = getattr(attempt.error, "code", None)
        if isinstance(code, int | str):
            attributes["mailspec.error.code"] = code
        if attempt.dropped:
            attributes["mailspec.dropped"] = list(attempt.dropped)
        end = time.time_ns()
        span = self._i.tracer.start_span(
            "mailspec.attempt",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(attempt.duration * 1e9),
        )
        if attempt.outcome == "failed":
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)

        counted = {"mailspec.provider": attempt.provider, "mailspec.outcome": attempt.outcome}
        self._i.attempts.add(1, {**counted, **({"error.type": error} if error else {})})
        if attempt.outcome != "skipped":
            self._i.attempt_duration.record(attempt.duration, counted)
        if before and before[-1].provider != attempt.provider:
            self._i.failovers.add(
                1,
                {"mailspec.provider": attempt.provider, "mailspec.from": before[-1].provider},
            )

    def recorded(self, new: Sequence[Event], repeated: int, suppressed: int) -> None:
        if not _set_up():
            return
        for event in new:
            self._i.events.add(
                1, {"mailspec.event_type": event.type.value, "mailspec.repeat": False}
            )
        if repeated:
            self._i.events.add(repeated, {"mailspec.repeat": True})
        if suppressed:
            self._i.suppressions.add(suppressed, {"mailspec.action": "added"})

    def suppressed(self, recipients: int) -> None:
        if _set_up():
            self._i.suppressions.add(recipients, {"mailspec.action": "left_out"})

    def redelivered(self, outcome: str) -> None:
        if _set_up():
            self._i.redeliveries.add(1, {"mailspec.outcome": outcome})


def telemetry(mailer: ObservedMailer, enabled: bool = True) -> Telemetry:
    """The telemetry of ``mailer``: through OpenTelemetry when ``enabled`` and the API
    is importable, else the stand-in."""
    if enabled:
        try:
            return _OpenTelemetry(mailer)
        except ImportError:
            pass
    return Telemetry()


def _set_up() -> bool:
    """Whether the application has set up a tracer or meter provider (an SDK). Until
    then the API's proxies drop whatever is reported, so a send builds no span and no
    attributes at all; asked on every send, since an SDK may be set up later.

    Read from the API's globals, which it sets once and for all: its public getters
    read the environment on every call until then. A provider the environment names
    (``OTEL_PYTHON_TRACER_PROVIDER``) is loaded by asking the getters once, when the
    first Mailer reports. Should those globals move (they are not public), the
    getters are asked every time, and the proxies are told by their classes (the
    meter proxy's is not public either: should its name change, telemetry simply
    stays on)."""
    state = _state()
    if state is not None:
        trace_state, metrics_state = state
        return trace_state._TRACER_PROVIDER is not None or metrics_state._METER_PROVIDER is not None
    trace, metrics = _api()
    return not (
        isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
        and type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
    )


@functools.cache
def _api() -> tuple[Any, Any]:
    from opentelemetry import metrics, trace

    return trace, metrics


@functools.cache
def _state() -> tuple[Any, Any] | None:
    """The API modules that hold the global providers, once the environment's have
    been loaded; None where they are not where this version of the API keeps them."""
    trace, metrics = _api()
    try:
        from opentelemetry.metrics import _internal as metrics_state
    except ImportError:
        return None
    if not (hasattr(trace, "_TRACER_PROVIDER") and hasattr(metrics_state, "_METER_PROVIDER")):
        return None
    trace.get_tracer_provider()  # loads a provider the environment names, if any
    metrics.get_meter_provider()
    return trace, metrics_state


def _failed_over(attempts: Sequence[Attempt]) -> bool:
    return len({a.provider for a in attempts}) > 1


def _name(exc: BaseException) -> str:
    return type(exc).__name__


class _Instruments:
    """The tracer and the instruments, made once per process: the API's proxies pass
    them on to an SDK set up later."""

    def __init__(self) -> None:
        from opentelemetry import metrics, trace

        from . import __version__

        self.tracer = trace.get_tracer(SCOPE, __version__)
        meter = metrics.get_meter(SCOPE, __version__)
        self.attempts = meter.create_counter(
            "mailspec.attempts", unit="{attempt}", description="Attempts recorded, by outcome"
        )
        self.failovers = meter.create_counter(
            "mailspec.failovers",
            unit="{failover}",
            description="Moves of a send from one provider to the next",
        )
        self.events = meter.create_counter(
            "mailspec.events", unit="{event}", description="Providers' events recorded"
        )
        self.suppressions = meter.create_counter(
            "mailspec.suppressions",
            unit="{address}",
            description="Addresses suppressed by an event, or left out of a send",
        )
        self.redeliveries = meter.create_counter(
            "mailspec.redeliveries", unit="{message}", description="Redeliveries, by outcome"
        )
        self.attempt_duration = meter.create_histogram(
            "mailspec.attempt.duration", unit="s", description="Duration of one attempt"
        )
        self.send_duration = meter.create_histogram(
            "mailspec.send.duration", unit="s", description="Duration of one send()"
        )
        # one gauge for every live Mailer: one per Mailer would register a callback for
        # each, and keep every Mailer ever made alive
        meter.create_observable_gauge(
            "mailspec.breaker.open",
            callbacks=[_breaker_states],
            unit="1",
            description="1 while a provider's breaker is open, else 0",
        )


@functools.cache
def _instruments() -> _Instruments:
    return _Instruments()


_mailers: weakref.WeakSet[ObservedMailer] = weakref.WeakSet()


def _breaker_states(options: CallbackOptions) -> Iterable[Observation]:
    """One reading per provider key: open if any live Mailer's breaker for it is (two
    Mailers on one shared store read the same record)."""
    from opentelemetry.metrics import Observation

    open_by_key: dict[str, int] = {}
    for mailer in list(_mailers):
        for key in mailer.providers:
            breaker = mailer.breaker(key)
            if breaker is None:
                continue
            try:
                state = breaker.state()
            except Exception:
                continue  # a store out of reach: no reading, not a failed collection
            is_open = int(state.opened_at is not None)
            open_by_key[key] = max(open_by_key.get(key, 0), is_open)
    return [Observation(v, {"mailspec.provider": k}) for k, v in open_by_key.items()]
