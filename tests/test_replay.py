"""Offline replay: trace files give exactly the numbers the live span processor gave."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from agentyield._files import JsonLinesSpanExporter
from agentyield._otlp_json import OTLPJsonError, iter_requests
from agentyield.processors import PriceBook
from agentyield.processors._ledger import OTHER
from agentyield.processors._replay import decode_spans, replay
from test_processor import record_scenario

COUNTERS = ("agentyield.llm.calls", "agentyield.tokens", "agentyield.cost.usd", "agentyield.cache.savings.usd", "agentyield.tasks",
            "agentyield.artifacts", "agentyield.unproductive.cost.usd", "agentyield.tool.calls", "agentyield.spans.duplicate",
            "agentyield.tasks.cost_unknown", "agentyield.reasoning.tokens")
KEYS = {
    "agentyield.llm.calls": ("gen_ai.provider.name", "gen_ai.request.model", "gen_ai.agent.name", "agentyield.priced"),
    "agentyield.tokens": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name", "agentyield.token.kind"),
    "agentyield.cost.usd": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name", "agentyield.phase"),
    "agentyield.cache.savings.usd": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name"),
    "agentyield.reasoning.tokens": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name"),
    "agentyield.tasks": ("gen_ai.agent.name", "agentyield.task.name", "agentyield.task.outcome"),
    "agentyield.artifacts": ("gen_ai.agent.name", "agentyield.artifact.kind", "agentyield.artifact.accepted"),
    "agentyield.unproductive.cost.usd": ("gen_ai.agent.name", "agentyield.task.name"),
    "agentyield.tasks.cost_unknown": ("gen_ai.agent.name", "agentyield.task.name"),
    "agentyield.tool.calls": ("gen_ai.agent.name", "gen_ai.tool.name", "agentyield.tool.error"),
    "agentyield.spans.duplicate": ("gen_ai.provider.name",),
}


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """The processor test's scenario, live, with its spans also written as OTLP JSON lines."""
    live, _ = record_scenario(extra_exporter=JsonLinesSpanExporter(tmp_path))
    return live, tmp_path / "traces.jsonl"


def load(*paths: Path) -> list[Any]:
    return [span for _, _, request in iter_requests(list(paths)) for span in decode_spans(request)]


def test_replay_equals_live_metrics(recorded: tuple[dict[str, Any], Path]) -> None:
    live, path = recorded
    spans = load(path)  # spend outside tasks says whose it is: instrument(agent="watcher") wrote it on the spans
    population = replay(spans, PriceBook(), verification_tools=["run_tests"])
    ledger = population.ledger
    assert ledger is not None
    for name in COUNTERS:
        offline = {frozenset(zip(KEYS[name], labels)): value for labels, value in ledger.counter(name).items()}
        expected = live.get(name, {})
        assert {k: pytest.approx(float(v), abs=1e-12) for k, v in offline.items()} == expected, name
    assert len(population.tasks) == 4
    fix = next(t for t in population.tasks if t.name == "fix-bug" and t.outcome == "success")
    assert fix.llm_calls == 4 and fix.accepted_kinds == ("patch", "patch") and fix.artifacts_unknown == 1
    assert [t.name for t in fix.tools] == ["run_tests", "run_tests", "search"]
    assert [t.phase for t in fix.tools] == ["verification", "verification", "work"]
    assert fix.verification_cost > 0 and fix.models == ("gpt-4o-2024-08-06",)
    research = next(t for t in population.tasks if t.name == "research")
    assert research.parent_id == fix.task_id
    summarize = next(t for t in population.tasks if t.name == "summarize")
    assert summarize.cost is None and summarize.outcome == "failure"
    assert len(population.calls) == 10
    assert [(w.agent, w.kind, w.accepted) for w in population.windows] == [("watcher", "alert", True), ("watcher", "alert", False)]
    assert OTHER not in {c.agent for c in population.calls}


def test_reads_collector_file_exporter_output_and_gzip(tmp_path: Path) -> None:
    """As the Collector's file exporter writes it: hex ids, int64 as strings, enums as integers, metrics lines mixed in."""
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "parentSpanId": "",
        "name": "chat gpt-4o", "kind": 3, "startTimeUnixNano": "1764000000000000000", "endTimeUnixNano": "1764000001500000000",
        "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "2006"}},
            {"key": "gen_ai.usage.cache_read.input_tokens", "value": {"intValue": "1920"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "300"}},
            {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
        ],
        "status": {},
    }
    line = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-bot"}}]},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"}, "spans": [span]}]}]}
    metrics_line = {"resourceMetrics": [{"resource": {}, "scopeMetrics": []}]}
    plain = tmp_path / "collector.json"
    plain.write_text(json.dumps(metrics_line) + "\n" + json.dumps(line) + "\n")
    packed = tmp_path / "rotated.json.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write(json.dumps(line) + "\n")
    spans = load(tmp_path)
    assert len(spans) == 2
    assert spans[0].span_id == 0xEEE19B7EC3C1B174 and spans[0].parent_id is None and spans[0].service == "support-bot"
    assert spans[0].attributes["gen_ai.response.finish_reasons"] == ("stop",)
    population = replay(spans, PriceBook())
    # The rotated copy holds the same span (same trace and span id): it is booked once.
    assert population.duplicate_spans == 1
    assert population.ledger.counter("agentyield.llm.calls") == {("openai", "gpt-4o", "support-bot", "true"): 1}  # type: ignore[union-attr]
    assert [c.cache_read for c in population.calls] == [1920]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"resourceSpans": []}\n{"resourceSpans": [{"scopeSp', "{path}:2: not JSON (truncated?): Unterminated string starting at (column 21)"),
        ('{"resourceSpans": []}\n{"hello": "world"}\n', "{path}:2: not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)"),
        ("[1, 2, 3]\n", "{path}:1: not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(OTLPJsonError) as raised:
        load(path)
    assert str(raised.value) == message.format(path=path)


def test_empty_directory_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(OTLPJsonError) as raised:
        load(tmp_path)
    assert str(raised.value) == f"{tmp_path}: no trace files (*.jsonl, *.json, *.gz) in this directory"
    with pytest.raises(OTLPJsonError) as raised:
        load(tmp_path / "nope.jsonl")
    assert str(raised.value) == f"{tmp_path / 'nope.jsonl'}: no such file or directory"
