"""The `agentyield` command: `demo` and `report`."""

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
    args = parser.parse_args(argv)
    return _demo(args) if args.command == "demo" else _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
