"""Trajectory and context measures per task, recorded at its end: a scripted agent (real openai SDK against a
mock endpoint, real tools), every expected value computed here from the scenario's own inputs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import agentyield

from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, hx

# (prompt tokens including cached, cached, completion) of each LLM call, in order.
OWN_CALLS = [(1000, 0, 50), (1500, 800, 100), (2100, 0, 30)]
VERIFY_CALL = (2200, 2000, 10)
SUB_CALL = (500, 0, 20)


def usage(prompt: int, cached: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def scripted(calls: list[tuple[int, int, int]]) -> OpenAIMock:
    answers = iter(calls)
    return OpenAIMock(lambda body, path: hx.Response(200, json=chat_completion(body, usage=usage(*next(answers)))))


VERDICTS = [False, False, True, False]


def scripted_agent() -> None:
    """Task "fix" (agent coder): three calls, tools (three identical searches: two repeats and a loop; a failing
    read; another search), a verification call, a sub-task with one call, four judged artifacts."""
    mock = scripted([*OWN_CALLS, VERIFY_CALL, SUB_CALL])
    client, _ = clients(mock)

    def ask() -> None:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])

    @agentyield.tool
    def search(q: str) -> str:
        return "result"

    @agentyield.tool
    def read(path: str) -> str:
        raise FileNotFoundError(path)

    with agentyield.task("fix", agent="coder") as task:
        ask()
        for _ in range(3):
            search("a")  # the 2nd and 3rd repeat the 1st; three in a row are a loop
        with pytest.raises(FileNotFoundError):
            read("x")
        search("b")
        ask()
        ask()
        with agentyield.verification("tests") as check:
            ask()
            check.passed(True)
        with agentyield.task("sub", agent="helper"):
            ask()
        for accepted in VERDICTS:
            task.artifact("patch", accepted=accepted)


def expected_measures(own_costs: list[float]) -> dict[str, float]:
    """Every measure of task "fix", from the script's own numbers (and the costs its spans recorded)."""
    own_calls = [*OWN_CALLS, VERIFY_CALL]
    inputs = [p for p, _, _ in own_calls]
    growth = sum(b - a for a, b in zip(inputs, inputs[1:])) / (len(inputs) - 1)
    resent = sum(max(0, min(prev, cur) - cached) for (prev, _, _), (cur, cached, _) in zip(own_calls, own_calls[1:]))
    own_output = sum(c for _, _, c in own_calls)
    own_tokens = sum(inputs) + own_output
    return {
        "agentyield.task.llm_calls": 5,
        "agentyield.task.tool_calls": 5,
        "agentyield.task.tool_calls.redundant": 2,
        "agentyield.task.loops": 1,
        "agentyield.task.rework": VERDICTS.index(True),
        "agentyield.task.context.growth": growth,
        "agentyield.task.input.resent_uncached": resent / sum(inputs),
        "agentyield.task.context_to_output": sum(inputs) / own_output,
        "agentyield.task.verification.share": own_costs[3] / math.fsum(own_costs),
        "agentyield.task.token_multiplier": (own_tokens + SUB_CALL[0] + SUB_CALL[2]) / own_tokens,
        # Four own calls (the 5th is the sub-task's): a tool result followed the 1st, the verification result the
        # 4th; the 2nd and 3rd were followed by another call.
        "agentyield.task.signal_yield": 2 / 4,
    }


def test_trajectory_and_context_measures(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    scripted_agent()
    spans = span_exporter.get_finished_spans()
    llm = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(llm) == 5
    own_costs = [s.attributes["agentyield.cost.usd"] for s in llm[:4]]
    expected = expected_measures(own_costs)
    metrics = points(metric_reader)
    coder = labels(gen_ai__agent__name="coder", agentyield__task__name="fix")
    for name, value in expected.items():
        count, total = metrics[name][coder]
        assert count == 1, name
        assert total == pytest.approx(value, rel=1e-9), name
    # The sub-task has one call and no sub-task of its own: no growth, no multiplier.
    helper = labels(gen_ai__agent__name="helper", agentyield__task__name="sub")
    assert metrics["agentyield.task.llm_calls"][helper] == (1, 1)
    assert helper not in metrics["agentyield.task.context.growth"]
    assert helper not in metrics["agentyield.task.token_multiplier"]
    assert metrics["agentyield.tool.calls.redundant"] == {labels(gen_ai__agent__name="coder", gen_ai__tool__name="search"): 2}
    assert metrics["agentyield.loops"] == {labels(gen_ai__agent__name="coder", gen_ai__tool__name="search"): 1}


def test_rework_and_repeats_on_plain_records() -> None:
    from agentyield.processors._records import ArtifactRecord
    from agentyield.processors._trajectory import LOOP_LENGTH, Trajectory, rework

    assert rework([ArtifactRecord("a", False), ArtifactRecord("a", None), ArtifactRecord("a", False)]) == 2
    assert rework([ArtifactRecord("a", True), ArtifactRecord("a", False)]) == 0
    assert rework([]) == 0
    trajectory = Trajectory()
    sequence = ["x"] * (LOOP_LENGTH + 2) + ["y", "x", "x", "x", None, None]
    repeats = [trajectory.tool("t", h) for h in sequence]
    # Repeats: every "x" after the first, the 2nd "y" never; calls without a fingerprint never repeat.
    assert repeats == [False] + [True] * (LOOP_LENGTH + 1) + [False, True, True, True, False, False]
    assert trajectory.loops == 2  # the first run of 5, then the run of 3 after "y"
    assert trajectory.redundant == LOOP_LENGTH + 1 + 3


def test_the_report_shows_the_live_measures(tmp_path: Path) -> None:
    """The same run written to trace files: the report's trajectory row is the live values, in text and JSON."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from agentyield._files import JsonLinesSpanExporter
    from agentyield._report import build_report, render_text
    from test_processor import make_providers

    tracer_provider, exporter, meter_provider, _ = make_providers()
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path)))
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        scripted_agent()
    finally:
        agentyield.uninstrument()
    llm = [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    expected = expected_measures([s.attributes["agentyield.cost.usd"] for s in llm[:4]])
    data = build_report([tmp_path])
    (row,) = [r for r in data["trajectory"] if r["agent"] == "coder"]
    assert row["tasks"] == 1
    for name, value in expected.items():
        assert row[name.removeprefix("agentyield.task.")] == pytest.approx(value, rel=1e-9), name
    (helper,) = [r for r in data["trajectory"] if r["agent"] == "helper"]
    assert helper["context.growth"] is None and helper["token_multiplier"] is None
    text = render_text(data)
    assert "Trajectory and context (mean per task" in text
    line = next(l for l in text.splitlines() if l.lstrip().startswith("coder") and " fix " in l)
    assert f"{expected['agentyield.task.input.resent_uncached'] * 100:.1f}%" in line
