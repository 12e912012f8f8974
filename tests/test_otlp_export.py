"""End to end over the wire: real SDK providers, real OTLP exporters, a real collector on loopback.

A local collector (OTLP/HTTP protobuf on an ephemeral 127.0.0.1 port, and OTLP/gRPC when grpcio's server
is importable) decodes what the exporters send with opentelemetry-proto; every number asserted below is
computed here, independently of agentyield (the price comes from `genai_prices.calc_price` directly).
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from concurrent import futures
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests
from genai_prices import Usage, calc_price
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest, ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

import agentyield
from openai_mock import CHAT_USAGE, OpenAIMock, clients

try:  # the gRPC variant needs grpcio's server and opentelemetry-proto's generated gRPC stubs
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    GRPC_MISSING: str | None = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    GRPC_MISSING = f"grpc server unavailable: {exc}"

WAIT_S = 10.0
"""Every wait in this file is bounded by this."""
WAIT_MS = int(WAIT_S * 1000)
NEVER_MS = 3_600_000
"""The periodic reader's interval: it never fires on its own during a test, only force_flush exports."""
SERVICE = "agentyield-otlp-e2e"
MODEL = "gpt-4o"
RESPONSE_MODEL = "gpt-4o-2024-08-06"
MESSAGES = [{"role": "user", "content": "Fix the failing test."}]

# -- expected values, computed here ------------------------------------------------------------------

CALLS = 2
PROMPT = CHAT_USAGE["prompt_tokens"]
CACHED = CHAT_USAGE["prompt_tokens_details"]["cached_tokens"]
COMPLETION = CHAT_USAGE["completion_tokens"]
REASONING = CHAT_USAGE["completion_tokens_details"]["reasoning_tokens"]
assert (PROMPT, CACHED, COMPLETION, REASONING) == (2006, 1920, 300, 256)

UNCACHED = PROMPT - CACHED  # 86
CALL_PRICE: Decimal = calc_price(
    Usage(input_tokens=PROMPT, cache_read_tokens=CACHED, output_tokens=COMPLETION), RESPONSE_MODEL, provider_id="openai"
).total_price
# The list prices of gpt-4o (USD per million tokens: 2.5 input, 1.25 cached input, 10 output) agree to the digit.
assert CALL_PRICE == (UNCACHED * Decimal("2.5") + CACHED * Decimal("1.25") + COMPLETION * Decimal(10)) / Decimal(1_000_000)
TASK_COST = float(CALLS * CALL_PRICE)  # 0.01123
CACHE_SAVINGS = float(CALLS * CACHED * (Decimal("2.5") - Decimal("1.25")) / Decimal(1_000_000))  # 0.0048
TOL = 1e-12

LLM_CALL_ATTRIBUTES = {
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": MODEL,
    "gen_ai.agent.name": "coder",
    "agentyield.priced": "true",
}
BY_RESPONSE_MODEL = {"gen_ai.provider.name": "openai", "gen_ai.response.model": RESPONSE_MODEL, "gen_ai.agent.name": "coder"}
TASK_ATTRIBUTES = {"gen_ai.agent.name": "coder", "agentyield.task.name": "fix-bug", "agentyield.task.outcome": "success"}
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE


# -- the collector -----------------------------------------------------------------------------------


@dataclass
class Collector:
    """What arrived, decoded, in arrival order."""

    address: str = ""
    metrics: list[ExportMetricsServiceRequest] = field(default_factory=list)
    traces: list[ExportTraceServiceRequest] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(path or gRPC method, content type) of every request, accepted or not."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _decompress(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _http_collector(collector: Collector) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = _decompress(self.rfile.read(length), self.headers.get("Content-Encoding"))
            with collector.lock:
                collector.requests.append((self.path, self.headers.get("Content-Type", "")))
            if self.path == "/v1/metrics":
                request, response = ExportMetricsServiceRequest(), ExportMetricsServiceResponse()
                target = collector.metrics
            elif self.path == "/v1/traces":
                request, response = ExportTraceServiceRequest(), ExportTraceServiceResponse()
                target = collector.traces
            else:
                self.send_error(404)
                return
            request.ParseFromString(body)
            with collector.lock:
                target.append(request)
            payload = response.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@dataclass
class Pipeline:
    collector: Collector
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    transport: str

    def flush(self) -> None:
        """Export everything now; both flushes must succeed within the bound."""
        assert self.tracer_provider.force_flush(timeout_millis=WAIT_MS) is True
        assert self.meter_provider.force_flush(timeout_millis=WAIT_MS) is True


def _providers(span_exporter: Any, metric_exporter: Any, batch: bool) -> tuple[TracerProvider, MeterProvider]:
    resource = Resource.create({"service.name": SERVICE})
    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    if batch:
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=NEVER_MS))
    else:
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=NEVER_MS, export_timeout_millis=WAIT_MS)
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
    return tracer_provider, meter_provider


@pytest.fixture
def http_pipeline() -> Iterator[Pipeline]:
    collector = Collector()
    server = _http_collector(collector)
    port = server.server_address[1]
    collector.address = f"127.0.0.1:{port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    session = requests.Session()
    session.trust_env = False  # never through a proxy: loopback only
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    tracer_provider, meter_provider = _providers(
        OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces", timeout=WAIT_S, session=session),
        OTLPMetricExporter(endpoint=f"http://127.0.0.1:{port}/v1/metrics", timeout=WAIT_S, session=session),
        batch=True,
    )
    try:
        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        yield Pipeline(collector, tracer_provider, meter_provider, "http")
    finally:
        try:
            agentyield.uninstrument()
        finally:
            meter_provider.shutdown(timeout_millis=WAIT_MS)
            tracer_provider.shutdown()
            server.shutdown()
            server.server_close()
            thread.join(WAIT_S)
            session.close()
    assert not thread.is_alive()


@pytest.fixture
def grpc_pipeline() -> Iterator[Pipeline]:
    if GRPC_MISSING:
        pytest.skip(GRPC_MISSING)
    collector = Collector()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request: ExportMetricsServiceRequest, context: Any) -> ExportMetricsServiceResponse:  # noqa: N802
            with collector.lock:
                collector.requests.append(("MetricsService/Export", "application/grpc"))
                collector.metrics.append(request)
            return ExportMetricsServiceResponse()

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request: ExportTraceServiceRequest, context: Any) -> ExportTraceServiceResponse:  # noqa: N802
            with collector.lock:
                collector.requests.append(("TraceService/Export", "application/grpc"))
                collector.traces.append(request)
            return ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    assert port > 0
    server.start()
    collector.address = f"127.0.0.1:{port}"
    options = (("grpc.enable_http_proxy", 0),)  # loopback only, whatever the environment says
    tracer_provider, meter_provider = _providers(
        GrpcSpanExporter(endpoint=collector.address, insecure=True, timeout=WAIT_S, channel_options=options),
        GrpcMetricExporter(endpoint=collector.address, insecure=True, timeout=WAIT_S, channel_options=options),
        batch=False,
    )
    try:
        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        yield Pipeline(collector, tracer_provider, meter_provider, "grpc")
    finally:
        try:
            agentyield.uninstrument()
        finally:
            meter_provider.shutdown(timeout_millis=WAIT_MS)
            tracer_provider.shutdown()
            assert server.stop(grace=None).wait(WAIT_S) is True


@pytest.fixture(params=["http", "grpc"])
def pipeline(request: pytest.FixtureRequest) -> Pipeline:
    return request.getfixturevalue(f"{request.param}_pipeline")


# -- decoding ----------------------------------------------------------------------------------------


def _any(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_any(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if which is None:
        return None
    return getattr(value, which)


def attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        assert isinstance(kv, KeyValue)
        assert kv.key not in out, f"duplicate attribute {kv.key}"
        out[kv.key] = _any(kv.value)
    return out


def latest_metrics(collector: Collector) -> dict[str, Metric]:
    """The `agentyield` scope's metrics of the last metrics export (cumulative: it holds every total)."""
    with collector.lock:
        assert collector.metrics, collector.requests
        last = collector.metrics[-1]
    assert len(last.resource_metrics) == 1
    resource_metrics = last.resource_metrics[0]
    assert attributes(resource_metrics.resource.attributes)["service.name"] == SERVICE
    scopes = [s for s in resource_metrics.scope_metrics if s.scope.name == "agentyield"]
    assert len(scopes) == 1, [s.scope.name for s in resource_metrics.scope_metrics]
    assert scopes[0].scope.version == agentyield.__version__
    out: dict[str, Metric] = {}
    for metric in scopes[0].metrics:
        assert metric.name not in out, f"metric {metric.name} exported twice"
        out[metric.name] = metric
    return out


def sum_points(metric: Metric) -> dict[tuple[tuple[str, Any], ...], Any]:
    """A cumulative monotonic Sum's points: sorted attribute items -> value (int or float, as sent)."""
    assert metric.WhichOneof("data") == "sum", (metric.name, metric.WhichOneof("data"))
    assert metric.sum.aggregation_temporality == CUMULATIVE, metric.name
    assert metric.sum.is_monotonic is True, metric.name
    out = {}
    for point in metric.sum.data_points:
        assert point.start_time_unix_nano > 0 and point.time_unix_nano >= point.start_time_unix_nano
        key = tuple(sorted(attributes(point.attributes).items()))
        assert key not in out
        out[key] = getattr(point, point.WhichOneof("value"))
    return out


def histogram_points(metric: Metric) -> dict[tuple[tuple[str, Any], ...], Any]:
    assert metric.WhichOneof("data") == "histogram", (metric.name, metric.WhichOneof("data"))
    assert metric.histogram.aggregation_temporality == CUMULATIVE, metric.name
    out = {}
    for point in metric.histogram.data_points:
        key = tuple(sorted(attributes(point.attributes).items()))
        assert key not in out
        assert sum(point.bucket_counts) == point.count
        out[key] = point
    return out


def key(values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(values.items()))


def all_spans(collector: Collector) -> list[tuple[str, ProtoSpan]]:
    """(scope name, span) of every span that arrived, over every trace export."""
    out = []
    with collector.lock:
        exports = list(collector.traces)
    for export in exports:
        for resource_spans in export.resource_spans:
            assert attributes(resource_spans.resource.attributes)["service.name"] == SERVICE
            for scope_spans in resource_spans.scope_spans:
                out.extend((scope_spans.scope.name, span) for span in scope_spans.spans)
    return out


# -- the workload ------------------------------------------------------------------------------------


def run_sync() -> None:
    sync, _ = clients(OpenAIMock())
    with agentyield.task("fix-bug", agent="coder") as t:
        for _ in range(CALLS):
            assert sync.chat.completions.create(model=MODEL, messages=MESSAGES).usage.prompt_tokens == PROMPT
        t.artifact("patch", accepted=True)
        t.outcome(True)


def run_async() -> None:
    _, async_ = clients(OpenAIMock())

    async def work() -> None:
        async with agentyield.task("fix-bug", agent="coder") as t:
            for _ in range(CALLS):
                response = await async_.chat.completions.create(model=MODEL, messages=MESSAGES)
                assert response.usage.prompt_tokens == PROMPT
            t.artifact("patch", accepted=True)
            t.outcome(True)

    asyncio.run(asyncio.wait_for(work(), WAIT_S))


WORKLOADS = {"sync": run_sync, "async": run_async}


# -- the tests ---------------------------------------------------------------------------------------


def assert_exported_metrics(metrics: dict[str, Metric]) -> None:
    # LLM calls, by request model, priced.
    assert sum_points(metrics["agentyield.llm.calls"]) == {key(LLM_CALL_ATTRIBUTES): CALLS}
    assert metrics["agentyield.llm.calls"].unit == "{call}"

    # Tokens by disjoint kind (input is uncached input), by response model.
    tokens = sum_points(metrics["agentyield.tokens"])
    assert tokens == {
        key({**BY_RESPONSE_MODEL, "agentyield.token.kind": "input"}): CALLS * UNCACHED,
        key({**BY_RESPONSE_MODEL, "agentyield.token.kind": "cache_read"}): CALLS * CACHED,
        key({**BY_RESPONSE_MODEL, "agentyield.token.kind": "cache_write"}): 0,
        key({**BY_RESPONSE_MODEL, "agentyield.token.kind": "output"}): CALLS * COMPLETION,
    }
    assert sorted(tokens.values()) == [0, 172, 600, 3840]
    assert all(type(v) is int for v in tokens.values())
    assert sum_points(metrics["agentyield.reasoning.tokens"]) == {key(BY_RESPONSE_MODEL): CALLS * REASONING}

    # Cost, by response model and phase; sent as a double.
    cost = sum_points(metrics["agentyield.cost.usd"])
    assert list(cost) == [key({**BY_RESPONSE_MODEL, "agentyield.phase": "work"})]
    [exported_cost] = cost.values()
    assert type(exported_cost) is float
    assert abs(exported_cost - TASK_COST) <= TOL, (exported_cost, TASK_COST)
    assert abs(TASK_COST - 0.01123) <= TOL
    [savings] = sum_points(metrics["agentyield.cache.savings.usd"]).values()
    assert abs(savings - CACHE_SAVINGS) <= TOL, (savings, CACHE_SAVINGS)

    assert list(sum_points(metrics["agentyield.cache.write_premium.usd"]).values()) == [0.0]

    # One task, a success; one accepted artifact.
    assert sum_points(metrics["agentyield.tasks"]) == {key(TASK_ATTRIBUTES): 1}
    assert sum_points(metrics["agentyield.artifacts"]) == {
        key({"gen_ai.agent.name": "coder", "agentyield.artifact.kind": "patch", "agentyield.artifact.accepted": "true"}): 1
    }

    # Nothing unproductive, unknown, missing, inconsistent, duplicated, no tool call, no limit hit: those
    # instruments observed nothing, so the SDK sends no metric for them at all.
    assert sorted(metrics) == sorted(
        [
            "agentyield.llm.calls",
            "agentyield.tokens",
            "agentyield.reasoning.tokens",
            "agentyield.cost.usd",
            "agentyield.cache.savings.usd",
            "agentyield.cache.write_premium.usd",  # 0: OpenAI bills no cache writes
            "agentyield.tasks",
            "agentyield.artifacts",
            "agentyield.task.cost.usd",
            "agentyield.artifact.cost.usd",
            "gen_ai.client.token.usage",
            "gen_ai.client.operation.duration",
            "gen_ai.invoke_agent.duration",
            # The task's trajectory and context measures (no tool, no sub-task: no token multiplier), and the next
            # state of its calls (docs/metrics.md, "Tool calls and live agent measures").
            *(f"agentyield.task.{m}" for m in ("llm_calls", "tool_calls", "tool_calls.redundant", "loops", "rework", "context.growth",
                                                "input.resent_uncached", "context_to_output", "verification.share", "signal_yield")),
            "agentyield.signals",
        ]
    )

    # Histograms: the task's cost and the cost of its one accepted artifact.
    [(task_key, task_cost)] = histogram_points(metrics["agentyield.task.cost.usd"]).items()
    assert task_key == key(TASK_ATTRIBUTES)
    assert task_cost.count == 1
    assert abs(task_cost.sum - TASK_COST) <= TOL
    [(artifact_key, artifact_cost)] = histogram_points(metrics["agentyield.artifact.cost.usd"]).items()
    assert artifact_key == key({"gen_ai.agent.name": "coder", "agentyield.artifact.kind": "patch"})
    assert artifact_cost.count == 1
    assert abs(artifact_cost.sum - TASK_COST) <= TOL
    assert abs(artifact_cost.sum - task_cost.sum) <= TOL

    # The GenAI conventions' client histograms: one observation per call and token type.
    base = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": RESPONSE_MODEL,
    }
    usage = histogram_points(metrics["gen_ai.client.token.usage"])
    assert sorted(usage) == sorted([key({**base, "gen_ai.token.type": "input"}), key({**base, "gen_ai.token.type": "output"})])
    assert (usage[key({**base, "gen_ai.token.type": "input"})].count, usage[key({**base, "gen_ai.token.type": "input"})].sum) == (
        CALLS,
        CALLS * PROMPT,
    )
    assert (usage[key({**base, "gen_ai.token.type": "output"})].count, usage[key({**base, "gen_ai.token.type": "output"})].sum) == (
        CALLS,
        CALLS * COMPLETION,
    )
    assert list(metrics["gen_ai.client.token.usage"].histogram.data_points[0].explicit_bounds)[:3] == [1, 4, 16]
    duration = histogram_points(metrics["gen_ai.client.operation.duration"])
    assert list(duration) == [key(base)]
    assert duration[key(base)].count == CALLS
    assert 0 < duration[key(base)].sum < CALLS * WAIT_S
    assert metrics["gen_ai.client.operation.duration"].unit == "s"


def assert_exported_spans(collector: Collector) -> None:
    spans = all_spans(collector)
    llm = [span for scope, span in spans if scope == "agentyield" and span.name == f"chat {MODEL}"]
    tasks = [span for scope, span in spans if span.name == "invoke_agent coder"]
    assert len(llm) == CALLS, [(scope, span.name) for scope, span in spans]
    assert len(tasks) == 1, [(scope, span.name) for scope, span in spans]
    [task_span] = tasks
    assert task_span.kind == ProtoSpan.SpanKind.SPAN_KIND_INTERNAL

    span_costs = []
    for span in llm:
        values = attributes(span.attributes)
        assert span.kind == ProtoSpan.SpanKind.SPAN_KIND_CLIENT
        assert span.trace_id == task_span.trace_id
        assert span.parent_span_id == task_span.span_id
        assert values["gen_ai.request.model"] == MODEL
        assert values["gen_ai.response.model"] == RESPONSE_MODEL
        assert values["gen_ai.usage.input_tokens"] == PROMPT
        assert values["gen_ai.usage.cache_read.input_tokens"] == CACHED
        assert values["gen_ai.usage.output_tokens"] == COMPLETION
        assert values["gen_ai.usage.reasoning.output_tokens"] == REASONING
        assert "agentyield.priced" not in values  # only unpriced spans say so
        assert type(values["agentyield.cost.usd"]) is float
        assert abs(values["agentyield.cost.usd"] - float(CALL_PRICE)) <= TOL, (values["agentyield.cost.usd"], CALL_PRICE)
        span_costs.append(values["agentyield.cost.usd"])

    task = attributes(task_span.attributes)
    assert abs(task["agentyield.task.cost.usd"] - sum(span_costs)) <= TOL
    assert abs(task["agentyield.task.cost.usd"] - TASK_COST) <= TOL
    assert abs(task["agentyield.task.own_cost.usd"] - TASK_COST) <= TOL
    assert {k: task[k] for k in task if k not in ("agentyield.task.cost.usd", "agentyield.task.own_cost.usd", "agentyield.task.id")} == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "coder",
        "agentyield.task.name": "fix-bug",
        "agentyield.task.outcome": "success",
        "agentyield.task.llm_calls": CALLS,
        "agentyield.task.unpriced_calls": 0,
        "agentyield.task.artifacts.accepted": 1,
        "agentyield.task.artifact.kinds": ("patch",),
        "agentyield.task.artifact.accepted": ("true",),
        "agentyield.task.tokens.input": CALLS * UNCACHED,
        "agentyield.task.tokens.cache_read": CALLS * CACHED,
        "agentyield.task.tokens.cache_write": 0,
        "agentyield.task.tokens.output": CALLS * COMPLETION,
        "agentyield.task.tokens.reasoning": CALLS * REASONING,
        "agentyield.task.cache_read_ratio": CACHED / PROMPT,
    }
    assert len(task["agentyield.task.id"]) == 32
    assert [(event.name, attributes(event.attributes)) for event in task_span.events] == [
        ("agentyield.artifact", {"agentyield.artifact.kind": "patch", "agentyield.artifact.accepted": True})
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_otlp_export_exact(pipeline: Pipeline, mode: str) -> None:
    WORKLOADS[mode]()
    pipeline.flush()

    collector = pipeline.collector
    with collector.lock:
        seen = list(collector.requests)
    if pipeline.transport == "http":
        assert {path for path, _ in seen} == {"/v1/metrics", "/v1/traces"}
        assert {content_type for _, content_type in seen} == {"application/x-protobuf"}
        assert len(collector.metrics) == 1  # the periodic reader never fired: only force_flush exported
    else:
        assert {method for method, _ in seen} == {"MetricsService/Export", "TraceService/Export"}
        assert len(collector.metrics) == 1

    assert_exported_metrics(latest_metrics(collector))
    assert_exported_spans(collector)

    # Cumulative: a second collection with no new work sends the same totals again, from the same start.
    first = latest_metrics(collector)
    assert pipeline.meter_provider.force_flush(timeout_millis=WAIT_MS) is True
    assert len(collector.metrics) == 2
    second = latest_metrics(collector)
    assert_exported_metrics(second)
    for name in ("agentyield.llm.calls", "agentyield.tokens", "agentyield.cost.usd", "agentyield.tasks"):
        starts = [p.start_time_unix_nano for p in first[name].sum.data_points]
        assert [p.start_time_unix_nano for p in second[name].sum.data_points] == starts, name
        assert all(p.time_unix_nano > s for p, s in zip(second[name].sum.data_points, starts)), name


def test_otlp_cumulative_totals_grow_across_exports(http_pipeline: Pipeline) -> None:
    """A second task after an export: the next export carries both tasks' totals, not the difference."""
    run_sync()
    http_pipeline.flush()
    run_sync()
    http_pipeline.flush()
    metrics = latest_metrics(http_pipeline.collector)
    assert len(http_pipeline.collector.metrics) == 2
    assert sum_points(metrics["agentyield.llm.calls"]) == {key(LLM_CALL_ATTRIBUTES): 2 * CALLS}
    assert sum_points(metrics["agentyield.tasks"]) == {key(TASK_ATTRIBUTES): 2}
    assert sum_points(metrics["agentyield.tokens"])[key({**BY_RESPONSE_MODEL, "agentyield.token.kind": "input"})] == 2 * CALLS * UNCACHED
    [total_cost] = sum_points(metrics["agentyield.cost.usd"]).values()
    assert abs(total_cost - 2 * TASK_COST) <= TOL
    [(_, artifact_cost)] = histogram_points(metrics["agentyield.artifact.cost.usd"]).items()
    assert artifact_cost.count == 2
    assert abs(artifact_cost.sum - 2 * TASK_COST) <= TOL
    assert len([span for scope, span in all_spans(http_pipeline.collector) if span.name == "invoke_agent coder"]) == 2
