"""`agentyield report` streams its input through the bounded trace assembly: its memory follows the open
traces (and one small row per call and task for the analyses), not the file's size; holding every span
cost about 9x the input. Measured, not timed: the peak resident set of the real command in a subprocess,
on a file of real spans (the demo's, copied as further runs later in time) and on one four times its size, as
JSON lines, as one OTLP protobuf request (`.pb`) and as one pretty-printed OTLP/JSON document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")

_TIMES = re.compile(r'"(startTimeUnixNano|endTimeUnixNano|timeUnixNano)":"(\d+)"')
_TRACE = re.compile(r'"traceId":"([0-9a-f]{4})')


@pytest.fixture(scope="module")
def demo_lines(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], int]:
    """The demo's spans as OTLP JSON lines (real instrumentation of real SDK calls), and how long they span (ns)."""
    directory = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "agentyield", "demo", "--dir", str(directory), "--seed", "3", "--no-report"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for path in sorted(directory.rglob("traces*.jsonl")) for line in path.read_text().splitlines() if line]
    times = [int(t) for line in lines for _, t in _TIMES.findall(line)]
    return lines, max(times) - min(times)


def write_runs(path: Path, lines: list[str], span_ns: int, runs: int) -> None:
    """`runs` copies of the demo's run, one after another an hour apart (past every cache lifetime), each
    with trace ids of its own."""
    shift = span_ns + 3_600_000_000_000
    with path.open("w") as handle:
        for run in range(runs):
            for line in lines:
                line = _TIMES.sub(lambda m: f'"{m.group(1)}":"{int(m.group(2)) + run * shift}"', line)
                handle.write(_TRACE.sub(f'"traceId":"{run:04x}', line) + "\n")


def as_protobuf(lines: Path, path: Path) -> None:
    """The spans of a JSON lines file as one OTLP protobuf request (a `.pb` file): each line's export batch one
    ResourceSpans of it, in order, as a Collector's batch of batches carries them."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from agentyield.serve._decode import decode_json

    request = ExportTraceServiceRequest()
    for line in lines.read_text().splitlines():
        request.resource_spans.extend(decode_json(line.encode()).resource_spans)
    path.write_bytes(request.SerializeToString())


_MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "agentyield", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""
"""Runs the command as the child of a fresh small process: a child's peak resident set starts at its parent's
(the kernel carries the forked memory's high-water mark across exec), and the test process is large."""


def report(path: Path, out: Path) -> tuple[dict[str, Any], int]:
    """`agentyield report --json` on `path`: its result and the peak resident set (bytes) of that one process,
    from the kernel's accounting."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, "report", str(path), "--json", str(out)], capture_output=True, text=True, timeout=600)
    code, peak = done.stdout.splitlines()[-1].split()  # after whatever the command printed
    assert code == "0", done.stderr[-2000:]
    return json.loads(out.read_text()), int(peak) * 1024  # kilobytes on Linux


@pytest.mark.parametrize("suffix", ["jsonl", "pb", "json"])
def test_report_memory_follows_open_traces_not_file_size(demo_lines: tuple[list[str], int], tmp_path: Path, suffix: str) -> None:
    lines, span_ns = demo_lines
    paths = {}
    for name, runs in (("one", 1), ("small", 4), ("large", 16)):
        paths[name] = tmp_path / f"{name}.jsonl"
        write_runs(paths[name], lines, span_ns, runs)
        if suffix != "jsonl":
            as_protobuf(paths[name], paths[name].with_suffix(".pb"))
            paths[name] = paths[name].with_suffix(".pb")
        if suffix == "json":  # one pretty-printed OTLP/JSON document
            from google.protobuf.json_format import MessageToJson
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

            request = ExportTraceServiceRequest.FromString(paths[name].read_bytes())
            paths[name] = paths[name].with_suffix(".json")
            paths[name].write_text(MessageToJson(request))
            del request
    single, _ = report(paths["one"], tmp_path / "one-report.json")
    (small_data, small_peak), (large_data, large_peak) = (report(paths[name], tmp_path / f"{name}-report.json") for name in ("small", "large"))
    for data, runs in ((small_data, 4), (large_data, 16)):  # every call and task booked, none twice, nothing dropped
        for key in ("tasks", "llm_calls", "unpriced_calls"):
            assert data["summary"][key] == runs * single["summary"][key], key
        assert data["summary"]["cost_usd"] == pytest.approx(runs * single["summary"]["cost_usd"], rel=1e-9)
        assert data["source"]["spans"] == runs * single["source"]["spans"] and data["source"]["limits_hit"] == {}
    small_size, large_size = paths["small"].stat().st_size, paths["large"].stat().st_size
    grown = large_peak - small_peak
    print(f"\n{suffix}: input {small_size / 1e6:.1f} MB -> {large_size / 1e6:.1f} MB; peak RSS {small_peak / 1e6:.1f} MB -> "
          f"{large_peak / 1e6:.1f} MB (grew {grown / (large_size - small_size):.2f}x the input's growth)")
    # Holding every span grew the peak by several times the input's growth; what still grows is a row per call and task.
    assert grown < 0.5 * (large_size - small_size) if suffix != "pb" else grown < 1.0 * (large_size - small_size)


def test_bounds_that_act_are_counted_and_shown(demo_lines: tuple[list[str], int], tmp_path: Path) -> None:
    """With room for one open trace, a trace that another one's span finds open is booked early, and its
    spans that come after are booked on their own (late): no call is lost, but a call seen twice (the
    anthropic SDK's own span under ours) split across the pieces, when that happens, is no longer recognised as one. A span past
    the per-trace cap is dropped. All of it is counted, and the report says so."""
    from collections import Counter

    from agentyield._report import build_report, render_text
    from agentyield._tracefiles import iter_spans
    from agentyield.processors._assembly import AssemblyLimits

    lines, span_ns = demo_lines
    path = tmp_path / "one.jsonl"
    write_runs(path, lines, span_ns, 1)
    per_trace = Counter(span.trace_id for span in iter_spans([path], []))
    whole = build_report([path])
    evicted = build_report([path], limits=AssemblyLimits(max_traces=1, grace_s=1e9))
    hits = evicted["source"]["limits_hit"]
    assert set(hits) == {"report:traces_evicted", "report:late_spans"} and hits["report:traces_evicted"] >= len(per_trace) - 1
    # No call is lost. Whether a call seen twice is split across pieces (and then counted twice) depends on how
    # the demo's threads interleaved its spans in the file: more calls, or as many, never fewer.
    assert evicted["summary"]["tasks"] == whole["summary"]["tasks"] and evicted["summary"]["llm_calls"] >= whole["summary"]["llm_calls"]
    assert f"report:late_spans {hits['report:late_spans']}" in render_text(evicted)
    capped = build_report([path], limits=AssemblyLimits(max_spans_per_trace=3))
    dropped = sum(n - 3 for n in per_trace.values() if n > 3)
    assert dropped and capped["source"]["limits_hit"] == {"report:spans_per_trace": dropped}
    assert capped["source"]["spans"] == whole["source"]["spans"]  # read, then dropped by the bound
    assert f"report:spans_per_trace {capped['source']['limits_hit']['report:spans_per_trace']}" in render_text(capped)
