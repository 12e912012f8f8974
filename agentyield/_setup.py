"""Wiring agentyield into providers: the caller's, the application's global ones, or its own.

Only when neither the caller nor the application configured a provider does agentyield set one up: with
the OTLP exporter the standard `OTEL_*` variables name when an OTLP endpoint is set, and otherwise the
embedded default, OTLP JSON lines under `./.agentyield/` (`AGENTYIELD_DIR`). Nothing here opens a
connection: exporters connect on their first export. Providers set up here end within a bounded time
(`_lifecycle`).

`attach()` is shared by `agentyield.instrument()` and `opentelemetry-instrument` (the entry point), so both
start the same way. The rule for bad configuration: an explicit argument that is wrong raises at the call
(`ValueError`, or `ImportError` naming the extra to install); an environment variable never stops the
agent (one warning, and agentyield runs without that feature); and what the machine does at run time
(a port in use, a full or read-only disk, a Collector that is down) is one warning, whichever asked for it.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from . import _tasks, _tools
from ._config import Config
from ._semconv import PRICE_SOURCE
from ._version import __version__

if TYPE_CHECKING:
    from agentyield.processors import PriceBook

    from ._deferred import DeferredProcessor

__all__ = ["Wiring", "attach", "check_prometheus_port", "detach", "resolve_meter_provider", "resolve_tracer_provider"]

logger = logging.getLogger("agentyield")

PRICES_ENV = "AGENTYIELD_PRICES"
AGENT_ENV = "AGENTYIELD_AGENT"
PROMETHEUS_PORT_ENV = "AGENTYIELD_PROMETHEUS_PORT"
PROMETHEUS_ADDRESS_ENV = "AGENTYIELD_PROMETHEUS_ADDRESS"

_ENDPOINTS = {
    "traces": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "metrics": ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
}

# One processor per tracer provider: the SDK cannot remove a processor, so instrumenting again reuses it.
_processors: weakref.WeakKeyDictionary[object, DeferredProcessor] = weakref.WeakKeyDictionary()
_samplers: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()


def _env_warning(name: str, value: str, problem: str) -> None:
    logger.warning("agentyield: ignoring %s=%r: %s", name, value, problem)


def check_prometheus_port(port: Any) -> int:
    """An explicit `prometheus_port`: an int from 0 to 65535, else ValueError at the call."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"prometheus_port={port!r} is not a port number (an int from 0 to 65535)")
    return port


def _protocol(signal: str) -> str:
    value = os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    return (value or "http/protobuf").strip()


def _embedded_directory(directory: str | Path | None) -> Path:
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
        "agentyield._meters:JsonLinesMetricExporter",
        "opentelemetry.exporter.otlp.proto.grpc.metric_exporter:OTLPMetricExporter",
        "opentelemetry.exporter.otlp.proto.http.metric_exporter:OTLPMetricExporter",
    ),
}


def _load(spec: str) -> Any:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _exporter(signal: str, directory: str | Path | None) -> tuple[Any, str]:
    """The OTLP exporter of the configured protocol when an endpoint is set, else the embedded default; and
    where it delivers. Exporter settings from the environment that the SDK cannot read fall back to the
    embedded default with a warning, so nothing is lost and the agent starts."""
    files, grpc, http = _EXPORTERS[signal]
    endpoint = next((os.environ[name] for name in _ENDPOINTS[signal] if os.environ.get(name)), None)
    if endpoint is not None:
        try:
            exporter = _load(grpc if _protocol(signal) == "grpc" else http)()
            return exporter, str(getattr(exporter, "_endpoint", endpoint))
        except Exception as exc:  # noqa: BLE001 - environment never stops the agent
            logger.warning("agentyield: cannot set up the OTLP %s exporter from the environment (%s); writing to the embedded default instead", signal, exc)
    path = _embedded_directory(directory)
    return _load(files)(path), str(path)


def resolve_tracer_provider(given: TracerProvider | None, directory: str | Path | None = None) -> TracerProvider:
    if given is not None:
        return given
    current = trace.get_tracer_provider()
    if not isinstance(current, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        return current
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from ._lifecycle import CountedSpanExporter, Delivery, own

    exporter, destination = _exporter("traces", directory)
    delivery = Delivery(destination)
    provider = SDKTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(CountedSpanExporter(exporter, delivery)))
    own(provider, delivery)
    trace.set_tracer_provider(provider)
    return provider


def _global_meter_provider() -> MeterProvider | None:
    """The meter provider the application set globally, if it did."""
    current = metrics.get_meter_provider()
    # The API's placeholder (a proxy until one is set) lives in its internal module, like the no-op one.
    if isinstance(current, metrics.NoOpMeterProvider) or type(current).__module__ == "opentelemetry.metrics._internal":
        return None
    return current


def resolve_meter_provider(given: MeterProvider | None, directory: str | Path | None = None) -> MeterProvider:
    """Same rule as for traces: the caller's, else the application's global one, else agentyield's own.

    `attach()` leaves this to the start-up thread (`_deferred`): the metrics SDK is imported and the provider
    made there, off the one line's time. An application that sets its own global provider before that thread
    sets agentyield's gets its own used, as if it had set it before `instrument()`; one that sets it after
    is refused by the API, as it would have been before (the API lets a global provider be set once)."""
    if given is not None:
        return given
    current = _global_meter_provider()
    if current is not None:
        return current
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from ._lifecycle import Delivery, own
    from ._meters import CountedMetricExporter

    exporter, destination = _exporter("metrics", directory)
    delivery = Delivery(destination, is_metrics=True)
    reader = PeriodicExportingMetricReader(CountedMetricExporter(exporter, delivery))
    provider = SDKMeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    current = _global_meter_provider()  # the application's, if it set one while this one was made
    if current is None:
        metrics.set_meter_provider(provider)
        current = metrics.get_meter_provider()
    if current is not provider:
        provider.shutdown()  # nothing recorded into it yet: ends its reader's thread, exports nothing
        return current
    own(provider, delivery)
    return provider


def _prometheus_meter_provider(port: int | None, address: str | None) -> MeterProvider | None:
    """A meter provider whose metrics Prometheus scrapes from `http://address:port/metrics` (the local
    metrics path for machines without a Collector), or None when `AGENTYIELD_PROMETHEUS_PORT` asked for it
    and it cannot be served (the warning says why). The metric names are those of the OTLP path."""
    explicit = port is not None
    if port is None:
        value = os.environ.get(PROMETHEUS_PORT_ENV, "").strip()
        if not value:
            return None
        try:
            port = check_prometheus_port(int(value))
        except ValueError:
            _env_warning(PROMETHEUS_PORT_ENV, value, "not a port number; no metrics endpoint")
            return None
    address = address or os.environ.get(PROMETHEUS_ADDRESS_ENV) or "127.0.0.1"
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server
    except ImportError:
        install = "pip install 'agentyield[prometheus]'"
        if explicit:
            raise ImportError(f"prometheus_port needs the prometheus extra: {install}") from None
        _env_warning(PROMETHEUS_PORT_ENV, str(port), f"the prometheus extra is not installed ({install}); no metrics endpoint")
        return None
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider

    try:
        start_http_server(port, addr=address)
    except OSError as exc:
        logger.warning("agentyield: cannot serve metrics on %s:%s (%s); running without the metrics endpoint", address, port, exc.strerror or exc)
        return None
    return SDKMeterProvider(metric_readers=[PrometheusMetricReader()])


def _price_book(prices: str | Path | None) -> PriceBook | None:
    """The user's price file, read now (an explicit bad one raises here); None for genai-prices' data only."""
    value = prices or os.environ.get(PRICES_ENV)
    if not value:
        return None
    from agentyield.processors import PriceBook, PriceFileError

    if prices:
        return PriceBook(prices)
    try:
        return PriceBook(value)
    except PriceFileError as exc:
        _env_warning(PRICES_ENV, value, f"{exc}; using genai-prices only")
        return None


@dataclass(frozen=True)
class Wiring:
    """What the library instrumentors record with."""

    tracer_provider: Any
    scope_attributes: dict[str, Any] | None
    config: Config
    before_end: Callable[[Any, int], None] | None


def attach(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    capture_content: bool | None = None,
    request_stream_usage: bool | None = None,
    privacy_scan: bool | None = None,
    prices: str | Path | None = None,
    agent: str | None = None,
    verification_tools: Iterable[str] = (),
    directory: str | Path | None = None,
    prometheus_port: int | None = None,
    prometheus_address: str | None = None,
    small_model: str | None = None,
    **_ignored: Any,
) -> Wiring:
    """Resolve the providers, add the span processor (once per tracer provider) and configure tasks.
    Arguments are `instrument()`'s; `opentelemetry-instrument` passes none, so everything comes from the
    environment and the providers its configurator set up."""
    if prometheus_port is not None:
        check_prometheus_port(prometheus_port)
        if meter_provider is not None:
            raise ValueError("give either meter_provider or prometheus_port: the derived metrics go to one of them")
    from agentyield.processors import RecordEverythingSampler

    from ._deferred import DeferredProcessor

    book = _price_book(prices)  # a bad explicit price file raises before anything is set up
    agent = agent or os.environ.get(AGENT_ENV) or os.environ.get("OTEL_SERVICE_NAME")  # None: "default", unwritten
    tracer_provider = resolve_tracer_provider(tracer_provider, directory)
    processor = _processors.get(tracer_provider)
    if processor is None and hasattr(tracer_provider, "add_span_processor"):
        if meter_provider is None:
            meter_provider = _prometheus_meter_provider(prometheus_port, prometheus_address)
        if meter_provider is None and _global_meter_provider() is None:
            from ._lifecycle import prepare

            prepare()  # from this thread: agentyield's own meter provider is made on the start-up thread
        # A stand-in that resolves the meter provider, builds the span processor and loads the price data on a
        # thread (_deferred).
        processor = DeferredProcessor(
            functools.partial(resolve_meter_provider, meter_provider, directory),
            prices=book,
            default_agent=agent or "default",
            verification_tools=verification_tools,
            small_model=small_model,
        )
        tracer_provider.add_span_processor(processor)
        _processors[tracer_provider] = processor
    if processor is not None and hasattr(tracer_provider, "sampler") and tracer_provider not in _samplers:
        # Derived metrics stay exact under any sampler: drops become record-only for what we derive from.
        _samplers[tracer_provider] = tracer_provider.sampler
        tracer_provider.sampler = RecordEverythingSampler(tracer_provider.sampler)
    scope_attributes = {PRICE_SOURCE: processor.price_source} if processor is not None else None
    _tasks.configure(
        trace.get_tracer("agentyield", __version__, tracer_provider=tracer_provider, attributes=scope_attributes),
        processor.enrich if processor is not None else None,
        agent,
        processor.budget_exceeded if processor is not None else None,
    )
    config = Config.from_env(capture_content=capture_content, request_stream_usage=request_stream_usage, privacy_scan=privacy_scan, agent=agent)
    _tools.configure(config.capture_content)
    if processor is not None:
        processor.warm()  # last: its thread and the rest of start-up share the GIL
    return Wiring(tracer_provider, scope_attributes, config, processor.book_ending if processor is not None else None)


def detach() -> None:
    """Restore the samplers and the task tracer (the SDK cannot remove a span processor; it stays)."""
    for provider, sampler in list(_samplers.items()):
        provider.sampler = sampler  # type: ignore[attr-defined]
        del _samplers[provider]
    _tasks.configure(None, None)
    _tools.configure(False)
