"""The interop workload: the same mock-endpoint calls, instrumented by one peer (or by agentyield), exported
over real OTLP. Runs in the peer's own virtual environment, so it imports only the SDKs, httpx and
OpenTelemetry (and the peer's instrumentation).

    python workload.py PEER PROTOCOL ENDPOINT [--dump FILE]

PEER: agentyield, openllmetry, openinference, otel-genai, otel-openai-v2, openlit, pydantic-ai, or
agentyield+openinference (both on the same clients, OpenAI calls only; `--metrics URL` exports agentyield's
in-process metrics there over OTLP/HTTP).
PROTOCOL: http or grpc. The calls: OpenAI chat with cache reads and reasoning, the same streamed with
usage; Anthropic messages with cache reads and writes, the same streamed. Each response has its own id.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anthropic
import openai

# The httpx each SDK is built on (`httpx2` for current majors).
httpx = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx
ant_httpx = getattr(anthropic._base_client, "httpx2", None) or anthropic._base_client.httpx

OPENAI_MODEL = "gpt-4o-2024-08-06"
ANTHROPIC_MODEL = "claude-sonnet-4-20250514"
OPENAI_USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
}
ANTHROPIC_USAGE = {"input_tokens": 50, "cache_read_input_tokens": 1800, "cache_creation_input_tokens": 200, "output_tokens": 120}
_ids = iter(range(1, 1_000_000))


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool = False) -> bytes:
    out = []
    for name, data in events:
        out.append((f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def _openai(request: Any) -> Any:
    body = json.loads(request.content)
    rid = f"chatcmpl-{next(_ids)}"
    base = {"id": rid, "object": "chat.completion", "created": 1764000000, "model": OPENAI_MODEL, "system_fingerprint": "fp_1"}
    if not body.get("stream"):
        message = {"role": "assistant", "content": "The answer is 42.", "refusal": None}
        choices = [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}]
        return httpx.Response(200, json={**base, "choices": choices, "usage": OPENAI_USAGE})
    chunk = {**base, "object": "chat.completion.chunk", "usage": None}
    events: list[tuple[str | None, dict[str, Any]]] = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": "The answer is 42."}, "finish_reason": None}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        (None, {**chunk, "choices": [], "usage": OPENAI_USAGE}),
    ]
    return httpx.Response(200, content=_sse(events, done=True), headers={"content-type": "text/event-stream"})


def _anthropic(request: Any) -> Any:
    body = json.loads(request.content)
    mid = f"msg_{next(_ids):04d}"
    message = {"id": mid, "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL, "stop_reason": "end_turn", "stop_sequence": None}
    if not body.get("stream"):
        content = [{"type": "text", "text": "The answer is 42."}]
        return ant_httpx.Response(200, json={**message, "content": content, "usage": ANTHROPIC_USAGE})
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": {**message, "content": [], "stop_reason": None, "usage": start_usage}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "The answer is 42."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return ant_httpx.Response(200, content=_sse(events), headers={"content-type": "text/event-stream"})


def _instrument(peer: str, tracer_provider: Any, meter_provider: Any) -> None:
    if peer == "agentyield+openinference":
        _instrument("agentyield", tracer_provider, meter_provider)
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceOpenAI

        OpenInferenceOpenAI().instrument(tracer_provider=tracer_provider)
    elif peer == "agentyield":
        import agentyield

        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    elif peer == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)
    elif peer == "openinference":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)
    elif peer == "otel-genai":
        from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor  # type: ignore[import-not-found]
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor  # type: ignore[import-not-found]

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)
    elif peer == "otel-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
    elif peer == "openlit":
        import openlit

        # OpenLIT exports to the global tracer provider set above; prices from a local file (no download).
        openlit.init(disable_metrics=True, disable_events=True, capture_message_content=False, pricing_json=sys.argv[sys.argv.index("--prices") + 1])
    elif peer != "pydantic-ai":  # pydantic-ai is instrumented per agent, in _pydantic_ai
        raise SystemExit(f"unknown peer {peer}")


def _pydantic_ai(oai: Any, ant: Any, tracer_provider: Any) -> None:
    """The same four calls through pydantic-ai agents (its own chat and agent spans)."""
    import asyncio

    from pydantic_ai import Agent, InstrumentationSettings
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.anthropic import AnthropicProvider
    from pydantic_ai.providers.openai import OpenAIProvider

    settings = InstrumentationSettings(tracer_provider=tracer_provider)
    Agent.instrument_all(settings)
    openai_agent = Agent(OpenAIChatModel("gpt-4o", provider=OpenAIProvider(openai_client=oai)), name="interop-openai")
    anthropic_agent = Agent(AnthropicModel(ANTHROPIC_MODEL, provider=AnthropicProvider(anthropic_client=ant)), name="interop-anthropic")

    async def run() -> None:
        for agent in (openai_agent, anthropic_agent):
            await agent.run("What is the answer?")
            async with agent.run_stream("What is the answer?") as result:
                async for _ in result.stream_text():
                    pass

    asyncio.run(run())


def main() -> None:
    peer, protocol, endpoint = sys.argv[1:4]
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True)
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint)
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": f"interop-{peer}"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    if "--dump" in sys.argv:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        dump = open(sys.argv[sys.argv.index("--dump") + 1], "w")  # noqa: SIM115
        tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=dump)))
    from opentelemetry import trace

    trace.set_tracer_provider(tracer_provider)
    meter_provider = MeterProvider()
    if "--metrics" in sys.argv:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        exporter = OTLPMetricExporter(endpoint=sys.argv[sys.argv.index("--metrics") + 1])
        meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)])
    _instrument(peer, tracer_provider, meter_provider)
    if peer == "pydantic-ai":
        aoai = openai.AsyncOpenAI(api_key="sk-test", base_url="https://api.openai.com/v1", http_client=httpx.AsyncClient(transport=httpx.MockTransport(_openai)))
        aant = anthropic.AsyncAnthropic(
            api_key="sk-ant-test", base_url="https://api.anthropic.com", http_client=ant_httpx.AsyncClient(transport=ant_httpx.MockTransport(_anthropic))
        )
        _pydantic_ai(aoai, aant, tracer_provider)
        tracer_provider.shutdown()
        return
    oai = openai.OpenAI(api_key="sk-test", base_url="https://api.openai.com/v1", http_client=httpx.Client(transport=httpx.MockTransport(_openai)))
    ant = anthropic.Anthropic(api_key="sk-ant-test", base_url="https://api.anthropic.com", http_client=ant_httpx.Client(transport=ant_httpx.MockTransport(_anthropic)))
    messages = [{"role": "user", "content": "What is the answer?"}]
    oai.chat.completions.create(model="gpt-4o", messages=messages)
    for _ in oai.chat.completions.create(model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}):
        pass
    if peer not in ("otel-openai-v2", "agentyield+openinference"):
        ant.messages.create(model=ANTHROPIC_MODEL, max_tokens=256, messages=messages)
        with ant.messages.stream(model=ANTHROPIC_MODEL, max_tokens=256, messages=messages) as stream:
            for _ in stream.text_stream:
                pass
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    main()
