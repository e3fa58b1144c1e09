"""The Celery app the tests' and the soak's workers run (``celery -A
benchmarks.celery_app worker``; see :class:`benchmarks.services.CeleryWorkers`),
configured from the environment they are given: the broker and result backend on a
redis-server of ours, the providers and the store in MAILSPEC_PROVIDERS/MAILSPEC_STORE,
a short visibility timeout so that a killed worker's task is redelivered within
seconds, a short deadline and claim lease to match, and any other Mailer options as
JSON in TEST_MAILER_OPTIONS."""

from __future__ import annotations

import json
import os
from typing import Any

from celery import Celery

import mailspec
import mailspec.celery

app = Celery(
    "mailspec-workers", broker=os.environ["TEST_BROKER"], backend=os.environ["TEST_BACKEND"]
)
app.conf.update(
    # a dead worker's task goes back to the queue once unacknowledged this long, looked
    # for every second (kombu's default is every 10 s, and only on every 10th look)
    broker_transport_options={
        "visibility_timeout": float(os.environ["TEST_VISIBILITY"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    },
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
)


def mailer() -> mailspec.Mailer:
    deadline = float(os.environ["TEST_DEADLINE"])
    options: dict[str, Any] = {"deadline": deadline, "claim_lease": deadline + 1, "backoff": 0.05}
    options.update(json.loads(os.environ.get("TEST_MAILER_OPTIONS", "{}")))
    return mailspec.Mailer.from_env(**options)


send = mailspec.celery.send_task(app, mailer=mailer)
redeliver = mailspec.celery.redeliver_task(app, mailer=mailer)
