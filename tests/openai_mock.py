"""A mock OpenAI endpoint with realistic payloads, served to the real SDK through its MockTransport."""

from __future__ import annotations

import json
from typing import Any

import openai

from conftest import sdk_httpx, sse

hx = sdk_httpx(openai)
BASE_URL = "https://api.openai.com/v1"  # the real API URL, answered by the mock transport

CHAT_USAGE = {
    "prompt_tokens": 2006,
    "completion_tokens": 300,
    "total_tokens": 2306,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 3000,
    "input_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 0},
    "output_tokens": 500,
    "output_tokens_details": {"reasoning_tokens": 128},
    "total_tokens": 3500,
}


def chat_completion(body: dict[str, Any], usage: Any = CHAT_USAGE, tool_call: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "The answer is 42.", "refusal": None}
    finish = "stop"
    if tool_call:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
            ],
        }
        finish = "tool_calls"
    if body.get("response_format", {}).get("type") == "json_schema":
        message["content"] = '{"answer": 42}'
    payload = {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1764000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
    }
    if usage is not ...:
        payload["usage"] = usage
    return payload


def chat_chunks(body: dict[str, Any], n_text: int = 3) -> bytes:
    base = {"id": "chatcmpl-stream1", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-2024-08-06"}
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    usage_field = {"usage": None} if include_usage else {}
    events = [(None, {**base, **usage_field, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})]
    for i in range(n_text):
        events.append((None, {**base, **usage_field, "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]}))
    events.append((None, {**base, **usage_field, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    if include_usage:
        events.append((None, {**base, "choices": [], "usage": CHAT_USAGE}))
    return sse(events, done=True)


def response_object(status: str = "completed", usage: Any = RESPONSES_USAGE) -> dict[str, Any]:
    return {
        "id": "resp_abc123",
        "object": "response",
        "created_at": 1764000000,
        "status": status,
        "model": "gpt-5-2025-08-07",
        "output": [
            {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "search_docs", "arguments": "{}", "status": "completed"},
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": '{"answer": 42}', "annotations": []}],
            },
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "incomplete_details": None,
        "error": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "usage": usage,
    }


def responses_events() -> bytes:
    created = {**response_object("in_progress", None), "output": []}
    final = response_object()
    text = final["output"][1]
    events = [
        ("response.created", {"type": "response.created", "sequence_number": 0, "response": created}),
        ("response.in_progress", {"type": "response.in_progress", "sequence_number": 1, "response": created}),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0, "item": {**text, "status": "in_progress", "content": []}},
        ),
        (
            "response.content_part.added",
            {"type": "response.content_part.added", "sequence_number": 3, "item_id": "msg_1", "output_index": 0, "content_index": 0,
             "part": {"type": "output_text", "text": "", "annotations": []}},
        ),
        (
            "response.output_text.delta",
            {"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0,
             "delta": '{"answer": 42}', "logprobs": []},
        ),
        (
            "response.output_text.done",
            {"type": "response.output_text.done", "sequence_number": 5, "item_id": "msg_1", "output_index": 0, "content_index": 0,
             "text": '{"answer": 42}', "logprobs": []},
        ),
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "sequence_number": 6, "output_index": 0, "item": text},
        ),
        ("response.completed", {"type": "response.completed", "sequence_number": 7, "response": {**final, "output": [text]}}),
    ]
    return sse(events)


def embedding(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 16, "total_tokens": 16},
    }


def default_respond(body: dict[str, Any], path: str) -> Any:
    if path.endswith("/embeddings"):
        return hx.Response(200, json=embedding(body))
    if path.endswith("/responses"):
        if body.get("stream"):
            return hx.Response(200, content=responses_events(), headers={"content-type": "text/event-stream"})
        return hx.Response(200, json=response_object())
    if body.get("stream"):
        return hx.Response(200, content=chat_chunks(body), headers={"content-type": "text/event-stream"})
    return hx.Response(200, json=chat_completion(body, tool_call=bool(body.get("tools"))))


class OpenAIMock:
    """Records each request (path, JSON body) and answers with `respond(body, path)` (default: realistic)."""

    def __init__(self, respond: Any = default_respond) -> None:
        self.respond = respond
        self.paths: list[str] = []
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        self.paths.append(request.url.path)
        self.bodies.append(json.loads(request.content) if request.content else {})
        return self.respond(self.bodies[-1], request.url.path)


def clients(mock: OpenAIMock) -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
    sync = openai.OpenAI(api_key="sk-test-SECRET", base_url=BASE_URL, max_retries=0, http_client=hx.Client(transport=hx.MockTransport(mock)))
    async_ = openai.AsyncOpenAI(
        api_key="sk-test-SECRET", base_url=BASE_URL, max_retries=0, http_client=hx.AsyncClient(transport=hx.MockTransport(mock))
    )
    return sync, async_
