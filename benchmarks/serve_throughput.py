"""`agentyield serve` throughput: spans per second per core through receive, decode, normalize and book,
and memory per open trace.

    .venv/bin/python benchmarks/serve_throughput.py [--traces 2000] [--json]

Per core means per CPU-second of the server process (user + system time from /proc), so a loaded, shared
machine gives the same figure as a quiet one, roughly; wall-clock rates are printed beside it. Three parts:
1. end to end: real OTLP/HTTP protobuf requests to an `agentyield serve` subprocess, until it has booked
   every trace (its /health says so); steady state: one warm-up request (first price lookups, first
   series) is booked before the clock starts;
2. where the time goes: each stage in-process on the same requests, the model's prices resolved first
   (decode protobuf, to span rows, assemble, book, and `metrics`: recording the booked histogram observations into the SDK at collection,
   which the end-to-end server, exporting to no endpoint, never does), CPU time per span;
3. memory per open trace: traces whose root never arrives, held by the assembler (tracemalloc).
The workload is agent-shaped: each trace is an invoke_agent root, 6 chat calls (GenAI conventions, 14
attributes each) and 3 tool calls; 20 traces per request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

ROOT = Path(__file__).resolve().parent.parent
SPANS_PER_TRACE = 10


def _attr(span: Any, key: str, value: Any) -> None:
    item = span.attributes.add(key=key)
    if isinstance(value, str):
        item.value.string_value = value
    else:
        item.value.int_value = value


def make_request(rng: random.Random, traces: int) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.add(key="service.name").value.string_value = "bench-agent"
    scope = resource.scope_spans.add()
    scope.scope.name = "bench"
    for _ in range(traces):
        trace_id, root_id = rng.randbytes(16), rng.randbytes(8)
        t0 = time.time_ns()
        children = []
        for i in range(6):
            span = scope.spans.add(name="chat gpt-4o", trace_id=trace_id, span_id=rng.randbytes(8), parent_span_id=root_id, kind=3)
            span.start_time_unix_nano, span.end_time_unix_nano = t0 + i * 1000, t0 + i * 1000 + 900
            for key, value in (
                ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"),
                ("gen_ai.response.model", "gpt-4o-2024-08-06"), ("gen_ai.response.id", f"chatcmpl-{rng.getrandbits(48)}"),
                ("gen_ai.usage.input_tokens", 2006), ("gen_ai.usage.output_tokens", 300), ("gen_ai.usage.cache_read.input_tokens", 1920),
                ("gen_ai.usage.reasoning.output_tokens", 64), ("server.address", "api.openai.com"), ("server.port", 443),
                ("gen_ai.request.max_tokens", 1024), ("gen_ai.response.finish_reasons", "stop"), ("gen_ai.agent.name", "coder"),
            ):
                _attr(span, key, value)
            children.append(span)
        for i in range(3):
            span = scope.spans.add(name="execute_tool run_tests", trace_id=trace_id, span_id=rng.randbytes(8), parent_span_id=root_id)
            span.start_time_unix_nano, span.end_time_unix_nano = t0 + 7000 + i * 100, t0 + 7050 + i * 100
            _attr(span, "gen_ai.operation.name", "execute_tool")
            _attr(span, "gen_ai.tool.name", "run_tests")
        root = scope.spans.add(name="invoke_agent coder", trace_id=trace_id, span_id=root_id)
        root.start_time_unix_nano, root.end_time_unix_nano = t0 - 10, t0 + 9000
        _attr(root, "gen_ai.operation.name", "invoke_agent")
        _attr(root, "gen_ai.agent.name", "coder")
    return request


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        return json.loads(response.read())


def end_to_end(bodies: list[bytes], traces: int, warm_up: bytes, warm_traces: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "agentyield", "serve", "--grpc-port", "-1", "--http-port", "0", "--grace", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline() if server.stdout else ""
        port = int(line.rsplit(":", 1)[1])
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/v1/traces", body=warm_up, headers={"Content-Type": "application/x-protobuf"})
        connection.getresponse().read()
        while _health(port)["traces_booked"] < warm_traces:
            time.sleep(0.05)
        cpu0, wall0 = _cpu_s(server.pid), time.perf_counter()
        for body in bodies:
            while True:
                connection.request("POST", "/v1/traces", body=body, headers={"Content-Type": "application/x-protobuf"})
                response = connection.getresponse()
                response.read()
                if response.status != 503:
                    break
                time.sleep(0.05)
        while _health(port)["traces_booked"] < warm_traces + traces:
            time.sleep(0.05)
        cpu, wall = _cpu_s(server.pid) - cpu0, time.perf_counter() - wall0
        spans = traces * SPANS_PER_TRACE
        return {"spans": spans, "cpu_s": cpu, "wall_s": wall, "spans_per_cpu_s": spans / cpu, "spans_per_wall_s": spans / wall}
    finally:
        server.terminate()
        server.wait(timeout=60)


def stages(bodies: list[bytes]) -> dict[str, float]:
    """CPU microseconds per span of each stage, in-process (one thread)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from agentyield.processors._ledger import Ledger
    from agentyield.processors._metrics import LedgerMetrics
    from agentyield.processors._pricing import PriceBook
    from agentyield.processors._traces import CallWindow, book_spans
    from agentyield.processors._assembly import AssemblyLimits, TraceAssembler
    from agentyield.serve._decode import decode_protobuf, rows

    clock = time.process_time
    spent = dict.fromkeys(("decode", "rows", "assemble", "book", "metrics"), 0.0)
    prices = PriceBook()
    prices.rates("openai", "gpt-4o-2024-08-06", 2006)  # resolved once per model and half hour in a running server
    ledger, window = Ledger(prices), CallWindow()
    reader = InMemoryMetricReader()
    ledger.sink = LedgerMetrics(ledger, MeterProvider(metric_readers=[reader]), {}).record
    assembler = TraceAssembler(AssemblyLimits(grace_s=0), lambda what, n: None)
    spans = 0
    for body in bodies:
        t0 = clock()
        request = decode_protobuf(body)
        t1 = clock()
        decoded = rows(request)
        t2 = clock()
        assembler.add(decoded)
        ready = assembler.take_due()
        t3 = clock()
        for trace, size in ready:
            for _ in book_spans(ledger, trace, (), window):
                pass
            assembler.booked(size)
        t4 = clock()
        spans += len(decoded)
        for name, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            spent[name] += dt
    t0 = clock()
    reader.get_metrics_data()  # one collection: the buffered observations recorded, every instrument read
    spent["metrics"] += clock() - t0
    return {name: 1e6 * dt / spans for name, dt in spent.items()}


def memory_per_open_trace(rng: random.Random, traces: int) -> float:
    """Bytes the assembler holds per open trace of the benchmark's shape (its root never arrives)."""
    from agentyield.processors._assembly import AssemblyLimits, TraceAssembler
    from agentyield.serve._decode import rows

    request = make_request(rng, traces)
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            keep = [s for s in scope.spans if s.parent_span_id]  # drop the roots: every trace stays open
            del scope.spans[:]
            scope.spans.extend(keep)
    assembler = TraceAssembler(AssemblyLimits(max_traces=10 * traces, max_bytes=1 << 40), lambda what, n: None)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    decoded = rows(request)  # the span rows are what an open trace holds (the request itself is let go)
    assembler.add(decoded)
    del decoded
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert assembler.open_traces == traces
    return held / traces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead (for benchmarks/run.py)")
    args = parser.parse_args()
    rng = random.Random(7)
    per_request = 20
    bodies = [make_request(rng, per_request).SerializeToString() for _ in range(max(1, args.traces // per_request))]
    traces = len(bodies) * per_request
    e2e = end_to_end(bodies, traces, make_request(rng, per_request).SerializeToString(), per_request)
    per_stage = stages(bodies)
    open_trace = memory_per_open_trace(rng, min(traces, 2000))
    if args.json:
        print(json.dumps({"end_to_end": e2e, "stages_us": per_stage, "bytes_per_open_trace": open_trace,
                          "spans_per_trace": SPANS_PER_TRACE}))
        return
    print(f"end to end (HTTP protobuf -> agentyield serve, {e2e['spans']} spans): "
          f"{e2e['spans_per_cpu_s']:,.0f} spans per CPU-second of the server (per core); "
          f"{e2e['spans_per_wall_s']:,.0f} spans/s wall clock ({e2e['cpu_s']:.2f} CPU s, {e2e['wall_s']:.2f} s)")
    total = sum(per_stage.values())
    print(f"in-process stages, CPU µs per span (total {total:.1f} µs = {1e6 / total:,.0f} spans/s per core, before HTTP; "
          f"without metrics {total - per_stage['metrics']:.1f} µs = {1e6 / (total - per_stage['metrics']):,.0f}):")
    for name, us in per_stage.items():
        print(f"  {name:9s} {us:6.1f} µs  {100 * us / total:4.0f}%")
    print(f"memory per open trace ({SPANS_PER_TRACE - 1} spans held, root not yet arrived): {open_trace / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
