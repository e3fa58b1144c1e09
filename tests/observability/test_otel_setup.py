"""Before an application sets up an OpenTelemetry SDK a Mailer reports nothing; once it
does, the same Mailer's next sends are traced. In a fresh process, since the API takes
its providers once per process (the other tests here set them up for theirs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mailspec import Mailer, Message
    from mailspec.sandbox import SandboxServer

    message = Message(from_email="noreply@example.com", to="ann@example.org",
                      subject="Hi", text="x")
    with SandboxServer("sendcloud") as server:
        mailer = Mailer([server.provider()])
        mailer.send(message)  # no SDK yet: nothing to report to
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        mailer.send(message)
        print(sorted(span.name for span in exporter.get_finished_spans()))

        # metrics alone count too
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        mailer.send(message)
        data = reader.get_metrics_data()
        names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics
                 for m in sm.metrics}
        print("mailspec.attempts" in names, server.requests)
    """
)


def test_a_mailer_is_traced_from_the_send_after_an_sdk_is_set_up() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    spans, counted = done.stdout.splitlines()
    assert spans == "['mailspec.attempt', 'mailspec.send']"  # the second send's, only
    assert counted == "True 3"


ENVIRONMENT_SCRIPT = textwrap.dedent(
    """
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from mailspec import Mailer, Message
    from mailspec.sandbox import SandboxServer

    message = Message(from_email="noreply@example.com", to="ann@example.org",
                      subject="Hi", text="x")
    with SandboxServer("sendcloud") as server:
        mailer = Mailer([server.provider()])
        mailer.send(message)  # the environment's provider is loaded by this first send
        print(type(trace._TRACER_PROVIDER).__name__)  # the API's global, before any get
        exporter = InMemorySpanExporter()
        trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
        mailer.send(message)
        print(sorted(span.name for span in exporter.get_finished_spans()))
    """
)


def test_a_tracer_provider_the_environment_names_is_reported_to() -> None:
    """OTEL_PYTHON_TRACER_PROVIDER names the SDK's provider by its entry point: the API
    loads it when first asked, with no call to set_tracer_provider in the program."""
    env = {**os.environ, "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider"}
    done = subprocess.run(
        [sys.executable, "-c", ENVIRONMENT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "TracerProvider",  # the SDK's: loaded by the first send, not by this script
        "['mailspec.attempt', 'mailspec.send']",
    ]
