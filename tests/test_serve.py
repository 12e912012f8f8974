"""`agentyield serve` as a subprocess, fed by the real OTLP exporters (HTTP and gRPC): the metrics it exports
over OTLP equal those the in-process span processor gave for the same spans."""

from __future__ import annotations

import random
import time
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


# -- bad input: each gets a clear status, and the server keeps serving --------------------------------------


def _post(port: int, body: bytes, content_type: str = "application/x-protobuf", **headers: str) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("POST", "/v1/traces", body=body, headers={"Content-Type": content_type, **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _status_message(body: bytes) -> str:
    from google.rpc.status_pb2 import Status

    status = Status()
    status.ParseFromString(body)
    return status.message


def _valid_request() -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    _, spans = record_scenario()
    return encode_spans(spans).SerializeToString()


def _healthy(port: int) -> dict[str, Any]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        assert response.status == 200
        return json.loads(response.read())


def test_bad_input_gets_a_clear_status_and_the_server_keeps_serving() -> None:
    import gzip
    import socket

    valid = _valid_request()
    with serving("--max-request-bytes", str(len(valid) + 100)) as server:
        port = server.http
        status, body = _post(port, random.Random(1).randbytes(500))
        assert status == 400 and "not an OTLP ExportTraceServiceRequest in protobuf" in _status_message(body)
        status, body = _post(port, valid[: len(valid) // 2 + 7])
        assert status == 400 and "protobuf" in _status_message(body)
        status, body = _post(port, valid, "text/plain")
        assert status == 415 and "expected application/x-protobuf or application/json" in _status_message(body)
        status, body = _post(port, valid + bytes(200))
        assert status == 413 and "larger than the limit" in _status_message(body)
        status, body = _post(port, gzip.compress(bytes(10 * len(valid))), **{"Content-Encoding": "gzip"})
        assert status == 413 and "once decompressed" in _status_message(body)
        status, body = _post(port, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}', "application/json")
        assert status == 400 and b"name" in body and b"not an OTLP/JSON trace export request" in body
        status, body = _post(port, b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}', "application/json")
        assert status == 400 and b"not a hex id" in body
        status, body = _post(port, b"[1, 2", "application/json")
        assert status == 400 and b"not JSON" in body
        # A client that announces a body and stops after a few bytes.
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n" + valid[:10])
            raw.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := raw.recv(4096):  # the server answers and closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400") and b"body ended after 10 of 1000 bytes" in answer
        # Still serving: a valid request, plain and gzipped, is accepted.
        assert _post(port, valid)[0] == 200
        assert _post(port, gzip.compress(valid), **{"Content-Encoding": "gzip"})[0] == 200
        assert _healthy(port)["status"] == "ok"
        code, _, err = server.stop()
    assert code == 0 and "Traceback" not in err, err


def test_grpc_bad_input_and_bearer_token() -> None:
    import grpc

    method = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    with serving(env={"AGENTYIELD_SERVE_TOKEN": "s3cret"}) as server:
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc}") as channel:
            export = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            with pytest.raises(grpc.RpcError) as missing:
                export(b"", timeout=10)
            assert missing.value.code() is grpc.StatusCode.UNAUTHENTICATED
            auth = (("authorization", "Bearer s3cret"),)
            with pytest.raises(grpc.RpcError) as garbage:
                export(random.Random(2).randbytes(300), metadata=auth, timeout=10)
            assert garbage.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "protobuf" in garbage.value.details()
            assert export(_valid_request(), metadata=auth, timeout=10) == b""  # an empty ExportTraceServiceResponse
        assert _post(server.http, b"")[0] == 401
        assert _post(server.http, _valid_request(), Authorization="Bearer s3cret")[0] == 200
        code, _, err = server.stop()
    assert code == 0, err


# -- bounds ---------------------------------------------------------------------------------------------------


def _orphan_request(rng: random.Random, traces: int, spans_per_trace: int) -> bytes:
    """Spans of traces whose root never arrives (each has a parent that is never sent): they never end."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for _ in range(traces):
        trace_id = rng.randbytes(16)
        for _ in range(spans_per_trace):
            span = scope.spans.add(name="chat gpt-4o", trace_id=trace_id, span_id=rng.randbytes(8), parent_span_id=rng.randbytes(8))
            span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
            for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o")):
                span.attributes.add(key=key).value.string_value = value
            for key, count in (("gen_ai.usage.input_tokens", 100), ("gen_ai.usage.output_tokens", 10)):
                span.attributes.add(key=key).value.int_value = count
            span.attributes.add(key="app.payload").value.string_value = "x" * 1000  # what a held span costs
    return request.SerializeToString()


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_flood_of_traces_that_never_end_stays_within_bounds(sink: MetricsSink) -> None:
    rng = random.Random(3)
    max_traces, max_bytes, rounds, per_round = 100, 200_000, 20, 250
    refused = 0

    def send(body: bytes, spans: int) -> None:
        """As an OTLP exporter does: a 503 (booking is behind) is retried after a pause."""
        nonlocal refused
        while (status := _post(server.http, body)[0]) == 503:
            refused += spans
            time.sleep(0.2)
        assert status == 200

    with serving("--max-traces", str(max_traces), "--max-bytes", str(max_bytes), "--max-spans-per-trace", "50", "--ttl", "3600", sink=sink) as server:
        send(_orphan_request(rng, 200, 5), 1000)
        baseline = _rss_kb(server.process.pid)
        for _ in range(rounds):
            send(_orphan_request(rng, per_round, 4), per_round * 4)
            health = _healthy(server.http)
            assert health["open_traces"] <= max_traces and health["held_bytes"] <= max_bytes + 8 * 1024 * per_round * 4
        send(_orphan_request(rng, 1, 80), 80)  # one trace over its span bound
        grown_mb = (_rss_kb(server.process.pid) - baseline) / 1024
        health = _healthy(server.http)
        code, _, err = server.stop()
    assert code == 0, err
    # 20,000 spans of over 1 kB went through (about 100 MB as Python objects if all were held: 5 kB a span,
    # benchmarks/serve_throughput.py); what grows is one request's worth in flight and the allocator's slack.
    assert grown_mb < 30, grown_mb
    hits = {dict(k)["agentyield.limit"]: v for k, v in sink.summed()["agentyield.limits.hit"].items()}
    total_traces = 200 + rounds * per_round + 1
    # Every trace was booked early (evicted) except those still open at the end, booked at shutdown.
    assert hits["serve:traces_evicted"] == total_traces - health["open_traces"]
    assert hits["serve:spans_per_trace"] == 80 - 50
    assert hits.get("serve:refused_busy", 0) == refused
    calls = sum(sink.summed()["agentyield.llm.calls"].values())
    assert calls == 200 * 5 + rounds * per_round * 4 + 50  # nothing evicted was lost: every kept span was booked


def test_the_decoder_keeps_every_attribute_the_normalizer_reads() -> None:
    """`agentyield serve` converts only the attributes the normalizer reads (READ_KEYS, READ_PREFIXES): every
    attribute name the normalizer's code names, and every name it looks up from the conventions table, is among
    them (so a new read cannot be forgotten), and a peer's prompt is never converted."""
    import ast
    import inspect

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from agentyield import _semconv as sc
    from agentyield.processors import _normalize
    from agentyield.serve._decode import rows

    names = {
        node.attr for node in ast.walk(ast.parse(inspect.getsource(_normalize)))
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sc"
    }
    not_attributes = {"ARTIFACT_EVENT", "SIGNAL_EVENT", "MAX_TOKEN_COUNT", "PHASE_VERIFICATION", "input_with_cache"}  # names, values, a rule
    read = {getattr(sc, name) for name in names - not_attributes}
    assert read and all(isinstance(key, str) for key in read)
    from agentyield.processors._conventions import EXCLUSIVE_INPUT

    read |= {key for source in EXCLUSIVE_INPUT for key in (source.marker[0], source.zero_cache_unknown_if) if key}  # read from the table
    missing = {key for key in read if key not in _normalize.READ_KEYS and not key.startswith(_normalize.READ_PREFIXES)}
    assert missing == set()

    class Recording(dict):  # type: ignore[type-arg]
        """Attributes that remember every name the normalizer looks up (table rows included)."""

        looked_up: set[str] = set()

        def get(self, key: Any, default: Any = None) -> Any:
            self.looked_up.add(key)
            return super().get(key, default)

        def __getitem__(self, key: Any) -> Any:
            self.looked_up.add(key)
            return super().__getitem__(key)

        def __contains__(self, key: Any) -> bool:
            self.looked_up.add(key)
            return super().__contains__(key)

    # Nothing present: every name of every figure is tried. Then each source-specific branch of the table.
    samples = [{}, {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "telemetry.sdk.name": "openlit",
                    "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1}]
    for sample in samples:
        attributes = Recording(sample)
        for read_all in (_normalize.classify, _normalize.tool_name):
            read_all("MCP send tools/call x", attributes)
        _normalize.tool_call("x", attributes, False)
        _normalize.task_record(attributes, [], False, 1)
        for read in (_normalize.llm_call, _normalize.has_usage, _normalize.is_known_step, _normalize.looks_like_llm,
                     _normalize.response_id, _normalize.phase_of, _normalize.verification_passed, _normalize.signal_kind,
                     _normalize.window_artifact):
            read(attributes)
    looked_up = Recording.looked_up
    assert {"gen_ai.usage.input_tokens", "telemetry.sdk.name", "gen_ai.request.stream"} <= looked_up
    assert {key for key in looked_up if key not in _normalize.READ_KEYS and not key.startswith(_normalize.READ_PREFIXES)} == set()

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add(name="chat gpt-4o", trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    for key, value in (("gen_ai.operation.name", "chat"), ("gen_ai.input.messages", "secret prompt"), ("http.url", "https://x"),
                       ("llm.token_count.prompt", 12), ("agentyield.task.outcome", "success")):
        item = span.attributes.add(key=key)
        if isinstance(value, int):
            item.value.int_value = value
        else:
            item.value.string_value = value
    ((row, _),) = rows(request)
    assert row.attributes == {"gen_ai.operation.name": "chat", "llm.token_count.prompt": 12, "agentyield.task.outcome": "success"}
