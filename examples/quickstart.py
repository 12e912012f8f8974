"""Quick start: one line of setup, real OpenAI and Anthropic SDK calls, and the spans agentyield records.

The SDKs talk to an in-process mock endpoint (no network, no API key), which answers with the usage a
real agent sees: a large cached system prompt, cache writes with both TTLs, reasoning tokens, a stream.
"""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentyield

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
agentyield.instrument(tracer_provider=provider)  # the one line; without arguments it uses your global providers

import anthropic  # noqa: E402 - imported after instrument() on purpose: it is wrapped on import
import openai  # noqa: E402


def _transport_module(sdk: object) -> object:
    base = sdk._base_client  # type: ignore[attr-defined]
    return getattr(base, "httpx2", None) or base.httpx


def openai_endpoint(request: object) -> object:
    hx = _transport_module(openai)
    body = json.loads(request.content)  # type: ignore[attr-defined]
    usage = {
        "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920}, "completion_tokens_details": {"reasoning_tokens": 256},
    }
    base = {"id": "chatcmpl-demo", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-2024-08-06"}
    if body.get("stream"):
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Done."}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        data = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        return hx.Response(200, content=data.encode(), headers={"content-type": "text/event-stream"})
    message = {"role": "assistant", "content": "Done."}
    return hx.Response(200, json={**base, "object": "chat.completion", "usage": usage,
                                  "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


def anthropic_endpoint(request: object) -> object:
    hx = _transport_module(anthropic)
    return hx.Response(200, json={
        "id": "msg_demo", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 4000, "cache_creation_input_tokens": 1500,
                  "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 500},
                  "output_tokens": 300},
    })


def main() -> None:
    ohx, ahx = _transport_module(openai), _transport_module(anthropic)
    oai = openai.OpenAI(api_key="sk-demo", base_url="http://mock.local/v1",
                        http_client=ohx.Client(transport=ohx.MockTransport(openai_endpoint)))
    claude = anthropic.Anthropic(api_key="sk-ant-demo", base_url="http://mock.local",
                                 http_client=ahx.Client(transport=ahx.MockTransport(anthropic_endpoint)))
    system = "You are a research agent. " * 200
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "Summarize the findings."}]
    oai.chat.completions.create(model="gpt-4o", messages=messages)
    for _ in oai.chat.completions.create(model="gpt-4o", messages=messages, stream=True):
        pass  # the caller did not ask for usage; agentyield did, and hid that chunk
    claude.messages.create(model="claude-sonnet-4-5", max_tokens=1024, system=system,
                           messages=[{"role": "user", "content": "Summarize the findings."}])

    columns = ("gen_ai.usage.input_tokens", "gen_ai.usage.cache_read.input_tokens",
               "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.output_tokens",
               "gen_ai.usage.reasoning.output_tokens")
    print(f"{'span':<32}{'input':>8}{'cache read':>12}{'cache write':>13}{'output':>8}{'reasoning':>11}")
    for span in exporter.get_finished_spans():
        values = [span.attributes.get(c, "-") for c in columns]
        print(f"{span.name:<32}" + "".join(f"{v!s:>{w}}" for v, w in zip(values, (8, 12, 13, 8, 11))))
    print("\ninput includes cache reads and writes for every provider (OpenAI's prompt_tokens already does;"
          " Anthropic's input_tokens 12 + 4000 + 1500 = 5512).")


if __name__ == "__main__":
    main()
