#!/usr/bin/env python
"""Call latency (p50, p99) per exporter choice: what the agent's calls wait while spans are exported.

    .venv/bin/python benchmarks/bench_exporters.py [--calls 1500] [--rounds 3]     # standalone, prints a table
    .venv/bin/python benchmarks/bench_exporters.py --child embedded --calls 1500   # one process, one JSON line

Each child process is an agent making CALLS chat calls (each in an `agentyield.task()`) through the real
openai SDK against an in-process mock, with agentyield set up the way a user would choose:

  off        no agentyield (the baseline)
  embedded   `agentyield.instrument()` with nothing configured: the embedded default (OTLP JSON lines)
  otlp-http  the same with `OTEL_EXPORTER_OTLP_ENDPOINT` set (HTTP/protobuf) to a local sink
  otlp-grpc  the same with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, to a local sink
  none       the application's own providers with no exporter (the span processor derives, nothing leaves)

With `--before SRC` (a directory holding an earlier `agentyield` package, e.g. from `git archive`, laid out as
installed: `SRC/agentyield/processors`, `SRC/agentyield/instrumentation`), the mode `embedded-before` runs
the embedded default from that source in the same rotation, for a before/after measured in one run.

Exporters run on the batch span processor's thread, so the agent's calls only wait for the GIL that thread
holds; the tail (p99) shows it. The sink is another process that reads each request and answers success, so
no receiver's work lands on the agent. Modes rotate between rounds; each figure is a median over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODES = ("off", "embedded", "otlp-http", "otlp-grpc", "none")
BEFORE = "embedded-before"


def child(mode: str, calls: int) -> dict[str, Any]:
    """One agent process's per-call latencies (runs inside the child)."""
    import bench_sdk

    if mode == "none":
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        trace.set_tracer_provider(TracerProvider())
        metrics.set_meter_provider(MeterProvider())
    import agentyield

    if mode != "off":
        agentyield.instrument()
    client = bench_sdk.client("openai")
    for _ in range(50):
        bench_sdk.call(client, "openai")
    took = []
    for _ in range(calls):
        start = time.perf_counter()
        with agentyield.task("bench", agent="bench"):
            bench_sdk.call(client, "openai")
        took.append(time.perf_counter() - start)
    took.sort()
    return {"mode": mode, "calls": calls, "p50_ms": took[len(took) // 2] * 1e3, "p99_ms": took[int(len(took) * 0.99)] * 1e3}


def sink() -> None:
    """OTLP receivers that only read each request and answer success: HTTP and gRPC on free ports, printed
    as one JSON line; runs until killed."""
    import threading
    from concurrent import futures
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import grpc

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    empty = grpc.unary_unary_rpc_method_handler(lambda request, context: b"")  # raw bytes in, empty response out
    for service in ("opentelemetry.proto.collector.trace.v1.TraceService",
                    "opentelemetry.proto.collector.metrics.v1.MetricsService"):
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": empty}),))
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(json.dumps({"http": http.server_address[1], "grpc": grpc_port}), flush=True)
    server.wait_for_termination()


class Sink:
    """The sink process, for a `with` block."""

    def __enter__(self) -> Sink:
        self.process = subprocess.Popen([sys.executable, str(HERE / "bench_exporters.py"), "--sink"],
                                        stdout=subprocess.PIPE, text=True, cwd=HERE)
        assert self.process.stdout is not None
        self.ports = json.loads(self.process.stdout.readline())
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def env(self, mode: str) -> dict[str, str]:
        if mode == "otlp-http":
            return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.ports['http']}",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
        if mode == "otlp-grpc":
            return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.ports['grpc']}",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_INSECURE": "true"}
        return {}


def run_child(sink: Sink, mode: str, calls: int, before: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTYIELD_"))},
               "AGENTYIELD_DIR": directory, **sink.env(mode)}
        if mode == BEFORE:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, (before, env.get("PYTHONPATH"))))
        child_mode = "embedded" if mode == BEFORE else mode
        out = subprocess.run([sys.executable, str(HERE / "bench_exporters.py"), "--child", child_mode, "--calls", str(calls)],
                             capture_output=True, text=True, env=env, timeout=600, cwd=HERE)
    if out.returncode != 0:
        raise RuntimeError(f"bench_exporters.py --child {mode} failed:\n{out.stderr[-2000:]}")
    return {**json.loads(out.stdout.splitlines()[-1]), "mode": mode}


def measure(calls: int, rounds: int, log: Any = None, modes: tuple[str, ...] = MODES, before: str | None = None) -> list[dict[str, Any]]:
    """Every mode, `rounds` times, the order rotated between rounds: one result per child."""
    results = []
    if before:
        modes = (*modes, BEFORE)
    with Sink() as sink:
        for r in range(rounds):
            for mode in modes[r % len(modes):] + modes[: r % len(modes)]:
                if log:
                    log(f"exporters, round {r + 1}/{rounds}: {mode}")
                result = run_child(sink, mode, calls, before)
                result["round"] = r
                results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=MODES)
    parser.add_argument("--before", metavar="SRC", help="also run the embedded default from this earlier source tree")
    parser.add_argument("--json", action="store_true", help="print every child's result as one JSON list instead")
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--sink", action="store_true")
    args = parser.parse_args()
    if args.sink:
        sink()
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.calls)))
        return 0
    results = measure(args.calls, args.rounds, modes=tuple(args.modes), before=args.before)
    if args.json:
        print(json.dumps(results))
        return 0
    import bench_report

    table = bench_report.exporter_medians({"exporters": results})
    off = table["off"]["p99_ms"] if "off" in table else float("nan")
    for mode, q in table.items():
        added = q["p99_ms"] - off
        print(f"{mode:15s} p50 {q['p50_ms']:7.2f} ms  p99 {q['p99_ms']:7.2f} ms  p99 added {added:6.2f} ms  p99 x off {q['p99_ms'] / off:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
