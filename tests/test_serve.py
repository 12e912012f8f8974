"""`agentyield serve` as a subprocess, fed by the real OTLP exporters (HTTP and gRPC): the metrics it exports
over OTLP equal those the in-process span processor gave for the same spans."""

from __future__ import annotations

import random
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from serve_util import MetricsSink, serving
from test_processor import record_scenario

COMPARED = (
    "agentyield.llm.calls", "agentyield.tokens", "agentyield.cost.usd", "agentyield.cache.savings.usd", "agentyield.tasks",
    "agentyield.artifacts", "agentyield.unproductive.cost.usd", "agentyield.tool.calls", "agentyield.spans.duplicate",
    "agentyield.tasks.cost_unknown", "agentyield.reasoning.tokens", "agentyield.task.cost.usd", "agentyield.artifact.cost.usd",
)


def approx(series: dict[Any, Any]) -> dict[Any, Any]:
    return {k: (v[0], pytest.approx(v[1], abs=1e-12)) if isinstance(v, tuple) else pytest.approx(v, abs=1e-12) for k, v in series.items()}


@pytest.fixture
def sink() -> Any:
    sink = MetricsSink()
    yield sink
    sink.close()


def assert_same_metrics(got: dict[str, Any], live: dict[str, Any]) -> None:
    for name in COMPARED:
        assert got.get(name, {}) == approx(live.get(name, {})), name


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_serve_equals_live_processor(sink: MetricsSink, protocol: str) -> None:
    with serving("--verification-tool", "run_tests", sink=sink) as server:
        exporter = (
            HttpSpanExporter(endpoint=server.traces_url) if protocol == "http" else GrpcSpanExporter(endpoint=f"127.0.0.1:{server.grpc}", insecure=True)
        )
        live, spans = record_scenario(extra_exporter=exporter)
        exporter.shutdown()
        code, out, err = server.stop()
    assert code == 0, err
    assert "stopped; booked" in out
    assert_same_metrics(sink.summed(), live)


def test_shuffled_over_many_requests_gives_the_same_totals(sink: MetricsSink) -> None:
    live, spans = record_scenario()
    # Each task's spans arrive in a random order, in several requests; whole traces keep their order
    # (a persistent agent's window spans traces, and the Collector keeps per-trace order only).
    by_trace: dict[int, list[Any]] = {}
    for span in spans:
        by_trace.setdefault(span.context.trace_id, []).append(span)
    rng = random.Random(10)
    with serving("--verification-tool", "run_tests", sink=sink) as server:
        exporter = HttpSpanExporter(endpoint=server.traces_url)
        for trace_spans in by_trace.values():
            rng.shuffle(trace_spans)
            while trace_spans:
                n = rng.randint(1, 3)
                batch, trace_spans = trace_spans[:n], trace_spans[n:]
                assert exporter.export(batch) is SpanExportResult.SUCCESS
        exporter.shutdown()
        code, _, err = server.stop()
    assert code == 0, err
    assert_same_metrics(sink.summed(), live)
