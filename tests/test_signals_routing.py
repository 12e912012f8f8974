"""Learning signal per interaction, and small-model routability: a scripted agent (real openai SDK against a
mock endpoint), expected values computed here from the script."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import agentyield
from agentyield.processors import PriceBook
from agentyield.processors._pricing import TokenCounts, cost
from agentyield.processors._routing import MAX_OUTPUT

from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, hx

MODEL = "gpt-4o-2024-08-06"
SMALL = "gpt-4o-mini"


def usage(prompt: int, cached: int, completion: int, reasoning: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


def test_each_call_gets_its_next_state(instrumented: None, metric_reader: Any) -> None:
    client, _ = clients(OpenAIMock())

    def ask() -> None:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])

    @agentyield.tool
    def ok() -> str:
        return "fine"

    @agentyield.tool
    def broken() -> str:
        raise OSError("down")

    with agentyield.task("chat", agent="helper") as task:
        ask()
        ok()  # tool_success
        ask()
        with pytest.raises(OSError):
            broken()  # tool_error
        ask()
        ask()  # the previous call got nothing: none
        with agentyield.verification("check") as check:
            check.passed(False)  # verification_fail
        ask()
        task.user_message()  # user_reply
        ask()
        agentyield.signal("thumbs_down")  # a custom kind
        ask()  # ends the task with no next state: none
    expected = {"tool_success": 1, "tool_error": 1, "none": 2, "verification_fail": 1, "user_reply": 1, "thumbs_down": 1}
    metrics = points(metric_reader)
    assert metrics["agentyield.signals"] == {labels(gen_ai__agent__name="helper", agentyield__signal__kind=k): n for k, n in expected.items()}
    interactions = 7
    signaled = sum(n for k, n in expected.items() if k != "none")
    assert metrics["agentyield.task.signal_yield"][labels(gen_ai__agent__name="helper", agentyield__task__name="chat")] == (1, signaled / interactions)


def test_routable_calls_and_savings(instrument: Any, metric_reader: Any) -> None:
    calls = [  # (prompt, cached, completion, reasoning, tool_call)
        (2000, 0, 40, 0, False),  # short: routable
        (2000, 1000, MAX_OUTPUT + 1, 0, False),  # too long
        (2000, 0, 40, 32, False),  # reasoning: not routable
        (3000, 2048, 400, 0, True),  # tool calls only, modest output: routable
    ]
    answers = iter(calls)

    def respond(body: dict[str, Any], path: str) -> Any:
        prompt, cached, completion, reasoning, tool_call = next(answers)
        return hx.Response(200, json=chat_completion(body, usage=usage(prompt, cached, completion, reasoning), tool_call=tool_call))

    client, _ = clients(OpenAIMock(respond))
    instrument(agent="router", small_model=SMALL)
    for _ in calls:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])
    prices = PriceBook()
    big, small = prices.rates("openai", MODEL, 2000), prices.rates("openai", SMALL, 2000)
    assert big is not None and small is not None
    routable = [c for i, c in enumerate(calls) if i in (0, 3)]
    saving = sum((cost(TokenCounts(p - k, k, 0, 0, o), big) - cost(TokenCounts(p - k, k, 0, 0, o), small) for p, k, o, _, _ in routable), Decimal(0))
    metrics = points(metric_reader)
    key = labels(gen_ai__provider__name="openai", gen_ai__response__model=MODEL, gen_ai__agent__name="router")
    assert metrics["agentyield.routing.routable.calls"] == {key: len(routable)}
    assert Decimal(repr(metrics["agentyield.routing.savings.usd"][key])) == pytest.approx(saving, rel=Decimal("1e-12"))
    assert saving > 0
