"""The unit-of-work API: task() as context manager and decorator, artifacts, outcomes, verification."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import agentyield
from agentyield import _semconv as sc


def task_spans(exporter: Any) -> dict[str, Any]:
    return {s.name: s for s in exporter.get_finished_spans()}


def test_task_span_artifacts_and_outcome(instrumented: None, span_exporter: Any) -> None:
    with agentyield.task("fix-bug", task_id="T-1", agent="coder", attributes={"repo": "acme"}) as t:
        assert agentyield.current_task() is t
        t.artifact("patch", id="p1", accepted=True, attributes={"lines": 12})
        t.artifact("note")
        t.outcome(True, score=0.75)
    assert agentyield.current_task() is None
    span = task_spans(span_exporter)["invoke_agent coder"]
    assert span.kind.name == "INTERNAL"
    assert {k: span.attributes[k] for k in ("gen_ai.operation.name", "gen_ai.agent.name", sc.TASK_NAME, sc.TASK_ID, "repo", sc.TASK_OUTCOME, sc.TASK_SCORE)} == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "coder",
        sc.TASK_NAME: "fix-bug",
        sc.TASK_ID: "T-1",
        "repo": "acme",
        sc.TASK_OUTCOME: "success",
        sc.TASK_SCORE: 0.75,
    }
    assert [(e.name, dict(e.attributes)) for e in span.events] == [
        ("agentyield.artifact", {"lines": 12, sc.ARTIFACT_KIND: "patch", sc.ARTIFACT_ID: "p1", sc.ARTIFACT_ACCEPTED: True}),
        ("agentyield.artifact", {sc.ARTIFACT_KIND: "note"}),
    ]


def test_exception_marks_failure_and_propagates_unchanged(instrumented: None, span_exporter: Any) -> None:
    error = KeyError("missing")
    with pytest.raises(KeyError) as raised:
        with agentyield.task("lookup"):
            raise error
    assert raised.value is error
    span = task_spans(span_exporter)["invoke_workflow lookup"]
    assert span.attributes[sc.TASK_OUTCOME] == "failure"
    assert span.attributes[sc.ERROR_TYPE] == "KeyError"
    assert span.status.status_code.name == "ERROR"


def test_decorator_sync_and_async_one_task_per_call(instrumented: None, span_exporter: Any) -> None:
    @agentyield.task("plan", agent="planner")
    def plan(x: int) -> int:
        agentyield.current_task().artifact("plan", accepted=True)  # type: ignore[union-attr]
        return x * 2

    @agentyield.task("act", agent="actor")
    async def act(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    assert plan.__name__ == "plan"
    assert [plan(1), plan(2)] == [2, 4]
    assert asyncio.run(act(1)) == 2
    names = [s.name for s in span_exporter.get_finished_spans()]
    assert names == ["invoke_agent planner", "invoke_agent planner", "invoke_agent actor"]
    ids = {s.attributes[sc.TASK_ID] for s in span_exporter.get_finished_spans()}
    assert len(ids) == 3


def test_nested_tasks_inherit_agent_and_parent(instrumented: None, span_exporter: Any) -> None:
    with agentyield.task("outer", agent="lead"):
        with agentyield.task("inner") as inner:
            assert inner.agent == "lead"
            with agentyield.verification("tests"):
                pass
    spans = {s.attributes.get(sc.TASK_NAME, s.name): s for s in span_exporter.get_finished_spans()}
    assert spans["inner"].parent.span_id == spans["outer"].context.span_id
    assert spans["verification tests"].parent.span_id == spans["inner"].context.span_id
    assert spans["verification tests"].attributes[sc.PHASE] == "verification"


def test_artifact_outside_tasks_is_a_window_span(instrumented: None, span_exporter: Any) -> None:
    agentyield.artifact("alert", agent="watcher", id="a1", accepted=True)
    with agentyield.task("t", agent="other"):
        agentyield.artifact("report", agent="watcher")  # another agent's artifact: its window, not this task
    spans = [s for s in span_exporter.get_finished_spans() if s.name == "agentyield.artifact"]
    assert [dict(s.attributes) for s in spans] == [
        {sc.ARTIFACT_KIND: "alert", sc.ARTIFACT_ID: "a1", sc.ARTIFACT_ACCEPTED: True, sc.ARTIFACT_AGENT: "watcher"},
        {sc.ARTIFACT_KIND: "report", sc.ARTIFACT_AGENT: "watcher"},
    ]


async def test_async_context_manager(instrumented: None, span_exporter: Any) -> None:
    async with agentyield.task("fetch", agent="a") as t:
        t.outcome(False)
        async with agentyield.verification():
            pass
    assert [s.name for s in span_exporter.get_finished_spans()] == ["verification", "invoke_agent a"]
    assert span_exporter.get_finished_spans()[1].attributes[sc.TASK_OUTCOME] == "failure"
