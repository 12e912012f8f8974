"""Real parts for `agentyield serve` tests: the server as a subprocess, and an OTLP/HTTP metrics sink that
receives what it exports (as a Collector or Prometheus's OTLP receiver would)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

Series = dict[str, dict[frozenset[tuple[str, Any]], Any]]


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value"))


class MetricsSink:
    """An OTLP/HTTP metrics receiver: keeps the latest cumulative point of each series, per sending instance."""

    def __init__(self) -> None:
        sink = self
        self.latest: dict[str, Series] = {}
        """service.instance.id (or service.name) -> metric name -> labels -> value."""
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                request = ExportMetricsServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                sink._add(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/metrics"

    def _add(self, request: ExportMetricsServiceRequest) -> None:
        with self.lock:
            for resource_metrics in request.resource_metrics:
                resource = {kv.key: _value(kv.value) for kv in resource_metrics.resource.attributes}
                instance = self.latest.setdefault(str(resource.get("service.instance.id", resource.get("service.name"))), {})
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        series = instance.setdefault(metric.name, {})
                        for point in getattr(metric, kind).data_points:
                            labels = frozenset((kv.key, _value(kv.value)) for kv in point.attributes)
                            if kind == "histogram":
                                series[labels] = (point.count, point.sum)
                            else:
                                series[labels] = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double

    def summed(self) -> Series:
        """Every instance's series added up (what `sum without (service_instance_id)` gives in Prometheus)."""
        out: Series = {}
        with self.lock:
            for instance in self.latest.values():
                for name, series in instance.items():
                    target = out.setdefault(name, {})
                    for labels, value in series.items():
                        if isinstance(value, tuple):
                            old = target.get(labels, (0, 0.0))
                            target[labels] = (old[0] + value[0], old[1] + value[1])
                        else:
                            target[labels] = target.get(labels, 0) + value
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ServeProcess:
    """`agentyield serve` in a subprocess on free ports; `stop()` sends SIGTERM and waits for the graceful end."""

    def __init__(self, *args: str, sink: MetricsSink | None = None, instance: str = "serve-1", env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        environment.update(
            OTEL_RESOURCE_ATTRIBUTES=f"service.instance.id={instance}", OTEL_METRIC_EXPORT_INTERVAL="300", PYTHONUNBUFFERED="1"
        )
        if sink is not None:
            environment["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = sink.endpoint
        environment.update(env or {})
        command = [sys.executable, "-m", "agentyield", "serve", "--grpc-port", "0", "--http-port", "0", "--grace", "0.3", *args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"agentyield serve did not start: {line!r} {self.process.stderr.read() if self.process.stderr else ''}")
        ports = dict(part.strip().split(" ") for part in line.split("listening on", 1)[1].split(","))
        self.grpc = int(ports["grpc"].rsplit(":", 1)[1]) if "grpc" in ports else None
        self.http = int(ports["http"].rsplit(":", 1)[1]) if "http" in ports else None

    @property
    def traces_url(self) -> str:
        return f"http://127.0.0.1:{self.http}/v1/traces"

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@contextmanager
def serving(*args: str, sink: MetricsSink | None = None, instance: str = "serve-1", env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    server = ServeProcess(*args, sink=sink, instance=instance, env=env)
    try:
        yield server
    finally:
        server.kill()
