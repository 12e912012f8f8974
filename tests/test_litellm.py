"""LiteLLM instrumentation with the real LiteLLM: through the real openai SDK on a mock transport (the call
is counted once, though agentyield wraps both), and through LiteLLM's own HTTP client to a local server
answering as Anthropic. Every case sync and async; expected costs from genai-prices.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import genai_prices
import litellm
import pytest

import agentyield
from agentyield import _semconv as sc
from conftest import llm_spans, only_span, sse, usage_attributes
from local_server import Reply, Server
from metrics_util import points
from openai_mock import CHAT_USAGE, OpenAIMock, chat_completion, clients, hx

MESSAGES = [
    {"role": "system", "content": "You are a careful research agent. SECRET-SYSTEM-PROMPT"},
    {"role": "user", "content": "What is the answer? SECRET-USER-PROMPT"},
]
CHAT_USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 2006,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1920,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 256,
}
OPENAI_COST = float(
    genai_prices.calc_price(
        genai_prices.Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), "gpt-4o-2024-08-06", provider_id="openai"
    ).total_price
)
ANTHROPIC_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 1500,
    "cache_read_input_tokens": 4000,
    "output_tokens": 300,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 500},
}
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"


def anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_01", "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": "The answer is 42."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


def anthropic_events() -> bytes:
    start = {**anthropic_message(), "content": [], "stop_reason": None, "usage": {**ANTHROPIC_USAGE, "output_tokens": 1}}
    return sse([
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "The answer is 42."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 300}}),
        ("message_stop", {"type": "message_stop"}),
    ])


def anthropic_reply(path: str, body: bytes) -> Reply:
    if json.loads(body).get("stream"):
        return 200, {"content-type": "text/event-stream"}, anthropic_events()
    return 200, {"content-type": "application/json"}, json.dumps(anthropic_message()).encode()


@pytest.fixture(scope="module")
def anthropic_server() -> Iterator[Server]:
    with Server(anthropic_reply) as server:
        yield server


def anthropic_cost() -> float:
    extracted = genai_prices.extract_usage({"usage": ANTHROPIC_USAGE, "model": ANTHROPIC_MODEL}, provider_id="anthropic")
    return float(genai_prices.calc_price(extracted.usage, ANTHROPIC_MODEL, provider_id="anthropic").total_price)


async def complete(mode: str, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", MESSAGES)
    kwargs.setdefault("num_retries", 0)
    if mode == "sync":
        return litellm.completion(**kwargs)
    return await litellm.acompletion(**kwargs)


async def drain(mode: str, stream: Any) -> list[Any]:
    if mode == "sync":
        return list(stream)
    return [chunk async for chunk in stream]


def openai_client(mode: str, mock: OpenAIMock | None = None) -> Any:
    sync, async_ = clients(mock or OpenAIMock())
    return sync if mode == "sync" else async_


async def test_call_through_the_openai_sdk_is_counted_once(
    instrumented: None, span_exporter: Any, metric_reader: Any, mode: str
) -> None:
    mock = OpenAIMock()
    result = await complete(mode, model="gpt-4o", client=openai_client(mode, mock), temperature=0.2, max_tokens=512)
    assert result.choices[0].message.content == "The answer is 42."
    assert mock.paths == ["/v1/chat/completions"]
    span = only_span(span_exporter)  # the openai SDK's call inside LiteLLM's made no span of its own
    assert span.name == "chat gpt-4o"
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert span.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 512
    assert span.attributes[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert span.attributes[sc.COST_USD] == OPENAI_COST
    calls = points(metric_reader)["agentyield.llm.calls"]
    assert sum(calls.values()) == 1
    assert "agentyield.spans.duplicate" not in points(metric_reader)
    text = repr(dict(span.attributes))
    for secret in ("SECRET-SYSTEM-PROMPT", "SECRET-USER-PROMPT", "The answer is 42", "sk-test-SECRET"):
        assert secret not in text


async def test_stream_through_the_openai_sdk(instrumented: None, span_exporter: Any, mode: str) -> None:
    stream = await complete(mode, model="gpt-4o", client=openai_client(mode), stream=True)
    chunks = await drain(mode, stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 w2 "
    span = only_span(span_exporter)
    assert usage_attributes(span) == CHAT_USAGE_ATTRIBUTES
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.COST_USD] == OPENAI_COST


async def test_anthropic_through_litellms_own_client(
    instrumented: None, span_exporter: Any, mode: str, anthropic_server: Server
) -> None:
    result = await complete(mode, model="anthropic/claude-sonnet-4-5", api_base=anthropic_server.url, api_key="sk-ant-test")
    assert result.choices[0].message.content == "The answer is 42."
    streamed = await drain(
        mode, await complete(mode, model="anthropic/claude-sonnet-4-5", api_base=anthropic_server.url, api_key="sk-ant-test", stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "The answer is 42."
    spans = llm_spans(span_exporter)
    assert len(spans) == 2
    for span in spans:
        assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
        assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4-5"
        assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 12 + 4000 + 1500
        assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
        assert span.attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4000
        assert span.attributes[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 1500
        assert span.attributes[sc.COST_USD] == anthropic_cost()
    assert spans[1].attributes[sc.STREAM_END] == "completed"


async def test_embedding_counted_once(instrumented: None, span_exporter: Any, mode: str) -> None:
    kwargs = dict(model="text-embedding-3-small", input=["a", "b"], client=openai_client(mode))
    result = litellm.embedding(**kwargs) if mode == "sync" else await litellm.aembedding(**kwargs)
    assert len(result.data) == 2
    span = only_span(span_exporter)
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 16


async def test_stream_reaches_the_caller_unchanged(instrument: Any, span_exporter: Any, mode: str, anthropic_server: Server) -> None:
    """agentyield reads the usage LiteLLM keeps on the final chunk; it asks for nothing the caller did not."""
    kwargs = dict(model="anthropic/claude-sonnet-4-5", api_base=anthropic_server.url, api_key="sk-ant-test", stream=True)
    plain = await drain(mode, await complete(mode, **kwargs))
    instrument()
    traced = await drain(mode, await complete(mode, **kwargs))
    assert json.loads(anthropic_server.requests[-1][1]) == json.loads(anthropic_server.requests[-2][1])
    assert [c.model_dump(exclude={"id", "created"}) for c in traced] == [c.model_dump(exclude={"id", "created"}) for c in plain]
    assert usage_attributes(only_span(span_exporter))[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512


def openai_compatible(path: str, body: bytes) -> Reply:
    model = json.loads(body)["model"]
    payload = {"id": "c1", "object": "chat.completion", "created": 1, "model": model,
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}}
    return 200, {"content-type": "application/json"}, json.dumps(payload).encode()


def test_routed_provider_is_named_and_priced_as_itself(instrumented: None, span_exporter: Any) -> None:
    with Server(openai_compatible) as local:
        litellm.completion(model="deepseek/deepseek-chat", api_base=local.url, api_key="sk-test", messages=MESSAGES, num_retries=0)
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "deepseek"
    expected = genai_prices.calc_price(genai_prices.Usage(input_tokens=1000, output_tokens=20), "deepseek-chat", provider_id="deepseek")
    assert span.attributes[sc.COST_USD] == float(expected.total_price)


def test_openai_compatible_api_base_is_named_by_its_url(instrumented: None, span_exporter: Any, anthropic_server: Server) -> None:
    """`openai/<model>` at a local server is that server, unpriced; never priced as OpenAI."""
    with Server(openai_compatible) as local:
        litellm.completion(model="openai/gpt-4o", api_base=f"{local.url}/v1", api_key="sk-test", messages=MESSAGES, num_retries=0)
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "127.0.0.1"
    assert span.attributes[sc.PRICED] is False


@pytest.mark.parametrize(("status", "error"), [(429, litellm.RateLimitError), (500, litellm.InternalServerError)])
async def test_http_errors_raise_the_same_exception(instrumented: None, span_exporter: Any, mode: str, status: int, error: type) -> None:
    mock = OpenAIMock(lambda body, path: hx.Response(status, json={"error": {"message": "slow down SECRET", "type": "x", "code": None}}))
    with pytest.raises(error) as raised:
        await complete(mode, model="gpt-4o", client=openai_client(mode, mock))
    assert raised.value.status_code == status
    span = only_span(span_exporter)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert "SECRET" not in repr(dict(span.attributes))


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (..., {sc.USAGE_MISSING: True}),  # LiteLLM answers all zeros: unknown, never priced as $0
        ({"prompt_tokens": -3, "completion_tokens": 5, "total_tokens": 2},
         {sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5, sc.USAGE_INVALID_FIELDS: ("prompt_tokens",)}),
    ],
)
def test_missing_or_malformed_usage_is_marked_not_fatal(instrumented: None, span_exporter: Any, usage: Any, expected: Any) -> None:
    mock = OpenAIMock(lambda body, path: hx.Response(200, json=chat_completion(body, usage=usage)))
    result = litellm.completion(model="gpt-4o", messages=MESSAGES, client=openai_client("sync", mock), num_retries=0)
    assert result.choices[0].message.content == "The answer is 42."
    span = only_span(span_exporter)
    assert usage_attributes(span) == expected
    assert sc.COST_USD not in span.attributes


def test_content_capture_is_opt_in(instrument: Any, span_exporter: Any) -> None:
    instrument(capture_content=True)
    litellm.completion(model="gpt-4o", messages=MESSAGES, client=openai_client("sync"), num_retries=0)
    attributes = only_span(span_exporter).attributes
    assert "SECRET-USER-PROMPT" in attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "The answer is 42." in attributes[sc.GEN_AI_OUTPUT_MESSAGES]
    assert "sk-test-SECRET" not in repr(dict(attributes))


async def test_internal_error_never_reaches_the_caller(instrumented: None, span_exporter: Any, mode: str, break_methods: Any) -> None:
    from agentyield.instrumentation.litellm import CompletionStreamState, LiteLLMProvider

    break_methods(LiteLLMProvider, "response")
    break_methods(CompletionStreamState, "feed")
    result = await complete(mode, model="gpt-4o", client=openai_client(mode))
    assert result.usage.prompt_tokens == CHAT_USAGE["prompt_tokens"]
    chunks = await drain(mode, await complete(mode, model="gpt-4o", client=openai_client(mode), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 w2 "
    assert [usage_attributes(s) for s in llm_spans(span_exporter)] == [{sc.USAGE_MISSING: True}] * 2


def test_uninstrument_restores_originals(instrument: Any, span_exporter: Any) -> None:
    names = ("completion", "acompletion", "embedding", "aembedding")
    before = [getattr(litellm, n) for n in names]
    instrument()
    assert [getattr(litellm, n).__wrapped__ for n in names] == before
    agentyield.uninstrument()
    assert [getattr(litellm, n) for n in names] == before
    litellm.completion(model="gpt-4o", messages=MESSAGES, client=openai_client("sync"), num_retries=0)
    assert llm_spans(span_exporter) == []
