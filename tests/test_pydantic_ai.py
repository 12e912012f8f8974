"""pydantic-ai's own GenAI spans (`invoke_agent`, `chat`, `execute_tool`) are tasks, LLM calls and tool calls with
no extra code: a real agent with two tools against a mock OpenAI endpoint, instrumented by pydantic-ai itself."""

from __future__ import annotations

from typing import Any

import pytest

from metrics_util import labels, points
from openai_mock import BASE_URL, CHAT_USAGE, chat_completion, hx

pytest.importorskip("pydantic_ai")


def test_agent_run_is_a_task_with_tool_calls_and_each_llm_call_once(
    instrumented: None, tracer_provider: Any, span_exporter: Any, metric_reader: Any
) -> None:
    import openai
    from pydantic_ai import Agent, ModelRetry
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    requests: list[Any] = []

    def handler(request: Any) -> Any:
        requests.append(request)
        # First turn: the model calls both tools; second turn: it answers.
        return hx.Response(200, json=chat_completion({}, tool_call=len(requests) == 1))

    client = openai.AsyncOpenAI(base_url=BASE_URL, api_key="sk-test", http_client=hx.AsyncClient(transport=hx.MockTransport(handler)))
    model = OpenAIChatModel("gpt-4o", provider=OpenAIProvider(openai_client=client))
    agent = Agent(model, name="weather-bot")
    agent.instrument = InstrumentationSettings(tracer_provider=tracer_provider, include_content=False)

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    @agent.tool_plain
    def get_time() -> str:
        raise ModelRetry("clock unavailable")  # a failed tool call the agent reports back to the model

    result = agent.run_sync("weather in Paris?")
    assert result.output == "The answer is 42."
    assert len(requests) == 2

    spans = span_exporter.get_finished_spans()
    tools = sorted(s.attributes["gen_ai.tool.name"] for s in spans if s.attributes.get("gen_ai.operation.name") == "execute_tool")
    assert tools == ["get_time", "get_weather"]
    metrics = points(metric_reader)
    # Two model requests: pydantic-ai's `chat` span and agentyield's own openai span under it are one call.
    calls = metrics["agentyield.llm.calls"]
    assert sum(calls.values()) == len(requests)
    assert metrics["agentyield.spans.duplicate"] == {labels(gen_ai__provider__name="openai"): len(requests)}
    tokens = metrics["agentyield.tokens"]
    assert sum(v for k, v in tokens.items() if ("agentyield.token.kind", "output") in k) == len(requests) * CHAT_USAGE["completion_tokens"]
    assert metrics["agentyield.tasks"] == {
        labels(gen_ai__agent__name="weather-bot", agentyield__task__name="weather-bot", agentyield__task__outcome="unknown"): 1
    }
    assert metrics["agentyield.tool.calls"] == {
        labels(gen_ai__agent__name="weather-bot", gen_ai__tool__name="get_weather", agentyield__tool__error="false"): 1,
        labels(gen_ai__agent__name="weather-bot", gen_ai__tool__name="get_time", agentyield__tool__error="true"): 1,
    }
