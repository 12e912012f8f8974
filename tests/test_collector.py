"""The real OpenTelemetry Collector in front of `agentyield serve`: the distribution built from
collector-config/builder-config.yaml (cached outside the repository) runs the shipped configurations.

The same workload sent through otelcol-serve.yaml to one worker and through otelcol-scaleout.yaml (the
load-balancing exporter, by trace id) to three workers gives, summed over the workers, exactly the
single worker's metrics.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from agentyield import _semconv as sc
from serve_util import MetricsSink, serving
from test_prometheus_scrape import free_port
from test_processor import record_scenario
from test_serve import COMPARED, approx

CONFIG = Path(__file__).parent.parent / "collector-config"


@pytest.fixture(scope="module")
def otelcol() -> str:
    """The built Collector: `make collector` builds it once (Go and the Go module proxy, minutes)."""
    if shutil.which("go") is None:
        message = "Go is not installed; the Collector is built with the OpenTelemetry Collector Builder"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    done = subprocess.run(["bash", str(CONFIG / "build-collector.sh")], capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def collector(binary: str, config: str, **env: str) -> Iterator[int]:
    """The Collector with `config`, on free ports; yields its OTLP/gRPC port. Stopped with SIGTERM (it drains)."""
    grpc, http, health = free_port(), free_port(), free_port()
    environment = {
        **os.environ,
        "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc}",
        "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http}",
        "HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{health}",
        "JAEGER_ENDPOINT": f"127.0.0.1:{free_port()}",  # no Jaeger here: its exporter retries on its own queue
        **env,
    }
    command = [binary, f"--config={CONFIG / config}", "--set=service.telemetry.metrics.level=none"]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health}/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read() if process.stderr else ""
            time.sleep(0.2)
        yield grpc
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def task_traces(runs: int) -> list[Any]:
    """The processor scenario's task traces, several runs: whole traces that each start at a task. (The
    scenario's persistent agent has a window across traces, which workers split: collector-config says so.)"""
    spans: list[Any] = []
    for _ in range(runs):
        _, finished = record_scenario()
        task_roots = {s.context.trace_id for s in finished if s.parent is None and sc.TASK_ID in (s.attributes or {})}
        spans += [s for s in finished if s.context.trace_id in task_roots]
    return spans


def send(port: int, spans: list[Any]) -> None:
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True)
    for i in range(0, len(spans), 7):  # several requests, so the Collector sees traces in pieces
        assert exporter.export(spans[i : i + 7]) is SpanExportResult.SUCCESS
    exporter.shutdown()


def test_scale_out_by_trace_id_sums_to_one_worker(otelcol: str) -> None:
    spans = task_traces(4)
    one, three = MetricsSink(), MetricsSink()
    try:
        with serving("--verification-tool", "run_tests", sink=one, instance="single") as worker:
            with collector(otelcol, "otelcol-serve.yaml", AGENTYIELD_SERVE_ENDPOINT=f"127.0.0.1:{worker.grpc}") as port:
                send(port, spans)
            assert worker.stop()[0] == 0
        with ExitStack() as stack:
            workers = [stack.enter_context(serving("--verification-tool", "run_tests", sink=three, instance=f"worker-{i}")) for i in range(3)]
            hosts = ", ".join(f"127.0.0.1:{w.grpc}" for w in workers)
            with collector(otelcol, "otelcol-scaleout.yaml", AGENTYIELD_SERVE_WORKERS=f"[{hosts}]") as port:
                send(port, spans)
            assert all(w.stop()[0] == 0 for w in workers)
        single, summed = one.summed(), three.summed()
        assert sum(single["agentyield.llm.calls"].values()) == 4 * 7  # the scenario's task calls, 4 runs
        for name in COMPARED:
            assert summed.get(name, {}) == approx(single.get(name, {})), name
        busy = [i for i, series in three.latest.items() if sum(series.get("agentyield.llm.calls", {}).values())]
        assert len(busy) >= 2, f"traces did not spread over the workers: {busy}"
    finally:
        one.close()
        three.close()
