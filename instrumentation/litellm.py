"""LiteLLM: `completion`, `acompletion` (streamed or not), `embedding` and `aembedding`.

LiteLLM reaches some providers through the openai SDK, which agentyield also wraps; the openai call
made inside a LiteLLM call is the same call, so only the LiteLLM span is made (see `in_call`). The
provider is the one LiteLLM routed to (`anthropic/...`, `bedrock/...`, `gemini/...`), in the conventions'
names; an OpenAI-compatible `api_base` is named by its URL, as for the openai SDK.

Provider quirks live here and nowhere else: LiteLLM's usage is already OpenAI-shaped and inclusive
(`prompt_tokens` counts cache reads and writes for every provider, `completion_tokens` counts reasoning);
cache writes are `cache_creation_input_tokens`, their TTL split is in `prompt_tokens_details`. A stream's
total usage is on its final chunk: visible when the caller asked for it (`stream_options.include_usage`),
else in the chunk's `_hidden_params`, where LiteLLM keeps it for its own cost tracking; the request is
never changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from agentyield import _semconv as sc

from ._fingerprint import prefix_hash
from ._instrumentor import LibraryInstrumentor, Target
from ._privacy import findings_attributes
from .openai import ChatStreamState, _leading_contents
from ._records import LLMRequest, LLMResponse, Usage, UsageReader, content_json, get, provider_of_url, server_of_url
from ._wrappers import async_wrapper

if TYPE_CHECKING:
    from agentyield._config import Config

    from ._invocation import Telemetry

__all__ = ["LiteLLMInstrumentor"]

CHAT = "chat"
EMBEDDINGS = "embeddings"
# LiteLLM's provider names that differ from the conventions' (or from genai-prices' ids, for the others).
_PROVIDERS = {
    "azure": sc.PROVIDER_AZURE_OPENAI,
    "azure_ai": "azure.ai.inference",
    "bedrock": sc.PROVIDER_AWS_BEDROCK,
    "vertex_ai": sc.PROVIDER_GCP_VERTEX_AI,
    "vertex_ai_beta": sc.PROVIDER_GCP_VERTEX_AI,
    "gemini": sc.PROVIDER_GCP_GEMINI,
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "text-completion-openai": "openai",
    "cohere_chat": "cohere",
}
_OPENAI_COMPATIBLE = frozenset({"openai", "text-completion-openai", "custom_openai", "openai_like"})
_PARAMS = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P, (int, float)),
    ("max_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("max_completion_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, (int, float)),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY, (int, float)),
    ("seed", sc.GEN_AI_REQUEST_SEED, (int,)),
)


def _usage(usage: Any, api: str) -> Usage | None:
    if usage is None or type(usage).__name__ == "UnreportedUsage":
        return None
    if get(usage, "prompt_tokens") == 0 and not get(usage, "completion_tokens"):
        return None  # LiteLLM's stand-in when the provider reported nothing: no real call reads 0 input tokens
    reader = UsageReader()
    input_details = get(usage, "prompt_tokens_details")
    cache_read = reader.count(input_details, "cached_tokens")
    if cache_read is None:
        cache_read = reader.count(usage, "cache_read_input_tokens")
    cache_write = reader.count(usage, "cache_creation_input_tokens")
    if cache_write is None:
        cache_write = reader.count(input_details, "cache_creation_tokens")
    split = get(input_details, "cache_creation_token_details")
    return Usage(
        input_tokens=reader.count(usage, "prompt_tokens", required=True),
        output_tokens=reader.count(usage, "completion_tokens", required=api == CHAT),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_5m_tokens=reader.count(split, "ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=reader.count(split, "ephemeral_1h_input_tokens"),
        reasoning_tokens=reader.count(get(usage, "completion_tokens_details"), "reasoning_tokens"),
        invalid_fields=tuple(reader.invalid),
    )


class LiteLLMProvider:
    name = "litellm"
    raw_types: tuple[type, ...] = ()

    def __init__(self, config: Config, stream_types: tuple[type, ...] = (), async_stream_types: tuple[type, ...] = ()) -> None:
        from litellm import get_llm_provider

        self.config = config
        self.stream_types = stream_types
        self.async_stream_types = async_stream_types
        self._route = get_llm_provider
        self.async_variant = self
        """The provider the async functions use: its streams are proxied for `async for`."""

    def request(self, api: str, instance: Any, kwargs: dict[str, Any]) -> LLMRequest:
        model = kwargs.get("model")
        attributes: dict[str, Any] = {}
        routed, provider = self._routed(model, kwargs)
        request = LLMRequest(api, api, routed, attributes, kwargs)
        request.provider = provider
        if api == EMBEDDINGS:
            return request
        for key, attribute, kinds in _PARAMS:
            value = kwargs.get(key)
            if type(value) in kinds:
                attributes[attribute] = value
        stop = kwargs.get("stop")
        if isinstance(stop, str):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
        elif isinstance(stop, (list, tuple)):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(str(s) for s in stop)
        messages = kwargs.get("messages")
        fingerprint = prefix_hash(*_leading_contents(messages), kwargs.get("tools"))
        if fingerprint:
            attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.privacy_scan:
            findings_attributes(messages, attributes)
        if self.config.capture_content and isinstance(messages, (list, tuple)):
            attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(list(messages))
        request.stream = kwargs.get("stream") is True
        return request

    def _routed(self, model: Any, kwargs: dict[str, Any]) -> tuple[str | None, str]:
        """The model as sent and the provider LiteLLM routes it to, as LiteLLM itself decides."""
        if not isinstance(model, str):
            return None, self.name
        try:
            routed, provider, _key, api_base = self._route(
                model, custom_llm_provider=kwargs.get("custom_llm_provider"), api_base=kwargs.get("api_base")
            )
        except Exception:  # noqa: BLE001 - LiteLLM itself will raise its own error for this call
            return model, self.name
        api_base = kwargs.get("api_base") or api_base
        if provider in _OPENAI_COMPATIBLE and isinstance(api_base, str) and api_base:
            return routed, provider_of_url(api_base, server_of_url(api_base)[0] or "unknown")
        return routed, _PROVIDERS.get(provider, provider)

    def response(self, request: LLMRequest, result: Any) -> LLMResponse:
        response = LLMResponse(model=get(result, "model"), id=get(result, "id"), usage=_usage(get(result, "usage"), request.api))
        if request.api == CHAT:
            choices = get(result, "choices") or ()
            response.finish_reasons = tuple(r for c in choices if isinstance(r := get(c, "finish_reason"), str))
            response.tool_names = tuple(
                n for c in choices for call in get(get(c, "message"), "tool_calls") or ()
                if isinstance(n := get(get(call, "function"), "name"), str)
            )
            if self.config.capture_content:
                response.output_messages = content_json([get(c, "message") for c in choices])
        return response

    def stream_state(self, request: LLMRequest) -> CompletionStreamState:
        return CompletionStreamState(self, hide=False)


class CompletionStreamState(ChatStreamState):
    """LiteLLM's chunks are OpenAI-shaped whatever the provider, but have no `usage` attribute unless it is
    shown; the usage comes from the final chunk (see the module docstring)."""

    __slots__ = ()
    read_usage = staticmethod(_usage)

    def feed(self, chunk: Any) -> bool:
        usage = getattr(chunk, "usage", None)
        if usage is None:
            # LiteLLM puts a zero `UnreportedUsage` there when the provider reported none (read as unknown).
            hidden = getattr(chunk, "_hidden_params", None)
            usage = hidden.get("usage") if isinstance(hidden, dict) else None
        if usage is not None:
            self.usage = usage
        if self.id is None:
            self.id = chunk.id
            self.model = chunk.model
        for choice in chunk.choices:
            if choice.finish_reason:
                self.reasons[choice.index] = choice.finish_reason
            delta = choice.delta
            if delta is None:
                continue
            for call in delta.tool_calls or ():
                name = get(get(call, "function"), "name")
                if isinstance(name, str):
                    self.tools.append(name)
            if self.text is not None and delta.content:
                self.text.append(delta.content)
        return False


def _async_wrapper(telemetry: Telemetry, provider: LiteLLMProvider, api: str) -> Callable[..., Any]:
    """The same stream type iterates both ways: an `acompletion` stream is proxied for `async for`."""
    return async_wrapper(telemetry, provider.async_variant, api)


class LiteLLMInstrumentor(LibraryInstrumentor):
    library = "litellm"
    distribution = "litellm"
    min_version = (1, 50)
    targets = (
        Target("litellm", "completion", CHAT),
        Target("litellm", "acompletion", CHAT, factory=_async_wrapper),
        Target("litellm", "embedding", EMBEDDINGS),
        Target("litellm", "aembedding", EMBEDDINGS, factory=_async_wrapper),
    )

    def provider(self, config: Config) -> LiteLLMProvider:
        from litellm import CustomStreamWrapper

        provider = LiteLLMProvider(config, stream_types=(CustomStreamWrapper,))
        provider.async_variant = LiteLLMProvider(config, async_stream_types=(CustomStreamWrapper,))
        return provider
