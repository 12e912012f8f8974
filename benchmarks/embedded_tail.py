"""Tail latency of the embedded default: what the agent's calls wait while the exporter thread serializes.

Each child process makes CALLS chat calls through the real openai SDK (in-process MockTransport) with
`agentyield.instrument()` writing to the embedded default, and reports its per-call p50 and p99. The
exporter runs on the batch span processor's thread, so the agent only waits for the GIL that thread holds
while it serializes; `--serializer protobuf` switches the exporter back to the OTLP exporters' protobuf
encoding plus protobuf's JSON mapping, to compare within one run. Ratios within a run are what count.

usage: python benchmarks/embedded_tail.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, {tests!r})
mode, calls = sys.argv[1], int(sys.argv[2])
import agentyield
if mode != "off":
    agentyield.instrument()
if mode == "protobuf":
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from agentyield import _files
    from agentyield._otlp_json import to_json_line
    _files.JsonLinesSpanExporter.export = lambda self, spans: (
        _files.SpanExportResult.SUCCESS if _files._append(self.writer, to_json_line(encode_spans(spans))) else _files.SpanExportResult.FAILURE)
from openai_mock import OpenAIMock, clients
client, _ = clients(OpenAIMock())
messages = [{{"role": "user", "content": "go"}}]
for _ in range(50):
    client.chat.completions.create(model="gpt-4o", messages=messages)
took = []
for _ in range(calls):
    start = time.perf_counter()
    with agentyield.task("t", agent="a"):
        client.chat.completions.create(model="gpt-4o", messages=messages)
    took.append(time.perf_counter() - start)
took.sort()
print(json.dumps({{"p50": took[len(took) // 2], "p99": took[int(len(took) * 0.99)]}}))
"""


def child(mode: str, calls: int) -> dict[str, float]:
    code = CHILD.format(tests=str(ROOT / "tests"))
    with tempfile.TemporaryDirectory() as directory:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}, "AGENTYIELD_DIR": directory}
        out = subprocess.run([sys.executable, "-c", code, mode, str(calls)], capture_output=True, text=True, env=env, timeout=600)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    modes = ["off", "direct", "protobuf"]
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for round_ in range(args.rounds):
        for mode in modes[round_ % 3:] + modes[: round_ % 3]:  # rotate the order between rounds
            results[mode].append(child(mode, args.calls))
    median = {m: {q: statistics.median(r[q] for r in rs) for q in ("p50", "p99")} for m, rs in results.items()}
    for mode in modes:
        print(f"{mode:9s} p50 {median[mode]['p50'] * 1e3:7.2f} ms  p99 {median[mode]['p99'] * 1e3:7.2f} ms")
    print(f"p99 over uninstrumented: direct {median['direct']['p99'] / median['off']['p99']:.2f}x, "
          f"protobuf path {median['protobuf']['p99'] / median['off']['p99']:.2f}x "
          f"(medians of {args.rounds} rounds of {args.calls} calls; {time.strftime('%H:%M')})")


if __name__ == "__main__":
    main()
