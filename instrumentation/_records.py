"""What one LLM call asked for and what it got back, as plain records.

Provider modules fill these from SDK objects; `_invocation` turns them into span attributes. They hold
no OpenTelemetry objects, so a provider module can be tested without a tracer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentyield import _semconv as sc
from agentyield._semconv import MAX_TOKEN_COUNT

__all__ = [
    "Endpoint", "FieldReader", "LLMRequest", "LLMResponse", "Usage", "UsageReader", "content_json", "endpoint_of", "get",
    "provider_of_url", "server_of", "server_of_url",
]


def content_json(value: Any) -> str:
    """Prompt or completion content as JSON, for opt-in content capture only (SDK models dumped as JSON)."""

    def default(obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)
        return dump(mode="json", exclude_none=True) if dump is not None else repr(obj)

    return json.dumps(value, default=default, ensure_ascii=False)


def get(obj: Any, name: str) -> Any:
    """A field of an SDK model or of the plain dict a raw payload decodes to; None when absent (and of None).
    The readers below repeat this one line rather than call it: it runs a dozen times per call."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class Endpoint:
    """The API URL an SDK client points at: `server.address`, `server.port`, and which provider serves it."""

    __slots__ = ("url", "address", "port", "_provider")

    def __init__(self, url: Any) -> None:
        self.url = url
        self.address: str | None = url.host
        self.port: int = url.port or (443 if url.scheme == "https" else 80)
        self._provider: str | None = None

    def provider(self) -> str:
        """The provider genai-prices knows by this API URL (its conventions name), else the host: an endpoint
        nobody knows (a local server) is itself, never the provider whose SDK called it. Resolved once."""
        if self._provider is None:
            self._provider = provider_of_url(str(self.url), self.address or "unknown")
        return self._provider


def provider_of_url(url: str, host: str) -> str:
    if host == "api.openai.com":
        return "openai"  # the common case, without loading the price data
    from genai_prices import data_snapshot

    try:
        found = data_snapshot.get_snapshot().find_provider(None, None, url)
    except LookupError:
        return host
    return sc.PROVIDER_NAMES.get(found.id, found.id)


_endpoints: dict[int, Endpoint] = {}


def endpoint_of(instance: Any) -> Endpoint:
    """The endpoint of an SDK resource's client, parsed once per base URL object."""
    client = instance._client
    # The attribute the `base_url` property returns in the httpx-based SDKs: read directly, because the openai
    # SDK's property runs an import statement on every read (a few µs per call, more than the rest of this).
    url = getattr(client, "_base_url", None)
    if url is None:
        url = client.base_url
    endpoint = _endpoints.get(id(url))
    if endpoint is None or endpoint.url is not url:
        if len(_endpoints) >= 64:
            _endpoints.clear()
        endpoint = _endpoints[id(url)] = Endpoint(url)
    return endpoint


def server_of(instance: Any) -> tuple[str | None, int]:
    """`server.address` and `server.port` of an SDK resource's client base URL."""
    endpoint = endpoint_of(instance)
    return endpoint.address, endpoint.port


_url_servers: dict[str, tuple[str | None, int]] = {}


def server_of_url(url: Any) -> tuple[str | None, int]:
    """`server.address` and `server.port` of a URL string (SDKs not built on httpx), parsed once per URL."""
    if not isinstance(url, str):
        return None, 0
    server = _url_servers.get(url)
    if server is None:
        if len(_url_servers) >= 64:
            _url_servers.clear()
        parts = urlsplit(url)
        server = _url_servers[url] = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    return server


@dataclass(slots=True)
class Usage:
    """Token counts normalized to the GenAI conventions. None means the provider did not report it.

    `input_tokens` includes cache reads and cache writes for every provider; `output_tokens` includes reasoning.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_5m_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    reasoning_tokens: int | None = None
    invalid_fields: tuple[str, ...] = ()
    """Payload fields that are required but absent, or whose value cannot be a token count (wrong type, negative,
    above `MAX_TOKEN_COUNT`)."""


class UsageReader:
    """Reads token counts out of a usage payload, remembering which fields were malformed."""

    __slots__ = ("invalid",)

    def __init__(self) -> None:
        self.invalid: list[str] = []

    def count(self, obj: Any, name: str, *, required: bool = False) -> int | None:
        """The count in `obj.name`; a required count that is absent is reported like a malformed one."""
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if type(value) is int and 0 <= value <= MAX_TOKEN_COUNT:
            return value
        if value is not None or required:
            self.invalid.append(name)
        return None

    def exclusive_input(self, obj: Any, uncached: str, cache_read: str, cache_write: str) -> tuple[int | None, int | None, int | None]:
        """(input including cache reads and writes, cache reads, cache writes) for a provider whose input count
        excludes the cache (Anthropic, Bedrock). A malformed cache count makes the total unknown: it is left
        out rather than reported short."""
        base = self.count(obj, uncached, required=True)
        read, write = self.count(obj, cache_read), self.count(obj, cache_write)
        if base is None or cache_read in self.invalid or cache_write in self.invalid:
            return None, read, write
        return sc.input_with_cache(base, read, write), read, write


class FieldReader:
    """Reads the fields of a response other than usage, each on its own.

    The SDKs build response objects without validating them, so any field can hold any JSON value. A field of
    an unexpected shape is skipped and its path kept (`agentyield.response.unreadable_fields`): it costs the
    call that field only, never its usage, and it is the provider's fault, not an internal error.
    """

    __slots__ = ("unreadable",)

    def __init__(self) -> None:
        self.unreadable: list[str] = []

    def skip(self, path: str) -> None:
        if path not in self.unreadable:
            self.unreadable.append(path)

    def items(self, obj: Any, name: str, path: str | None = None) -> list[Any] | tuple[Any, ...]:
        """The list in `obj.name`; () when absent or not a list."""
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if isinstance(value, (list, tuple)):
            return value
        if value is not None:
            self.skip(path or name)
        return ()

    def text(self, obj: Any, name: str, path: str | None = None) -> str | None:
        """The string in `obj.name`; None when absent or not a string."""
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is None or isinstance(value, str):
            return value
        self.skip(path or name)
        return None


@dataclass(slots=True)
class LLMRequest:
    """What the caller asked for; `kwargs` is what the wrapped method is actually called with."""

    api: str
    """Which SDK method family was called (provider-specific: `chat`, `responses`, `messages`, ...)."""
    operation: str
    """`gen_ai.operation.name`."""
    model: str | None
    attributes: dict[str, Any]
    kwargs: dict[str, Any]
    stream: bool = False
    hide_usage_chunk: bool = False
    """agentyield asked for stream usage the caller did not, so the usage-only chunk is ours to swallow."""
    provider: str | None = None
    """`gen_ai.provider.name` when the call decides it (the endpoint a client points at, where LiteLLM routed);
    None: the provider module's own name."""


@dataclass(slots=True)
class LLMResponse:
    model: str | None = None
    id: str | None = None
    finish_reasons: tuple[str, ...] = ()
    usage: Usage | None = None
    tool_names: tuple[str, ...] = ()
    output_messages: str | None = None
    """JSON of the output messages, only when content capture is on."""
    unreadable_fields: tuple[str, ...] = ()
    """Response fields skipped for their shape (see `FieldReader`)."""
