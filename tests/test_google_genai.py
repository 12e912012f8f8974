"""google-genai instrumentation, exact, with the real SDK on an httpx mock transport; every case sync and async.

Expected costs come from genai-prices' own usage extraction of the raw payload (`extract_usage`), so the
usage normalization is checked against an independent reading of the same bytes.
"""

from __future__ import annotations

import copy
import gc
import json
from typing import Any, Callable

import genai_prices
import httpx
import pytest
from google import genai
from google.genai import errors
from google.genai import types as gtypes

import agentyield
from agentyield import _semconv as sc
from conftest import llm_spans, only_span, usage_attributes

MODEL = "gemini-2.5-pro"
USAGE = {
    "promptTokenCount": 5210,
    "candidatesTokenCount": 120,
    "totalTokenCount": 6010,
    "cachedContentTokenCount": 4096,
    "thoughtsTokenCount": 600,
    "toolUsePromptTokenCount": 80,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5210}],
    "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 4096}],
    "toolUsePromptTokensDetails": [{"modality": "TEXT", "tokenCount": 80}],
}
USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 5210 + 80,  # the tool-use prompt is input too
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 120 + 600,  # thoughts are output
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4096,
    sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 600,
}
SYSTEM = "You are a careful research agent. SECRET-SYSTEM-PROMPT"
PROMPT = "What is the answer? SECRET-USER-PROMPT"


def payload(text: str = "The answer is 42.", usage: Any = USAGE, call: str | None = None, model: str = MODEL) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": text}]
    if call:
        parts = [{"functionCall": {"name": call, "args": {"city": "Paris"}}}]
    body: dict[str, Any] = {
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "modelVersion": model,
        "responseId": "Gx9Pabc-resp",
    }
    if usage is not None:
        body["usageMetadata"] = usage
    return body


def stream_chunks() -> list[dict[str, Any]]:
    """What the API streams: text in pieces, each chunk carrying the usage so far; the last has it all."""
    first = {**payload("The answer ", usage={"promptTokenCount": 5210, "totalTokenCount": 5210}), "candidates": [
        {"content": {"parts": [{"text": "The answer "}], "role": "model"}, "index": 0}]}
    middle = copy.deepcopy(first)
    middle["candidates"][0]["content"]["parts"][0]["text"] = "is "
    last = payload("42.")
    return [first, middle, last]


def sse(chunks: list[dict[str, Any]]) -> bytes:
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()


def expected_cost(body: dict[str, Any]) -> float:
    """genai-prices' own reading of the payload, priced by genai-prices."""
    extracted = genai_prices.extract_usage(body, provider_id="google")
    return float(genai_prices.calc_price(extracted.usage, body["modelVersion"], provider_id="google").total_price)


class Endpoint:
    """A mock Gemini endpoint: records each request and answers with `respond(body, url)`."""

    def __init__(self, respond: Callable[[dict[str, Any], str], httpx.Response] | None = None) -> None:
        self.respond = respond or self.default
        self.urls: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    @staticmethod
    def default(body: dict[str, Any], url: str) -> httpx.Response:
        if "streamGenerateContent" in url:
            return httpx.Response(200, content=sse(stream_chunks()), headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=payload())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        self.bodies.append(json.loads(request.content))
        return self.respond(self.bodies[-1], self.urls[-1])


def client(endpoint: Endpoint, **options: Any) -> genai.Client:
    http = gtypes.HttpOptions(
        httpx_client=httpx.Client(transport=httpx.MockTransport(endpoint)),
        httpx_async_client=httpx.AsyncClient(transport=httpx.MockTransport(endpoint)),
    )
    return genai.Client(api_key="AIza-test-SECRET", http_options=http, **options)


def models(mode: str, c: genai.Client) -> Any:
    return c.models if mode == "sync" else c.aio.models


async def generate(mode: str, c: genai.Client, **kwargs: Any) -> Any:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("contents", PROMPT)
    result = models(mode, c).generate_content(**kwargs)
    return result if mode == "sync" else await result


async def stream(mode: str, c: genai.Client, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("model", MODEL)
    kwargs.setdefault("contents", PROMPT)
    if mode == "sync":
        return list(c.models.generate_content_stream(**kwargs))
    return [chunk async for chunk in await c.aio.models.generate_content_stream(**kwargs)]


CONFIG = gtypes.GenerateContentConfig(
    system_instruction=SYSTEM, temperature=0.2, top_p=0.9, top_k=40, max_output_tokens=1024, seed=7, stop_sequences=["END"]
)


async def test_generate_content_exact(instrumented: None, span_exporter: Any, mode: str) -> None:
    endpoint = Endpoint()
    result = await generate(mode, client(endpoint), config=CONFIG)
    assert type(result) is gtypes.GenerateContentResponse and result.text == "The answer is 42."
    span = only_span(span_exporter)
    assert span.name == f"generate_content {MODEL}"
    assert span.kind.name == "CLIENT"
    assert usage_attributes(span) == USAGE_ATTRIBUTES
    attributes = dict(span.attributes)
    assert {k: attributes[k] for k in attributes if not k.startswith(("gen_ai.usage.", "agentyield."))} == {
        sc.GEN_AI_OPERATION_NAME: "generate_content",
        sc.GEN_AI_PROVIDER_NAME: "gcp.gemini",
        sc.GEN_AI_REQUEST_MODEL: MODEL,
        sc.SERVER_ADDRESS: "generativelanguage.googleapis.com",
        sc.SERVER_PORT: 443,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_TOP_K: 40,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 1024,
        sc.GEN_AI_REQUEST_SEED: 7,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("END",),
        sc.GEN_AI_RESPONSE_MODEL: MODEL,
        sc.GEN_AI_RESPONSE_ID: "Gx9Pabc-resp",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
    }
    assert len(attributes[sc.PROMPT_PREFIX_HASH]) == 16
    assert attributes[sc.COST_USD] == expected_cost(payload())
    text = repr(attributes)
    for secret in ("SECRET-SYSTEM-PROMPT", "SECRET-USER-PROMPT", "The answer is 42", "AIza-test-SECRET"):
        assert secret not in text


async def test_stream_usage_from_the_last_chunk(instrumented: None, span_exporter: Any, mode: str) -> None:
    plain = stream_chunks()
    chunks = await stream(mode, client(Endpoint()))
    assert "".join(c.text for c in chunks) == "The answer is 42."
    assert len(chunks) == len(plain)
    span = only_span(span_exporter)
    assert usage_attributes(span) == USAGE_ATTRIBUTES
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "Gx9Pabc-resp"
    assert span.attributes[sc.COST_USD] == expected_cost(plain[-1])


async def test_chat_turns_each_one_span(instrumented: None, span_exporter: Any, mode: str) -> None:
    c = client(Endpoint())
    if mode == "sync":
        chat = c.chats.create(model=MODEL, config=gtypes.GenerateContentConfig(system_instruction=SYSTEM))
        first = chat.send_message("hi")
        streamed = "".join(chunk.text for chunk in chat.send_message_stream("and then?"))
    else:
        chat = c.aio.chats.create(model=MODEL, config=gtypes.GenerateContentConfig(system_instruction=SYSTEM))
        first = await chat.send_message("hi")
        streamed = "".join([chunk.text async for chunk in await chat.send_message_stream("and then?")])
    assert first.text == "The answer is 42." and streamed == "The answer is 42."
    spans = llm_spans(span_exporter)
    assert len(spans) == 2
    assert [usage_attributes(s) for s in spans] == [USAGE_ATTRIBUTES] * 2
    assert spans[0].attributes[sc.PROMPT_PREFIX_HASH] == spans[1].attributes[sc.PROMPT_PREFIX_HASH]


async def test_automatic_function_calling_counts_each_request(instrumented: None, span_exporter: Any, mode: str) -> None:
    """One public call, two requests (the function call, then the answer): two spans, each its own usage."""
    small = {"promptTokenCount": 300, "candidatesTokenCount": 12, "totalTokenCount": 312}

    def respond(body: dict[str, Any], url: str) -> httpx.Response:
        answered = any("functionResponse" in part for turn in body["contents"] for part in turn["parts"])
        return httpx.Response(200, json=payload(usage=USAGE if answered else small, call=None if answered else "get_weather"))

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    endpoint = Endpoint(respond)
    result = await generate(mode, client(endpoint), config=gtypes.GenerateContentConfig(tools=[get_weather]))
    assert result.text == "The answer is 42."
    assert len(endpoint.bodies) == 2
    first, second = llm_spans(span_exporter)
    assert first.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert usage_attributes(first) == {sc.GEN_AI_USAGE_INPUT_TOKENS: 300, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 12}
    assert usage_attributes(second) == USAGE_ATTRIBUTES


async def test_vertex_client_is_vertex_ai(instrumented: None, span_exporter: Any, mode: str) -> None:
    endpoint = Endpoint()
    c = client(endpoint, vertexai=True)
    await generate(mode, c, model=f"publishers/google/models/{MODEL}")
    span = only_span(span_exporter)
    assert "aiplatform.googleapis.com" in endpoint.urls[0]
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert span.attributes[sc.SERVER_ADDRESS] == "aiplatform.googleapis.com"
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert span.attributes[sc.COST_USD] == expected_cost(payload())


@pytest.mark.parametrize(("status", "error"), [(429, errors.ClientError), (500, errors.ServerError)])
async def test_http_errors_raise_the_same_exception(instrumented: None, span_exporter: Any, mode: str, status: int, error: type) -> None:
    body = {"error": {"code": status, "message": "Resource exhausted SECRET-DETAIL", "status": "RESOURCE_EXHAUSTED"}}
    c = client(Endpoint(lambda b, u: httpx.Response(status, json=body)))
    with pytest.raises(error) as raised:
        await generate(mode, c)
    assert raised.value.code == status
    with pytest.raises(error):
        await stream(mode, c)
    spans = llm_spans(span_exporter)
    assert len(spans) == 2
    for span in spans:
        assert span.status.status_code.name == "ERROR"
        assert span.attributes[sc.ERROR_TYPE] == str(status)
        assert "SECRET-DETAIL" not in repr(dict(span.attributes))
    assert spans[1].attributes[sc.STREAM_END] == "error"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (None, {sc.USAGE_MISSING: True}),
        # Zero counts are omitted by the API: only a prompt means nothing came out.
        ({"promptTokenCount": 40, "totalTokenCount": 40}, {sc.GEN_AI_USAGE_INPUT_TOKENS: 40, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 0}),
        ({"candidatesTokenCount": 5, "totalTokenCount": 5},
         {sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5, sc.USAGE_INVALID_FIELDS: ("prompt_token_count",)}),
        ({"promptTokenCount": 40, "candidatesTokenCount": -3},
         {sc.GEN_AI_USAGE_INPUT_TOKENS: 40, sc.USAGE_INVALID_FIELDS: ("candidates_token_count",)}),
    ],
)
def test_malformed_usage_is_marked_not_fatal(instrumented: None, span_exporter: Any, usage: Any, expected: dict[str, Any]) -> None:
    result = client(Endpoint(lambda b, u: httpx.Response(200, json=payload(usage=usage)))).models.generate_content(
        model=MODEL, contents=PROMPT
    )
    assert result.text == "The answer is 42."
    span = only_span(span_exporter)
    assert usage_attributes(span) == expected
    complete = sc.GEN_AI_USAGE_INPUT_TOKENS in expected and sc.GEN_AI_USAGE_OUTPUT_TOKENS in expected
    assert (sc.COST_USD in span.attributes) is complete  # an unknown count is never priced as 0


def test_content_capture_is_opt_in(instrument: Any, span_exporter: Any) -> None:
    instrument(capture_content=True)
    c = client(Endpoint())
    c.models.generate_content(model=MODEL, contents=PROMPT, config=CONFIG)
    list(c.models.generate_content_stream(model=MODEL, contents=PROMPT))
    plain, streamed = llm_spans(span_exporter)
    assert plain.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] == SYSTEM
    for span in (plain, streamed):
        assert "SECRET-USER-PROMPT" in span.attributes[sc.GEN_AI_INPUT_MESSAGES]
        assert "The answer is 42." in span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]
        assert "AIza-test-SECRET" not in repr(dict(span.attributes))


def test_privacy_scan_reads_the_new_user_turn(instrument: Any, span_exporter: Any) -> None:
    instrument(privacy_scan=True)
    contents = [
        {"role": "user", "parts": [{"text": "old turn: jane@example.com"}]},
        {"role": "model", "parts": [{"text": "noted"}]},
        {"role": "user", "parts": [{"text": "mail bob@example.org and call +1 415 555 0100"}]},
    ]
    client(Endpoint()).models.generate_content(model=MODEL, contents=contents)
    span = only_span(span_exporter)
    assert span.attributes[sc.PRIVACY_FINDINGS] == 2
    assert span.attributes[sc.PRIVACY_FINDING_KINDS] == ("email", "phone")


async def test_internal_error_never_reaches_the_caller(instrumented: None, span_exporter: Any, mode: str, break_methods: Any) -> None:
    from agentyield.instrumentation.google_genai import GenerateStreamState, GoogleGenAIProvider

    break_methods(GoogleGenAIProvider, "response")
    break_methods(GenerateStreamState, "feed")
    c = client(Endpoint())
    result = await generate(mode, c)
    assert result.usage_metadata.prompt_token_count == 5210
    chunks = await stream(mode, c)
    assert "".join(ch.text for ch in chunks) == "The answer is 42."
    assert [usage_attributes(s) for s in llm_spans(span_exporter)] == [{sc.USAGE_MISSING: True}] * 2


def test_abandoned_stream_ends_its_span(instrumented: None, span_exporter: Any) -> None:
    chunks = client(Endpoint()).models.generate_content_stream(model=MODEL, contents=PROMPT)
    assert next(iter(chunks)).text == "The answer "
    del chunks
    gc.collect()
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "abandoned"


def test_uninstrument_restores_originals(instrument: Any, span_exporter: Any) -> None:
    from google.genai.models import AsyncModels, Models

    names = ("_generate_content", "_generate_content_stream")
    before = [getattr(cls, n) for cls in (Models, AsyncModels) for n in names]
    instrument()
    assert [getattr(cls, n).__wrapped__ for cls in (Models, AsyncModels) for n in names] == before
    agentyield.uninstrument()
    assert [getattr(cls, n) for cls in (Models, AsyncModels) for n in names] == before
    client(Endpoint()).models.generate_content(model=MODEL, contents=PROMPT)
    assert llm_spans(span_exporter) == []
