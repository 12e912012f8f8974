"""The `agentyield` command: `demo`, `report` and `serve`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

__all__ = ["main"]

_SHOWN_SKIPS = 10


def _report(args: argparse.Namespace) -> int:
    from ._tracefiles import OTLPJsonError
    from ._report import build_report, render_text, write_outputs
    from agentyield.processors import PriceFileError

    try:
        data = build_report(
            args.paths, prices=args.prices, reprice=args.prices is not None, budget_axis=args.budget, progress=sys.stderr
        )
    except (OTLPJsonError, PriceFileError) as exc:
        print(f"agentyield report: {exc}", file=sys.stderr)
        return 2
    skipped = data["source"]["skipped_lines"]
    for line in skipped[:_SHOWN_SKIPS]:
        print(f"agentyield report: skipped {line}", file=sys.stderr)
    if skipped:
        more = f" ({len(skipped) - _SHOWN_SKIPS} more not shown)" if len(skipped) > _SHOWN_SKIPS else ""
        print(f"agentyield report: skipped {len(skipped)} unreadable lines{more}; the report covers the rest", file=sys.stderr)
    if args.json != "-":
        sys.stdout.write(render_text(data))
    write_outputs(data, json_path=args.json, html_path=args.html)
    if args.html:
        print(f"\nHTML report written to {args.html}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import importlib.util

    missing = [sdk for sdk in ("openai", "anthropic") if importlib.util.find_spec(sdk) is None]
    if missing:
        print(f"agentyield demo: it drives the real {' and '.join(missing)} SDK{'s' if len(missing) > 1 else ''}, not installed here: "
              "pip install 'agentyield[demo]'", file=sys.stderr)
        return 2
    import agentyield
    from opentelemetry import metrics, trace

    from ._demo import run_workload

    directory = Path(args.dir) / time.strftime("demo-%Y%m%dT%H%M%S", time.gmtime())
    agentyield.instrument(directory=directory, agent="watcher", privacy_scan=True)  # the demo's only spend outside tasks is its watcher's
    started = time.monotonic()
    run_workload(seed=args.seed, scale=args.scale)
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    metrics.get_meter_provider().force_flush()  # type: ignore[attr-defined]
    if args.no_report:
        print(f"demo workload done in {time.monotonic() - started:.1f} s")
        return 0
    print(f"demo workload done in {time.monotonic() - started:.1f} s; spans and metrics in {directory}/\n")
    args.paths = [str(directory)]
    return _report(args)


def _serve(args: argparse.Namespace) -> int:
    import os

    from agentyield.processors import PriceBook, PriceFileError
    from agentyield.processors._ledger import Limits

    from .serve import AssemblyLimits, ServeConfig, run
    from .serve._server import TOKEN_ENV

    try:
        config = ServeConfig(
            host=args.host,
            grpc_port=None if args.grpc_port < 0 else args.grpc_port,
            http_port=None if args.http_port < 0 else args.http_port,
            prometheus_port=args.prometheus_port,
            max_request_bytes=args.max_request_bytes,
            token=os.environ.get(TOKEN_ENV) or None,
            verification_tools=tuple(args.verification_tool),
            assembly=AssemblyLimits(
                grace_s=args.grace, ttl_s=args.ttl, max_traces=args.max_traces,
                max_spans_per_trace=args.max_spans_per_trace, max_bytes=args.max_bytes,
            ),
            ledger=Limits(),
        )
        prices = PriceBook(args.prices)
        run(config, prices)
    except (ValueError, PriceFileError, OSError) as exc:
        print(f"agentyield serve: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="agentyield", description="Measure AI agents by the work they finish.")
    parser.add_argument("--version", action="version", version=f"agentyield {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="analyse trace files: OTLP JSON lines (ours, or a Collector file exporter's), OTLP/JSON documents, .pb")
    report.add_argument("paths", nargs="+", help="files or directories (*.jsonl, *.json, *.pb, *.gz)")
    demo = commands.add_parser("demo", help="run a scripted agent workload against a local mock, then report on it")
    demo.add_argument("--dir", default=".agentyield", help="where the demo writes its OTLP JSON lines (default .agentyield)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--scale", type=int, default=1)
    demo.add_argument("--no-report", action="store_true", help="only run the workload (e.g. exporting over OTLP to a Collector)")
    for sub in (report, demo):
        sub.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE ('-' for stdout, instead of the table)")
        sub.add_argument("--html", metavar="FILE", help="write a self-contained HTML page with charts")
        sub.add_argument(
            "--prices", metavar="FILE",
            help="re-price every call with this JSON or YAML price file (over genai-prices) instead of the costs recorded live",
        )
        sub.add_argument(
            "--budget", choices=("output", "billed", "usd"), default="output",
            help="the budget axis of 'performance at a fixed budget' (default: output tokens, reasoning included)",
        )
    serve = commands.add_parser(
        "serve", help="receive OTLP spans from any instrumentation and export agentyield's metrics (docs/interop.md)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback; 0.0.0.0 for all)")
    serve.add_argument("--grpc-port", type=int, default=4317, help="OTLP/gRPC port (default 4317; 0 any free; -1 off)")
    serve.add_argument("--http-port", type=int, default=4318, help="OTLP/HTTP port (default 4318; 0 any free; -1 off)")
    serve.add_argument("--prometheus-port", type=int, help="also serve the metrics for Prometheus at :PORT/metrics")
    serve.add_argument("--prices", metavar="FILE", help="a JSON or YAML price file that overrides or adds models")
    serve.add_argument("--verification-tool", action="append", default=[], metavar="NAME", help="a tool whose calls are verification")
    serve.add_argument("--grace", type=float, default=2.0, help="seconds to wait for stragglers after a trace's root ends")
    serve.add_argument("--ttl", type=float, default=300.0, help="seconds after which an open trace is booked anyway")
    serve.add_argument("--max-traces", type=int, default=10_000, help="open traces held at most")
    serve.add_argument("--max-spans-per-trace", type=int, default=10_000)
    serve.add_argument("--max-bytes", type=int, default=256 * 1024 * 1024, help="bytes of open traces held at most")
    serve.add_argument("--max-request-bytes", type=int, default=16 * 1024 * 1024, help="largest request body accepted")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _demo(args) if args.command == "demo" else _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
