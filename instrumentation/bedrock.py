"""AWS Bedrock through boto3's `bedrock-runtime`: `converse`, `converse_stream`, and `invoke_model` /
`invoke_model_with_response_stream` (Anthropic models' bodies; for other models, the token counts Bedrock
adds as response headers or as a stream's last `amazon-bedrock-invocationMetrics`).

boto3 makes its client methods at run time, so the one place every call passes is botocore's
`BaseClient._make_api_call`; any other service's call goes straight through after one dict lookup.

Provider quirks live here and nowhere else: Converse's `inputTokens` EXCLUDES `cacheReadInputTokens` and
`cacheWriteInputTokens` (as LiteLLM and genai-prices read it), so the conventions' input is their sum, and
`cacheDetails` splits the writes by TTL; a stream's usage comes in its `metadata` event. An Anthropic
model's InvokeModel body is Anthropic's own format. The model id (`us.anthropic...`, `global.`, an
inference-profile ARN) is kept as given, minus an ARN's account part: genai-prices resolves region and
cross-region prefixes. The provider is `aws.bedrock`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

import wrapt

from agentyield import _semconv as sc
from agentyield._guard import internal_error

from ._fingerprint import prefix_hash
from ._instrumentor import LibraryInstrumentor, Target
from ._privacy import findings_attributes
from ._records import FieldReader, LLMRequest, LLMResponse, Usage, UsageReader, content_json, get, server_of_url
from ._streams import TracedStream
from ._wrappers import call, finish, start
from .anthropic import _usage as anthropic_usage
from .anthropic import message_response

if TYPE_CHECKING:
    from agentyield._config import Config

    from ._invocation import LLMInvocation, Telemetry

__all__ = ["BedrockInstrumentor"]

CONVERSE = "converse"
CONVERSE_STREAM = "converse_stream"
INVOKE = "invoke_model"
INVOKE_STREAM = "invoke_model_with_response_stream"
_APIS = {
    "Converse": CONVERSE,
    "ConverseStream": CONVERSE_STREAM,
    "InvokeModel": INVOKE,
    "InvokeModelWithResponseStream": INVOKE_STREAM,
}
_CONVERSE_PARAMS = (
    ("maxTokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    ("topP", sc.GEN_AI_REQUEST_TOP_P, (int, float)),
)
_BODY_PARAMS = (
    ("max_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P, (int, float)),
    ("top_k", sc.GEN_AI_REQUEST_TOP_K, (int, float)),
)
_ANTHROPIC_USAGE = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def converse_usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    reader = UsageReader()
    input_tokens, cache_read, cache_write = reader.exclusive_input(usage, "inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
    split = {get(d, "ttl"): reader.count(d, "inputTokens") for d in get(usage, "cacheDetails") or ()}
    return Usage(
        input_tokens=input_tokens,
        output_tokens=reader.count(usage, "outputTokens", required=True),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_5m_tokens=split.get("5m"),
        cache_write_1h_tokens=split.get("1h"),
        invalid_fields=tuple(reader.invalid),
    )


def _model_id(model: Any) -> str | None:
    if not isinstance(model, str):
        return None
    return model.rsplit("/", 1)[1] if model.startswith("arn:") and "/" in model else model


def _json_body(body: Any) -> dict[str, Any] | None:
    """The request body of InvokeModel as JSON, when it is JSON."""
    if isinstance(body, (bytes, bytearray, str)) and body[:1] in (b"{", "{"):
        try:
            value = json.loads(body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


class BedrockProvider:
    name = sc.PROVIDER_AWS_BEDROCK
    stream_types: tuple[type, ...] = ()
    async_stream_types: tuple[type, ...] = ()
    raw_types: tuple[type, ...] = ()

    def __init__(self, config: Config) -> None:
        self.config = config

    def request(self, api: str, instance: Any, params: dict[str, Any]) -> LLMRequest:
        attributes: dict[str, Any] = {}
        address, port = server_of_url(instance.meta.endpoint_url)
        if address:
            attributes[sc.SERVER_ADDRESS] = address
            attributes[sc.SERVER_PORT] = port
        if api in (CONVERSE, CONVERSE_STREAM):
            config = params.get("inferenceConfig")
            params_of, names = config, _CONVERSE_PARAMS
            system, tools, messages = params.get("system"), get(params.get("toolConfig"), "tools"), params.get("messages")
            stop = get(config, "stopSequences")
        else:
            body = _json_body(params.get("body"))
            params_of, names = body, _BODY_PARAMS
            system, tools, messages = get(body, "system"), get(body, "tools"), get(body, "messages")
            stop = get(body, "stop_sequences")
        for key, attribute, kinds in names:
            value = get(params_of, key)
            if type(value) in kinds:
                attributes[attribute] = value
        if isinstance(stop, (list, tuple)):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(str(s) for s in stop)
        fingerprint = prefix_hash(system, tools)
        if fingerprint:
            attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.privacy_scan:
            findings_attributes(messages, attributes)
        if self.config.capture_content:
            if system is not None:
                attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = system if isinstance(system, str) else content_json(system)
            if messages is not None:
                attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(messages)
        request = LLMRequest(api, "chat", _model_id(params.get("modelId")), attributes, params)
        request.stream = api in (CONVERSE_STREAM, INVOKE_STREAM)
        return request

    def response(self, request: LLMRequest, result: Any) -> LLMResponse:
        """A Converse response (the parsed dict)."""
        content = get(get(get(result, "output"), "message"), "content") or ()
        reason = get(result, "stopReason")
        return LLMResponse(
            id=get(get(result, "ResponseMetadata"), "RequestId"),
            finish_reasons=(reason,) if isinstance(reason, str) else (),
            usage=converse_usage(get(result, "usage")),
            tool_names=tuple(n for block in content if isinstance(n := get(get(block, "toolUse"), "name"), str)),
            output_messages=(
                content_json([get(get(result, "output"), "message")]) if self.config.capture_content else None
            ),
        )

    def invoke_response(self, request: LLMRequest, body: bytes, metadata: Any) -> LLMResponse:
        """An InvokeModel body: Anthropic's message format, else the token counts Bedrock sends as headers."""
        message = _json_body(body)
        if message is not None and get(message, "type") == "message":
            return message_response(message, self.config.capture_content)
        return LLMResponse(id=get(metadata, "RequestId"), usage=_header_usage(get(metadata, "HTTPHeaders")))

    def stream_state(self, request: LLMRequest) -> ConverseStreamState | InvokeStreamState:
        if request.api == CONVERSE_STREAM:
            return ConverseStreamState(self.config.capture_content)
        return InvokeStreamState(self.config.capture_content)


def _header_usage(headers: Any) -> Usage | None:
    if not isinstance(headers, dict) or "x-amzn-bedrock-input-token-count" not in headers:
        return None
    counts = {}
    for name in ("input", "output"):
        value = headers.get(f"x-amzn-bedrock-{name}-token-count")
        counts[name] = int(value) if isinstance(value, str) and value.isdigit() else None
    return Usage(input_tokens=counts["input"], output_tokens=counts["output"])


def _metrics_usage(metrics: Any) -> Usage | None:
    """The counts Bedrock appends to any model's stream (`amazon-bedrock-invocationMetrics`), read as Converse's."""
    if not isinstance(metrics, dict):
        return None
    return converse_usage({
        "inputTokens": metrics.get("inputTokenCount"),
        "outputTokens": metrics.get("outputTokenCount"),
        "cacheReadInputTokens": metrics.get("cacheReadInputTokenCount"),
        "cacheWriteInputTokens": metrics.get("cacheWriteInputTokenCount"),
    })


class ConverseStreamState:
    """Converse stream events: tool names at block starts, the stop reason, usage in the `metadata` event."""

    __slots__ = ("usage", "reason", "tools", "text", "started")

    def __init__(self, capture_content: bool) -> None:
        self.usage: Any = None
        self.reason: str | None = None
        self.tools: list[str] = []
        self.text: list[str] | None = [] if capture_content else None
        self.started = False

    def feed(self, event: Any) -> bool:
        if "contentBlockDelta" in event:
            if self.text is not None:
                text = get(get(event["contentBlockDelta"], "delta"), "text")
                if isinstance(text, str):
                    self.text.append(text)
        elif "metadata" in event:
            self.usage = get(event["metadata"], "usage")
        elif "messageStop" in event:
            self.reason = get(event["messageStop"], "stopReason")
        elif "contentBlockStart" in event:
            name = get(get(get(event["contentBlockStart"], "start"), "toolUse"), "name")
            if isinstance(name, str):
                self.tools.append(name)
        elif "messageStart" in event:
            self.started = True
        return False

    def response(self) -> LLMResponse | None:
        if not self.started and self.usage is None:
            return None
        return LLMResponse(
            finish_reasons=(self.reason,) if isinstance(self.reason, str) else (),
            usage=converse_usage(self.usage),
            tool_names=tuple(self.tools),
            output_messages=content_json([{"role": "assistant", "content": [{"text": "".join(self.text)}]}])
            if self.text is not None
            else None,
        )


class InvokeStreamState:
    """An Anthropic model's stream inside Bedrock `chunk` events: usage merged across message_start and
    message_delta, field by field, as for Anthropic's own API."""

    __slots__ = ("usage", "metrics", "id", "model", "reason", "tools", "text", "fields")

    def __init__(self, capture_content: bool) -> None:
        self.usage: dict[str, Any] | None = None
        self.metrics: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.reason: str | None = None
        self.tools: list[str] = []
        self.text: list[str] | None = [] if capture_content else None
        self.fields = FieldReader()

    def _merge(self, usage: Any) -> None:
        if isinstance(usage, dict):
            merged = self.usage if self.usage is not None else {}
            merged.update({k: usage[k] for k in _ANTHROPIC_USAGE if usage.get(k) is not None})
            self.usage = merged

    def feed(self, event: Any) -> bool:
        data = _json_body(get(get(event, "chunk"), "bytes"))
        if data is None:
            return False
        metrics = data.get("amazon-bedrock-invocationMetrics")
        if metrics is not None:
            self.metrics = metrics
        kind = data.get("type")
        fields = self.fields
        if kind == "content_block_delta":
            if self.text is not None:
                text = fields.text(data.get("delta"), "text", "delta.text")
                if text is not None:
                    self.text.append(text)
        elif kind == "message_start":
            message = self._object(data, "message")
            self.id, self.model = fields.text(message, "id", "message.id"), fields.text(message, "model", "message.model")
            self._merge(get(message, "usage"))
        elif kind == "message_delta":
            self.reason = fields.text(data.get("delta"), "stop_reason", "delta.stop_reason") or self.reason
            self._merge(data.get("usage"))
        elif kind == "content_block_start":
            block = self._object(data, "content_block")
            if get(block, "type") == "tool_use":
                name = fields.text(block, "name", "content_block.name")
                if name is not None:
                    self.tools.append(name)
        return False

    def _object(self, data: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The JSON object in `data[name]`; a value of another type is skipped and named."""
        value = data.get(name)
        if value is None or isinstance(value, dict):
            return value
        self.fields.skip(name)
        return None

    def response(self) -> LLMResponse | None:
        if self.id is None and self.usage is None and self.metrics is None and not self.fields.unreadable:
            return None
        return LLMResponse(
            model=self.model,
            id=self.id,
            finish_reasons=(self.reason,) if self.reason else (),
            usage=anthropic_usage(self.usage) if self.usage is not None else _metrics_usage(self.metrics),
            tool_names=tuple(self.tools),
            output_messages=content_json([{"role": "assistant", "content": [{"type": "text", "text": "".join(self.text)}]}])
            if self.text is not None
            else None,
            unreadable_fields=tuple(self.fields.unreadable),
        )


class _TracedBody(wrapt.ObjectProxy):  # type: ignore[misc]
    """An InvokeModel body: the call's outcome is known once the caller has read it to the end."""

    def __init__(self, body: Any, invocation: LLMInvocation, provider: BedrockProvider, metadata: Any) -> None:
        super().__init__(body)
        self._self_invocation = invocation
        self._self_provider = provider
        self._self_metadata = metadata
        self._self_chunks: list[bytes] = []

    def read(self, amt: int | None = None) -> bytes:
        try:
            data = self.__wrapped__.read(amt)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        if not self._self_invocation.ended:
            self._self_chunks.append(data)
            if amt is None or not data:
                self._self_end()
        return data

    def _self_end(self) -> None:
        invocation = self._self_invocation
        try:
            response = self._self_provider.invoke_response(invocation.request, b"".join(self._self_chunks), self._self_metadata)
        except Exception as exc:  # noqa: BLE001 - never break the host; the span ends with usage unknown
            response = None
            internal_error("bedrock.invoke_model.body", exc)
        invocation.stop(response)

    # StreamingBody's own iterators read through `self.read`: run them on the proxy so they pass through ours.
    def __iter__(self) -> Any:
        return type(self.__wrapped__).__iter__(self)

    def __next__(self) -> Any:
        return type(self.__wrapped__).__next__(self)

    def iter_chunks(self, *args: Any, **kwargs: Any) -> Any:
        return type(self.__wrapped__).iter_chunks(self, *args, **kwargs)

    def iter_lines(self, *args: Any, **kwargs: Any) -> Any:
        return type(self.__wrapped__).iter_lines(self, *args, **kwargs)

    def readlines(self) -> Any:
        return type(self.__wrapped__).readlines(self)

    def __del__(self) -> None:
        if not self._self_invocation.ended:
            self._self_invocation.stop(None)


def _finish(provider: BedrockProvider, invocation: LLMInvocation, result: Any) -> Any:
    """Streams and bodies are read later: the same dict goes back, its stream or body behind a proxy."""
    api = invocation.request.api
    if api == CONVERSE:
        return finish(provider, invocation, result)
    try:
        key = "stream" if api == CONVERSE_STREAM else "body"
        if api == INVOKE:
            result[key] = _TracedBody(result[key], invocation, provider, result.get("ResponseMetadata"))
        else:
            result[key] = TracedStream(result[key], invocation, provider.stream_state(invocation.request))
    except Exception as exc:  # noqa: BLE001
        invocation.stop(None)
        internal_error(f"bedrock.{api}.finish", exc)
    return result


def api_call_wrapper(telemetry: Telemetry, provider: BedrockProvider, _api: str) -> Callable[..., Any]:
    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        api = _APIS.get(args[0]) if args else None
        if api is None or len(args) < 2 or instance.meta.service_model.service_name != "bedrock-runtime":
            return wrapped(*args, **kwargs)  # every other AWS call passes untouched
        invocation = start(telemetry, provider, api, instance, args[1])
        if invocation is None:
            return wrapped(*args, **kwargs)
        return _finish(provider, invocation, call(invocation, wrapped, args, kwargs))

    return traced


class BedrockInstrumentor(LibraryInstrumentor):
    library = "botocore.client"  # what boto3 imports to make a client; `import botocore` alone wraps nothing
    distribution = "botocore"
    min_version = (1, 34)
    targets = (Target("botocore.client", "BaseClient._make_api_call", "bedrock-runtime", factory=api_call_wrapper),)

    def provider(self, config: Config) -> BedrockProvider:
        return BedrockProvider(config)
