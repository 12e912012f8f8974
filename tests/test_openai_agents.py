"""openai-agents through its trace-processor interface: a real agent with a tool against a mock Responses
endpoint; its agent span is a task, its function spans tool calls, and each LLM call is counted once."""

from __future__ import annotations

from typing import Any

import pytest

from metrics_util import labels, points
from openai_mock import BASE_URL, RESPONSES_USAGE, hx, response_object

pytest.importorskip("agents")


def turn(tool_call: bool) -> dict[str, Any]:
    """A Responses API answer: a call of `get_weather` on the first turn, the final message on the second."""
    payload = response_object()
    call, message = payload["output"]
    if tool_call:
        payload["output"] = [{**call, "name": "get_weather", "arguments": '{"city": "Paris"}'}]
    else:
        payload["output"] = [{**message, "content": [{"type": "output_text", "text": "Sunny in Paris.", "annotations": []}]}]
    return payload


@pytest.fixture
def no_default_export() -> None:
    """The SDK's default processor exports to OpenAI's servers: none in tests (an application may keep it)."""
    from agents import set_trace_processors

    set_trace_processors([])


def test_agent_run_maps_to_task_and_tool_calls(no_default_export: None, instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    import openai
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool

    requests: list[Any] = []

    def handler(request: Any) -> Any:
        requests.append(request)
        return hx.Response(200, json=turn(tool_call=len(requests) == 1))

    client = openai.AsyncOpenAI(base_url=BASE_URL, api_key="sk-test", http_client=hx.AsyncClient(transport=hx.MockTransport(handler)))

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    agent = Agent(name="forecaster", instructions="Answer briefly.", tools=[get_weather], model=OpenAIResponsesModel("gpt-5", client))
    result = Runner.run_sync(agent, "weather in Paris?")
    assert result.final_output == "Sunny in Paris."
    assert len(requests) == 2

    spans = span_exporter.get_finished_spans()
    (task,) = [s for s in spans if s.name == "invoke_agent forecaster"]
    llm = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    (tool,) = [s for s in spans if s.name == "execute_tool get_weather"]
    assert len(llm) == len(requests)
    assert all(s.parent is not None and s.parent.span_id == task.context.span_id for s in (*llm, tool))
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert tool.attributes["agentyield.tool.result.size"] == len("sunny in Paris")

    metrics = points(metric_reader)
    assert sum(metrics["agentyield.llm.calls"].values()) == len(requests)
    assert "agentyield.spans.duplicate" not in metrics
    input_tokens = {k: v for k, v in metrics["agentyield.tokens"].items() if ("agentyield.token.kind", "cache_read") in k}
    assert sum(input_tokens.values()) == len(requests) * RESPONSES_USAGE["input_tokens_details"]["cached_tokens"]
    assert metrics["agentyield.tasks"] == {
        labels(gen_ai__agent__name="forecaster", agentyield__task__name="forecaster", agentyield__task__outcome="unknown"): 1
    }
    assert metrics["agentyield.tool.calls"] == {
        labels(gen_ai__agent__name="forecaster", gen_ai__tool__name="get_weather", agentyield__tool__error="false"): 1
    }
    assert task.attributes["agentyield.task.llm_calls"] == len(requests)


def test_handoff_and_failing_tool(no_default_export: None, instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    """A triage agent hands off to a forecaster whose tool fails (the SDK reports the error to the model)."""
    import openai
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool

    script = ["transfer_to_forecaster", "get_weather", None]
    requests: list[Any] = []

    def handler(request: Any) -> Any:
        requests.append(request)
        payload = response_object()
        call, message = payload["output"]
        name = script[len(requests) - 1]
        payload["output"] = [{**call, "call_id": f"call_{len(requests)}", "name": name, "arguments": "{}"}] if name else [message]
        return hx.Response(200, json=payload)

    client = openai.AsyncOpenAI(base_url=BASE_URL, api_key="sk-test", http_client=hx.AsyncClient(transport=hx.MockTransport(handler)))

    @function_tool
    def get_weather() -> str:
        """The weather."""
        raise RuntimeError("station offline")

    model = OpenAIResponsesModel("gpt-5", client)
    forecaster = Agent(name="forecaster", instructions="Forecast.", tools=[get_weather], model=model)
    triage = Agent(name="triage", instructions="Route.", handoffs=[forecaster], model=model)
    Runner.run_sync(triage, "weather?")
    assert len(requests) == len(script)

    spans = span_exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert "handoff" in names
    (handoff,) = [s for s in spans if s.name == "handoff"]
    assert (handoff.attributes["agentyield.handoff.from"], handoff.attributes["agentyield.handoff.to"]) == ("triage", "forecaster")
    (tool,) = [s for s in spans if s.name == "execute_tool get_weather"]
    assert tool.attributes["error.type"] == "tool_error"
    metrics = points(metric_reader)
    assert sum(metrics["agentyield.llm.calls"].values()) == len(requests)
    assert {dict(k)["gen_ai.agent.name"] for k in metrics["agentyield.tasks"]} == {"triage", "forecaster"}
    assert metrics["agentyield.tool.calls"] == {
        labels(gen_ai__agent__name="forecaster", gen_ai__tool__name="get_weather", agentyield__tool__error="true"): 1
    }
