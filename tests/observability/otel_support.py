"""One OpenTelemetry SDK for the process (the API takes its providers once), with
in-memory exporters the tests read and clear (imported as ``otel_support``: a bare
``conftest`` import would collide with other test folders')."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["Sdk", "sdk"]


@dataclass
class Sdk:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader


_SDK: Sdk | None = None


@pytest.fixture
def sdk() -> Iterator[Sdk]:
    global _SDK
    if _SDK is None:
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        _SDK = Sdk(exporter, reader)
    _SDK.spans.clear()
    _SDK.metrics.get_metrics_data()  # cumulative: tests compare against a reading before
    yield _SDK
