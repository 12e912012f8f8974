"""OpenAI instrumentation, exact, with the real SDK on a mock transport; every case sync and async."""

from __future__ import annotations

import gc
from typing import Any

import openai
import pydantic
import pytest

from agentyield import _semconv as sc
from conftest import llm_spans, only_span, sse, usage_attributes
from openai_mock import CHAT_USAGE, OpenAIMock, chat_completion, clients, hx, response_object

MESSAGES = [
    {"role": "system", "content": "You are a careful research agent. SECRET-SYSTEM-PROMPT"},
    {"role": "user", "content": "What is the answer? SECRET-USER-PROMPT"},
]


async def call(mode: str, sync_fn: Any, async_fn: Any) -> Any:
    """Run the sync or the async variant of the same call."""
    return sync_fn() if mode == "sync" else await async_fn()


CHAT_USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 2006,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1920,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 256,
}


async def test_chat_create_exact_usage_and_attributes(instrumented: None, span_exporter: Any, mode: str) -> None:
    mock = OpenAIMock()
    sync, async_ = clients(mock)
    kwargs = dict(model="gpt-4o", messages=MESSAGES, temperature=0.2, max_completion_tokens=512, top_p=0.9, seed=7, stop=["END"])
    result = await call(mode, lambda: sync.chat.completions.create(**kwargs), lambda: async_.chat.completions.create(**kwargs))

    assert type(result) is openai.types.chat.ChatCompletion
    assert result.usage.prompt_tokens == 2006
    span = only_span(span_exporter)
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    assert span.instrumentation_scope.name == "agentyield"
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    attributes = dict(span.attributes)
    assert {k: attributes[k] for k in attributes if not k.startswith(("gen_ai.usage.", "agentyield."))} == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        sc.SERVER_ADDRESS: "api.openai.com",
        sc.SERVER_PORT: 443,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 512,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_SEED: 7,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("END",),
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
        sc.GEN_AI_RESPONSE_ID: "chatcmpl-abc123",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
    }
    assert len(attributes[sc.PROMPT_PREFIX_HASH]) == 16


async def test_no_content_and_no_key_by_default(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    await call(
        mode,
        lambda: sync.chat.completions.create(model="gpt-4o", messages=MESSAGES),
        lambda: async_.chat.completions.create(model="gpt-4o", messages=MESSAGES),
    )
    text = repr(dict(only_span(span_exporter).attributes))
    for secret in ("SECRET-SYSTEM-PROMPT", "SECRET-USER-PROMPT", "The answer is 42", "sk-test-SECRET"):
        assert secret not in text


def test_content_capture_is_opt_in(instrument: Any, span_exporter: Any) -> None:
    instrument(capture_content=True)
    sync, _ = clients(OpenAIMock())
    sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    attributes = only_span(span_exporter).attributes
    assert "SECRET-USER-PROMPT" in attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "The answer is 42." in attributes[sc.GEN_AI_OUTPUT_MESSAGES]
    assert "sk-test-SECRET" not in repr(dict(attributes))


def test_prefix_hash_follows_system_prompt_and_tools(instrumented: None, span_exporter: Any) -> None:
    sync, _ = clients(OpenAIMock())
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    other_system = [{"role": "system", "content": "A different system prompt"}, MESSAGES[1]]
    for messages, tool_list in ((MESSAGES, tools), (MESSAGES, tools), (other_system, tools), (MESSAGES, None)):
        sync.chat.completions.create(model="gpt-4o", messages=messages, **({"tools": tool_list} if tool_list else {}))
    hashes = [s.attributes[sc.PROMPT_PREFIX_HASH] for s in llm_spans(span_exporter)]
    assert hashes[0] == hashes[1]
    assert len({hashes[0], hashes[2], hashes[3]}) == 3


async def test_chat_tool_calls_named(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    await call(
        mode,
        lambda: sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools),
        lambda: async_.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools),
    )
    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_COUNT] == 2
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather", "get_time")
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


async def collect(mode: str, stream: Any) -> list[Any]:
    if mode == "sync":
        return list(stream)
    return [chunk async for chunk in stream]


async def chat_stream_chunks(mode: str, sync: Any, async_: Any, **kwargs: Any) -> list[Any]:
    kwargs = dict(model="gpt-4o", messages=MESSAGES, stream=True, **kwargs)
    if mode == "sync":
        return list(sync.chat.completions.create(**kwargs))
    return [c async for c in await async_.chat.completions.create(**kwargs)]


async def test_chat_stream_without_caller_usage_sees_the_same_chunks(instrument: Any, span_exporter: Any, mode: str) -> None:
    plain_mock = OpenAIMock()
    plain = await chat_stream_chunks(mode, *clients(plain_mock))
    instrument()
    mock = OpenAIMock()
    chunks = await chat_stream_chunks(mode, *clients(mock))

    # We asked for usage; the caller did not, and sees exactly the chunks it would have seen.
    assert plain_mock.bodies[0].get("stream_options") is None
    assert mock.bodies[0]["stream_options"] == {"include_usage": True}
    assert [c.model_dump(exclude={"usage"}) for c in chunks] == [c.model_dump(exclude={"usage"}) for c in plain]
    assert all(c.usage is None for c in chunks)
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.STREAM_USAGE_REQUESTED] is True
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-stream1"


async def test_chat_stream_tool_calls_and_choices_named(instrumented: None, span_exporter: Any, mode: str) -> None:
    """Tool names come in the first delta of each call, finish reasons in each choice's last chunk (n=2)."""

    def call_delta(index: int, name: str | None, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments} if name else {"arguments": arguments}
        return {"index": index, **({"id": f"call_{index}", "type": "function"} if name else {}), "function": function}

    def respond(body: dict[str, Any], path: str) -> Any:
        base = {"id": "chatcmpl-tools", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-2024-08-06", "usage": None}
        deltas = [
            (0, {"role": "assistant", "content": None, "tool_calls": [call_delta(0, "get_weather", "")]}, None),
            (1, {"role": "assistant", "content": "Let me"}, None),
            (0, {"tool_calls": [call_delta(0, None, '{"city": "Paris"}')]}, None),
            (0, {"tool_calls": [call_delta(1, "get_time", "")]}, None),
            (1, {"content": " check."}, None),
            (0, {"tool_calls": [call_delta(1, None, '{"tz": "CET"}')]}, None),
            (1, {}, "stop"),
            (0, {}, "tool_calls"),
        ]
        events = [(None, {**base, "choices": [{"index": i, "delta": d, "finish_reason": f}]}) for i, d, f in deltas]
        events.append((None, {**base, "choices": [], "usage": CHAT_USAGE}))
        return hx.Response(200, content=sse(events, done=True), headers={"content-type": "text/event-stream"})

    chunks = await chat_stream_chunks(mode, *clients(OpenAIMock(respond)), n=2)
    assert len(chunks) == 8  # the usage chunk agentyield asked for is hidden
    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather", "get_time")
    assert span.attributes[sc.TOOL_CALLS_COUNT] == 2
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls", "stop")  # by choice index
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert sc.RESPONSE_UNREADABLE_FIELDS not in span.attributes


async def test_chat_stream_with_caller_usage_keeps_usage_chunk(instrumented: None, span_exporter: Any, mode: str) -> None:
    mock = OpenAIMock()
    chunks = await chat_stream_chunks(mode, *clients(mock), stream_options={"include_usage": True})
    assert mock.bodies[0]["stream_options"] == {"include_usage": True}
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 2006
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert sc.STREAM_USAGE_REQUESTED not in span.attributes


async def test_chat_stream_usage_opt_out_marks_usage_missing(instrument: Any, span_exporter: Any, mode: str) -> None:
    instrument(request_stream_usage=False)
    mock = OpenAIMock()
    chunks = await chat_stream_chunks(mode, *clients(mock))
    assert "stream_options" not in mock.bodies[0]
    assert len(chunks) == 5
    span = only_span(span_exporter)
    assert usage_attributes(span) == {sc.USAGE_MISSING: True}


async def test_chat_stream_helper_counts_once(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    if mode == "sync":
        with sync.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as stream:
            text = "".join(e.delta for e in stream if e.type == "content.delta")
            final = stream.get_final_completion()
    else:
        async with async_.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as stream:
            text = "".join([e.delta async for e in stream if e.type == "content.delta"])
            final = await stream.get_final_completion()
    assert text == "w0 w1 w2 "
    assert final.choices[0].message.content == "w0 w1 w2 "
    assert final.usage is None  # exactly what the caller gets without agentyield
    assert usage_attributes(only_span(span_exporter)) == CHAT_USAGE_ATTRIBUTES


class Answer(pydantic.BaseModel):
    answer: int


async def test_chat_parse_counts_once(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    result = await call(
        mode,
        lambda: sync.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=Answer),
        lambda: async_.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=Answer),
    )
    assert result.choices[0].message.parsed == Answer(answer=42)
    assert usage_attributes(only_span(span_exporter)) == CHAT_USAGE_ATTRIBUTES


RESPONSES_USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 3000,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 2048,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 0,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 0,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 128,
}


@pytest.mark.parametrize("resource", ["responses", "beta.responses"])
async def test_responses_create(instrumented: None, span_exporter: Any, mode: str, resource: str) -> None:
    sync, async_ = clients(OpenAIMock())

    def pick(client: Any) -> Any:
        return client.responses if resource == "responses" else client.beta.responses

    kwargs = dict(model="gpt-5", input="hi", instructions="Be terse.", conversation="conv_123", max_output_tokens=900)
    result = await call(mode, lambda: pick(sync).create(**kwargs), lambda: pick(async_).create(**kwargs))
    assert result.usage.input_tokens == 3000
    span = only_span(span_exporter)
    assert span.name == "chat gpt-5"
    assert usage_attributes(span) == RESPONSES_USAGE_ATTRIBUTES
    assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_123"
    assert span.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 900
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("completed",)
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("search_docs",)


async def test_responses_stream_create_and_helper(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    if mode == "sync":
        events = list(sync.responses.create(model="gpt-5", input="hi", stream=True))
        with sync.responses.stream(model="gpt-5", input="hi") as stream:
            for _ in stream:
                pass
            final = stream.get_final_response()
    else:
        events = [e async for e in await async_.responses.create(model="gpt-5", input="hi", stream=True)]
        async with async_.responses.stream(model="gpt-5", input="hi") as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_response()
    assert events[-1].type == "response.completed"
    assert final.usage.output_tokens == 500
    spans = llm_spans(span_exporter)
    assert len(spans) == 2
    for span in spans:
        assert usage_attributes(span) == RESPONSES_USAGE_ATTRIBUTES
        assert span.attributes[sc.STREAM_END] == "completed"
        assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "resp_abc123"


async def test_responses_parse_counts_once(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    result = await call(
        mode,
        lambda: sync.responses.parse(model="gpt-5", input="hi", text_format=Answer),
        lambda: async_.responses.parse(model="gpt-5", input="hi", text_format=Answer),
    )
    assert result.output_parsed == Answer(answer=42)
    assert usage_attributes(only_span(span_exporter)) == RESPONSES_USAGE_ATTRIBUTES


async def test_embeddings(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    kwargs = dict(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    result = await call(mode, lambda: sync.embeddings.create(**kwargs), lambda: async_.embeddings.create(**kwargs))
    assert len(result.data) == 2
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert span.attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("float",)
    assert usage_attributes(span) == {sc.GEN_AI_USAGE_INPUT_TOKENS: 16}


async def test_raw_and_streaming_response_count_once(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    if mode == "sync":
        raw = sync.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        assert raw.headers["content-type"] == "application/json"
        first, again = raw.parse(), raw.parse()
        with sync.chat.completions.with_streaming_response.create(model="gpt-4o", messages=MESSAGES) as response:
            streamed = response.parse()
        raw_stream = sync.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, stream=True)
        chunks = list(raw_stream.parse())
    else:
        raw = await async_.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
        first, again = raw.parse(), raw.parse()
        async with async_.chat.completions.with_streaming_response.create(model="gpt-4o", messages=MESSAGES) as response:
            streamed = await response.parse()
        raw_stream = await async_.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, stream=True)
        chunks = [c async for c in raw_stream.parse()]
    assert first is again
    assert first.usage.prompt_tokens == streamed.usage.prompt_tokens == 2006
    assert len(chunks) == 5
    spans = llm_spans(span_exporter)
    assert len(spans) == 3
    for span in spans:
        assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES


@pytest.mark.parametrize("status", [429, 500])
async def test_http_errors_raise_the_same_exception(instrumented: None, span_exporter: Any, mode: str, status: int) -> None:
    def respond(body: dict[str, Any], path: str) -> Any:
        return hx.Response(status, json={"error": {"message": "slow down", "type": "rate_limit_error", "code": None}})

    sync, async_ = clients(OpenAIMock(respond))
    expected = openai.RateLimitError if status == 429 else openai.InternalServerError
    with pytest.raises(expected) as raised:
        await call(
            mode,
            lambda: sync.chat.completions.create(model="gpt-4o", messages=MESSAGES),
            lambda: async_.chat.completions.create(model="gpt-4o", messages=MESSAGES),
        )
    assert raised.value.status_code == status
    span = only_span(span_exporter)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert "slow down" not in repr(dict(span.attributes))


async def test_stream_closed_early(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    if mode == "sync":
        stream = sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        first = next(stream)
        stream.close()
    else:
        stream = await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        await stream.close()
    assert first.choices[0].delta.role == "assistant"
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "closed"
    assert span.attributes[sc.USAGE_MISSING] is True
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-stream1"


async def test_stream_context_manager_and_abandoned(instrumented: None, span_exporter: Any, mode: str) -> None:
    sync, async_ = clients(OpenAIMock())
    if mode == "sync":
        with sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
            assert isinstance(stream, openai.Stream)
            chunks = list(stream)
        abandoned = sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    else:
        async with await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
            assert isinstance(stream, openai.AsyncStream)
            chunks = [c async for c in stream]
        abandoned = await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    assert len(chunks) == 5
    del abandoned
    gc.collect()
    ended = [s.attributes[sc.STREAM_END] for s in llm_spans(span_exporter)]
    assert ended == ["completed", "abandoned"]


def test_uninstrument_restores_originals(instrument: Any) -> None:
    from openai.resources.chat.completions.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import Embeddings
    from openai.resources.responses.responses import Responses

    originals = [Completions.create, Completions.parse, AsyncCompletions.create, Responses.create, Embeddings.create]
    instrument()
    instrument()  # idempotent: wrapped once
    assert Completions.create.__wrapped__ is originals[0]
    import agentyield

    agentyield.uninstrument()
    restored = [Completions.create, Completions.parse, AsyncCompletions.create, Responses.create, Embeddings.create]
    assert all(now is before for now, before in zip(restored, originals))


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (..., {sc.USAGE_MISSING: True}),
        (None, {sc.USAGE_MISSING: True}),
        (
            {"prompt_tokens": None, "completion_tokens": 5, "total_tokens": 5},
            {sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5, sc.USAGE_INVALID_FIELDS: ("prompt_tokens",)},
        ),
        (
            {"prompt_tokens": "twelve", "completion_tokens": -3, "total_tokens": 9},
            {sc.USAGE_INVALID_FIELDS: ("prompt_tokens", "completion_tokens")},
        ),
        (
            {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 1.5}},
            {sc.GEN_AI_USAGE_INPUT_TOKENS: 10, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 2, sc.USAGE_INVALID_FIELDS: ("cached_tokens",)},
        ),
    ],
)
def test_bad_usage_payloads_are_marked_not_fatal(instrumented: None, span_exporter: Any, usage: Any, expected: dict[str, Any]) -> None:
    sync, _ = clients(OpenAIMock(lambda body, path: hx.Response(200, json=chat_completion(body, usage=usage))))
    result = sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert result.choices[0].message.content == "The answer is 42."
    assert usage_attributes(only_span(span_exporter)) == expected


async def test_internal_error_never_reaches_the_caller(
    instrumented: None, span_exporter: Any, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in our extractors: the caller still gets the SDK's own objects; the spans say usage is unknown."""
    from agentyield.instrumentation.openai import ChatStreamState, OpenAIProvider

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("extractor bug")

    monkeypatch.setenv("AGENTYIELD_STRICT", "0")
    monkeypatch.setattr(OpenAIProvider, "response", broken)
    monkeypatch.setattr(ChatStreamState, "response", broken)
    sync, async_ = clients(OpenAIMock())
    result = await call(
        mode,
        lambda: sync.chat.completions.create(model="gpt-4o", messages=MESSAGES),
        lambda: async_.chat.completions.create(model="gpt-4o", messages=MESSAGES),
    )
    assert type(result) is openai.types.chat.ChatCompletion and result.usage.prompt_tokens == 2006
    chunks = await chat_stream_chunks(mode, sync, async_)
    assert [c.choices[0].delta.content for c in chunks] == ["", "w0 ", "w1 ", "w2 ", None]
    assert [usage_attributes(s) for s in llm_spans(span_exporter)] == [{sc.USAGE_MISSING: True}] * 2


async def test_broken_chunk_reader_keeps_the_stream_going(
    instrumented: None, span_exporter: Any, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentyield.instrumentation.openai import ChatStreamState

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("reader bug")

    monkeypatch.setenv("AGENTYIELD_STRICT", "0")
    monkeypatch.setattr(ChatStreamState, "feed", broken)
    chunks = await chat_stream_chunks(mode, *clients(OpenAIMock()), stream_options={"include_usage": True})
    assert [len(c.choices) for c in chunks] == [1, 1, 1, 1, 1, 0]
    span = only_span(span_exporter)
    assert usage_attributes(span) == {sc.USAGE_MISSING: True}
    assert span.attributes[sc.STREAM_END] == "completed"


def test_responses_incomplete_reason(instrumented: None, span_exporter: Any) -> None:
    payload = {**response_object("incomplete"), "incomplete_details": {"reason": "max_output_tokens"}}
    sync, _ = clients(OpenAIMock(lambda body, path: hx.Response(200, json=payload)))
    sync.responses.create(model="gpt-5", input="hi")
    assert only_span(span_exporter).attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("max_output_tokens",)

