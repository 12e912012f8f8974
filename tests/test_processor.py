"""The span processor's derived numbers on a scripted scenario, computed independently and compared exactly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping
from decimal import Decimal
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

import agentyield
from agentyield import _semconv as sc
from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, default_respond, hx

MODEL = "gpt-4o-2024-08-06"
MESSAGES = [{"role": "user", "content": "go"}]
# One priced call of the mock: prompt 2006 (1920 cached), completion 300, on gpt-4o-2024-08-06.
C = calc_price(Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), MODEL, provider_id="openai").total_price
SAVING = (
    calc_price(Usage(input_tokens=2006, output_tokens=300), MODEL, provider_id="openai").total_price - C
)  # what the 1920 cache reads saved against the uncached price


def respond(body: dict[str, Any], path: str) -> Any:
    """The default mock, except that `my-private-model` (no known price) answers as itself, and a request
    tagged `sdk-span` makes a nested LLM span inside the HTTP call, as an SDK's own tracing does."""
    if body["model"] == "my-private-model":
        return hx.Response(200, json={**chat_completion(body), "model": "my-private-model"})
    if body.get("metadata", {}).get("tag") == "sdk-span":
        tracer = trace.get_tracer("com.example.sdk")
        attributes = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai", sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
                      sc.GEN_AI_USAGE_INPUT_TOKENS: 2006, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300}
        with tracer.start_as_current_span("chat gpt-4o", attributes=attributes):
            pass
    return default_respond(body, path)


def tool(name: str, error: bool = False) -> None:
    """A tool span as other instrumentations (MCP, openai-agents) write it."""
    tracer = trace.get_tracer("com.example.tools")
    with tracer.start_as_current_span(f"execute_tool {name}", attributes={sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: name}) as span:
        if error:
            span.set_attribute(sc.ERROR_TYPE, "TimeoutError")


def scenario() -> None:
    sync, _ = clients(OpenAIMock(respond))

    def chat(model: str = "gpt-4o", **kwargs: Any) -> None:
        sync.chat.completions.create(model=model, messages=MESSAGES, **kwargs)

    with agentyield.task("fix-bug", agent="coder") as fix:  # A
        chat()
        chat(metadata={"tag": "sdk-span"})  # one call, two LLM spans: counted once
        with agentyield.task("research", agent="researcher") as research:  # B, nested, unproductive
            chat()
            research.artifact("notes", accepted=False)
        with agentyield.verification("review"):
            chat()
        tool("run_tests")
        tool("run_tests", error=True)
        tool("search")
        fix.artifact("patch", id="p1", accepted=True)
        fix.artifact("patch", id="p2", accepted=True)
        fix.artifact("test", accepted=None)
        fix.outcome(True, score=0.9)
    with pytest.raises(ValueError):
        with agentyield.task("summarize", agent="coder") as summarize:  # C: an unpriced call, then fails
            chat("my-private-model")
            chat()
            summarize.artifact("summary", accepted=True)
            raise ValueError("boom")
    with agentyield.task("fix-bug", agent="coder") as again:  # D: rejected, unproductive
        chat()
        again.artifact("patch", accepted=False)
        again.outcome(False)
    # A persistent agent without tasks: spend since the previous artifact belongs to the next one.
    chat()
    chat()
    agentyield.artifact("alert", accepted=True)
    chat()
    agentyield.artifact("alert", accepted=False)


def expected() -> dict[str, dict[frozenset[tuple[str, Any]], Any]]:
    c = float(C)
    openai_coder = dict(gen_ai__provider__name="openai", gen_ai__agent__name="coder")
    return {
        "agentyield.llm.calls": {
            labels(**openai_coder, gen_ai__request__model="gpt-4o", agentyield__priced="true"): 5,
            labels(**openai_coder, gen_ai__request__model="my-private-model", agentyield__priced="false"): 1,
            labels(gen_ai__provider__name="openai", gen_ai__agent__name="researcher", gen_ai__request__model="gpt-4o", agentyield__priced="true"): 1,
            labels(gen_ai__provider__name="openai", gen_ai__agent__name="watcher", gen_ai__request__model="gpt-4o", agentyield__priced="true"): 3,
        },
        "agentyield.cost.usd": {
            labels(**openai_coder, gen_ai__response__model=MODEL, agentyield__phase="work"): pytest.approx(4 * c, abs=1e-12),
            labels(**openai_coder, gen_ai__response__model=MODEL, agentyield__phase="verification"): pytest.approx(c, abs=1e-12),
            labels(gen_ai__provider__name="openai", gen_ai__agent__name="researcher", gen_ai__response__model=MODEL, agentyield__phase="work"): pytest.approx(c, abs=1e-12),
            labels(gen_ai__provider__name="openai", gen_ai__agent__name="watcher", gen_ai__response__model=MODEL, agentyield__phase="work"): pytest.approx(3 * c, abs=1e-12),
        },
        "agentyield.tasks": {
            labels(gen_ai__agent__name="coder", agentyield__task__name="fix-bug", agentyield__task__outcome="success"): 1,
            labels(gen_ai__agent__name="coder", agentyield__task__name="fix-bug", agentyield__task__outcome="failure"): 1,
            labels(gen_ai__agent__name="coder", agentyield__task__name="summarize", agentyield__task__outcome="failure"): 1,
            labels(gen_ai__agent__name="researcher", agentyield__task__name="research", agentyield__task__outcome="unknown"): 1,
        },
        "agentyield.artifacts": {
            labels(gen_ai__agent__name="coder", agentyield__artifact__kind="patch", agentyield__artifact__accepted="true"): 2,
            labels(gen_ai__agent__name="coder", agentyield__artifact__kind="patch", agentyield__artifact__accepted="false"): 1,
            labels(gen_ai__agent__name="coder", agentyield__artifact__kind="test", agentyield__artifact__accepted="unknown"): 1,
            labels(gen_ai__agent__name="coder", agentyield__artifact__kind="summary", agentyield__artifact__accepted="true"): 1,
            labels(gen_ai__agent__name="researcher", agentyield__artifact__kind="notes", agentyield__artifact__accepted="false"): 1,
            labels(gen_ai__agent__name="watcher", agentyield__artifact__kind="alert", agentyield__artifact__accepted="true"): 1,
            labels(gen_ai__agent__name="watcher", agentyield__artifact__kind="alert", agentyield__artifact__accepted="false"): 1,
        },
        # A (4 calls incl. its unproductive sub-task B) / 2 accepted patches; the watcher's window of 2 calls.
        "agentyield.artifact.cost.usd": {
            labels(gen_ai__agent__name="coder", agentyield__artifact__kind="patch"): (2, pytest.approx(4 * c, abs=1e-12)),
            labels(gen_ai__agent__name="watcher", agentyield__artifact__kind="alert"): (1, pytest.approx(2 * c, abs=1e-12)),
        },
        # C's cost is unknown (an unpriced call): no observation, counted instead.
        "agentyield.task.cost.usd": {
            labels(gen_ai__agent__name="coder", agentyield__task__name="fix-bug", agentyield__task__outcome="success"): (1, pytest.approx(4 * c, abs=1e-12)),
            labels(gen_ai__agent__name="coder", agentyield__task__name="fix-bug", agentyield__task__outcome="failure"): (1, pytest.approx(c, abs=1e-12)),
            labels(gen_ai__agent__name="researcher", agentyield__task__name="research", agentyield__task__outcome="unknown"): (1, pytest.approx(c, abs=1e-12)),
        },
        "agentyield.tasks.cost_unknown": {labels(gen_ai__agent__name="coder", agentyield__task__name="summarize"): 1},
        "agentyield.unproductive.cost.usd": {
            labels(gen_ai__agent__name="coder", agentyield__task__name="fix-bug"): pytest.approx(c, abs=1e-12),
            labels(gen_ai__agent__name="watcher", agentyield__task__name="(window)"): pytest.approx(c, abs=1e-12),
        },
        "agentyield.tool.calls": {
            labels(gen_ai__agent__name="coder", gen_ai__tool__name="run_tests", agentyield__tool__error="false"): 1,
            labels(gen_ai__agent__name="coder", gen_ai__tool__name="run_tests", agentyield__tool__error="true"): 1,
            labels(gen_ai__agent__name="coder", gen_ai__tool__name="search", agentyield__tool__error="false"): 1,
        },
        "agentyield.spans.duplicate": {labels(gen_ai__provider__name="openai"): 1},
    }


def make_providers(sampler: Any = None) -> tuple[TracerProvider, InMemorySpanExporter, MeterProvider, InMemoryMetricReader]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader


def record_scenario(sampler: Any = None, extra_exporter: Any = None) -> tuple[dict[str, Any], list[Any]]:
    """Run the scenario instrumented; its metric points and finished spans (also sent to `extra_exporter`)."""
    tracer_provider, exporter, meter_provider, reader = make_providers(sampler)
    if extra_exporter is not None:
        tracer_provider.add_span_processor(SimpleSpanProcessor(extra_exporter))
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = tracer_provider  # the "other instrumentations" of the scenario use the global provider
    try:
        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, agent="watcher", verification_tools=["run_tests"])
        scenario()
    finally:
        agentyield.uninstrument()
        trace._TRACER_PROVIDER = previous
    return points(reader), list(exporter.get_finished_spans())


@pytest.fixture
def run_scenario() -> Any:
    return record_scenario


def test_scenario_metrics_exact(run_scenario: Any) -> None:
    got, spans = run_scenario()
    for name, series in expected().items():
        assert got[name] == series, name
    c = float(C)
    cost_of = {s.attributes[sc.TASK_NAME] + ":" + s.attributes.get(sc.TASK_OUTCOME, "unknown"): s for s in spans if sc.TASK_ID in s.attributes}
    fix = cost_of["fix-bug:success"]
    assert fix.attributes[sc.TASK_COST_USD] == pytest.approx(4 * c, abs=1e-12)
    assert fix.attributes[sc.TASK_OWN_COST_USD] == pytest.approx(3 * c, abs=1e-12)
    assert fix.attributes[sc.TASK_LLM_CALLS] == 4
    assert fix.attributes[sc.TASK_ARTIFACTS_ACCEPTED] == 2
    assert fix.attributes[sc.TASK_TOKENS_PREFIX + "cache_read"] == 4 * 1920
    assert fix.attributes[sc.TASK_TOKENS_PREFIX + "input"] == 4 * (2006 - 1920)
    assert fix.attributes[sc.TASK_CACHE_READ_RATIO] == 1920 / 2006
    summarize = cost_of["summarize:failure"]
    assert summarize.attributes[sc.TASK_UNPRICED_CALLS] == 1
    assert summarize.status.status_code.name == "ERROR"
    llm = [s for s in spans if s.instrumentation_scope.name == "agentyield" and s.kind.name == "CLIENT"]
    assert len(llm) == 10  # A: 3, B: 1, C: 2, D: 1, the watcher: 3
    priced = [s for s in llm if sc.COST_USD in s.attributes]
    assert len(priced) == 9 and all(s.attributes[sc.COST_USD] == float(C) for s in priced)
    assert all(sc.PRICED not in s.attributes for s in priced)
    unpriced = [s for s in llm if sc.COST_USD not in s.attributes]
    assert [s.attributes[sc.GEN_AI_RESPONSE_MODEL] for s in unpriced] == ["my-private-model"]
    assert unpriced[0].attributes[sc.PRICED] is False
    # Which price table priced the numbers: an attribute of agentyield's instrumentation scope.
    import genai_prices

    assert {dict(s.instrumentation_scope.attributes)[sc.PRICE_SOURCE] for s in spans if s.instrumentation_scope.name == "agentyield"} == {
        f"genai-prices {genai_prices.__version__}"
    }


def test_savings_and_tokens(run_scenario: Any) -> None:
    got, _ = run_scenario()
    coder = dict(gen_ai__provider__name="openai", gen_ai__agent__name="coder", gen_ai__response__model=MODEL)
    # The coder's 5 priced calls (A: 3, C: 1, D: 1); the unpriced call's tokens count under its own model.
    assert got["agentyield.cache.savings.usd"][labels(**coder)] == pytest.approx(float(5 * SAVING), abs=1e-12)
    tokens = got["agentyield.tokens"]
    assert tokens[labels(**coder, agentyield__token__kind="cache_read")] == 5 * 1920
    assert tokens[labels(**coder, agentyield__token__kind="input")] == 5 * 86
    assert tokens[labels(**coder, agentyield__token__kind="output")] == 5 * 300
    assert tokens[labels(**coder, agentyield__token__kind="cache_write")] == 0
    private = dict(gen_ai__provider__name="openai", gen_ai__agent__name="coder", gen_ai__response__model="my-private-model")
    assert tokens[labels(**private, agentyield__token__kind="cache_read")] == 1920
    assert got["agentyield.reasoning.tokens"][labels(**coder)] == 5 * 256
    assert labels(**private) not in got["agentyield.cache.savings.usd"]


def test_sampling_does_not_bend_the_numbers(run_scenario: Any) -> None:
    full, all_spans = run_scenario()
    sampled, exported = run_scenario(ParentBased(TraceIdRatioBased(0.1)))
    for name in expected():
        assert sampled[name] == full[name], name
    assert len(exported) < len(all_spans)  # the sampler still decides what is exported


def test_concurrent_tasks_are_exact_and_separate() -> None:
    tracer_provider, exporter, meter_provider, reader = make_providers()
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        sync, async_ = clients(OpenAIMock())

        def worker(n: int) -> None:
            for i in range(10):
                with agentyield.task("t", agent=f"thread-{n % 4}") as t:
                    sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                    sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                    t.artifact("a", accepted=True)

        async def one(i: int) -> None:
            async with agentyield.task("t", agent="async"):
                await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                await asyncio.sleep(0)
                await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()

        async def main() -> None:
            await asyncio.gather(*(one(i) for i in range(40)))

        asyncio.run(main())
        for thread in threads:
            thread.join()
    finally:
        agentyield.uninstrument()
    got = points(reader)
    calls = got["agentyield.llm.calls"]
    assert sum(calls.values()) == 8 * 10 * 2 + 40 * 2
    assert calls[labels(gen_ai__provider__name="openai", gen_ai__request__model="gpt-4o", gen_ai__agent__name="async", agentyield__priced="true")] == 80
    tasks = [s for s in exporter.get_finished_spans() if sc.TASK_ID in s.attributes]
    assert len(tasks) == 120
    assert {s.attributes[sc.TASK_LLM_CALLS] for s in tasks} == {2}
    assert {s.attributes[sc.TASK_COST_USD] for s in tasks} == {float(2 * C)}
    total = sum(got["agentyield.cost.usd"].values())
    assert total == pytest.approx(float(C * 240), abs=1e-9)


def test_exact_cost_attribute_equals_price_data() -> None:
    assert isinstance(C, Decimal)
    assert C == (Decimal(86) * Decimal("2.5") + Decimal(1920) * Decimal("1.25") + Decimal(300) * Decimal(10)) / Decimal(1_000_000)


def test_processor_failure_never_reaches_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the derivation: calls, tasks and spans still work; only the numbers are missing."""
    from agentyield.processors import _normalize

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("normalizer bug")

    monkeypatch.setenv("AGENTYIELD_STRICT", "0")
    monkeypatch.setattr(_normalize, "llm_call", broken)
    tracer_provider, exporter, meter_provider, reader = make_providers()
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        sync, _ = clients(OpenAIMock())
        with agentyield.task("t", agent="a") as t:
            result = sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            t.artifact("x", accepted=True)
    finally:
        agentyield.uninstrument()
    assert result.usage.prompt_tokens == 2006
    names = sorted(s.name for s in exporter.get_finished_spans())
    assert names == ["chat gpt-4o", "invoke_agent a"]
    got = points(reader)
    assert "agentyield.llm.calls" not in got
    assert got["agentyield.tasks"] == {labels(gen_ai__agent__name="a", agentyield__task__name="t", agentyield__task__outcome="unknown"): 1}


def test_another_layers_span_inside_a_call_is_that_call_and_needs_no_window() -> None:
    """An SDK's own LLM span inside agentyield's (the anthropic SDK's) is a duplicate, counted without being read,
    and cannot be the same call in another trace: the cross-trace window stays off until a span of another
    instrumentation starts outside any call, and then catches that call recorded in a trace of its own. It is on
    for that span's provider only (a call of another provider cannot be the same call), or for every provider
    when a span names none at start."""
    from agentyield.processors._processor import ANY_PROVIDER
    from agentyield.processors import AgentYieldSpanProcessor

    tracer_provider, _, meter_provider, reader = make_providers()
    processor = AgentYieldSpanProcessor(meter_provider)
    tracer_provider.add_span_processor(processor)
    ours, sdk = tracer_provider.get_tracer("agentyield"), tracer_provider.get_tracer("com.example.sdk")
    call = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai", sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_RESPONSE_MODEL: MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS: 2006, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1920, sc.GEN_AI_RESPONSE_ID: "chatcmpl-1"}

    with ours.start_as_current_span("chat gpt-4o", kind=trace.SpanKind.CLIENT, attributes=call):
        with sdk.start_as_current_span("chat gpt-4o", attributes=call):
            pass
    assert processor._foreign == frozenset()
    metrics = points(reader)
    assert metrics["agentyield.spans.duplicate"] == {labels(gen_ai__provider__name="openai"): 1}
    assert sum(metrics["agentyield.llm.calls"].values()) == 1

    # The same call recorded by another instrumentation in a trace of its own, overlapping ours: booked once.
    with ours.start_as_current_span("chat gpt-4o", kind=trace.SpanKind.CLIENT, attributes={**call, sc.GEN_AI_RESPONSE_ID: "chatcmpl-2"}):
        with sdk.start_as_current_span("chat gpt-4o", context=trace.set_span_in_context(trace.INVALID_SPAN),
                                       attributes={**call, sc.GEN_AI_RESPONSE_ID: "chatcmpl-2"}):
            pass
    assert processor._foreign == {"openai"}
    metrics = points(reader)
    assert metrics["agentyield.spans.duplicate"] == {labels(gen_ai__provider__name="openai"): 2}
    assert sum(metrics["agentyield.llm.calls"].values()) == 2

    with sdk.start_as_current_span("request handler"):  # names no provider: it could become any call
        pass
    assert processor._foreign == {"openai", ANY_PROVIDER}


def test_a_spans_attributes_are_read_as_a_copy_of_their_own() -> None:
    """`attributes_of` (the processor reads every other instrumentation's span through it, at start and end): the
    same keys and values as the Mapping protocol gives, live and ended, in a dict the span never sees again."""
    from agentyield.processors._processor import attributes_of

    tracer = TracerProvider().get_tracer("com.example.sdk")
    given = {sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_USAGE_INPUT_TOKENS: 2006, "gen_ai.response.finish_reasons": ("stop",)}
    span = tracer.start_span("chat gpt-4o", attributes=given)
    live = attributes_of(span)
    assert type(live) is dict and live == dict(span.attributes) == given
    live["extra"] = 1
    span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 300)
    span.end()
    ended = attributes_of(span)
    assert ended == {**given, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300} and "extra" not in span.attributes
    # Spans that are not the SDK's: no attributes at all, or a mapping without `copy()`, read all the same.
    class Attributes(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            return given[key]

        def __iter__(self) -> Iterator[str]:
            return iter(given)

        def __len__(self) -> int:
            return len(given)

    for attributes, expected in ((None, {}), (MappingProxyType(given), given), (Attributes(), given)):
        assert attributes_of(SimpleNamespace(attributes=attributes)) == expected
