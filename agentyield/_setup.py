"""Which providers agentyield records into: the caller's, the application's global ones, or its own.

Only when neither the caller nor the application configured a provider does agentyield set one up, from
the standard `OTEL_*` environment variables, with the OTLP exporter the protocol variable names. Nothing
here opens a connection: exporters connect on their first export.
"""

from __future__ import annotations

import os

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

__all__ = ["resolve_meter_provider", "resolve_tracer_provider"]

def _protocol(signal_env: str) -> str:
    return (os.environ.get(signal_env) or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf").strip()


def _is_configured(provider: object) -> bool:
    """The API's placeholders mean the application configured nothing."""
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def resolve_tracer_provider(given: TracerProvider | None) -> TracerProvider:
    if given is not None:
        return given
    current = trace.get_tracer_provider()
    if _is_configured(current):
        return current
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if _protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
    provider = SDKTracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def resolve_meter_provider(given: MeterProvider | None) -> MeterProvider:
    """Same rule as for traces: the caller's, else the application's global one, else one from `OTEL_*`."""
    if given is not None:
        return given
    current = metrics.get_meter_provider()
    # The API's placeholder (a proxy until one is set) lives in its internal module, like the no-op one.
    if not isinstance(current, metrics.NoOpMeterProvider) and type(current).__module__ != "opentelemetry.metrics._internal":
        return current
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if _protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # type: ignore[assignment]
    provider = SDKMeterProvider(metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())])
    metrics.set_meter_provider(provider)
    return provider
