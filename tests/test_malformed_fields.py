"""One malformed field costs the call that field, not its usage (issue 8, item 13).

The SDKs build response objects without validating them, so `"choices": true`, a content block whose `type`
is a list, or a `data: []` line in a stream reach the caller as they are. The caller must get exactly what
the SDK returns (checked against the same call made before instrumenting), and the span must keep the
usage, naming the skipped field in `agentyield.response.unreadable_fields`. Under the test suite internal
errors raise (tests/conftest.py), so these passing also shows that a malformed field is not one. The last
tests check what the host's log gets when agentyield does have a bug: one WARNING line, no traceback.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

import pytest

from agentyield import _guard
from agentyield import _semconv as sc
from conftest import Recorder, llm_spans, sse
from openai_mock import CHAT_USAGE, RESPONSES_USAGE, OpenAIMock, chat_chunks, chat_completion, clients, hx, response_object, responses_events
from test_anthropic import FULL_USAGE_ATTRIBUTES, TOOL_USE_CONTENT, make_client, message, request, stream_events
from test_anthropic import hx as anthropic_hx

MESSAGES = [{"role": "user", "content": "What is the answer?"}]
BAD_LINE = b"data: []\n\n"

# What the span says of CHAT_USAGE / RESPONSES_USAGE, worked out from the payloads.
CHAT_USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: CHAT_USAGE["prompt_tokens"],
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: CHAT_USAGE["completion_tokens"],
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: CHAT_USAGE["prompt_tokens_details"]["cached_tokens"],
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: CHAT_USAGE["completion_tokens_details"]["reasoning_tokens"],
}
RESPONSES_USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: RESPONSES_USAGE["input_tokens"],
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: RESPONSES_USAGE["output_tokens"],
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: RESPONSES_USAGE["input_tokens_details"]["cached_tokens"],
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: RESPONSES_USAGE["input_tokens_details"]["cache_write_tokens"],
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: RESPONSES_USAGE["input_tokens_details"]["cache_write_tokens"],
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: RESPONSES_USAGE["output_tokens_details"]["reasoning_tokens"],
}


def usage_attributes(span: Any) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith(("gen_ai.usage.", "agentyield.usage."))}


def only_span(exporter: Any) -> Any:
    spans = llm_spans(exporter)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def plain(obj: Any) -> Any:
    """What the caller holds, as comparable data: the SDK's type and fields (or the raw value as is)."""
    if isinstance(obj, list):
        return [plain(item) for item in obj]
    dump = getattr(obj, "model_dump", None)
    return (type(obj).__qualname__, dump(warnings=False)) if dump is not None else obj


async def before_and_after(instrument: Callable[..., None], run: Callable[[], Awaitable[Any]]) -> tuple[Any, Any]:
    """The same call made uninstrumented (what the SDK returns) and instrumented (what the caller gets)."""
    baseline = plain(await run())
    instrument()
    return baseline, plain(await run())


def with_bad_line(body: bytes, after: int = 1) -> bytes:
    """A server-sent-events body with a `data: []` line inserted after its first `after` events."""
    events = body.split(b"\n\n")
    return b"\n\n".join(events[:after]) + b"\n\n" + BAD_LINE + b"\n\n".join(events[after:])


def event_stream(body: bytes, httpx: Any = hx) -> Any:
    """A streamed answer, as an `httpx.Response` of the SDK's own httpx module (`hx` is openai's)."""
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


# -- OpenAI ------------------------------------------------------------------------------------------


async def openai_call(mode: str, mock: OpenAIMock, method: str, **kwargs: Any) -> Any:
    """`client.<method>(**kwargs)` on the sync or async client; a stream is read to its end."""
    sync, async_ = clients(mock)
    target: Any = sync if mode == "sync" else async_
    for part in method.split("."):
        target = getattr(target, part)
    result = target(**kwargs)
    if mode == "async":
        result = await result
    if not kwargs.get("stream"):
        return result
    return list(result) if mode == "sync" else [chunk async for chunk in result]


async def test_openai_choices_true_keeps_usage(mode: str, instrument: Callable[..., None], span_exporter: Any) -> None:
    def respond(body: dict[str, Any], path: str) -> Any:
        return hx.Response(200, json={**chat_completion(body), "choices": True})

    mock = OpenAIMock(respond)
    baseline, seen = await before_and_after(instrument, lambda: openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES))

    assert seen == baseline and seen[1]["choices"] is True
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("choices",)
    assert (span.attributes[sc.GEN_AI_RESPONSE_ID], span.attributes[sc.GEN_AI_RESPONSE_MODEL]) == ("chatcmpl-abc123", "gpt-4o-2024-08-06")


async def test_openai_chat_stream_with_a_data_list_line_keeps_usage(
    mode: str, instrument: Callable[..., None], span_exporter: Any
) -> None:
    mock = OpenAIMock(lambda body, path: event_stream(with_bad_line(chat_chunks(body))))
    baseline, seen = await before_and_after(
        instrument, lambda: openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES, stream=True)
    )

    assert seen == baseline and seen[1] == []  # the SDK hands the `[]` on, and so do we
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES  # from the usage chunk agentyield asked for (and hid)
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("chunk",)
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.STREAM_END] == "completed"


async def test_openai_chat_stream_with_malformed_choices_keeps_the_rest(
    mode: str, instrument: Callable[..., None], span_exporter: Any
) -> None:
    """Chunks a text-only chunk's quick look cannot read (choices not a list, a choice not an object, no delta)
    between well-formed ones: each is read field by field, named once, and costs nothing else."""

    def respond(body: dict[str, Any], path: str) -> Any:
        base = {"id": "chatcmpl-odd", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-2024-08-06"}
        weather = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        choices = [
            [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
            "not a list",
            {},
            None,
            [["a choice that is a list"]],
            [{"index": 0, "delta": None, "finish_reason": None}],
            [{"index": 0, "delta": {"tool_calls": [weather]}, "finish_reason": None}],
            [{"index": 1, "delta": {"content": "w "}, "finish_reason": 7}],
            [{"index": 1, "delta": None, "finish_reason": "length"}],
            [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}],
            [],
        ]
        events = [(None, {**base, "usage": None, "choices": c}) for c in choices]
        events[-1][1]["usage"] = CHAT_USAGE
        asked = bool((body.get("stream_options") or {}).get("include_usage"))  # as the API: only when asked
        return event_stream(sse(events if asked else events[:-1], done=True))

    mock = OpenAIMock(respond)
    baseline, seen = await before_and_after(
        instrument, lambda: openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES, stream=True)
    )

    assert seen == baseline and len(seen) == 10  # the usage-only chunk agentyield asked for is hidden
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("choices", "choices.finish_reason")
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls", "length")  # by choice index
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-odd"


async def test_openai_responses_output_true_keeps_usage(mode: str, instrument: Callable[..., None], span_exporter: Any) -> None:
    mock = OpenAIMock(lambda body, path: hx.Response(200, json={**response_object(), "output": True}))
    baseline, seen = await before_and_after(instrument, lambda: openai_call(mode, mock, "responses.create", model="gpt-5", input="hi"))

    assert seen == baseline and seen[1]["output"] is True
    span = only_span(span_exporter)
    assert usage_attributes(span) == RESPONSES_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("output",)
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("completed",)


async def test_openai_responses_stream_with_a_data_list_line_keeps_usage(
    mode: str, instrument: Callable[..., None], span_exporter: Any
) -> None:
    mock = OpenAIMock(lambda body, path: event_stream(with_bad_line(responses_events(), after=2)))
    baseline, seen = await before_and_after(
        instrument, lambda: openai_call(mode, mock, "responses.create", model="gpt-5", input="hi", stream=True)
    )

    assert seen == baseline and seen[2] == []
    span = only_span(span_exporter)
    assert usage_attributes(span) == RESPONSES_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("event",)


# -- Anthropic ---------------------------------------------------------------------------------------


BAD_BLOCK = {"type": ["text"], "text": "a block whose type is not a string"}


async def anthropic_call(mode: str, respond: Callable[[dict[str, Any]], Any], **kwargs: Any) -> Any:
    client = make_client(mode, Recorder(respond))
    result = client.messages.create(**request(**kwargs))
    if mode == "async":
        result = await result
    if not kwargs.get("stream"):
        return result
    return list(result) if mode == "sync" else [event async for event in result]


async def test_anthropic_content_block_with_a_bad_type_keeps_usage_and_tools(
    mode: str, instrument: Callable[..., None], span_exporter: Any
) -> None:
    payload = message(content=[BAD_BLOCK, *TOOL_USE_CONTENT], stop_reason="tool_use")
    respond = lambda body: anthropic_hx.Response(200, json=payload)  # noqa: E731
    baseline, seen = await before_and_after(instrument, lambda: anthropic_call(mode, respond))

    assert seen == baseline and seen[1]["content"][0]["type"] == ["text"]
    span = only_span(span_exporter)
    assert usage_attributes(span) == FULL_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("content.type",)
    tool_names = tuple(block["name"] for block in TOOL_USE_CONTENT if block["type"] == "tool_use")
    assert span.attributes[sc.TOOL_CALLS_NAMES] == tool_names
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


@pytest.mark.parametrize(
    ("corrupt", "unreadable"),
    [
        pytest.param(lambda events: with_bad_line(events, after=2).replace(BAD_LINE, b"event: message_delta\n" + BAD_LINE), ("event",), id="data-list"),
        pytest.param(
            lambda events: events.replace(b'"content_block": {"type": "text"', b'"content_block": {"type": ["text"]', 1),
            ("content_block.type",),
            id="block-type-list",
        ),
    ],
)
async def test_anthropic_stream_with_a_malformed_event_keeps_usage(
    mode: str, corrupt: Callable[[bytes], bytes], unreadable: tuple[str, ...], instrument: Callable[..., None], span_exporter: Any
) -> None:
    body = corrupt(sse(stream_events(tool=True)))
    assert body != sse(stream_events(tool=True))
    respond = lambda request_body: event_stream(body, anthropic_hx)  # noqa: E731
    baseline, seen = await before_and_after(instrument, lambda: anthropic_call(mode, respond, stream=True))

    assert seen == baseline
    span = only_span(span_exporter)
    assert usage_attributes(span) == FULL_USAGE_ATTRIBUTES
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == unreadable
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert span.attributes[sc.STREAM_END] == "completed"


# -- Well-formed payloads ----------------------------------------------------------------------------


async def test_well_formed_payloads_name_no_unreadable_field(mode: str, instrument: Callable[..., None], span_exporter: Any) -> None:
    """The readers' skips are for malformed payloads only: every realistic one is read whole (content on too)."""
    instrument(capture_content=True)
    mock = OpenAIMock()
    for kwargs in ({}, {"stream": True}, {"tools": [{"type": "function", "function": {"name": "get_weather"}}]}):
        await openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES, **kwargs)
    for kwargs in ({}, {"stream": True}):
        await openai_call(mode, mock, "responses.create", model="gpt-5", input="hi", **kwargs)
    await anthropic_call(mode, lambda body: anthropic_hx.Response(200, json=message(content=TOOL_USE_CONTENT)))
    await anthropic_call(mode, lambda body: event_stream(sse(stream_events(tool=True)), anthropic_hx), stream=True)

    spans = llm_spans(span_exporter)
    assert len(spans) == 7
    assert [sc.RESPONSE_UNREADABLE_FIELDS in span.attributes for span in spans] == [False] * 7
    assert [usage_attributes(span).get(sc.USAGE_MISSING) for span in spans] == [None] * 7
    assert [span.attributes.get(sc.TOOL_CALLS_NAMES) for span in spans] == [
        # The streamed Responses call's final event carries only the message, not the function call.
        None, None, ("get_weather", "get_time"), ("search_docs",), None, ("get_weather", "get_time"), ("get_weather",)
    ]
    assert all(sc.GEN_AI_OUTPUT_MESSAGES in span.attributes for span in spans)


# -- What the host's log gets --------------------------------------------------------------------------


async def test_malformed_fields_log_nothing(
    mode: str, instrumented: None, span_exporter: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTYIELD_STRICT", "0")  # as in production: only a real internal error would log
    caplog.set_level(logging.DEBUG, logger="agentyield")
    mock = OpenAIMock(lambda body, path: hx.Response(200, json={**chat_completion(body), "choices": True}))
    await openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES)
    assert [r for r in caplog.records if r.name == "agentyield"] == []
    assert usage_attributes(only_span(span_exporter)) == CHAT_USAGE_ATTRIBUTES


async def test_internal_error_warns_once_per_place_without_traceback(
    mode: str, instrumented: None, span_exporter: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentyield.instrumentation.openai import OpenAIProvider

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("reader bug quoting the response: SECRET-COMPLETION")

    monkeypatch.setenv("AGENTYIELD_STRICT", "0")
    monkeypatch.setattr(_guard, "_last_logged", {})
    monkeypatch.setattr(OpenAIProvider, "response", broken)
    caplog.set_level(logging.DEBUG, logger="agentyield")
    mock = OpenAIMock()
    for _ in range(3):
        result = await openai_call(mode, mock, "chat.completions.create", model="gpt-4o", messages=MESSAGES)
        assert result.usage.prompt_tokens == CHAT_USAGE["prompt_tokens"]  # the caller is unaffected

    ours = [r for r in caplog.records if r.name == "agentyield"]
    warnings = [r for r in ours if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.exc_info, r.getMessage()) for r in warnings] == [
        (
            "WARNING",
            None,
            "agentyield internal error in openai.chat.finish (RuntimeError); the instrumented call is unaffected. "
            "Set the 'agentyield' logger to DEBUG for the traceback.",
        )
    ]
    assert "SECRET-COMPLETION" not in caplog.text.split("Traceback")[0]  # the message is not in the one-line warning
    debug = [r for r in ours if r.levelno == logging.DEBUG]
    assert len(debug) == 1 and debug[0].exc_info is not None and debug[0].exc_info[0] is RuntimeError  # once a minute
    assert [usage_attributes(s) for s in llm_spans(span_exporter)] == [{sc.USAGE_MISSING: True}] * 3
