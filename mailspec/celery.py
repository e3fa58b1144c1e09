"""Send mail from Celery workers (``pip install 'mailspec[celery]'``), exactly once.

Celery is the queue; mailspec adds what makes a redelivered task safe::

    from celery import Celery
    import mailspec.celery

    app = Celery("shop", broker="redis://10.0.0.5:6379/0")
    send = mailspec.celery.send_task(app)          # the task "mailspec.send"

    mailspec.celery.enqueue(send, Message(...))    # sets the idempotency key, then queues

- The message's idempotency key is set **before** it is queued (:func:`enqueue`), so
  every delivery of the task, a redelivery after a worker died included, sends the same
  key, and the ledger on the workers' shared store (``MAILSPEC_STORE=redis://…``) sends
  it once: a key already accepted is replayed, a key whose sender died is resolved
  first (see :mod:`mailspec.mailer.core`).
- The task acknowledges late and is rejected back to the queue when its worker is lost
  (``acks_late``, ``reject_on_worker_lost``), so a killed worker's task runs again
  elsewhere. With the Redis broker, that happens once its ``visibility_timeout`` has
  passed: set it (``broker_transport_options``) longer than a send's ``deadline``.
- While another worker holds the key (:class:`~mailspec.SendInProgress`; or
  :class:`~mailspec.ClaimLost`, when another took it over mid-send) the task retries
  after the other's lease; a store that fails before any request
  (:class:`~mailspec.StoreError`) is retried with backoff. A key queued again with a
  different message ends the task with :class:`~mailspec.IdempotencyConflict`, nothing
  sent. An ambiguous outcome at
  providers that all deduplicate the key (SendCloud's ``sendRequestId``) is retried
  too, a few times with backoff: the retry sends the key to them again, which resolves
  it (they process it once). Anything else ends the task with its error: a message
  error, every provider refusing, or an ambiguous outcome at a provider that cannot be
  asked, which stays on the ledger so that sending the key again never sends twice.
- With the Redis broker, a worker killed at the instant it takes a task off the queue
  loses that task: kombu moves it to its unacknowledged set in a second step. Since
  queueing a keyed message again never sends it twice (the ledger replays or resolves
  the key), a producer that must know queues again, with the same key, each message
  whose task has not ended after a while (longer than a send and a redelivery).
- Each worker process builds its Mailer once, when it runs its first task, from
  ``mailer`` (a callable) or from the environment (:meth:`mailspec.Mailer.from_env`:
  ``MAILSPEC_PROVIDERS``, ``MAILSPEC_STORE``).

The task takes the message as :func:`message_payload` gives it (JSON: attachments'
bytes as base64) and returns a JSON summary of the result. A message whose recipients
are all suppressed ends the task with :class:`~mailspec.Suppressed`, never retried.

Failover on the delivery outcome (``MAILSPEC_REDELIVER_AFTER``) runs from Celery beat::

    redeliver = mailspec.celery.redeliver_task(app)   # the task "mailspec.redeliver"
    app.conf.beat_schedule = {
        "mailspec-redeliver": {"task": "mailspec.redeliver", "schedule": 60.0},
    }

Each run polls the providers' status lookups (``poll=True``) and then sends each due
message once more (:meth:`mailspec.Mailer.redeliver_due`); runs that overlap, on several
workers, redeliver each message once (the ledger holds each redelivery's key).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import msgspec
from celery import Celery, Task
from celery.result import AsyncResult

from .errors import AllProvidersFailed, MailspecError, SendInProgress, StoreError, ValidationError
from .mailer import Mailer
from .mailer.claims import new_key
from .mailer.ledger import Claimed
from .message import Message
from .results import SendResult

__all__ = [
    "enqueue",
    "message_from_payload",
    "message_payload",
    "redeliver_task",
    "resolvable",
    "send_task",
]

# a store that fails before any request: retried this often, waiting this long first
STORE_RETRIES = 5
STORE_BACKOFF = 2.0
# an ambiguous outcome at providers that deduplicate the key: resolved by a retry
AMBIGUOUS_RETRIES = 4
AMBIGUOUS_BACKOFF = 1.0


def message_payload(message: Message) -> dict[str, Any]:
    """``message`` as JSON-able builtins (attachment content as base64)."""
    if not isinstance(message, Message):
        raise ValidationError(f"expected a Message, got {type(message).__name__}")
    payload: dict[str, Any] = msgspec.to_builtins(message)
    return payload


def message_from_payload(payload: object) -> Message:
    """The Message :func:`message_payload` wrote; ValidationError naming the field."""
    try:
        return msgspec.convert(payload, Message)
    except msgspec.ValidationError as exc:
        raise ValidationError(f"not a message payload: {exc}", field="payload") from None


def enqueue(task: Task, message: Message, **options: Any) -> AsyncResult:
    """Queue ``message`` on ``task`` (made by :func:`send_task`), with its idempotency
    key set first (one is made when it has none), so that every delivery of the task
    sends one key; ``options`` go to ``apply_async`` (``countdown=``, ``queue=``…).
    Queueing the same keyed message again never sends it twice."""
    if message.idempotency_key is None:
        message = msgspec.structs.replace(message, idempotency_key=new_key())
    return task.apply_async(args=[message_payload(message)], **options)


def send_task(
    app: Celery,
    *,
    name: str = "mailspec.send",
    mailer: Callable[[], Mailer] | None = None,
    **task_options: Any,
) -> Task:
    """Register on ``app`` the task that sends one message through a Mailer (built once
    per worker process by ``mailer()``, default :meth:`mailspec.Mailer.from_env`), and
    return it. ``task_options`` go to ``app.task`` (``queue=``, ``rate_limit=``…)."""
    worker_mailer = _once_per_process(mailer or Mailer.from_env)
    options: dict[str, Any] = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "max_retries": None,  # bounded below, per kind of retry
        **task_options,
    }

    @app.task(name=name, bind=True, **options)  # type: ignore[untyped-decorator]
    def send(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
        message = message_from_payload(payload)
        if message.idempotency_key is None:
            raise ValidationError(
                "queue messages with mailspec.celery.enqueue(), which sets the key "
                "every delivery of the task must share",
                field="idempotency_key",
            )
        mailer = worker_mailer()
        try:
            return summary(mailer.send(message))
        except AllProvidersFailed as exc:
            tries = self.request.retries
            if not (exc.ambiguous and resolvable(mailer, exc)) or tries >= AMBIGUOUS_RETRIES:
                raise
            countdown = AMBIGUOUS_BACKOFF * 2**tries
            raise self.retry(countdown=countdown, exc=exc, max_retries=AMBIGUOUS_RETRIES) from exc
        except SendInProgress as exc:
            # another worker is sending this key: ask again when its lease has run out
            raise self.retry(countdown=exc.retry_after + 0.5, exc=exc, max_retries=100) from exc
        except StoreError as exc:
            tries = self.request.retries
            if tries >= STORE_RETRIES:
                raise
            countdown = STORE_BACKOFF * 2**tries
            raise self.retry(countdown=countdown, exc=exc, max_retries=STORE_RETRIES) from exc

    return send


def redeliver_task(
    app: Celery,
    *,
    name: str = "mailspec.redeliver",
    mailer: Callable[[], Mailer] | None = None,
    poll: bool = True,
    **task_options: Any,
) -> Task:
    """Register on ``app`` the task that runs :meth:`mailspec.Mailer.redeliver_due`
    (after :meth:`mailspec.Mailer.poll`, with ``poll``) on a Mailer built once per
    worker process (as :func:`send_task`'s), for Celery beat; it returns
    ``{"polled_events": N, "redelivered": [summary, ...]}``. The Mailer needs
    ``redeliver_after`` (``MAILSPEC_REDELIVER_AFTER``) and the senders' shared store."""
    worker_mailer = _once_per_process(mailer or Mailer.from_env)

    @app.task(name=name, **task_options)  # type: ignore[untyped-decorator]
    def redeliver() -> dict[str, Any]:
        mailer = worker_mailer()
        if mailer.redeliver_after is None:
            raise ValidationError(
                "the Mailer has no redeliver_after (MAILSPEC_REDELIVER_AFTER): nothing is due",
                field="redeliver_after",
            )
        polled = mailer.poll() if poll else 0
        made = mailer.redeliver_due()
        return {"polled_events": polled, "redelivered": [summary(r) for r in made]}

    return redeliver


def _once_per_process(build: Callable[[], Mailer]) -> Callable[[], Mailer]:
    """``build()``'s Mailer, made on first use and kept for the process."""
    built: list[Mailer] = []
    lock = threading.Lock()

    def worker_mailer() -> Mailer:
        with lock:
            if not built:
                built.append(build())
            return built[0]

    return worker_mailer


def resolvable(mailer: Mailer, error: AllProvidersFailed) -> bool:
    """Whether sending the key of ``error`` again resolves it: one provider may hold
    the message (the one the ledger keeps for the key, or else the one whose attempt
    was ambiguous) and it deduplicates keys, so sent the key again it processes it
    once (see :meth:`mailspec.Mailer.send`)."""
    maybe = {a.provider for a in error.attempts if a.error is not None and a.error.ambiguous}
    try:
        if mailer.ledger is not None and error.idempotency_key is not None:
            entry = mailer.ledger.lookup(error.idempotency_key)
            if isinstance(entry, Claimed):
                maybe = set(entry.tried)
        windows = [mailer.provider(key).capabilities.idempotency_window for key in maybe]
    except MailspecError:  # the store failing, or a provider this Mailer lacks
        return False
    return len(windows) == 1 and windows[0] is not None


def summary(result: SendResult) -> dict[str, Any]:
    """What the task returns: a JSON summary of ``result``."""
    return {
        "provider": result.provider,
        "message_ids": list(result.message_ids),
        "idempotency_key": result.idempotency_key,
        "replayed": result.replayed,
        "dropped": list(result.dropped),
        "refused": dict(result.refused),
        "suppressed": list(result.suppressed),
    }
