"""Which providers agentyield records into: the caller's, the application's global ones, or its own.

Only when neither the caller nor the application configured a provider does agentyield set one up: with
the OTLP exporter the standard `OTEL_*` variables name when an OTLP endpoint is set, and otherwise the
embedded default, OTLP JSON lines under `./.agentyield/` (`AGENTYIELD_DIR`). Nothing here opens a
connection: exporters connect on their first export. Providers set up here flush at interpreter exit.
"""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

__all__ = ["resolve_meter_provider", "resolve_tracer_provider"]

_ENDPOINTS = {
    "traces": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "metrics": ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
}


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    return (value or "http/protobuf").strip()


def _embedded(signal: str, directory: str | Path | None) -> Path | None:
    """The embedded default's directory, unless an OTLP endpoint is configured for `signal`."""
    if any(os.environ.get(name) for name in _ENDPOINTS[signal]):
        return None
    from ._files import DEFAULT_DIRECTORY, DIRECTORY_ENV

    return Path(directory or os.environ.get(DIRECTORY_ENV) or DEFAULT_DIRECTORY)


def resolve_tracer_provider(given: TracerProvider | None, directory: str | Path | None = None) -> TracerProvider:
    if given is not None:
        return given
    current = trace.get_tracer_provider()
    if not isinstance(current, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return current
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    exporter: SpanExporter
    embedded = _embedded("traces", directory)
    if embedded is not None:
        from ._files import JsonLinesSpanExporter

        exporter = JsonLinesSpanExporter(embedded)
    elif _protocol("traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter

        exporter = HTTPSpanExporter()
    provider = SDKTracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def resolve_meter_provider(given: MeterProvider | None, directory: str | Path | None = None) -> MeterProvider:
    """Same rule as for traces: the caller's, else the application's global one, else agentyield's own."""
    if given is not None:
        return given
    current = metrics.get_meter_provider()
    # The API's placeholder (a proxy until one is set) lives in its internal module, like the no-op one.
    if not isinstance(current, metrics.NoOpMeterProvider) and type(current).__module__ != "opentelemetry.metrics._internal":
        return current
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader

    exporter: MetricExporter
    embedded = _embedded("metrics", directory)
    if embedded is not None:
        from ._files import JsonLinesMetricExporter

        exporter = JsonLinesMetricExporter(embedded)
    elif _protocol("metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HTTPMetricExporter

        exporter = HTTPMetricExporter()
    provider = SDKMeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter)])
    metrics.set_meter_provider(provider)
    return provider
