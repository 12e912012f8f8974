"""The calls every contender is measured on: the real `openai` and `anthropic` SDKs against in-process mocks.

Bodies are built once, so the mock costs the same (next to nothing) whoever instruments the client. Runs in
every contender's virtual environment: it imports neither agentyield nor any instrumentation.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

STREAM_CHUNKS = 500
MODEL = "gpt-4o"
CLAUDE = "claude-sonnet-4-6"  # priced by genai-prices, not deprecated (no SDK warning per call)

SYSTEM_PROMPT = (
    "You are a careful travel assistant. Answer briefly, cite the tool results you used, and ask a "
    "clarifying question when the request is ambiguous. " * 12
)
QUESTION = "What is the capital of France, and is it worth visiting in April?"
ANSWER = (
    "Paris is the capital of France. It has been the country's political and cultural centre since the "
    "Middle Ages, and today the Ile-de-France region around it holds about a fifth of the population. "
    "If you are planning a trip, spring and early autumn are the most pleasant seasons to visit."
)
_WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_REQUEST: dict[str, Any] = {
    "model": MODEL,
    "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": QUESTION}],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.",
                                                "parameters": _WEATHER}}],
    "temperature": 0.2,
    "max_tokens": 512,
}
ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": CLAUDE,
    "system": SYSTEM_PROMPT,
    "messages": [{"role": "user", "content": QUESTION}],
    "tools": [{"name": "get_weather", "description": "Current weather for a city.", "input_schema": _WEATHER}],
    "max_tokens": 512,
}

# --------------------------------------------------------------------------------------------------------------
# OpenAI bodies
# --------------------------------------------------------------------------------------------------------------

_OPENAI_USAGE = {
    "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                  "rejected_prediction_tokens": 0},
}
_OPENAI_BASE = {"id": "chatcmpl-BBx7y2kqQ9w1rK3cUO1lY5d6e7f8", "created": 1764000000, "model": "gpt-4o-2024-08-06",
                "system_fingerprint": "fp_f9f4fb6dbf", "service_tier": "default"}
OPENAI_COMPLETION = json.dumps({
    **_OPENAI_BASE, "object": "chat.completion",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER, "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": _OPENAI_USAGE,
}).encode()


def _sse(events: list[tuple[str | None, dict[str, Any]]], done: bool) -> bytes:
    text = "".join((f"event: {name}\n" if name else "") + f"data: {json.dumps(data, separators=(',', ':'))}\n\n"
                   for name, data in events)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def _openai_stream(with_usage: bool) -> bytes:
    base: dict[str, Any] = {**_OPENAI_BASE, "object": "chat.completion.chunk"}
    if with_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[None, dict[str, Any]]:
        return None, {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": f" word{i}"}) for i in range(STREAM_CHUNKS - 2)]
    events.append(chunk({}, "stop"))
    if with_usage:  # the extra usage-only chunk the API sends when `stream_options.include_usage` is set
        events.append((None, {**base, "choices": [], "usage": _OPENAI_USAGE}))
    return _sse(events, done=True)


# --------------------------------------------------------------------------------------------------------------
# Anthropic bodies
# --------------------------------------------------------------------------------------------------------------

_ANTHROPIC_USAGE = {"input_tokens": 86, "cache_read_input_tokens": 1920, "cache_creation_input_tokens": 0,
                    "output_tokens": 300, "service_tier": "standard"}
ANTHROPIC_MESSAGE = json.dumps({
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
    "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": _ANTHROPIC_USAGE,
}).encode()


def _anthropic_stream() -> bytes:
    start = {"id": "msg_01StreamXFDUDYJgAACzvnpt", "type": "message", "role": "assistant",
             "model": "claude-sonnet-4-6", "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**_ANTHROPIC_USAGE, "output_tokens": 1}}
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": f" word{i}"}})
               for i in range(STREAM_CHUNKS - 5)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 300}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return _sse(events, done=False)


_BODIES: dict[str, bytes] = {}


def _body(name: str) -> bytes:
    if name not in _BODIES:
        _BODIES[name] = {"openai": lambda: OPENAI_COMPLETION, "openai-stream": lambda: _openai_stream(False),
                         "openai-stream-usage": lambda: _openai_stream(True), "anthropic": lambda: ANTHROPIC_MESSAGE,
                         "anthropic-stream": _anthropic_stream}[name]()
    return _BODIES[name]


def _answer(hx: Any, request: Any) -> Any:
    body = request.content
    stream = b'"stream":true' in body or b'"stream": true' in body
    if request.url.path.endswith("/messages"):
        name = "anthropic-stream" if stream else "anthropic"
    elif stream:
        # Like the real API: the usage chunk only when asked for.
        name = "openai-stream-usage" if b'"include_usage"' in body else "openai-stream"
    else:
        name = "openai"
    headers = {"content-type": "text/event-stream" if stream else "application/json", "request-id": "req_bench"}
    return hx.Response(200, content=_body(name), headers=headers)


def _httpx(sdk: Any) -> Any:
    return getattr(sdk._base_client, "httpx2", None) or sdk._base_client.httpx


def client(sdk_name: str, asynchronous: bool = False) -> Any:
    """A real SDK client whose transport answers in process."""
    import importlib

    sdk = importlib.import_module(sdk_name)
    hx = _httpx(sdk)
    if asynchronous:
        async def handle(request: Any) -> Any:
            return _answer(hx, request)

        http = hx.AsyncClient(transport=hx.MockTransport(handle))
        cls = sdk.AsyncOpenAI if sdk_name == "openai" else sdk.AsyncAnthropic
    else:
        http = hx.Client(transport=hx.MockTransport(lambda request: _answer(hx, request)))
        cls = sdk.OpenAI if sdk_name == "openai" else sdk.Anthropic
    # The real hosts (priced as the provider; an unknown host is not), answered in process all the same.
    base_url = "https://api.openai.com/v1" if sdk_name == "openai" else "https://api.anthropic.com"
    return cls(api_key="sk-bench", base_url=base_url, max_retries=0, http_client=http)


def call(c: Any, sdk_name: str, **extra: Any) -> Any:
    if sdk_name == "openai":
        return c.chat.completions.create(**OPENAI_REQUEST, **extra)
    return c.messages.create(**ANTHROPIC_REQUEST, **extra)


async def acall(c: Any, sdk_name: str) -> Any:
    if sdk_name == "openai":
        return await c.chat.completions.create(**OPENAI_REQUEST)
    return await c.messages.create(**ANTHROPIC_REQUEST)


def stream(c: Any, sdk_name: str) -> int:
    """Read one 500-chunk stream to the end, the way a caller does; the number of chunks the caller saw."""
    n = 0
    for _chunk in call(c, sdk_name, stream=True):
        n += 1
    return n


SHORT_CHUNKS = 20
"""The short pre-parsed stream: the long one's first two and last chunks with 480 content chunks fewer in
between, so its added time is a stream's fixed cost (span start and end, booking), which the marginal
per-chunk figure subtracts."""

_READY: dict[str, dict[bool, list[Any]]] = {}


def _touch(obj: Any) -> None:
    """Read every attribute the SDK set when it built this chunk (nested models and lists of them too): in a
    real stream the SDK has just built each chunk, so it is in the CPU's caches when an instrumentation reads it;
    a chunk parsed once and handed out again is not. Done alike with the instrumentation on and off."""
    getattr(obj, "__pydantic_fields_set__", None)
    for value in obj.__dict__.values():  # `hasattr` reads each value's header, where a scalar's type is
        if type(value) is list:
            for item in value:
                if hasattr(item, "__dict__"):
                    _touch(item)
        elif hasattr(value, "__dict__"):
            _touch(value)


class Preparsed:
    """Which pre-parsed stream the SDK's `Stream` hands out: `chunks` is STREAM_CHUNKS or SHORT_CHUNKS."""

    def __init__(self) -> None:
        self.chunks = STREAM_CHUNKS


@contextlib.contextmanager
def preparsed(c: Any, sdk_name: str) -> Iterator[Preparsed]:
    """The SDK's `Stream` hands out ready chunk objects instead of parsing SSE: a real SDK `Stream`, several
    times cheaper to read, so what an instrumentation adds per chunk stands out of the noise. Each chunk is touched
    (`_touch`) before it is handed out, as if just built."""
    import importlib

    streaming = importlib.import_module(f"{sdk_name}._streaming")
    original = streaming.Stream.__dict__["__stream__"]
    ready = _READY.get(sdk_name)
    if ready is None:  # parsed once per process (parsing is what this avoids), by the SDK as it is
        ready = _READY[sdk_name] = {False: list(call(c, sdk_name, stream=True))}
        if sdk_name == "openai":
            ready[True] = list(call(c, sdk_name, stream=True, stream_options={"include_usage": True}))
    cut = STREAM_CHUNKS - SHORT_CHUNKS
    short = {usage: chunks[:2] + chunks[2 + cut:] for usage, chunks in ready.items()}
    state = Preparsed()

    def __stream__(self: Any) -> Iterator[Any]:
        usage = sdk_name == "openai" and b'"include_usage"' in self.response.request.content
        try:
            for chunk in ready[usage] if state.chunks == STREAM_CHUNKS else short[usage]:
                _touch(chunk)
                yield chunk
        finally:
            self.response.close()

    streaming.Stream.__stream__ = __stream__
    try:
        yield state
    finally:
        streaming.Stream.__stream__ = original
