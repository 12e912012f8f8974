"""Which providers agentyield records into: the caller's, the application's global ones, or its own.

Only when neither the caller nor the application configured a provider does agentyield set one up: with
the OTLP exporter the standard `OTEL_*` variables name when an OTLP endpoint is set, and otherwise the
embedded default, OTLP JSON lines under `./.agentyield/` (`AGENTYIELD_DIR`). Nothing here opens a
connection: exporters connect on their first export. Providers set up here flush at interpreter exit.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

__all__ = ["prometheus_meter_provider", "resolve_meter_provider", "resolve_tracer_provider"]

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


_EXPORTERS = {
    # signal: (embedded default, OTLP gRPC, OTLP HTTP/protobuf), imported only when chosen
    "traces": (
        "agentyield._files:JsonLinesSpanExporter",
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter:OTLPSpanExporter",
        "opentelemetry.exporter.otlp.proto.http.trace_exporter:OTLPSpanExporter",
    ),
    "metrics": (
        "agentyield._files:JsonLinesMetricExporter",
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter",
    ),
}


def _exporter(signal: str, directory: str | Path | None) -> Any:
    """The embedded default's exporter, or the OTLP exporter of the configured protocol."""
    embedded = _embedded(signal, directory)
    files, grpc, http = _EXPORTERS[signal]
    module, name = (files if embedded is not None else grpc if _protocol(signal) == "grpc" else http).split(":")
    exporter_class = getattr(importlib.import_module(module), name)
    return exporter_class(embedded) if embedded is not None else exporter_class()


def resolve_tracer_provider(given: TracerProvider | None, directory: str | Path | None = None) -> TracerProvider:
    if given is not None:
        return given
    current = trace.get_tracer_provider()
    if not isinstance(current, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return current
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = SDKTracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_exporter("traces", directory)))
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
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    provider = SDKMeterProvider(metric_readers=[PeriodicExportingMetricReader(_exporter("metrics", directory))])
    metrics.set_meter_provider(provider)
    return provider


def prometheus_meter_provider(port: int, address: str) -> MeterProvider:
    """A meter provider whose metrics Prometheus scrapes from `http://address:port/metrics` (the local
    metrics path for machines without a Collector). The metric names are those of the OTLP path."""
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server
    except ImportError:
        raise ImportError("prometheus_port needs the prometheus extra: pip install 'agentyield[prometheus]'") from None
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider

    start_http_server(port, addr=address)
    return SDKMeterProvider(metric_readers=[PrometheusMetricReader()])
