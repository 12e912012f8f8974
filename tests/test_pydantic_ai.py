"""pydantic-ai's own GenAI spans (`invoke_agent`, `chat`, `execute_tool`) are tasks, LLM calls and tool calls with
no extra code: a real agent with two tools against a mock OpenAI endpoint, instrumented by pydantic-ai itself."""

from __future__ import annotations

from typing import Any

import pytest

from metrics_util import labels, points
from openai_mock import BASE_URL, CHAT_USAGE, chat_completion, hx

pytest.importorskip("pydantic_ai")


def weather_agent(tracer_provider: Any, handler: Any, *, clock_works: bool) -> Any:
    """A real pydantic-ai agent named weather-bot, with tools get_weather and get_time (which fails with
    `ModelRetry` unless `clock_works`), on the real openai SDK against `handler` as its endpoint."""
    import openai
    from pydantic_ai import Agent, ModelRetry
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = openai.AsyncOpenAI(base_url=BASE_URL, api_key="sk-test", http_client=hx.AsyncClient(transport=hx.MockTransport(handler)))
    agent = Agent(OpenAIChatModel("gpt-4o", provider=OpenAIProvider(openai_client=client)), name="weather-bot")
    agent.instrument = InstrumentationSettings(tracer_provider=tracer_provider, include_content=False)

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    @agent.tool_plain
    def get_time() -> str:
        if not clock_works:
            raise ModelRetry("clock unavailable")  # a failed tool call the agent reports back to the model
        return "noon"

    return agent


def test_agent_run_is_a_task_with_tool_calls_and_each_llm_call_once(
    instrumented: None, tracer_provider: Any, span_exporter: Any, metric_reader: Any
) -> None:
    requests: list[Any] = []

    def handler(request: Any) -> Any:
        requests.append(request)
        # First turn: the model calls both tools; second turn: it answers.
        return hx.Response(200, json=chat_completion({}, tool_call=len(requests) == 1))

    agent = weather_agent(tracer_provider, handler, clock_works=False)
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


def test_each_run_is_a_task_identified_by_its_run_id(
    instrumented: None, tracer_provider: Any, metric_reader: Any, tmp_path: Any
) -> None:
    """Two runs of one conversation (the second continues the first's message history) are two tasks, each
    identified by its run id, live and on replay; each LLM call lands on its own run's task."""
    import json
    from collections import Counter

    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from agentyield._files import JsonLinesSpanExporter
    from agentyield._tracefiles import iter_spans
    from agentyield.processors import PriceBook
    from agentyield.processors._replay import replay

    files = JsonLinesSpanExporter(tmp_path)
    tracer_provider.add_span_processor(SimpleSpanProcessor(files))
    requests: list[int] = []

    def handler(request: Any) -> Any:
        requests.append(run)
        # A user turn asks for a tool; a tool result gets the answer.
        last = json.loads(request.content)["messages"][-1]
        return hx.Response(200, json=chat_completion({}, tool_call=last["role"] == "user"))

    agent = weather_agent(tracer_provider, handler, clock_works=True)
    run = 0
    first = agent.run_sync("weather in Paris?")
    run = 1
    second = agent.run_sync("and in Rome?", message_history=first.all_messages())
    files.shutdown()
    assert first.run_id != second.run_id
    calls_per_run = Counter(requests)
    assert calls_per_run == {0: 2, 1: 2}

    # Live: each task ended with the calls booked to it at its start (an id that changed would book it empty).
    bot = labels(gen_ai__agent__name="weather-bot", agentyield__task__name="weather-bot")
    assert points(metric_reader)["agentyield.task.llm_calls"][bot] == (2, len(requests))
    # Replay: the tasks are the two runs, by id, one conversation id shared by both (so it cannot be the task id).
    skipped: list[str] = []
    spans = list(iter_spans([tmp_path], skipped))
    assert skipped == []
    agent_spans = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "invoke_agent"]
    assert len({s.attributes["gen_ai.conversation.id"] for s in agent_spans}) == 1
    population = replay(spans, PriceBook())
    assert sorted(t.task_id for t in population.tasks) == sorted([first.run_id, second.run_id])
    assert Counter(c.task_id for c in population.calls) == {first.run_id: calls_per_run[0], second.run_id: calls_per_run[1]}
