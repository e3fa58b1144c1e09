"""Fixtures for the OpenTelemetry tests; they live in otel_support.py."""

from otel_support import sdk

__all__ = ["sdk"]
