"""The embedded default's files: OTLP JSON lines, rotated by size, the oldest removed past `keep`."""

from __future__ import annotations

import json
from pathlib import Path

from agentyield._otlp_json import JsonLinesWriter
from agentyield._tracefiles import iter_requests


def test_rotation_by_size_keeps_the_newest(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, "traces", max_bytes=100, keep=2)
    line = json.dumps({"resourceSpans": [], "pad": "x" * 60}) + "\n"
    for _ in range(5):
        writer.write([line, line])  # each write leaves the file over 100 bytes: the next write rotates first
    rotated = sorted(tmp_path.glob("traces-*.jsonl"))
    assert len(rotated) == 2 and writer.rotated_away == 2
    assert (tmp_path / "traces.jsonl").read_text() == line * 2
    assert all(p.read_text() == line * 2 for p in rotated)
    # Every remaining file is readable as OTLP JSON lines, rotated ones included.
    assert len(list(iter_requests([tmp_path]))) == 6


def test_span_lines_are_what_the_otlp_encoder_gives() -> None:
    """The embedded default writes spans straight to JSON (a fraction of the CPU); the result is exactly the
    OTLP exporters' protobuf request through protobuf's JSON mapping, for every kind of field."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, set_span_in_context

    from agentyield._otlp_json import spans_to_json_line, to_json_line

    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "s", "n": 3}, schema_url="https://example.com/1"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ours = provider.get_tracer("agentyield", "1.0", schema_url="https://example.com/s", attributes={"agentyield.price.source": "g"})
    other = provider.get_tracer("other")
    remote = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    values = {"s": "x", "i": 0, "big": 2**62, "f": 0.0, "b": False, "e": "", "arr": ("a", "b"), "ints": (1, 2), "nan": float("nan"),
              "inf": float("-inf"), "bytes": b"\x00\x01", "empty": ()}
    with ours.start_as_current_span("root", kind=SpanKind.CLIENT, attributes=values, links=[Link(remote, {"l": 1})]) as root:
        root.add_event("event", {"k": 1})
        root.add_event("plain")
        root.set_status(Status(StatusCode.ERROR, "boom"))
        with other.start_as_current_span("child") as child:
            child.set_status(Status(StatusCode.OK))
    with other.start_as_current_span("remote child", kind=SpanKind.SERVER, context=set_span_in_context(NonRecordingSpan(remote))):
        pass
    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    assert json.loads(spans_to_json_line(spans)) == json.loads(to_json_line(encode_spans(spans)))
