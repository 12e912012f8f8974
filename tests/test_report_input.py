"""`agentyield report` reads what exists and only errors on what is wrong.

A live agent's file can end mid-line: that line is skipped with a warning naming file and line, and the
rest is reported. A malformed line (wrong types anywhere in the request) gives one line naming the file,
line and field, and exit code 2 when nothing else in its file is readable. OTLP/JSON documents and .pb
protobuf files read the same as JSON lines.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from agentyield._files import JsonLinesSpanExporter
from test_cli import cli
from test_processor import record_scenario


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """The processor test's scenario as OTLP JSON lines, and its finished spans."""
    directory = tmp_path_factory.mktemp("recorded")
    _, spans = record_scenario(extra_exporter=JsonLinesSpanExporter(directory))
    return directory / "traces.jsonl", spans


def report_json(*paths: Path) -> tuple[dict[str, Any], str]:
    result = cli("report", *map(str, paths), "--json", "-")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    source = data.pop("source")
    return data, json.dumps(source)


def test_a_partial_last_line_is_skipped_with_a_warning(recorded: tuple[Path, list[Any]], tmp_path: Path) -> None:
    whole, _ = recorded
    expected, _ = report_json(whole)
    content = whole.read_text()
    lines = content.splitlines(keepends=True)
    live = tmp_path / "traces.jsonl"
    live.write_text(content + lines[0][: len(lines[0]) // 2])  # the agent is writing its next line right now
    result = cli("report", str(live), "--json", "-")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"agentyield report: skipped {live}:{len(lines) + 1}: not JSON (truncated?): "
        + result.stderr.split("(truncated?): ")[1].splitlines()[0],
        "agentyield report: skipped 1 unreadable lines; the report covers the rest",
    ]
    data = json.loads(result.stdout)
    assert data.pop("source")["skipped_lines"] == [result.stderr.splitlines()[0].removeprefix("agentyield report: skipped ")]
    assert data == expected


VALID: dict[str, Any] = {
    "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeSpans": [{
            "scope": {"name": "agentyield", "attributes": []},
            "spans": [{
                "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "parentSpanId": "",
                "name": "chat gpt-4o", "kind": 3, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                               {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}],
                "events": [], "status": {"code": 0},
            }],
        }],
    }],
}
SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(depth):
        value = {"arrayValue": {"values": [value]}}
    return value


def span_with(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda request: request["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(fields)


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("resourceSpans a string", lambda r: r.update(resourceSpans="spans"), "resourceSpans: expected a list, got a string"),
    ("resourceSpans of numbers", lambda r: r.update(resourceSpans=[1]), "resourceSpans[0]: expected an object, got a number"),
    ("resource a list", lambda r: r["resourceSpans"][0].update(resource=[]), "resourceSpans[0].resource: expected an object, got a list"),
    ("scopeSpans an object", lambda r: r["resourceSpans"][0].update(scopeSpans={}), "resourceSpans[0].scopeSpans: expected a list, got an object"),
    ("scope attributes a number", lambda r: r["resourceSpans"][0]["scopeSpans"][0]["scope"].update(attributes=7),
     "resourceSpans[0].scopeSpans[0].scope.attributes: expected a list, got a number"),
    ("spans a string", lambda r: r["resourceSpans"][0]["scopeSpans"][0].update(spans="x"), "resourceSpans[0].scopeSpans[0].spans: expected a list, got a string"),
    ("span a list", lambda r: r["resourceSpans"][0]["scopeSpans"][0].update(spans=[[]]), f"{SPAN}: expected an object, got a list"),
    ("traceId an int", span_with(traceId=12345), f"{SPAN}.traceId: expected a hex string, got a number"),
    ("traceId not hex", span_with(traceId="zz" * 16), f"{SPAN}.traceId: expected 32 hex digits, got 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'"),
    ("spanId too short", span_with(spanId="b7ad6b71692033"), f"{SPAN}.spanId: expected 16 hex digits, got 'b7ad6b71692033'"),
    ("parentSpanId bad", span_with(parentSpanId="not-an-id"), f"{SPAN}.parentSpanId: expected 16 hex digits, got 'not-an-id'"),
    ("start time text", span_with(startTimeUnixNano="abc"), f"{SPAN}.startTimeUnixNano: expected an integer, got 'abc'"),
    ("start time a float", span_with(startTimeUnixNano=1.5), f"{SPAN}.startTimeUnixNano: expected an integer, got 1.5"),
    ("negative end time", span_with(endTimeUnixNano=-5), f"{SPAN}.endTimeUnixNano: -5 is out of range (negative)"),
    ("end before start", span_with(endTimeUnixNano="1600000000000000000"),
     f"{SPAN}.endTimeUnixNano: 1600000000000000000 is before startTimeUnixNano 1700000000000000000"),
    ("name a number", span_with(name=42), f"{SPAN}.name: expected a string, got a number"),
    ("attributes a string", span_with(attributes="a=b"), f"{SPAN}.attributes: expected a list, got a string"),
    ("attribute key a number", span_with(attributes=[{"key": 1, "value": {"stringValue": "x"}}]), f"{SPAN}.attributes[0].key: expected a string, got a number"),
    ("intValue text", span_with(attributes=[{"key": "k", "value": {"intValue": "twelve"}}]), f"{SPAN}.attributes[0].value.intValue: expected an integer, got 'twelve'"),
    ("doubleValue a list", span_with(attributes=[{"key": "k", "value": {"doubleValue": [1]}}]), f"{SPAN}.attributes[0].value.doubleValue: expected a number, got a list"),
    ("boolValue text", span_with(attributes=[{"key": "k", "value": {"boolValue": "true"}}]), f"{SPAN}.attributes[0].value.boolValue: expected true or false, got a string"),
    ("deeply nested value", span_with(attributes=[{"key": "k", "value": nested(40)}]), "values nested deeper than 16 levels"),
    ("events a string", span_with(events="x"), f"{SPAN}.events: expected a list, got a string"),
    ("status a string", span_with(status="OK"), f"{SPAN}.status: expected an object, got a string"),
]


@pytest.mark.parametrize(("mutate", "message"), [pytest.param(m, e, id=name) for name, m, e in MALFORMED])
def test_malformed_otlp_json_is_one_line_and_exit_2(tmp_path: Path, mutate: Callable[[dict[str, Any]], None], message: str) -> None:
    request = copy.deepcopy(VALID)
    mutate(request)
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(request) + "\n")
    result = cli("report", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"agentyield report: {path}:1: ") and message in result.stderr
    # The same line after a readable one is skipped with the same words, and the rest is reported.
    path.write_text(json.dumps(VALID) + "\n" + json.dumps(request) + "\n")
    result = cli("report", str(path), "--json", "-")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith(f"agentyield report: skipped {path}:2: ") and message in result.stderr
    assert json.loads(result.stdout)["source"]["spans"] == 1


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2]\n", "not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)"),
    ("[" * 100_000 + "\n", "not JSON"),
    ("\x00\x01binary\n", "not JSON"),
])
def test_not_otlp_at_all_is_one_line_and_exit_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = cli("report", str(path))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"agentyield report: {path}:1: {message}")


def test_otlp_json_documents_and_protobuf_files_read_like_json_lines(recorded: tuple[Path, list[Any]], tmp_path: Path) -> None:
    whole, spans = recorded
    expected, _ = report_json(whole)
    request = encode_spans(spans)
    document = tmp_path / "export.json"
    document.write_text(MessageToJson(request))  # pretty-printed; ids in base64, enums as names, int64 as strings
    assert document.read_text().count("\n") > 100
    body = tmp_path / "export.pb"
    body.write_bytes(request.SerializeToString())  # an OTLP/HTTP request body
    zipped = tmp_path / "export.pb.gz"
    zipped.write_bytes(gzip.compress(request.SerializeToString()))
    for path in (document, body, zipped):
        assert report_json(path)[0] == expected, path


def test_a_corrupt_protobuf_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "export.pb"
    path.write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    result = cli("report", str(path))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"agentyield report: {path}:1: not an OTLP protobuf ExportTraceServiceRequest")
