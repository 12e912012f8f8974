"""AWS Bedrock through the real boto3 against a local HTTP server (botocore's own parsing and event-stream
decoding run), exact. Expected costs come from genai-prices' own reading of the raw payloads.

Bedrock's Converse `inputTokens` excludes cache reads and writes: the payloads here are consistent with
`totalTokens` only under that reading, and the test checks the sum we report against `totalTokens`.
"""

from __future__ import annotations

import base64
import gc
import json
import struct
import zlib
from typing import Any, Iterator

import boto3
import genai_prices
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

import agentyield
from agentyield import _semconv as sc
from conftest import llm_spans, only_span, usage_attributes
from local_server import Reply, Server

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"
USAGE = {
    "inputTokens": 12,
    "outputTokens": 300,
    "totalTokens": 12 + 300 + 4000 + 1500,
    "cacheReadInputTokens": 4000,
    "cacheWriteInputTokens": 1500,
    "cacheDetails": [{"inputTokens": 1000, "ttl": "5m"}, {"inputTokens": 500, "ttl": "1h"}],
}
USAGE_ATTRIBUTES = {
    sc.GEN_AI_USAGE_INPUT_TOKENS: 12 + 4000 + 1500,
    sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300,
    sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4000,
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 1500,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
    sc.USAGE_CACHE_WRITE_5M: 1000,
    sc.USAGE_CACHE_WRITE_1H: 500,
}
ANTHROPIC_USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 4000, "output_tokens": 300}
SYSTEM = [{"text": "You are a careful research agent. SECRET-SYSTEM-PROMPT"}, {"cachePoint": {"type": "default"}}]
MESSAGES = [{"role": "user", "content": [{"text": "What is the answer? SECRET-USER-PROMPT"}]}]

def converse_body(usage: Any = USAGE, tool: bool = False) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": "The answer is 42."}]
    if tool:
        content.append({"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}})
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use" if tool else "end_turn",
        "metrics": {"latencyMs": 812},
    }
    if usage is not None:
        body["usage"] = usage
    return body


def anthropic_message() -> dict[str, Any]:
    return {
        "id": "msg_bdrk_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "The answer is 42."}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": ANTHROPIC_USAGE,
    }


def frame(headers: dict[str, str], payload: dict[str, Any]) -> bytes:
    """One message of the AWS event-stream encoding (prelude, CRCs, string headers, JSON payload)."""
    encoded = b"".join(
        len(k).to_bytes(1, "big") + k.encode() + b"\x07" + len(v).to_bytes(2, "big") + v.encode() for k, v in headers.items()
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(encoded) + len(body) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + body
    return message + struct.pack(">I", zlib.crc32(message))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    return frame({":event-type": kind, ":content-type": "application/json", ":message-type": "event"}, payload)


def exception(kind: str, message: str) -> bytes:
    return frame({":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}, {"message": message})


def converse_events(usage: Any = USAGE) -> list[bytes]:
    events = [event("messageStart", {"role": "assistant"})]
    events += [event("contentBlockDelta", {"delta": {"text": t}, "contentBlockIndex": 0}) for t in ("The ", "answer ", "is 42.")]
    events += [event("contentBlockStop", {"contentBlockIndex": 0}), event("messageStop", {"stopReason": "end_turn"})]
    if usage is not None:
        events.append(event("metadata", {"usage": usage, "metrics": {"latencyMs": 640}}))
    return events


def invoke_events() -> list[bytes]:
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    anthropic_events = [
        {"type": "message_start", "message": {**anthropic_message(), "content": [], "stop_reason": None, "usage": start_usage}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "The answer is 42."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 300}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 300,
                                                                      "invocationLatency": 900, "firstByteLatency": 300}},
    ]
    return [event("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}) for e in anthropic_events]


STREAM = {"content-type": "application/vnd.amazon.eventstream"}
JSON = {"content-type": "application/json"}


def default_reply(path: str, body: bytes) -> Reply:
    if path.endswith("/converse"):
        return 200, JSON, json.dumps(converse_body()).encode()
    if path.endswith("/converse-stream"):
        return 200, STREAM, b"".join(converse_events())
    if path.endswith("/invoke-with-response-stream"):
        return 200, {**STREAM, "x-amzn-bedrock-content-type": "application/json"}, b"".join(invoke_events())
    headers = {**JSON, "x-amzn-bedrock-input-token-count": "12", "x-amzn-bedrock-output-token-count": "300"}
    return 200, headers, json.dumps(anthropic_message()).encode()


@pytest.fixture(scope="module")
def module_server() -> Iterator[Server]:
    with Server(default_reply) as server:
        yield server


@pytest.fixture
def server(module_server: Server) -> Server:
    module_server.respond = default_reply
    module_server.requests = []
    return module_server


def client(server: Server, service: str = "bedrock-runtime") -> Any:
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=server.url, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="test-SECRET-key", config=Config(retries={"total_max_attempts": 1}),
    )


def expected_cost(usage_payload: dict[str, Any], flavor: str = "default") -> float:
    extracted = genai_prices.extract_usage({"usage": usage_payload}, provider_id="aws", api_flavor=flavor)
    return float(genai_prices.calc_price(extracted.usage, MODEL, provider_id="aws").total_price)


def test_converse_exact(instrumented: None, span_exporter: Any, server: Server) -> None:
    result = client(server).converse(
        modelId=MODEL, system=SYSTEM, messages=MESSAGES,
        inferenceConfig={"maxTokens": 1024, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
        toolConfig={"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]},
    )
    assert result["output"]["message"]["content"][0]["text"] == "The answer is 42."
    assert result["usage"]["totalTokens"] == USAGE_ATTRIBUTES[sc.GEN_AI_USAGE_INPUT_TOKENS] + 300  # inputTokens excludes cache
    span = only_span(span_exporter)
    assert span.name == f"chat {MODEL}"
    assert usage_attributes(span) == USAGE_ATTRIBUTES
    attributes = dict(span.attributes)
    assert {k: attributes[k] for k in attributes if not k.startswith(("gen_ai.usage.", "agentyield."))} == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "aws.bedrock",
        sc.GEN_AI_REQUEST_MODEL: MODEL,
        sc.SERVER_ADDRESS: "127.0.0.1",
        sc.SERVER_PORT: server.port,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 1024,
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_REQUEST_TOP_P: 0.9,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: ("END",),
        sc.GEN_AI_RESPONSE_ID: "req-0001",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",),
    }
    assert len(attributes[sc.PROMPT_PREFIX_HASH]) == 16
    assert attributes[sc.COST_USD] == expected_cost(USAGE)
    for secret in ("SECRET-SYSTEM-PROMPT", "SECRET-USER-PROMPT", "The answer is 42", "SECRET-key"):
        assert secret not in repr(attributes)


def test_converse_tool_use_named(instrumented: None, span_exporter: Any, server: Server) -> None:
    server.respond = lambda path, body: (200, JSON, json.dumps(converse_body(tool=True)).encode())
    client(server).converse(modelId=MODEL, messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.attributes[sc.TOOL_CALLS_NAMES] == ("get_weather",)
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


def test_converse_stream_usage_from_the_metadata_event(instrumented: None, span_exporter: Any, server: Server) -> None:
    result = client(server).converse_stream(modelId=MODEL, messages=MESSAGES)
    events = list(result["stream"])
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == "The answer is 42."
    assert events[-1]["metadata"]["usage"]["cacheReadInputTokens"] == 4000
    span = only_span(span_exporter)
    assert usage_attributes(span) == USAGE_ATTRIBUTES
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert span.attributes[sc.COST_USD] == expected_cost(USAGE)


def test_converse_stream_without_metadata_is_usage_missing(instrumented: None, span_exporter: Any, server: Server) -> None:
    server.respond = lambda path, body: (200, STREAM, b"".join(converse_events(usage=None)))
    assert len(list(client(server).converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])) == 6
    assert usage_attributes(only_span(span_exporter)) == {sc.USAGE_MISSING: True}


def test_invoke_model_anthropic_body(instrumented: None, span_exporter: Any, server: Server) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 512, "temperature": 0.5,
            "system": "You are terse. SECRET-SYSTEM-PROMPT", "messages": [{"role": "user", "content": "hi"}]}
    result = client(server).invoke_model(modelId=MODEL, body=json.dumps(body))
    assert llm_spans(span_exporter) == []  # known once the caller reads the body
    message = json.loads(result["body"].read())
    assert message["usage"] == ANTHROPIC_USAGE
    span = only_span(span_exporter)
    assert usage_attributes(span) == {
        sc.GEN_AI_USAGE_INPUT_TOKENS: 5512, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 300, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 4000,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 1500, sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: 1500,
    }
    assert span.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 512
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == "msg_bdrk_01"
    assert span.attributes[sc.COST_USD] == expected_cost(ANTHROPIC_USAGE, "anthropic")


def test_invoke_model_body_read_in_chunks(instrumented: None, span_exporter: Any, server: Server) -> None:
    result = client(server).invoke_model(modelId=MODEL, body=json.dumps({"messages": []}))
    data = b"".join(result["body"].iter_chunks(16))
    assert json.loads(data)["id"] == "msg_bdrk_01"
    assert only_span(span_exporter).attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300


def test_invoke_model_other_models_use_the_token_headers(instrumented: None, span_exporter: Any, server: Server) -> None:
    nova = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}, "stopReason": "end_turn"}
    server.respond = lambda path, body: (200, {**JSON, "x-amzn-bedrock-input-token-count": "40",
                                             "x-amzn-bedrock-output-token-count": "7"}, json.dumps(nova).encode())
    result = client(server).invoke_model(modelId="amazon.nova-pro-v1:0", body=b'{"messages": []}')
    assert json.loads(result["body"].read()) == nova
    span = only_span(span_exporter)
    assert usage_attributes(span) == {sc.GEN_AI_USAGE_INPUT_TOKENS: 40, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 7}
    expected = genai_prices.calc_price(genai_prices.Usage(input_tokens=40, output_tokens=7), "amazon.nova-pro-v1:0", provider_id="aws")
    assert span.attributes[sc.COST_USD] == float(expected.total_price)


def test_invoke_model_with_response_stream(instrumented: None, span_exporter: Any, server: Server) -> None:
    result = client(server).invoke_model_with_response_stream(modelId=MODEL, body=json.dumps({"messages": []}))
    events = [json.loads(e["chunk"]["bytes"]) for e in result["body"]]
    assert [e["type"] for e in events][-1] == "message_stop"
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert span.attributes[sc.STREAM_END] == "completed"
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert span.attributes[sc.COST_USD] == expected_cost(ANTHROPIC_USAGE, "anthropic")


def test_other_models_stream_counts_from_invocation_metrics(instrumented: None, span_exporter: Any, server: Server) -> None:
    nova = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "hi"}, "contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"},
         "amazon-bedrock-invocationMetrics": {"inputTokenCount": 40, "outputTokenCount": 7, "invocationLatency": 300,
                                              "firstByteLatency": 100}},
    ]
    chunks = [event("chunk", {"bytes": base64.b64encode(json.dumps(e).encode()).decode()}) for e in nova]
    server.respond = lambda path, body: (200, STREAM, b"".join(chunks))
    result = client(server).invoke_model_with_response_stream(modelId="amazon.nova-pro-v1:0", body=b'{"messages": []}')
    assert len(list(result["body"])) == 3
    span = only_span(span_exporter)
    assert usage_attributes(span) == {sc.GEN_AI_USAGE_INPUT_TOKENS: 40, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 7}
    expected = genai_prices.calc_price(genai_prices.Usage(input_tokens=40, output_tokens=7), "amazon.nova-pro-v1:0", provider_id="aws")
    assert span.attributes[sc.COST_USD] == float(expected.total_price)


@pytest.mark.parametrize(("status", "kind"), [(429, "ThrottlingException"), (500, "InternalServerException")])
def test_http_errors_raise_the_same_exception(instrumented: None, span_exporter: Any, server: Server, status: int, kind: str) -> None:
    headers = {**JSON, "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"}
    server.respond = lambda path, body: (status, headers, json.dumps({"message": "Too many requests SECRET-DETAIL"}).encode())
    with pytest.raises(ClientError) as raised:
        client(server).converse(modelId=MODEL, messages=MESSAGES)
    assert raised.value.response["Error"]["Code"] == kind
    assert len(server.requests) == 1  # no retries were added by us
    span = only_span(span_exporter)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[sc.ERROR_TYPE] == str(status)
    assert "SECRET-DETAIL" not in repr(dict(span.attributes))


def test_error_inside_a_stream(instrumented: None, span_exporter: Any, server: Server) -> None:
    server.respond = lambda path, body: (200, STREAM, converse_events()[0] + exception("throttlingException", "slow down"))
    stream = client(server).converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
    with pytest.raises(EventStreamError):
        list(stream)
    span = only_span(span_exporter)
    assert span.attributes[sc.STREAM_END] == "error"
    assert span.attributes[sc.USAGE_MISSING] is True


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"inputTokens": 10, "outputTokens": 2, "totalTokens": 12, "cacheReadInputTokens": -4},
         {sc.GEN_AI_USAGE_OUTPUT_TOKENS: 2, sc.USAGE_INVALID_FIELDS: ("cacheReadInputTokens",)}),
        (None, {sc.USAGE_MISSING: True}),
    ],
)
def test_malformed_usage_is_marked_not_fatal(instrumented: None, span_exporter: Any, server: Server, usage: Any, expected: Any) -> None:
    server.respond = lambda path, body: (200, JSON, json.dumps(converse_body(usage=usage)).encode())
    result = client(server).converse(modelId=MODEL, messages=MESSAGES)
    assert result["output"]["message"]["content"][0]["text"] == "The answer is 42."
    span = only_span(span_exporter)
    assert usage_attributes(span) == expected
    assert sc.COST_USD not in span.attributes


def test_model_arn_keeps_the_profile_not_the_account(instrumented: None, span_exporter: Any, server: Server) -> None:
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{MODEL}"
    client(server).converse(modelId=arn, messages=MESSAGES)
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert span.attributes[sc.COST_USD] == expected_cost(USAGE)


def test_other_aws_calls_pass_untouched(instrumented: None, span_exporter: Any, server: Server) -> None:
    server.respond = lambda path, body: (200, JSON, json.dumps({"modelSummaries": []}).encode())
    assert client(server, "bedrock").list_foundation_models()["modelSummaries"] == []
    assert llm_spans(span_exporter) == []


def test_content_capture_is_opt_in(instrument: Any, span_exporter: Any, server: Server) -> None:
    instrument(capture_content=True)
    c = client(server)
    c.converse(modelId=MODEL, system=SYSTEM, messages=MESSAGES)
    list(c.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])
    for span in llm_spans(span_exporter):
        assert "SECRET-USER-PROMPT" in span.attributes[sc.GEN_AI_INPUT_MESSAGES]
        assert "The answer is 42." in span.attributes[sc.GEN_AI_OUTPUT_MESSAGES]
        assert "SECRET-key" not in repr(dict(span.attributes))


def test_internal_error_never_reaches_the_caller(instrumented: None, span_exporter: Any, server: Server, break_methods: Any) -> None:
    from agentyield.instrumentation.bedrock import BedrockProvider, ConverseStreamState

    break_methods(BedrockProvider, "response", "invoke_response")
    break_methods(ConverseStreamState, "feed")
    c = client(server)
    assert c.converse(modelId=MODEL, messages=MESSAGES)["usage"] == USAGE
    assert len(list(c.converse_stream(modelId=MODEL, messages=MESSAGES)["stream"])) == 7
    assert json.loads(c.invoke_model(modelId=MODEL, body=b"{}")["body"].read())["id"] == "msg_bdrk_01"
    assert [usage_attributes(s) for s in llm_spans(span_exporter)] == [{sc.USAGE_MISSING: True}] * 3


def test_unread_stream_ends_abandoned(instrumented: None, span_exporter: Any, server: Server) -> None:
    result = client(server).converse_stream(modelId=MODEL, messages=MESSAGES)
    del result
    gc.collect()
    assert only_span(span_exporter).attributes[sc.STREAM_END] == "abandoned"


def test_uninstrument_restores_original(instrument: Any, span_exporter: Any, server: Server) -> None:
    from botocore.client import BaseClient

    before = BaseClient._make_api_call
    instrument()
    assert BaseClient._make_api_call.__wrapped__ is before
    agentyield.uninstrument()
    assert BaseClient._make_api_call is before
    client(server).converse(modelId=MODEL, messages=MESSAGES)
    assert llm_spans(span_exporter) == []


@pytest.mark.parametrize(("content", "unreadable"), [(5, ("content",)), ([{"type": "tool_use", "name": ["x"]}], ("content.name",))])
def test_invoke_model_malformed_field_keeps_the_usage(
    instrumented: None, span_exporter: Any, server: Server, content: Any, unreadable: tuple[str, ...]
) -> None:
    """InvokeModel bodies are raw JSON that no SDK validates: a field of the wrong shape costs the call that
    field (named in `agentyield.response.unreadable_fields`), never its usage."""
    reply = json.dumps({**anthropic_message(), "content": content}).encode()
    server.respond = lambda path, body: (200, {**JSON, "x-amzn-bedrock-input-token-count": "12"}, reply)
    assert client(server).invoke_model(modelId=MODEL, body=b'{"messages": []}')["body"].read() == reply
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == unreadable
    assert span.attributes[sc.COST_USD] == expected_cost(ANTHROPIC_USAGE, "anthropic")


def test_invoke_stream_malformed_message_keeps_the_usage(instrumented: None, span_exporter: Any, server: Server) -> None:
    """A `message_start` whose `message` is not an object: the delta's usage and the invocation metrics remain."""
    chunks = [
        {"type": "message_start", "message": "not an object"},
        {"type": "content_block_start", "index": 0, "content_block": ["not", "an", "object"]},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 300}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"inputTokenCount": 12, "outputTokenCount": 300}},
    ]
    frames = [event("chunk", {"bytes": base64.b64encode(json.dumps(c).encode()).decode()}) for c in chunks]
    server.respond = lambda path, body: (200, {**STREAM, "x-amzn-bedrock-content-type": "application/json"}, b"".join(frames))
    got = [json.loads(e["chunk"]["bytes"]) for e in client(server).invoke_model_with_response_stream(modelId=MODEL, body=b"{}")["body"]]
    assert got == chunks
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert span.attributes[sc.RESPONSE_UNREADABLE_FIELDS] == ("message", "content_block")
    assert span.attributes[sc.STREAM_END] == "completed"
