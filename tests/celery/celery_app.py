"""The Celery app the test workers run (``celery -A celery_app worker``), configured
from the environment the fixture gives them: the broker and result backend on the
tests' redis-server, the providers and the store in MAILSPEC_PROVIDERS/MAILSPEC_STORE,
a short visibility timeout so that a killed worker's task is redelivered within
seconds, and a short deadline and claim lease to match."""

from __future__ import annotations

import os

from celery import Celery

import mailspec
import mailspec.celery

app = Celery("mailspec-tests", broker=os.environ["TEST_BROKER"], backend=os.environ["TEST_BACKEND"])
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
    return mailspec.Mailer.from_env(deadline=deadline, claim_lease=deadline + 1, backoff=0.05)


send = mailspec.celery.send_task(app, mailer=mailer)
