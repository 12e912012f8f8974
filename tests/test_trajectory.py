"""Trajectory and context measures per task, recorded at its end: a scripted agent (real openai SDK against a
mock endpoint, real tools), every expected value computed here from the scenario's own inputs."""

from __future__ import annotations

import math
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


def test_trajectory_and_context_measures(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
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

    verdicts = [False, False, True, False]
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
        for accepted in verdicts:
            task.artifact("patch", accepted=accepted)

    spans = span_exporter.get_finished_spans()
    llm = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(llm) == 5
    own_calls = [*OWN_CALLS, VERIFY_CALL]
    own_costs = [s.attributes["agentyield.cost.usd"] for s in llm[:4]]

    inputs = [p for p, _, _ in own_calls]
    growth = sum(b - a for a, b in zip(inputs, inputs[1:])) / (len(inputs) - 1)
    resent = sum(max(0, min(prev, cur) - cached) for (prev, _, _), (cur, cached, _) in zip(own_calls, own_calls[1:]))
    own_output = sum(c for _, _, c in own_calls)
    own_tokens = sum(inputs) + own_output
    expected = {
        "agentyield.task.llm_calls": 5,
        "agentyield.task.tool_calls": 5,
        "agentyield.task.tool_calls.redundant": 2,
        "agentyield.task.loops": 1,
        "agentyield.task.rework": verdicts.index(True),
        "agentyield.task.context.growth": growth,
        "agentyield.task.input.resent_uncached": resent / sum(inputs),
        "agentyield.task.context_to_output": sum(inputs) / own_output,
        "agentyield.task.verification.share": own_costs[3] / math.fsum(own_costs),
        "agentyield.task.token_multiplier": (own_tokens + SUB_CALL[0] + SUB_CALL[2]) / own_tokens,
    }
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
