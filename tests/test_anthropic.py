"""The Anthropic instrumentation, driven through the real `anthropic` SDK on a mock HTTP transport.

Every payload is what the Messages API sends: a `message` object for a plain call, and for a stream the
named server-sent events `message_start`, `content_block_start`, `content_block_delta`, `content_block_stop`,
`message_delta` and `message_stop` (plus a `ping`). Nothing goes over the network, and nothing of agentyield
is mocked: the spans come from the real wrappers into an in-memory exporter.

Most tests run twice, through `Anthropic` and through `AsyncAnthropic` (the `mode` fixture): each test is an
`async def` that calls the sync client directly and awaits the async one.
"""

from __future__ import annotations

import gc
import json
import re
from typing import Any, Callable

import anthropic
import pydantic
import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import agentyield
from agentyield import _semconv as sc
from conftest import Recorder, llm_spans, sdk_httpx, sse

hx = sdk_httpx(anthropic)

BASE_URL = "http://mock.anthropic.local"
MODEL = "claude-sonnet-4-6"
RESPONSE_MODEL = "claude-sonnet-4-6-20260217"
SDK_SCOPE = "com.anthropic.sdk.python"

PROMPT = "What is the weather in Paris today?"
SYSTEM = "You are a terse weather assistant."
COMPLETION = "Sunny, 21 degrees."
TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]
MESSAGES = [{"role": "user", "content": PROMPT}]

FULL_USAGE: dict[str, Any] = {
    "input_tokens": 12,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 1500,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 500},
    "output_tokens": 300,
    "output_tokens_details": {"thinking_tokens": 120},
    "service_tier": "standard",
}

# What agentyield records for FULL_USAGE: input is Anthropic's uncached input plus cache reads and writes.
FULL_USAGE_ATTRIBUTES: dict[str, Any] = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 5512,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4000,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 1500,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
    sc.USAGE_CACHE_WRITE_5M: 1000,
    sc.USAGE_CACHE_WRITE_1H: 500,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 120,
}

USAGE_KEYS = frozenset(FULL_USAGE_ATTRIBUTES) | {sc.USAGE_MISSING, sc.USAGE_INVALID_FIELDS}

# --------------------------------------------------------------------------------------------------------------
# Payloads
# --------------------------------------------------------------------------------------------------------------


def message(
    *,
    usage: Any = FULL_USAGE,
    content: list[dict[str, Any]] | None = None,
    stop_reason: str = "end_turn",
    msg_id: str = "msg_01XFDUDYJgAACzvnptvVoYEL",
    omit_usage: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": RESPONSE_MODEL,
        "content": content if content is not None else [{"type": "text", "text": COMPLETION}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    if omit_usage:
        del body["usage"]
    return body


TOOL_USE_CONTENT = [
    {"type": "text", "text": "Let me check."},
    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris"}},
    {"type": "tool_use", "id": "toolu_01B09q90qw90lq917835lq9", "name": "get_time", "input": {"tz": "Europe/Paris"}},
]

START_USAGE: dict[str, Any] = {
    "input_tokens": 12,
    "cache_read_input_tokens": 4000,
    "cache_creation_input_tokens": 1500,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 500},
    "output_tokens": 1,
    "service_tier": "standard",
}
DELTA_USAGE: dict[str, Any] = {"output_tokens": 300, "output_tokens_details": {"thinking_tokens": 120}}
TEXT_CHUNKS = ("Sunny", ", 21", " degrees.")
STREAM_ID = "msg_01StreamXFDUDYJgAACzvnpt"


def stream_events(
    *,
    start_usage: Any = START_USAGE,
    delta_usage: Any = DELTA_USAGE,
    text: tuple[str, ...] = TEXT_CHUNKS,
    tool: bool = False,
    stop_reason: str = "end_turn",
) -> list[tuple[str | None, dict[str, Any]]]:
    """The events of one streamed message, as the Messages API sends them."""
    start_message: dict[str, Any] = {
        "id": STREAM_ID,
        "type": "message",
        "role": "assistant",
        "model": RESPONSE_MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if start_usage is not None:
        start_message["usage"] = start_usage
    events: list[tuple[str | None, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start_message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    for chunk in text:
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": chunk}},
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if tool:
        block = {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": block}),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
                },
            ),
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
                },
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ]
    delta: dict[str, Any] = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    if delta_usage is not None:
        delta["usage"] = delta_usage
    events += [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
    return events


def error_body(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def json_response(payload: Any, status: int = 200) -> Callable[[dict[str, Any]], Any]:
    return lambda body: hx.Response(status, json=payload, headers={"request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"})


def sse_response(events: list[tuple[str | None, dict[str, Any]]]) -> Callable[[dict[str, Any]], Any]:
    return lambda body: hx.Response(
        200,
        content=sse(events),
        headers={"content-type": "text/event-stream", "request-id": "req_011CSHoEeqs5C35K2UUqR7Fy"},
    )


# --------------------------------------------------------------------------------------------------------------
# Clients and calls
# --------------------------------------------------------------------------------------------------------------


def make_client(mode: str, handler: Callable[[Any], Any], **options: Any) -> Any:
    options.setdefault("max_retries", 0)
    if mode == "sync":
        return anthropic.Anthropic(
            api_key="sk-ant-test",
            base_url=BASE_URL,
            http_client=hx.Client(transport=hx.MockTransport(handler)),
            **options,
        )
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        base_url=BASE_URL,
        http_client=hx.AsyncClient(transport=hx.MockTransport(handler)),
        **options,
    )


def resource(client: Any, api: str) -> Any:
    """`messages` or `beta.messages` of the client."""
    target = client
    for part in api.split("."):
        target = getattr(target, part)
    return target


async def call(mode: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    result = method(**kwargs)
    return result if mode == "sync" else await result


async def drain(mode: str, stream: Any) -> list[Any]:
    if mode == "sync":
        return list(stream)
    return [event async for event in stream]


async def close(mode: str, stream: Any) -> None:
    if mode == "sync":
        stream.close()
    else:
        await stream.close()


def request(**overrides: Any) -> dict[str, Any]:
    return {"model": MODEL, "max_tokens": 1024, "messages": MESSAGES, **overrides}


async def read_stream_helper(mode: str, client: Any, how: str, api: str = "messages", **kwargs: Any) -> dict[str, Any]:
    """Read `client.<api>.stream(...)` one of three ways; return what the caller saw."""
    seen: dict[str, Any] = {}
    manager = resource(client, api).stream(**request(**kwargs))
    if mode == "sync":
        with manager as stream:
            if how == "events":
                seen["events"] = [event.type for event in stream]
            elif how == "text_stream":
                seen["text"] = "".join(stream.text_stream)
            final = stream.get_final_message()
    else:
        async with manager as stream:
            if how == "events":
                seen["events"] = [event.type async for event in stream]
            elif how == "text_stream":
                seen["text"] = "".join([text async for text in stream.text_stream])
            final = await stream.get_final_message()
    seen["final"] = final.model_dump(mode="json")
    seen["final_text"] = "".join(block.text for block in final.content if block.type == "text")
    return seen


# --------------------------------------------------------------------------------------------------------------
# Span helpers
# --------------------------------------------------------------------------------------------------------------


def only_span(exporter: InMemorySpanExporter) -> Any:
    spans = llm_spans(exporter)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


# What agentyield's span processor derives and writes on the span as it ends (cost, pricing, phase): tested
# with the processor; the tests here pin down what the instrumentation itself records.
DERIVED = frozenset({sc.PRICED, sc.PRICE_SOURCE, sc.COST_USD, sc.PHASE})


def own_attributes(span: Any) -> dict[str, Any]:
    """The span's attributes but the derived ones and the request fingerprint, whose value is keyed per process
    (tests/test_trajectory.py checks what it says): here only that it is there when the call has a parent span."""
    attributes = {key: value for key, value in span.attributes.items() if key not in DERIVED}
    fingerprint = attributes.pop(sc.REQUEST_HASH, None)
    assert fingerprint is None if span.parent is None else re.fullmatch("[0-9a-f]{16}", fingerprint)
    return attributes


def usage_of(span: Any) -> dict[str, Any]:
    return {key: value for key, value in span.attributes.items() if key in USAGE_KEYS}


def base_attributes(**extra: Any) -> dict[str, Any]:
    """The attributes every messages span has for `request()` against BASE_URL."""
    return {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "anthropic",
        sc.GEN_AI_REQUEST_MODEL: MODEL,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 1024,
        sc.SERVER_ADDRESS: "mock.anthropic.local",
        sc.SERVER_PORT: 80,
        **extra,
    }


def assert_completed_stream_span(span_exporter: InMemorySpanExporter) -> None:
    """Exactly one span, for a stream read to its end, with the full merged usage."""
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert own_attributes(span) == {
        **base_attributes(),
        sc.GEN_AI_RESPONSE_ID: STREAM_ID,
        sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",),
        sc.STREAM_END: "completed",
        **FULL_USAGE_ATTRIBUTES,
    }


def assert_no_content(span: Any, *texts: str) -> None:
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS):
        assert key not in span.attributes
    for key, value in span.attributes.items():
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            for text in texts:
                assert not (isinstance(item, str) and text in item), (key, item)


# ==============================================================================================================
# 1. messages.create
# ==============================================================================================================


async def test_create_records_usage_and_response(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    recorder = Recorder(json_response(message()))
    client = make_client(mode, recorder)

    result = await call(mode, client.messages.create, **request(stop_sequences=["\n\nHuman:"]))

    assert type(result) is anthropic.types.Message
    assert result.usage.input_tokens == 12  # the caller's object is the SDK's, untouched
    assert recorder.bodies == [
        {
            "model": MODEL,
            "max_tokens": 1024,
            "messages": MESSAGES,
            "stop_sequences": ["\n\nHuman:"],
        }
    ]
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.parent is None
    assert own_attributes(span) == {
        **base_attributes(),
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("\n\nHuman:",),
        sc.GEN_AI_RESPONSE_ID: "msg_01XFDUDYJgAACzvnptvVoYEL",
        sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",),
        **FULL_USAGE_ATTRIBUTES,
    }


async def test_create_without_cache_or_thinking(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    # What the API sends for a call that touched no cache: the cache fields are 0 or null, no thinking details.
    usage = {
        "input_tokens": 25,
        "cache_read_input_tokens": None,
        "cache_creation_input_tokens": 0,
        "cache_creation": None,
        "output_tokens": 7,
    }
    client = make_client(mode, Recorder(json_response(message(usage=usage))))

    await call(mode, client.messages.create, **request())

    assert usage_of(only_span(span_exporter)) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 25,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 7,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 0,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
    }


async def test_create_with_tool_use_blocks(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(json_response(message(content=TOOL_USE_CONTENT, stop_reason="tool_use"))))

    result = await call(mode, client.messages.create, **request(tools=TOOLS))

    assert [block.type for block in result.content] == ["text", "tool_use", "tool_use"]
    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_COUNT] == 2
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather", "get_time")
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


async def test_create_without_tool_use_has_no_tool_attributes(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(json_response(message())))
    await call(mode, client.messages.create, **request(tools=TOOLS))
    span = only_span(span_exporter)
    assert sc.TOOL_CALLS_COUNT not in span.attributes
    assert sc.TOOL_CALLS_NAMES not in span.attributes


async def test_server_port_from_base_url(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    handler = Recorder(json_response(message()))
    if mode == "sync":
        client = anthropic.Anthropic(
            api_key="sk-ant-test",
            base_url="https://gateway.example.internal:8443/anthropic",
            max_retries=0,
            http_client=hx.Client(transport=hx.MockTransport(handler)),
        )
    else:
        client = anthropic.AsyncAnthropic(
            api_key="sk-ant-test",
            base_url="https://gateway.example.internal:8443/anthropic",
            max_retries=0,
            http_client=hx.AsyncClient(transport=hx.MockTransport(handler)),
        )
    await call(mode, client.messages.create, **request())
    span = only_span(span_exporter)
    assert span.attributes[sc.SERVER_ADDRESS] == "gateway.example.internal"
    assert span.attributes[sc.SERVER_PORT] == 8443


async def test_prefix_hash_follows_system_and_tools(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(json_response(message())))
    create = client.messages.create

    await call(mode, create, **request(system=SYSTEM, tools=TOOLS))
    # The same system prompt and tools, as new (equal) objects, and a different conversation.
    await call(
        mode,
        create,
        **request(
            system=str(SYSTEM), tools=json.loads(json.dumps(TOOLS)), messages=[{"role": "user", "content": "And Rome?"}]
        ),
    )
    await call(mode, create, **request(system=SYSTEM + " Answer in French.", tools=TOOLS))
    await call(mode, create, **request(system=SYSTEM, tools=[{**TOOLS[0], "description": "Weather"}]))
    await call(
        mode, create, **request(system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}])
    )
    await call(mode, create, **request())

    spans = llm_spans(span_exporter)
    assert len(spans) == 6
    hashes = [span.attributes.get(sc.PROMPT_PREFIX_HASH) for span in spans]
    for value in hashes[:5]:
        assert isinstance(value, str) and len(value) == 16 and int(value, 16) >= 0
    assert hashes[0] == hashes[1]  # same system + tools
    assert hashes[2] != hashes[0]  # system changed
    assert hashes[3] != hashes[0]  # tools changed
    assert len({hashes[0], hashes[2], hashes[3], hashes[4]}) == 4
    assert hashes[5] is None  # neither system nor tools: nothing cacheable to fingerprint


async def test_no_content_on_span_by_default(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(
        mode, Recorder(json_response(message(content=TOOL_USE_CONTENT + [{"type": "text", "text": COMPLETION}])))
    )

    await call(mode, client.messages.create, **request(system=SYSTEM, tools=TOOLS))

    span = only_span(span_exporter)
    assert_no_content(span, PROMPT, SYSTEM, COMPLETION, "Let me check", "Paris", "Current weather")


async def test_content_captured_when_enabled(
    mode: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture_content=True)
    client = make_client(mode, Recorder(json_response(message(content=TOOL_USE_CONTENT[:2], stop_reason="tool_use"))))

    await call(mode, client.messages.create, **request(system=SYSTEM, tools=TOOLS))

    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] == SYSTEM
    assert json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES]) == MESSAGES
    assert json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A09q90qw90lq917835lq9",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
        }
    ]


async def test_content_capture_with_system_blocks(
    mode: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture_content=True)
    client = make_client(mode, Recorder(json_response(message())))
    system = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]

    await call(mode, client.messages.create, **request(system=system))

    span = only_span(span_exporter)
    assert json.loads(span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == system


# ==============================================================================================================
# 2. messages.create(stream=True)
# ==============================================================================================================


async def test_create_stream_merges_usage_across_events(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))

    stream = await call(mode, client.messages.create, **request(stream=True))
    assert isinstance(stream, anthropic.AsyncStream if mode == "async" else anthropic.Stream)
    assert llm_spans(span_exporter) == []  # the span is open while the stream is
    events = await drain(mode, stream)

    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert [e.delta.text for e in events if e.type == "content_block_delta"] == list(TEXT_CHUNKS)
    assert_completed_stream_span(span_exporter)


async def test_create_stream_message_delta_overrides_input(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    # Newer API versions repeat (and may correct) the input counts on message_delta: the latest value wins.
    delta_usage = {
        "input_tokens": 20,
        "cache_read_input_tokens": 4100,
        "cache_creation_input_tokens": 0,
        "output_tokens": 301,
    }
    client = make_client(mode, Recorder(sse_response(stream_events(delta_usage=delta_usage))))

    await drain(mode, await call(mode, client.messages.create, **request(stream=True)))

    assert usage_of(only_span(span_exporter)) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 20 + 4100 + 0,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 301,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4100,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 0,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
        # The TTL split came only with message_start; message_delta did not repeat it.
        sc.USAGE_CACHE_WRITE_5M: 1000,
        sc.USAGE_CACHE_WRITE_1H: 500,
    }


async def test_create_stream_tool_use(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events(tool=True, stop_reason="tool_use"))))

    await drain(mode, await call(mode, client.messages.create, **request(stream=True, tools=TOOLS)))

    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_COUNT] == 1
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


async def test_create_stream_no_content_by_default(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    await drain(mode, await call(mode, client.messages.create, **request(stream=True, system=SYSTEM)))
    assert_no_content(only_span(span_exporter), PROMPT, SYSTEM, "Sunny", "degrees")


async def test_create_stream_content_captured(
    mode: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture_content=True)
    client = make_client(mode, Recorder(sse_response(stream_events())))

    await drain(mode, await call(mode, client.messages.create, **request(stream=True)))

    span = only_span(span_exporter)
    assert json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES]) == MESSAGES
    assert json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": [{"type": "text", "text": "".join(TEXT_CHUNKS)}]}
    ]


async def test_create_stream_as_context_manager(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.messages.create, **request(stream=True))
    if mode == "sync":
        with stream as entered:
            assert entered is stream
            types = [event.type for event in entered]
    else:
        async with stream as entered:
            assert entered is stream
            types = [event.type async for event in entered]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "completed"
    assert usage_of(span) == FULL_USAGE_ATTRIBUTES


async def test_create_stream_error_event_mid_stream(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    events = stream_events()[:4] + [("error", error_body("overloaded_error", "Overloaded"))]
    client = make_client(mode, Recorder(sse_response(events)))
    stream = await call(mode, client.messages.create, **request(stream=True))

    with pytest.raises(anthropic.APIStatusError) as raised:
        await drain(mode, stream)

    assert raised.value.type == "overloaded_error"
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.STREAM_END] == "error"
    # The stream's HTTP status is 200: error.type must not claim a status the API never sent.
    assert span.attributes[sc.ERROR_TYPE] == type(raised.value).__qualname__
    # What the stream said before it failed is kept.
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == STREAM_ID
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1


# ==============================================================================================================
# 3. messages.stream() helper, read three ways
# ==============================================================================================================


@pytest.mark.parametrize("how", ["events", "text_stream", "get_final_message"])
@pytest.mark.parametrize("api", ["messages", "beta.messages"])
async def test_stream_helper(
    mode: str, how: str, api: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    events = stream_events(delta_usage={**DELTA_USAGE, "input_tokens": 12})
    client = make_client(mode, Recorder(sse_response(events)))

    plain = await read_stream_helper(mode, client, how, api)
    assert llm_spans(span_exporter) == []
    instrument()
    traced = await read_stream_helper(mode, client, how, api)

    assert traced == plain  # the caller sees exactly what the SDK alone gives
    assert traced["final_text"] == "".join(TEXT_CHUNKS)
    assert traced["final"]["usage"]["input_tokens"] == 12
    assert traced["final"]["usage"]["output_tokens"] == 300
    if how == "events":
        assert traced["events"] == [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "text",
            "content_block_delta",
            "text",
            "content_block_delta",
            "text",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    if how == "text_stream":
        assert traced["text"] == "".join(TEXT_CHUNKS)
    assert_completed_stream_span(span_exporter)


async def test_stream_helper_yields_the_sdk_stream(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    from anthropic.lib.streaming import AsyncMessageStream, MessageStream

    client = make_client(mode, Recorder(sse_response(stream_events())))
    manager = client.messages.stream(**request())
    if mode == "sync":
        with manager as stream:
            assert type(stream) is MessageStream
            assert stream.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
            assert stream.get_final_text() == "".join(TEXT_CHUNKS)
    else:
        async with manager as stream:
            assert type(stream) is AsyncMessageStream
            assert stream.request_id == "req_011CSHoEeqs5C35K2UUqR7Fy"
            assert await stream.get_final_text() == "".join(TEXT_CHUNKS)
    assert only_span(span_exporter).attributes[sc.STREAM_END] == "completed"


async def test_stream_helper_request_is_unchanged(mode: str, instrument: Callable[..., None]) -> None:
    recorder = Recorder(sse_response(stream_events()))
    client = make_client(mode, recorder)
    await read_stream_helper(mode, client, "get_final_message", system=SYSTEM, tools=TOOLS)
    instrument()
    await read_stream_helper(mode, client, "get_final_message", system=SYSTEM, tools=TOOLS)
    assert len(recorder.bodies) == 2
    assert recorder.bodies[0] == recorder.bodies[1]
    assert recorder.bodies[1]["stream"] is True


async def test_stream_helper_tool_use_and_content(
    mode: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    instrument(capture_content=True)
    client = make_client(mode, Recorder(sse_response(stream_events(tool=True, stop_reason="tool_use"))))

    seen = await read_stream_helper(mode, client, "events", system=SYSTEM, tools=TOOLS)

    tool_block = seen["final"]["content"][1]
    assert (tool_block["type"], tool_block["id"], tool_block["name"], tool_block["input"]) == (
        "tool_use",
        "toolu_01A09q90qw90lq917835lq9",
        "get_weather",
        {"city": "Paris"},
    )
    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] == SYSTEM
    assert json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": [{"type": "text", "text": "".join(TEXT_CHUNKS)}]}
    ]
    assert isinstance(span.attributes[sc.PROMPT_PREFIX_HASH], str)


@pytest.mark.parametrize("helper", [True, False], ids=["stream_helper", "create_stream"])
async def test_stream_output_captured_with_iterable_messages(
    mode: str, helper: bool, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    # `messages` may be any iterable: the input is then not recorded (we never consume the caller's
    # iterator), but the output still is, whichever streaming API was used.
    instrument(capture_content=True)
    recorder = Recorder(sse_response(stream_events()))
    client = make_client(mode, recorder)
    kwargs = request(messages=(m for m in MESSAGES))
    if helper:
        seen = await read_stream_helper(mode, client, "text_stream", messages=kwargs["messages"])
        assert seen["text"] == "".join(TEXT_CHUNKS)
    else:
        await drain(mode, await call(mode, client.messages.create, **kwargs, stream=True))
    assert recorder.bodies[0]["messages"] == MESSAGES
    span = only_span(span_exporter)
    assert sc.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "content": [{"type": "text", "text": "".join(TEXT_CHUNKS)}]}
    ]


async def test_stream_helper_not_entered_makes_no_span(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    recorder = Recorder(sse_response(stream_events()))
    client = make_client(mode, recorder)
    manager = client.messages.stream(**request())
    if mode == "async":
        # The async helper builds its request coroutine up front; an unentered manager never sends it.
        manager._AsyncMessageStreamManager__api_request.close()  # type: ignore[attr-defined]
    del manager
    gc.collect()
    assert recorder.bodies == []
    assert llm_spans(span_exporter) == []


# ==============================================================================================================
# 4. messages.parse and beta.messages
# ==============================================================================================================


class Weather(pydantic.BaseModel):
    city: str
    temperature_c: int


@pytest.mark.parametrize("api", ["messages", "beta.messages"])
async def test_parse_with_output_format(
    mode: str, api: str, instrument: Callable[..., None], span_exporter: InMemorySpanExporter
) -> None:
    payload = message(content=[{"type": "text", "text": '{"city": "Paris", "temperature_c": 21}'}])
    client = make_client(mode, Recorder(json_response(payload)))

    plain = await call(mode, resource(client, api).parse, **request(output_format=Weather))
    instrument()
    traced = await call(mode, resource(client, api).parse, **request(output_format=Weather))

    assert traced.parsed_output == Weather(city="Paris", temperature_c=21)
    assert type(traced) is type(plain)
    assert traced.model_dump(mode="json") == plain.model_dump(mode="json")
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert own_attributes(span) == {
        **base_attributes(),
        sc.GEN_AI_RESPONSE_ID: "msg_01XFDUDYJgAACzvnptvVoYEL",
        sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",),
        **FULL_USAGE_ATTRIBUTES,
    }


async def test_beta_create(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    recorder = Recorder(json_response(message(content=TOOL_USE_CONTENT, stop_reason="tool_use")))
    seen_headers: list[str | None] = []

    def handler(http_request: Any) -> Any:
        seen_headers.append(http_request.headers.get("anthropic-beta"))
        return recorder(http_request)

    client = make_client(mode, handler)
    result = await call(
        mode, client.beta.messages.create, **request(betas=["interleaved-thinking-2025-05-14"], tools=TOOLS)
    )

    assert type(result).__name__ == "BetaMessage"
    assert seen_headers == ["interleaved-thinking-2025-05-14"]
    span = only_span(span_exporter)
    assert own_attributes(span) == {
        **base_attributes(),
        sc.PROMPT_PREFIX_HASH: span.attributes[sc.PROMPT_PREFIX_HASH],
        sc.GEN_AI_RESPONSE_ID: "msg_01XFDUDYJgAACzvnptvVoYEL",
        sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("tool_use",),
        sc.TOOL_CALLS_COUNT: 2,
        sc.TOOL_CALLS_NAMES: ("get_weather", "get_time"),
        **FULL_USAGE_ATTRIBUTES,
    }


async def test_beta_create_stream(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.beta.messages.create, **request(stream=True, betas=["context-1m-2025-08-07"]))
    await drain(mode, stream)
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "completed"
    assert usage_of(span) == FULL_USAGE_ATTRIBUTES


# ==============================================================================================================
# Raw responses (with_raw_response / with_streaming_response)
# ==============================================================================================================


async def test_with_raw_response(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(json_response(message())))
    raw = await call(mode, client.messages.with_raw_response.create, **request())
    assert raw.headers["request-id"] == "req_011CSHoEeqs5C35K2UUqR7Fy"
    assert llm_spans(span_exporter) == []  # known only once parsed
    parsed = raw.parse() if mode == "sync" else await raw.parse()
    assert type(parsed) is anthropic.types.Message
    span = only_span(span_exporter)
    assert usage_of(span) == FULL_USAGE_ATTRIBUTES
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "msg_01XFDUDYJgAACzvnptvVoYEL"


async def test_with_raw_response_stream(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    raw = await call(mode, client.messages.with_raw_response.create, **request(stream=True))
    stream = raw.parse() if mode == "sync" else await raw.parse()
    await drain(mode, stream)
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "completed"
    assert usage_of(span) == FULL_USAGE_ATTRIBUTES


async def test_with_streaming_response(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(json_response(message())))
    if mode == "sync":
        with client.messages.with_streaming_response.create(**request()) as raw:
            parsed = raw.parse()
    else:
        async with client.messages.with_streaming_response.create(**request()) as raw:
            parsed = await raw.parse()
    assert parsed.usage.output_tokens == 300
    span = only_span(span_exporter)
    assert usage_of(span) == FULL_USAGE_ATTRIBUTES


# ==============================================================================================================
# 5. HTTP errors
# ==============================================================================================================

ERRORS = [
    (
        429,
        "rate_limit_error",
        anthropic.RateLimitError,
        "Number of request tokens has exceeded your per-minute rate limit",
    ),
    (500, "api_error", anthropic.InternalServerError, "Internal server error"),
]


async def _raise(mode: str, client: Any, how: str) -> BaseException:
    try:
        if how == "create":
            await call(mode, client.messages.create, **request())
        elif how == "create_stream":
            await call(mode, client.messages.create, **request(stream=True))
        else:
            await read_stream_helper(mode, client, "events")
    except anthropic.APIError as error:
        return error
    raise AssertionError("no error raised")


@pytest.mark.parametrize("how", ["create", "create_stream", "stream_helper"])
@pytest.mark.parametrize(("status", "kind", "error_type", "text"), ERRORS)
async def test_http_error(
    mode: str,
    how: str,
    status: int,
    kind: str,
    error_type: type,
    text: str,
    instrument: Callable[..., None],
    span_exporter: InMemorySpanExporter,
) -> None:
    recorder = Recorder(json_response(error_body(kind, text), status))
    client = make_client(mode, recorder)

    plain = await _raise(mode, client, how)
    instrument()
    traced = await _raise(mode, client, how)

    assert len(recorder.bodies) == 2  # max_retries=0: one request each
    assert type(plain) is error_type
    assert type(traced) is type(plain)
    assert traced.status_code == plain.status_code == status  # type: ignore[attr-defined]
    assert traced.body == plain.body  # type: ignore[attr-defined]
    assert str(traced) == str(plain)
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == error_type.__name__
    expected = {
        **base_attributes(),
        sc.ERROR_TYPE: str(status),
        sc.USAGE_MISSING: True,
    }
    if how != "create":
        expected[sc.STREAM_END] = "error"
    assert own_attributes(span) == expected
    assert_no_content(span, text, PROMPT)


async def test_http_error_is_the_sdk_exception_object(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    """The exception the caller catches is the one the SDK raised, not a copy or a wrapper."""
    raised: list[BaseException] = []

    def handler(http_request: Any) -> Any:
        return hx.Response(429, json=error_body("rate_limit_error", "slow down"))

    client = make_client(mode, handler)
    original = client._make_status_error

    def spy(*args: Any, **kwargs: Any) -> Any:
        error = original(*args, **kwargs)
        raised.append(error)
        return error

    client._make_status_error = spy
    with pytest.raises(anthropic.RateLimitError) as caught:
        await call(mode, client.messages.create, **request())
    assert raised == [caught.value]
    assert caught.value is raised[0]
    assert only_span(span_exporter).attributes[sc.ERROR_TYPE] == "429"


# ==============================================================================================================
# 6. Streams closed early and abandoned
# ==============================================================================================================


async def test_create_stream_closed_early(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.messages.create, **request(stream=True))
    if mode == "sync":
        for event in stream:
            break
    else:
        async for event in stream:
            break
    assert event.type == "message_start"
    assert llm_spans(span_exporter) == []
    await close(mode, stream)

    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "closed"
    assert span.status.status_code is StatusCode.UNSET
    # Only message_start was read: its counts, and no finish reason.
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == STREAM_ID
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes
    assert usage_of(span) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 5512,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4000,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 1500,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
        sc.USAGE_CACHE_WRITE_5M: 1000,
        sc.USAGE_CACHE_WRITE_1H: 500,
    }
    gc.collect()
    assert len(llm_spans(span_exporter)) == 1  # the dropped iterator does not end it again


async def test_create_stream_closed_before_reading(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.messages.create, **request(stream=True))
    await close(mode, stream)
    await close(mode, stream)  # closing twice ends the span once
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "closed"
    assert span.attributes[sc.USAGE_MISSING] is True


async def test_stream_helper_closed_early(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    manager = client.messages.stream(**request())
    if mode == "sync":
        with manager as stream:
            for event in stream:
                if event.type == "text":
                    break
    else:
        async with manager as stream:
            async for event in stream:
                if event.type == "text":
                    break
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "closed"
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes


async def test_create_stream_abandoned(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.messages.create, **request(stream=True))
    assert llm_spans(span_exporter) == []
    del stream
    gc.collect()

    span = only_span(span_exporter)
    assert own_attributes(span) == {
        **base_attributes(),
        sc.STREAM_END: "abandoned",
        sc.USAGE_MISSING: True,
    }


async def test_create_stream_dropped_after_partial_read(
    mode: str, instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, client.messages.create, **request(stream=True))
    if mode == "sync":
        for _ in stream:
            break
    else:
        async for _ in stream:
            break
    del stream, _
    gc.collect()

    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "abandoned"
    assert sc.USAGE_MISSING not in span.attributes
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1


async def test_stream_helper_abandoned(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())))
    manager = client.messages.stream(**request())
    stream = manager.__enter__() if mode == "sync" else await manager.__aenter__()
    assert llm_spans(span_exporter) == []
    del stream, manager
    gc.collect()

    span = only_span(span_exporter)
    assert own_attributes(span) == {
        **base_attributes(),
        sc.STREAM_END: "abandoned",
        sc.USAGE_MISSING: True,
    }


# ==============================================================================================================
# Context: the span is current only while the SDK call runs
# ==============================================================================================================


async def test_span_is_not_left_current(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    assert not trace_api.get_current_span().get_span_context().is_valid

    client = make_client(mode, Recorder(json_response(message())))
    await call(mode, client.messages.create, **request())
    assert not trace_api.get_current_span().get_span_context().is_valid

    streaming = make_client(mode, Recorder(sse_response(stream_events())))
    stream = await call(mode, streaming.messages.create, **request(stream=True))
    assert not trace_api.get_current_span().get_span_context().is_valid
    await drain(mode, stream)

    manager = streaming.messages.stream(**request())
    if mode == "sync":
        with manager as helper:
            assert not trace_api.get_current_span().get_span_context().is_valid
            helper.until_done()
    else:
        async with manager as helper:
            assert not trace_api.get_current_span().get_span_context().is_valid
            await helper.until_done()
    assert not trace_api.get_current_span().get_span_context().is_valid
    assert len(llm_spans(span_exporter)) == 3


async def test_span_nests_under_callers_span(
    mode: str, instrumented: None, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(json_response(message())))
    with tracer_provider.get_tracer("agent").start_as_current_span("invoke_agent weather") as agent_span:
        await call(mode, client.messages.create, **request())
    span = only_span(span_exporter)
    assert span.parent is not None
    assert span.parent.span_id == agent_span.get_span_context().span_id
    assert span.context.trace_id == agent_span.get_span_context().trace_id


# ==============================================================================================================
# 7. uninstrument
# ==============================================================================================================


def _originals() -> dict[tuple[type, str], Any]:
    from anthropic.resources.beta.messages import messages as beta_messages
    from anthropic.resources.messages import messages

    return {
        (owner, name): owner.__dict__[name]
        for module in (messages, beta_messages)
        for owner in (module.Messages, module.AsyncMessages)
        for name in ("create", "parse", "stream")
    }


def test_uninstrument_restores_originals(instrument: Callable[..., None], span_exporter: InMemorySpanExporter) -> None:
    create_before = anthropic.resources.messages.messages.Messages.create
    before = _originals()

    instrument()
    during = _originals()
    for key, original in before.items():
        assert during[key] is not original, key
        assert during[key].__wrapped__ is original, key
    agentyield.uninstrument()

    assert anthropic.resources.messages.messages.Messages.create is create_before
    assert _originals() == before
    for key, original in _originals().items():
        assert original is before[key], key

    client = make_client("sync", Recorder(json_response(message())))
    client.messages.create(**request())
    streaming = make_client("sync", Recorder(sse_response(stream_events())))
    with streaming.messages.stream(**request()) as stream:
        assert stream.get_final_message().usage.output_tokens == 300
    assert llm_spans(span_exporter) == []

    instrument()  # and instrumenting again works
    client.messages.create(**request())
    assert len(llm_spans(span_exporter)) == 1


# ==============================================================================================================
# 8. Coexistence with the SDK's own OpenTelemetry spans
# ==============================================================================================================
#
# anthropic 2.x emits its own CLIENT span per API call ("anthropic.messages.create", scope
# "com.anthropic.sdk.python") when the client is given `open_telemetry={"tracer_provider": ...}` or when a
# global tracer provider is set. agentyield makes its span current around the SDK call, so in Jaeger the
# trace shows ONE tree: the agentyield span `chat claude-sonnet-4-6` at the root and the SDK's
# `anthropic.messages.create` span nested directly under it (same trace id, its parent id is our span id),
# both of kind CLIENT with gen_ai.provider.name=anthropic. The SDK span carries the HTTP details
# (http.request.method, url.full, http.response.status_code, anthropic.request.id) and the same usage totals
# as ours (gen_ai.usage.input_tokens=5512, output_tokens=300, cache read/write). A backend that sums
# gen_ai.usage.* over every span, or counts every gen_ai CLIENT span as an LLM call, counts this call twice:
# aggregate over the agentyield scope only.


def metric_total(reader: Any, name: str) -> float:
    """The sum of a counter's data points across its attribute sets, 0 when it has none."""
    data = reader.get_metrics_data()
    total = 0
    for resource_metrics in data.resource_metrics if data is not None else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    total += sum(point.value for point in metric.data.data_points)
    return total


def _sdk_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return llm_spans(exporter, SDK_SCOPE)


@pytest.fixture(params=["client_option", "global_provider"])
def sdk_tracing(
    request: pytest.FixtureRequest, tracer_provider: TracerProvider, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Client options that turn the SDK's own spans on, into the test's provider, without leaking."""
    if request.param == "client_option":
        return {"open_telemetry": {"tracer_provider": tracer_provider}}
    # The SDK's clients without a `tracer_provider` use the global one; set it for this test only (no set-once).
    monkeypatch.setattr(trace_api, "_TRACER_PROVIDER", tracer_provider)
    return {}


def _assert_parent_child(exporter: InMemorySpanExporter) -> tuple[Any, Any]:
    ours = only_span(exporter)
    sdk = _sdk_spans(exporter)
    assert len(sdk) == 1, [s.name for s in sdk]
    child = sdk[0]
    assert child.name == "anthropic.messages.create"
    assert child.kind is SpanKind.CLIENT
    assert child.parent is not None
    assert child.parent.span_id == ours.context.span_id
    assert child.context.trace_id == ours.context.trace_id
    assert ours.parent is None
    # Jaeger draws the SDK's bar inside ours.
    assert ours.start_time <= child.start_time <= child.end_time <= ours.end_time
    assert len(exporter.get_finished_spans()) == 2
    return ours, child


async def test_sdk_tracing_create(
    mode: str,
    sdk_tracing: dict[str, Any],
    instrumented: None,
    span_exporter: InMemorySpanExporter,
    metric_reader: Any,
) -> None:
    traceparents: list[str | None] = []
    recorder = Recorder(json_response(message()))

    def handler(http_request: Any) -> Any:
        traceparents.append(http_request.headers.get("traceparent"))
        return recorder(http_request)

    client = make_client(mode, handler, **sdk_tracing)
    await call(mode, client.messages.create, **request())

    ours, child = _assert_parent_child(span_exporter)
    assert usage_of(ours) == FULL_USAGE_ATTRIBUTES
    # The SDK's span repeats the same totals: summing usage over both spans would count the call twice.
    assert child.attributes["gen_ai.usage.input_tokens"] == 5512
    assert child.attributes["gen_ai.usage.output_tokens"] == 300
    # The request carried the SDK span's context, which belongs to our trace.
    flags = int(child.context.trace_flags)
    assert traceparents == [f"00-{ours.context.trace_id:032x}-{child.context.span_id:016x}-{flags:02x}"]
    # Because the SDK's span is our child, agentyield's metrics count the call once, not twice.
    assert metric_total(metric_reader, "agentyield.llm.calls") == 1
    assert metric_total(metric_reader, "agentyield.spans.duplicate") == 1


async def test_sdk_tracing_create_stream(
    mode: str,
    sdk_tracing: dict[str, Any],
    instrumented: None,
    span_exporter: InMemorySpanExporter,
    metric_reader: Any,
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())), **sdk_tracing)
    await drain(mode, await call(mode, client.messages.create, **request(stream=True)))
    ours, _ = _assert_parent_child(span_exporter)
    assert ours.attributes[sc.STREAM_END] == "completed"
    assert usage_of(ours) == FULL_USAGE_ATTRIBUTES
    assert metric_total(metric_reader, "agentyield.llm.calls") == 1
    assert metric_total(metric_reader, "agentyield.spans.duplicate") == 1


async def test_sdk_tracing_stream_helper(
    mode: str, sdk_tracing: dict[str, Any], instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(sse_response(stream_events())), **sdk_tracing)
    seen = await read_stream_helper(mode, client, "text_stream")
    assert seen["text"] == "".join(TEXT_CHUNKS)
    ours, _ = _assert_parent_child(span_exporter)
    assert usage_of(ours) == FULL_USAGE_ATTRIBUTES


async def test_sdk_tracing_error(
    mode: str, sdk_tracing: dict[str, Any], instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(json_response(error_body("rate_limit_error", "slow down"), 429)), **sdk_tracing)
    with pytest.raises(anthropic.RateLimitError):
        await call(mode, client.messages.create, **request())
    ours, child = _assert_parent_child(span_exporter)
    assert ours.attributes[sc.ERROR_TYPE] == "429"
    assert child.status.status_code is StatusCode.ERROR


async def test_sdk_tracing_off_by_default(mode: str, instrumented: None, span_exporter: InMemorySpanExporter) -> None:
    # Without a provider option or a global provider, the SDK's span does not record: only ours is exported.
    client = make_client(mode, Recorder(json_response(message())))
    await call(mode, client.messages.create, **request())
    assert len(span_exporter.get_finished_spans()) == 1
    assert _sdk_spans(span_exporter) == []


# ==============================================================================================================
# 9. Malformed usage payloads
# ==============================================================================================================

BAD_USAGE = [
    pytest.param(None, {sc.USAGE_MISSING: True}, id="usage-missing"),
    pytest.param(
        {**FULL_USAGE, "input_tokens": None},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-none",
    ),
    pytest.param(
        {**FULL_USAGE, "input_tokens": "12"},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-string",
    ),
    pytest.param(
        {**FULL_USAGE, "input_tokens": -12},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-negative",
    ),
    pytest.param(
        {**FULL_USAGE, "input_tokens": 12.0},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-float",
    ),
    pytest.param(
        {k: v for k, v in FULL_USAGE.items() if k != "output_tokens"},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_OUTPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("output_tokens",),
        },
        id="output-absent",
    ),
    pytest.param(
        {**FULL_USAGE, "cache_read_input_tokens": "many"},
        {
            # The total input cannot be known without the cache reads: it is left out, not under-counted.
            **{
                k: v
                for k, v in FULL_USAGE_ATTRIBUTES.items()
                if k not in (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS)
            },
            sc.USAGE_INVALID_FIELDS: ("cache_read_input_tokens",),
        },
        id="cache-read-string",
    ),
    pytest.param(
        {**FULL_USAGE, "cache_creation_input_tokens": -1},
        {
            **{
                k: v
                for k, v in FULL_USAGE_ATTRIBUTES.items()
                if k
                not in (
                    sc.GEN_AI_USAGE_INPUT_TOKENS,
                    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
                    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                )
            },
            sc.USAGE_INVALID_FIELDS: ("cache_creation_input_tokens",),
        },
        id="cache-write-negative",
    ),
    pytest.param(
        {**FULL_USAGE, "cache_creation": {"ephemeral_5m_input_tokens": "x", "ephemeral_1h_input_tokens": 500}},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.USAGE_CACHE_WRITE_5M},
            sc.USAGE_INVALID_FIELDS: ("ephemeral_5m_input_tokens",),
        },
        id="ttl-split-string",
    ),
    pytest.param(
        {**FULL_USAGE, "output_tokens_details": {"thinking_tokens": "lots"}},
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("thinking_tokens",),
        },
        id="thinking-string",
    ),
    pytest.param(
        "not-a-usage-object",
        {sc.USAGE_INVALID_FIELDS: ("input_tokens", "output_tokens")},
        id="usage-string",
    ),
]


@pytest.mark.parametrize(("usage", "expected"), BAD_USAGE)
async def test_bad_usage_payload(
    mode: str, usage: Any, expected: dict[str, Any], instrumented: None, span_exporter: InMemorySpanExporter
) -> None:
    client = make_client(mode, Recorder(json_response(message(usage=usage, omit_usage=usage is None))))

    result = await call(mode, client.messages.create, **request())

    assert result.content[0].text == COMPLETION
    span = only_span(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert usage_of(span) == expected


STREAM_BAD_USAGE = [
    pytest.param(None, None, {sc.USAGE_MISSING: True}, id="no-usage-anywhere"),
    pytest.param(
        {**START_USAGE, "input_tokens": None},
        DELTA_USAGE,
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-none",
    ),
    pytest.param(
        # A numeric string is coerced by the SDK's event validation; a non-numeric one reaches us as is.
        {**START_USAGE, "input_tokens": "twelve"},
        DELTA_USAGE,
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-string",
    ),
    pytest.param(
        {**START_USAGE, "input_tokens": -3},
        DELTA_USAGE,
        {
            **{k: v for k, v in FULL_USAGE_ATTRIBUTES.items() if k != sc.GEN_AI_USAGE_INPUT_TOKENS},
            sc.USAGE_INVALID_FIELDS: ("input_tokens",),
        },
        id="input-negative",
    ),
    pytest.param(
        START_USAGE,
        {"output_tokens": -300},
        {
            # message_start's output count of 1 is stale once message_delta reported a (bad) final count.
            **{
                k: v
                for k, v in FULL_USAGE_ATTRIBUTES.items()
                if k not in (sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS)
            },
            sc.USAGE_INVALID_FIELDS: ("output_tokens",),
        },
        id="delta-output-negative",
    ),
]


@pytest.mark.parametrize(("start_usage", "delta_usage", "expected"), STREAM_BAD_USAGE)
async def test_bad_usage_stream(
    mode: str,
    start_usage: Any,
    delta_usage: Any,
    expected: dict[str, Any],
    instrumented: None,
    span_exporter: InMemorySpanExporter,
) -> None:
    events = stream_events(start_usage=start_usage, delta_usage=delta_usage)
    client = make_client(mode, Recorder(sse_response(events)))

    stream = await call(mode, client.messages.create, **request(stream=True))
    seen = await drain(mode, stream)

    assert "".join(e.delta.text for e in seen if e.type == "content_block_delta") == "".join(TEXT_CHUNKS)
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == STREAM_ID
    assert usage_of(span) == expected
