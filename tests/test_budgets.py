"""Budgets enforced live: span events at 80% and 100%, exceeded tasks counted, `on_exceed="raise"` stops a
runaway loop before its next LLM call is sent, and a sub-agent's spend counts against its parent's budget."""

from __future__ import annotations

import math
from typing import Any

import pytest

import agentyield
from agentyield import _semconv as sc

from metrics_util import labels, points
from openai_mock import CHAT_USAGE, OpenAIMock, clients

CALL_TOKENS = CHAT_USAGE["prompt_tokens"] + CHAT_USAGE["completion_tokens"]


def ask(client: Any) -> None:
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "again"}])


def events(exporter: Any, span_name: str) -> list[tuple[str, int]]:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == span_name]
    return [(e.name, e.attributes["agentyield.budget.spent.tokens"]) for e in span.events if e.name.startswith("agentyield.budget")]


def test_raise_stops_a_runaway_loop_before_the_next_call(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    mock = OpenAIMock()
    client, _ = clients(mock)
    budget = 5 * CALL_TOKENS // 2  # spent during the 3rd call
    with pytest.raises(agentyield.BudgetExceeded) as raised:
        with agentyield.task("loop", agent="runaway", budget_tokens=budget, on_exceed="raise"):
            for _ in range(100):
                ask(client)
    sent = math.ceil(budget / CALL_TOKENS)
    warned = math.ceil(0.8 * budget / CALL_TOKENS)
    assert len(mock.bodies) == sent  # the call after the one that exceeded it was never sent
    assert f"of {budget} tokens" in str(raised.value)
    assert events(span_exporter, "invoke_agent runaway") == [
        (sc.BUDGET_WARNING_EVENT, warned * CALL_TOKENS),
        (sc.BUDGET_EXCEEDED_EVENT, sent * CALL_TOKENS),
    ]
    (task,) = [s for s in span_exporter.get_finished_spans() if s.name == "invoke_agent runaway"]
    assert task.attributes[sc.TASK_OUTCOME] == "failure"
    assert task.attributes[sc.ERROR_TYPE] == "BudgetExceeded"
    assert task.attributes[sc.TASK_BUDGET_EXCEEDED] is True
    assert points(metric_reader)["agentyield.budget.exceeded"] == {
        labels(gen_ai__agent__name="runaway", agentyield__task__name="loop", agentyield__budget__on_exceed="raise"): 1
    }


def test_record_only_marks_and_counts(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    mock = OpenAIMock()
    client, _ = clients(mock)
    with agentyield.task("chatty", agent="talker", budget_tokens=CALL_TOKENS):
        for _ in range(3):
            ask(client)
    assert len(mock.bodies) == 3
    assert events(span_exporter, "invoke_agent talker") == [(sc.BUDGET_EXCEEDED_EVENT, CALL_TOKENS)]
    assert points(metric_reader)["agentyield.budget.exceeded"] == {
        labels(gen_ai__agent__name="talker", agentyield__task__name="chatty", agentyield__budget__on_exceed="record"): 1
    }


def test_sub_agent_spend_counts_against_the_parent(instrumented: None, span_exporter: Any) -> None:
    mock = OpenAIMock()
    client, _ = clients(mock)
    with pytest.raises(agentyield.BudgetExceeded):
        with agentyield.task("lead", agent="lead", budget_usd=1e-9, on_exceed="raise"):
            with agentyield.task("helper", agent="helper"):
                ask(client)  # exceeds the parent's budget
                ask(client)  # raises: the parent's budget is enforced inside its sub-tasks too
    assert len(mock.bodies) == 1
    (exceeded,) = [e for e in events(span_exporter, "invoke_agent lead") if e[0] == sc.BUDGET_EXCEEDED_EVENT]
    assert exceeded[1] == CALL_TOKENS


def test_bad_budget_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="on_exceed='stop'"):
        agentyield.task("x", budget_usd=1, on_exceed="stop")
    with pytest.raises(ValueError, match="budget_usd=-1"):
        agentyield.task("x", budget_usd=-1)
    with pytest.raises(ValueError, match="budget_tokens=1.5"):
        agentyield.task("x", budget_tokens=1.5)  # type: ignore[arg-type]


def test_decorated_task_keeps_its_budget(instrumented: None, span_exporter: Any) -> None:
    mock = OpenAIMock()
    client, _ = clients(mock)

    @agentyield.task("job", agent="decorated", budget_tokens=1, on_exceed="raise")
    def job() -> None:
        ask(client)
        ask(client)

    for _ in range(2):
        with pytest.raises(agentyield.BudgetExceeded):
            job()
    assert len(mock.bodies) == 2  # one call per run: each run is a task with its own budget
