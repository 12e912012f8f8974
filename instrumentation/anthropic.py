"""Anthropic: `messages.create` (streamed or not), `messages.stream()`, `messages.parse`, and `beta.messages`.

Provider quirks live here and nowhere else: Anthropic's `input_tokens` EXCLUDES cache reads and writes,
so the conventions' `gen_ai.usage.input_tokens` is their sum; the cache-write TTL split comes from
`usage.cache_creation`; reasoning is `output_tokens_details.thinking_tokens`. Stream usage is merged field
by field across `message_start` and `message_delta`: the last event alone loses the input counts.

`messages.stream()` and `parse()` post by themselves (not through `create`), so each path is wrapped once.
`AnthropicBedrock` and `AnthropicVertex` clients are the cloud's calls (`aws.bedrock`, `gcp.vertex_ai`), priced
at the cloud's rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import wrapt

from agentyield import _semconv as sc
from agentyield._tasks import check_budget

from ._fingerprint import prefix_hash
from ._instrumentor import LibraryInstrumentor, Target
from ._privacy import findings_attributes
from ._records import FieldReader, LLMRequest, LLMResponse, Usage, UsageReader, content_json, get, server_of
from ._streams import TracedAsyncStream, TracedStream
from ._wrappers import start

if TYPE_CHECKING:
    from agentyield._config import Config

    from ._invocation import LLMInvocation, Telemetry

__all__ = ["AnthropicInstrumentor"]

MESSAGES = "messages"
# The SDK's clients for Anthropic models served and billed by a cloud: the provider is the cloud.
_CLOUD_CLIENTS = {
    "AnthropicBedrock": sc.PROVIDER_AWS_BEDROCK,
    "AsyncAnthropicBedrock": sc.PROVIDER_AWS_BEDROCK,
    "AnthropicVertex": sc.PROVIDER_GCP_VERTEX_AI,
    "AsyncAnthropicVertex": sc.PROVIDER_GCP_VERTEX_AI,
}
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_PARAMS = (
    ("max_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P, (int, float)),
    ("top_k", sc.GEN_AI_REQUEST_TOP_K, (int, float)),
)


def _usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    reader = UsageReader()
    input_tokens, cache_read, cache_write = reader.exclusive_input(usage, "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    split = get(usage, "cache_creation")
    return Usage(
        input_tokens=input_tokens,
        output_tokens=reader.count(usage, "output_tokens", required=True),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_5m_tokens=reader.count(split, "ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=reader.count(split, "ephemeral_1h_input_tokens"),
        reasoning_tokens=reader.count(get(usage, "output_tokens_details"), "thinking_tokens"),
        invalid_fields=tuple(reader.invalid),
    )


def message_response(result: Any, capture_content: bool) -> LLMResponse:
    """A Message (the SDK's object, or the JSON Bedrock's InvokeModel returns), each field read on its own
    (`FieldReader`): a malformed content block still leaves the usage."""
    fields = FieldReader()
    content = fields.items(result, "content")
    tools: list[str] = []
    for block in content:
        if fields.text(block, "type", "content.type") in _TOOL_BLOCKS:
            name = fields.text(block, "name", "content.name")
            if name is not None:
                tools.append(name)
    reason = fields.text(result, "stop_reason")
    return LLMResponse(
        model=fields.text(result, "model"),
        id=fields.text(result, "id"),
        finish_reasons=(reason,) if reason is not None else (),
        usage=_usage(get(result, "usage")),
        tool_names=tuple(tools),
        output_messages=content_json([{"role": "assistant", "content": list(content)}]) if capture_content else None,
        unreadable_fields=tuple(fields.unreadable),
    )


class AnthropicProvider:
    name = "anthropic"

    def __init__(self, config: Config) -> None:
        from anthropic import AsyncStream, Stream
        from anthropic._response import APIResponse, AsyncAPIResponse

        self.config = config
        self.stream_types = (Stream,)
        self.async_stream_types = (AsyncStream,)
        raw_types: tuple[type, ...] = (APIResponse, AsyncAPIResponse)
        try:  # SDK 1.x only: 2.x removed the legacy raw response
            from anthropic._legacy_response import LegacyAPIResponse
        except ImportError:
            pass
        else:
            raw_types = (LegacyAPIResponse, *raw_types)
        self.raw_types = raw_types

    def request(self, api: str, instance: Any, kwargs: dict[str, Any]) -> LLMRequest:
        model = kwargs.get("model")
        attributes: dict[str, Any] = {}
        address, port = server_of(instance)
        if address:
            attributes[sc.SERVER_ADDRESS] = address
            attributes[sc.SERVER_PORT] = port
        for key, attribute, types in _PARAMS:
            value = kwargs.get(key)
            if type(value) in types:
                attributes[attribute] = value
        stop = kwargs.get("stop_sequences")
        if isinstance(stop, (list, tuple)):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(str(s) for s in stop)
        system = kwargs.get("system")
        fingerprint = prefix_hash(system, kwargs.get("tools"))
        if self.config.privacy_scan:
            findings_attributes(kwargs.get("messages"), attributes)
        if fingerprint:
            attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.capture_content:
            if isinstance(system, (str, list)):
                attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = system if isinstance(system, str) else content_json(system)
            messages = kwargs.get("messages")
            if isinstance(messages, (list, tuple)):
                attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(list(messages))
        request = LLMRequest(api, "chat", model if isinstance(model, str) else None, attributes, kwargs)
        request.stream = kwargs.get("stream") is True
        request.provider = _CLOUD_CLIENTS.get(type(instance._client).__name__)
        return request

    def response(self, request: LLMRequest, result: Any) -> LLMResponse:
        return message_response(result, self.config.capture_content)

    def stream_state(self, request: LLMRequest) -> MessagesStreamState:
        return MessagesStreamState(self.config.capture_content)


class MessagesStreamState:
    """Merges a message's usage across its events; the latest reported value of each field wins.

    The SDK hands on a `data:` line that is not an event as it is (a list, say): an event without a string
    `type`, or a field of the wrong type, is skipped and named, never an error (reads are `getattr` with a
    default and a type check, except the per-event `type`, a plain read under a `try`).
    """

    __slots__ = ("usage", "split", "details", "id", "model", "reason", "tools", "text", "fields")

    def __init__(self, capture_content: bool) -> None:
        self.usage: dict[str, Any] | None = None
        self.split: Any = None
        self.details: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.reason: str | None = None
        self.tools: list[str] = []
        self.text: list[str] | None = [] if capture_content else None
        self.fields = FieldReader()

    def _merge(self, usage: Any) -> None:
        if usage is None:
            return
        merged = self.usage if self.usage is not None else {}
        for name in _USAGE_FIELDS:
            value = get(usage, name)
            if value is not None:
                merged[name] = value
        self.usage = merged
        self.split = get(usage, "cache_creation") or self.split
        self.details = get(usage, "output_tokens_details") or self.details

    def feed(self, event: Any) -> bool:
        try:  # a plain attribute read on the fast path (text deltas): free when nothing raises
            kind = event.type
        except AttributeError:
            kind = None
        if kind == "content_block_delta":
            if self.text is not None:
                delta = getattr(event, "delta", None)
                if getattr(delta, "type", None) == "text_delta":
                    text = self.fields.text(delta, "text", "delta.text")
                    if text is not None:
                        self.text.append(text)
            return False
        fields = self.fields
        if kind == "message_start":
            message = getattr(event, "message", None)
            self.id = fields.text(message, "id", "message.id")
            self.model = fields.text(message, "model", "message.model")
            self._merge(getattr(message, "usage", None))
        elif kind == "message_delta":
            self.reason = fields.text(getattr(event, "delta", None), "stop_reason", "delta.stop_reason") or self.reason
            self._merge(getattr(event, "usage", None))
        elif kind == "content_block_start":
            block = getattr(event, "content_block", None)
            if fields.text(block, "type", "content_block.type") in _TOOL_BLOCKS:
                name = fields.text(block, "name", "content_block.name")
                if name is not None:
                    self.tools.append(name)
        elif not isinstance(kind, str):
            fields.skip("event")
        return False

    def response(self) -> LLMResponse | None:
        if self.id is None and self.usage is None and not self.fields.unreadable:
            return None
        usage = None
        if self.usage is not None:
            usage = _usage({**self.usage, "cache_creation": self.split, "output_tokens_details": self.details})
        return LLMResponse(
            model=self.model,
            id=self.id,
            finish_reasons=(self.reason,) if self.reason else (),
            usage=usage,
            tool_names=tuple(self.tools),
            output_messages=(
                # The same shape as a non-streamed message's content: a list of blocks.
                content_json([{"role": "assistant", "content": [{"type": "text", "text": "".join(self.text)}]}])
                if self.text is not None
                else None
            ),
            unreadable_fields=tuple(self.fields.unreadable),
        )


def _trace_raw_stream(stream: Any, invocation: LLMInvocation, proxy: type, provider: AnthropicProvider) -> None:
    """Route the helper stream's reads through our proxy; it has not read its raw stream yet."""
    stream._raw_stream = proxy(stream._raw_stream, invocation, provider.stream_state(invocation.request))


class _TracedStreamManager(wrapt.ObjectProxy):  # type: ignore[misc]
    """`messages.stream()` returns a manager that posts on `__enter__`: the span starts there."""

    def __init__(self, manager: Any, begin: Callable[[], LLMInvocation | None], provider: AnthropicProvider) -> None:
        super().__init__(manager)
        self._self_begin = begin
        self._self_provider = provider

    def __enter__(self) -> Any:
        invocation = self._self_begin()
        if invocation is None:
            return self.__wrapped__.__enter__()
        invocation.enter()
        try:
            stream = self.__wrapped__.__enter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        finally:
            invocation.exit()
        _guarded_swap(stream, invocation, TracedStream, self._self_provider)
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)

    async def __aenter__(self) -> Any:
        invocation = self._self_begin()
        if invocation is None:
            return await self.__wrapped__.__aenter__()
        invocation.enter()
        try:
            stream = await self.__wrapped__.__aenter__()
        except BaseException as error:
            invocation.fail(error)
            raise
        finally:
            invocation.exit()
        _guarded_swap(stream, invocation, TracedAsyncStream, self._self_provider)
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


def _guarded_swap(stream: Any, invocation: LLMInvocation, proxy: type, provider: AnthropicProvider) -> None:
    from agentyield._guard import internal_error

    try:
        _trace_raw_stream(stream, invocation, proxy, provider)
    except Exception as exc:  # noqa: BLE001
        invocation.stop(None)
        internal_error("anthropic.stream", exc)


def stream_manager_wrapper(telemetry: Telemetry, provider: AnthropicProvider, api: str) -> Callable[..., Any]:
    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        check_budget()
        manager = wrapped(*args, **kwargs)

        def begin() -> LLMInvocation | None:
            invocation = start(telemetry, provider, api, instance, kwargs)
            if invocation is not None:
                invocation.request.stream = True
            return invocation

        return _TracedStreamManager(manager, begin, provider)

    return traced


def _targets(module: str) -> tuple[Target, ...]:
    return (
        Target(module, "Messages.create", MESSAGES),
        Target(module, "Messages.parse", MESSAGES),
        Target(module, "Messages.stream", MESSAGES, factory=stream_manager_wrapper),
        Target(module, "AsyncMessages.create", MESSAGES, is_async=True),
        Target(module, "AsyncMessages.parse", MESSAGES, is_async=True),
        Target(module, "AsyncMessages.stream", MESSAGES, factory=stream_manager_wrapper),
    )


class AnthropicInstrumentor(LibraryInstrumentor):
    library = "anthropic"
    distribution = "anthropic"
    min_version = (1,)
    targets = _targets("anthropic.resources.messages.messages") + _targets("anthropic.resources.beta.messages.messages")

    def provider(self, config: Config) -> AnthropicProvider:
        return AnthropicProvider(config)
