#!/usr/bin/env python
"""The derivation core's throughput (agentyield only), as one JSON object.

    .venv/bin/python benchmarks/bench_derive.py

- Span processor: finished LLM spans of another instrumentation (OpenTelemetry GenAI attributes, the way the
  official instrumentations and OpenLLMetry write them) handed to `on_start` + `on_end`, timed without the cost
  of making them; spans per second on one core (the processor holds the GIL).
- `agentyield report`: the same spans written as OTLP JSON lines by the embedded exporter, then replayed;
  spans per second, whole command included.
- Memory per open task: `agentyield.task()` contexts held open at once, traced allocations per task.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

import agentyield
from agentyield.processors import AgentYieldSpanProcessor

_MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5")


def foreign_spans(n: int) -> list[Any]:
    """n finished spans as a GenAI instrumentation other than agentyield writes them."""
    tracer = TracerProvider().get_tracer("opentelemetry.instrumentation.openai_v2")
    spans = []
    for i in range(n):
        model = _MODELS[i % len(_MODELS)]
        provider = "anthropic" if model.startswith("claude") else "openai"
        span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider, "gen_ai.request.model": model,
            "server.address": f"api.{provider}.com", "server.port": 443,
        })
        span.set_attributes({
            "gen_ai.response.model": model, "gen_ai.response.id": f"resp-{i}",
            "gen_ai.response.finish_reasons": ("stop",), "gen_ai.usage.input_tokens": 2006 + i % 97,
            "gen_ai.usage.output_tokens": 300, "gen_ai.usage.cache_read.input_tokens": 1920,
        })
        span.end()
        spans.append(span)
    return spans


def processor_throughput(spans: list[Any], repeats: int) -> list[float]:
    """Spans per second through a fresh processor, `repeats` times."""
    out = []
    for _ in range(repeats):
        processor = AgentYieldSpanProcessor()
        start = time.perf_counter()
        for span in spans:
            processor.on_start(span)
            processor.on_end(span)
        out.append(len(spans) / (time.perf_counter() - start))
    return out


def report_throughput(spans: list[Any]) -> float:
    """Spans per second through `agentyield report`, from the embedded exporter's own files."""
    from agentyield._cli import main as cli
    from agentyield._files import JsonLinesSpanExporter

    with tempfile.TemporaryDirectory() as directory:
        exporter = JsonLinesSpanExporter(Path(directory))
        for start in range(0, len(spans), 512):
            exporter.export(spans[start:start + 512])
        exporter.shutdown()
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli(["report", directory])
        return len(spans) / (time.perf_counter() - started)


def memory_per_task(n: int) -> float:
    """Bytes allocated per `task()` held open (span, context, ledger state)."""
    provider = TracerProvider()
    agentyield.instrument(tracer_provider=provider)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(agentyield.task("warm"))
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            for i in range(n):
                stack.enter_context(agentyield.task(f"task-{i % 10}"))
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
        return held / n
    finally:
        agentyield.uninstrument()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spans = foreign_spans(args.spans)
    processor_throughput(spans[:500], 1)  # warm: price lookups, first-use caches
    out = {
        "spans": args.spans,
        "processor_spans_per_s": processor_throughput(spans, args.repeats),
        "report_spans_per_s": report_throughput(spans),
        "bytes_per_open_task": memory_per_task(500),
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
