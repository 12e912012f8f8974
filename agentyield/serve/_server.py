"""`agentyield serve`: receives spans from anyone's instrumentation over OTLP, assembles traces, books them
through the same booking and ledger as the span processor, and exports the derived metrics.

Threads: the receivers decode and hand spans to the assembler (O(spans), no booking); one booking thread
books due traces, so the ledger sees one trace at a time in time order, exactly as replay does. The
derived metrics leave over OTLP (the standard `OTEL_EXPORTER_OTLP_*` variables; only when an endpoint is
set, since the exporter's default endpoint would be this server) and, optionally, for Prometheus to scrape.
Shutdown (SIGTERM, SIGINT) stops the receivers, books every open trace and flushes the metrics.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentyield import _semconv as sc
from agentyield.processors._ledger import Ledger, Limits
from agentyield.processors._metrics import LedgerMetrics
from agentyield.processors._pricing import PriceBook
from agentyield.processors._traces import CallWindow, book_spans

from agentyield.processors._assembly import AssemblyLimits, TraceAssembler
from ._decode import rows

if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.sdk.metrics import MeterProvider

__all__ = ["ServeConfig", "Server", "TOKEN_ENV"]

TOKEN_ENV = "AGENTYIELD_SERVE_TOKEN"
"""The bearer token clients must send, from the environment (never a command-line argument, which `ps` shows)."""


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    grpc_port: int | None = 4317
    """None: no gRPC receiver. 0: any free port."""
    http_port: int | None = 4318
    prometheus_port: int | None = None
    max_request_bytes: int = 16 * 1024 * 1024
    token: str | None = None
    verification_tools: tuple[str, ...] = ()
    assembly: AssemblyLimits = field(default_factory=AssemblyLimits)
    ledger: Limits = field(default_factory=Limits)
    tick_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("grpc_port", "http_port", "prometheus_port"):
            port = getattr(self, name)
            if port is not None and not 0 <= port <= 65535:
                raise ValueError(f"{name} must be a port number (0-65535), got {port}")
        if self.grpc_port is None and self.http_port is None:
            raise ValueError("at least one of grpc_port and http_port is needed")
        if self.max_request_bytes <= 0:
            raise ValueError(f"max_request_bytes must be positive, got {self.max_request_bytes}")


def _meter_provider(config: ServeConfig) -> MeterProvider:
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    from agentyield._setup import _ENDPOINTS, _exporter

    readers: list[Any] = []
    if any(os.environ.get(name) for name in _ENDPOINTS["metrics"]):
        exporter, _ = _exporter("metrics", None)  # (exporter, where it delivers)
        readers.append(PeriodicExportingMetricReader(exporter))
    if config.prometheus_port is not None:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(config.prometheus_port, addr=config.host)
        readers.append(PrometheusMetricReader())
    # service.instance.id (OTEL_RESOURCE_ATTRIBUTES) tells the workers of a scale-out apart.
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "agentyield-serve")})
    return SDKMeterProvider(metric_readers=readers, resource=resource)


class Server:
    def __init__(self, config: ServeConfig, prices: PriceBook | None = None) -> None:
        self.config = config
        self.prices = prices or PriceBook()
        self.meter_provider = _meter_provider(config)
        self.ledger = Ledger(self.prices, limits=config.ledger)
        self.metrics = LedgerMetrics(self.ledger, self.meter_provider, {sc.PRICE_SOURCE: self.prices.version})
        self.ledger.sink = self.metrics.record
        self.assembler = TraceAssembler(config.assembly, self._limit_hit)
        self.spans_received = 0
        self.traces_booked = 0
        self._window = CallWindow()
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        self._receivers: list[Any] = []
        self._threads: list[threading.Thread] = []

    def _limit_hit(self, what: str, n: int) -> None:
        with self.ledger._lock:
            self.ledger.limits_hit[what] += n

    def accept(self, request: ExportTraceServiceRequest) -> int | None:
        """Hand a decoded request's spans to the assembler; returns how many were rejected (no ids), or None
        when the request is refused for now (booking is behind: the sender retries)."""
        spans = rows(request)
        valid = [(span, size) for span, size in spans if span.trace_id and span.span_id]
        if not self.assembler.add(valid):
            return None
        with self._count_lock:
            self.spans_received += len(valid)
        if len(valid) < len(spans):
            self._limit_hit("serve:spans_without_ids", len(spans) - len(valid))
        return len(spans) - len(valid)

    def health(self) -> dict[str, Any]:
        return {
            "status": "stopping" if self._stop.is_set() else "ok",
            "spans_received": self.spans_received,
            "traces_booked": self.traces_booked,
            "open_traces": self.assembler.open_traces,
            "held_bytes": self.assembler.held_bytes,
        }

    def book_due(self, *, everything: bool = False) -> None:
        for spans, size in self.assembler.take_due(everything=everything):
            for _ in book_spans(self.ledger, spans, self.config.verification_tools, self._window):
                pass
            self.assembler.booked(size)
            self.traces_booked += 1

    def _booking_loop(self) -> None:
        while not self._stop.is_set():
            self.assembler.wake.wait(self.config.tick_s)
            self.book_due()

    def start(self) -> dict[str, int]:
        """Start the receivers and the booking thread; returns the ports listened on."""
        from ._grpc import GrpcReceiver
        from ._http import HttpReceiver

        config, ports = self.config, {}
        if config.grpc_port is not None:
            grpc_receiver = GrpcReceiver(
                config.host, config.grpc_port, self.accept, max_request_bytes=config.max_request_bytes, token=config.token
            )
            grpc_receiver.start()
            self._receivers.append(grpc_receiver)
            ports["grpc"] = grpc_receiver.port
        if config.http_port is not None:
            http_receiver = HttpReceiver(
                config.host, config.http_port, self.accept, self.health, max_request_bytes=config.max_request_bytes, token=config.token
            )
            self._receivers.append(http_receiver)
            self._threads.append(threading.Thread(target=http_receiver.serve_forever, name="agentyield-http", daemon=True))
            ports["http"] = http_receiver.port
        self._threads.append(threading.Thread(target=self._booking_loop, name="agentyield-booking", daemon=True))
        for thread in self._threads:
            thread.start()
        return ports

    def stop(self) -> None:
        """Graceful: stop receiving, book every open trace, flush the metrics."""
        self._stop.set()
        for receiver in self._receivers:
            receiver.shutdown()
        for thread in self._threads:
            thread.join(timeout=10)
        self.book_due(everything=True)
        try:
            self.meter_provider.force_flush(timeout_millis=60_000)
        finally:
            self.meter_provider.shutdown()

    def wait(self) -> None:
        while not self._stop.wait(3600):
            pass

    def request_stop(self) -> None:
        self._stop.set()


def run(config: ServeConfig, prices: PriceBook | None = None, *, announce: Any = print) -> None:
    """The command: serve until SIGTERM or SIGINT, then shut down gracefully."""
    import signal

    server = Server(config, prices)
    ports = server.start()
    listening = ", ".join(f"{name} {config.host}:{port}" for name, port in ports.items())
    announce(f"agentyield serve: listening on {listening}", flush=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.request_stop())
    server.wait()
    started = time.monotonic()
    server.stop()
    announce(f"agentyield serve: stopped; booked {server.traces_booked} traces in total ({time.monotonic() - started:.1f} s to drain)", flush=True)
