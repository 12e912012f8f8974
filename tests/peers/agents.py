"""The agent-framework interop workload: one agent run that calls a tool (two model rounds: a tool call, then
the answer), in a framework that writes GenAI spans natively, against a mock model endpoint on loopback,
exported over real OTLP. Runs in the framework's own virtual environment (stdlib, OpenTelemetry and the
framework only).

    python agents.py FRAMEWORK http ENDPOINT [--dump FILE]

FRAMEWORK: google-adk (a Gemini model over the Gemini API) or strands (an OpenAI model, streamed).
ENDPOINT: the OTLP/HTTP traces URL (the arguments of workload.py, so one runner drives both). The mock's usage is ROUNDS below: tests/test_interop.py computes the
expected records from it.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AGENT, TOOL = "weather_agent", "get_weather"
ROUNDS = [
    # (input tokens including cached, cached, output): the tool-call round, then the answer round.
    (1200, 1024, 40),
    (1290, 1024, 60),
]
OPENAI_MODEL, GEMINI_MODEL = "gpt-4o-2024-08-06", "gemini-2.5-flash"


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _round(body: dict[str, Any]) -> int:
    """0 until the conversation holds the tool's result, then 1."""
    text = json.dumps(body)
    return 1 if "sunny in" in text else 0


def _openai(body: dict[str, Any], n: int) -> tuple[str, bytes]:
    prompt, cached, output = ROUNDS[n]
    usage = {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
             "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": 0}}
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1764000000, "model": OPENAI_MODEL}
    if n == 0:
        call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": TOOL, "arguments": '{"city": "Paris"}'}}
        deltas = [({"role": "assistant", "tool_calls": [call]}, None), ({}, "tool_calls")]
    else:
        deltas = [({"role": "assistant", "content": "It is sunny in Paris."}, None), ({}, "stop")]
    if not body.get("stream"):
        raise SystemExit("the strands workload expects a streamed request")
    chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]} for delta, finish in deltas]
    chunks.append({**base, "choices": [], "usage": usage})
    return "text/event-stream", "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"


def _gemini(body: dict[str, Any], n: int, stream: bool) -> tuple[str, bytes]:
    prompt, cached, output = ROUNDS[n]
    if n == 0:
        parts: list[dict[str, Any]] = [{"functionCall": {"name": TOOL, "args": {"city": "Paris"}}}]
    else:
        parts = [{"text": "It is sunny in Paris."}]
    response = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt, "cachedContentTokenCount": cached, "candidatesTokenCount": output,
                          "totalTokenCount": prompt + output},
        "modelVersion": GEMINI_MODEL,
        "responseId": f"gemini-{n}",
    }
    if stream:
        return "text/event-stream", f"data: {json.dumps(response)}\n\n".encode()
    return "application/json", json.dumps(response).encode()


class _Mock(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        n = _round(body)
        if self.path.startswith("/v1/chat/completions"):
            kind, payload = _openai(body, n)
        elif ":generateContent" in self.path or ":streamGenerateContent" in self.path:
            kind, payload = _gemini(body, n, stream=":streamGenerateContent" in self.path)
        else:
            self.send_error(404, f"no mock for {self.path}")
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _strands(base_url: str) -> None:
    from strands import Agent, tool
    from strands.models.openai import OpenAIModel

    model = OpenAIModel(client_args={"api_key": "sk-test", "base_url": f"{base_url}/v1"}, model_id="gpt-4o")
    agent = Agent(name=AGENT, model=model, tools=[tool(get_weather)], callback_handler=None)
    agent("What is the weather in Paris?")


def _google_adk(base_url: str) -> None:
    import asyncio

    from google.adk.agents import LlmAgent
    from google.adk.models.google_llm import Gemini
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    agent = LlmAgent(name=AGENT, model=Gemini(model=GEMINI_MODEL, base_url=base_url), instruction="Answer with the tool.", tools=[get_weather])
    runner = InMemoryRunner(agent=agent, app_name="interop")

    async def run() -> None:
        session = await runner.session_service.create_session(app_name="interop", user_id="u")
        message = types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")])
        async for _ in runner.run_async(user_id="u", session_id=session.id, new_message=message):
            pass

    asyncio.run(run())


def main() -> None:
    import os

    framework, _, endpoint = sys.argv[1:4]
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider = TracerProvider(resource=Resource.create({"service.name": f"interop-{framework}"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    if "--dump" in sys.argv:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        dump = open(sys.argv[sys.argv.index("--dump") + 1], "w")  # noqa: SIM115
        tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=dump)))
    trace.set_tracer_provider(tracer_provider)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Mock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ.setdefault("GOOGLE_API_KEY", "test-key")
    if framework == "strands":
        _strands(base_url)
    elif framework == "google-adk":
        _google_adk(base_url)
    else:
        raise SystemExit(f"unknown framework {framework}")
    server.shutdown()
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
