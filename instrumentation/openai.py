"""OpenAI: chat completions, Responses (GA and beta) and embeddings, sync and async.

Provider quirks live here and nowhere else: `prompt_tokens` and the Responses `input_tokens` already
include cached tokens (as the conventions want); `completion_tokens` includes reasoning. Chat streams
report usage only when asked (`stream_options.include_usage`): by default agentyield asks when the
caller did not and swallows the extra usage-only chunk, so the caller sees exactly the stream it asked for.

The provider is the endpoint's, not the SDK's: the same client talks to every OpenAI-compatible server,
so `gen_ai.provider.name` follows the client (AzureOpenAI is `azure.ai.openai`) and its base URL, matched
against genai-prices' provider API URLs (DeepSeek, Groq, Mistral, xAI, OpenRouter, ...); a server nobody
knows (a local vLLM, Ollama, LM Studio) is named by its host and priced only by a price file.

Counted once whichever path a call takes: `chat.completions.stream()` and `responses.stream()` go through
`create`, `parse()` posts by itself, and `with_raw_response` / `with_streaming_response` call the same
wrapped `create`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentyield import _semconv as sc

from ._fingerprint import prefix_hash
from ._instrumentor import LibraryInstrumentor, Target
from ._privacy import findings_attributes
from ._records import FieldReader, LLMRequest, LLMResponse, Usage, UsageReader, content_json, endpoint_of, get

if TYPE_CHECKING:
    from agentyield._config import Config

__all__ = ["OpenAIInstrumentor"]

CHAT = "chat"
RESPONSES = "responses"
EMBEDDINGS = "embeddings"
_OPERATION_NAME = {CHAT: "chat", RESPONSES: "chat", EMBEDDINGS: "embeddings"}
_RESPONSES_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_LEADING_ROLES = frozenset({"system", "developer"})

_PARAMS = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("seed", sc.GEN_AI_REQUEST_SEED),
)


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _usage(usage: Any, operation: str) -> Usage | None:
    if usage is None:
        return None
    reader = UsageReader()
    if operation == RESPONSES:
        input_tokens = reader.count(usage, "input_tokens", required=True)
        output_tokens = reader.count(usage, "output_tokens", required=True)
        input_details = get(usage, "input_tokens_details")
        output_details = get(usage, "output_tokens_details")
    else:
        input_tokens = reader.count(usage, "prompt_tokens", required=True)
        output_tokens = reader.count(usage, "completion_tokens", required=operation == CHAT)
        input_details = get(usage, "prompt_tokens_details")
        output_details = get(usage, "completion_tokens_details")
    cache_read = reader.count(input_details, "cached_tokens")
    if cache_read is None and input_details is None:
        cache_read = reader.count(usage, "prompt_cache_hit_tokens")  # DeepSeek's own name, alone in older replies
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=reader.count(input_details, "cache_write_tokens"),
        reasoning_tokens=reader.count(output_details, "reasoning_tokens"),
        invalid_fields=tuple(reader.invalid),
    )


def _leading_contents(messages: Any) -> list[Any]:
    """The contents of the leading system/developer messages: the stable, cacheable part of the prompt."""
    leading: list[Any] = []
    if isinstance(messages, (list, tuple)):
        for message in messages:
            if get(message, "role") not in _LEADING_ROLES:
                break
            leading.append(get(message, "content"))
    return leading


class OpenAIProvider:
    name = "openai"

    def __init__(self, config: Config) -> None:
        from openai import AsyncAzureOpenAI, AsyncStream, AzureOpenAI, Stream

        from openai._legacy_response import LegacyAPIResponse
        from openai._response import APIResponse, AsyncAPIResponse

        self.config = config
        self.stream_types = (Stream,)
        self.async_stream_types = (AsyncStream,)
        self.raw_types = (LegacyAPIResponse, APIResponse, AsyncAPIResponse)
        self.azure_types = (AzureOpenAI, AsyncAzureOpenAI)

    def request(self, operation: str, instance: Any, kwargs: dict[str, Any]) -> LLMRequest:
        model = kwargs.get("model")
        attributes: dict[str, Any] = {}
        endpoint = endpoint_of(instance)
        if endpoint.address:
            attributes[sc.SERVER_ADDRESS] = endpoint.address
            attributes[sc.SERVER_PORT] = endpoint.port
        request = LLMRequest(
            operation, _OPERATION_NAME[operation], model if isinstance(model, str) else None, attributes, kwargs
        )
        # The same SDK talks to every OpenAI-compatible server: the endpoint says whose model this is.
        request.provider = sc.PROVIDER_AZURE_OPENAI if isinstance(instance._client, self.azure_types) else endpoint.provider()
        if operation == EMBEDDINGS:
            encoding = kwargs.get("encoding_format")
            if isinstance(encoding, str):
                attributes[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = (encoding,)
            return request
        for key, attribute in _PARAMS:
            value = kwargs.get(key)
            if _number(value):
                attributes[attribute] = value
        max_tokens = kwargs.get("max_output_tokens" if operation == RESPONSES else "max_completion_tokens")
        if type(max_tokens) is not int:
            max_tokens = kwargs.get("max_tokens")
        if type(max_tokens) is int:
            attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
        stop = kwargs.get("stop")
        if isinstance(stop, str):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = (stop,)
        elif isinstance(stop, (list, tuple)):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(str(s) for s in stop)
        n = kwargs.get("n")
        if type(n) is int and n != 1:
            attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT] = n
        request.stream = kwargs.get("stream") is True
        if operation == RESPONSES:
            self._responses_request(request, kwargs)
        else:
            self._chat_request(request, kwargs)
        return request

    def _chat_request(self, request: LLMRequest, kwargs: dict[str, Any]) -> None:
        messages = kwargs.get("messages")
        fingerprint = prefix_hash(*_leading_contents(messages), kwargs.get("tools"))
        if self.config.privacy_scan:
            findings_attributes(messages, request.attributes)
        if fingerprint:
            request.attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.capture_content and isinstance(messages, (list, tuple)):
            request.attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(list(messages))
        if request.stream and self.config.request_stream_usage:
            options = kwargs.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage")):
                options = dict(options) if isinstance(options, dict) else {}
                options["include_usage"] = True
                request.kwargs = {**kwargs, "stream_options": options}
                request.hide_usage_chunk = True

    def _responses_request(self, request: LLMRequest, kwargs: dict[str, Any]) -> None:
        conversation = kwargs.get("conversation")
        conversation_id = conversation if isinstance(conversation, str) else get(conversation, "id")
        if isinstance(conversation_id, str):
            request.attributes[sc.GEN_AI_CONVERSATION_ID] = conversation_id
        instructions = kwargs.get("instructions")
        items = kwargs.get("input")
        if self.config.privacy_scan:
            findings_attributes(items, request.attributes)
        fingerprint = prefix_hash(instructions if isinstance(instructions, str) else None, *_leading_contents(items), kwargs.get("tools"))
        if fingerprint:
            request.attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.capture_content:
            if isinstance(instructions, str):
                request.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = instructions
            if items is not None:
                request.attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(items)

    def response(self, request: LLMRequest, result: Any) -> LLMResponse:
        """Each field read on its own (`FieldReader`): a malformed `choices` still leaves the usage."""
        operation = request.api
        if operation == RESPONSES:
            return self._responses_response(result, FieldReader())
        fields = FieldReader()
        response = LLMResponse(
            model=fields.text(result, "model"), id=fields.text(result, "id"), usage=_usage(get(result, "usage"), operation)
        )
        if operation == CHAT:
            reasons: list[str] = []
            tools: list[str] = []
            choices = fields.items(result, "choices")
            for choice in choices:
                reason = fields.text(choice, "finish_reason", "choices.finish_reason")
                if reason is not None:
                    reasons.append(reason)
                for call in fields.items(get(choice, "message"), "tool_calls", "choices.message.tool_calls"):
                    name = get(get(call, "function"), "name") or get(get(call, "custom"), "name")
                    if isinstance(name, str):
                        tools.append(name)
                    elif name is not None:
                        fields.skip("choices.message.tool_calls.name")
            response.finish_reasons = tuple(reasons)
            response.tool_names = tuple(tools)
            if self.config.capture_content:
                response.output_messages = content_json([get(choice, "message") for choice in choices])
        response.unreadable_fields = tuple(fields.unreadable)
        return response

    def _responses_response(self, result: Any, fields: FieldReader) -> LLMResponse:
        status = fields.text(result, "status")
        if status == "incomplete":
            status = fields.text(get(result, "incomplete_details"), "reason", "incomplete_details.reason")
        tools: list[str] = []
        output = fields.items(result, "output")
        for item in output:
            kind = fields.text(item, "type", "output.type")
            if kind in ("function_call", "custom_tool_call", "mcp_call"):
                name = fields.text(item, "name", "output.name")
            elif kind is not None and kind.endswith("_call"):
                name = kind[: -len("_call")]
            else:
                continue
            if name is not None:
                tools.append(name)
        return LLMResponse(
            model=fields.text(result, "model"),
            id=fields.text(result, "id"),
            finish_reasons=(status,) if status is not None else (),
            usage=_usage(get(result, "usage"), RESPONSES),
            tool_names=tuple(tools),
            output_messages=content_json(list(output)) if self.config.capture_content else None,
            unreadable_fields=tuple(fields.unreadable),
        )

    def stream_state(self, request: LLMRequest) -> ChatStreamState | ResponsesStreamState:
        if request.api == RESPONSES:
            return ResponsesStreamState(self)
        return ChatStreamState(self, request.hide_usage_chunk)


class ChatStreamState:
    """Reads chat chunks: usage from the final chunk, ids from the first, finish reasons and tool names.

    The SDK hands on a `data:` line that is not a chunk as it is (a list, say): a chunk or choice whose
    attributes are missing, or a field of the wrong type, is skipped and named, never an error. This runs once
    per chunk, and an SDK model's attribute read is slow (pydantic's `__getattr__` keeps the interpreter from
    specializing it): a chunk that only carries text is recognized with the fewest reads, plain reads under a
    `try` (free when nothing raises), and only the other chunks (finish reasons, tool calls, text captured, or
    anything malformed) are read field by field, with every check.
    """

    __slots__ = ("provider", "hide", "usage", "id", "model", "reasons", "tools", "text", "fields")
    read_usage = staticmethod(_usage)
    """How the final usage object reads (LiteLLM's OpenAI-shaped chunks reuse this state with their own)."""

    def __init__(self, provider: Any, hide: bool) -> None:
        self.provider = provider
        self.hide = hide
        self.usage: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.reasons: dict[int, str] = {}
        self.tools: list[str] = []
        self.text: list[str] | None = [] if provider.config.capture_content else None
        self.fields = FieldReader()

    def feed(self, chunk: Any) -> bool:
        try:
            choices = chunk.choices
            usage = chunk.usage
        except AttributeError:  # not a chunk: the SDK hands a `data:` line that is not an object on as it is
            self.fields.skip("chunk")
            return False
        if usage is not None:
            self.usage = usage
            if self.hide and not choices:
                return True  # decided first, so a later reading error cannot show the caller this chunk
        if self.id is None:
            self.id = self.fields.text(chunk, "id")
            self.model = self.fields.text(chunk, "model")
        if self.text is None and choices:
            try:  # the fast path: nothing to read in a text-only chunk
                for choice in choices:
                    if choice.finish_reason is not None or choice.delta.tool_calls:
                        break
                else:
                    return False
            except (AttributeError, TypeError):  # read again below, field by field
                pass
        self._choices(choices)
        return False

    def _choices(self, choices: Any) -> None:
        if type(choices) is not list:
            self.fields.skip("choices")
            return
        for choice in choices:
            try:
                reason = choice.finish_reason
                delta = choice.delta
                calls = delta.tool_calls if delta is not None else None
            except AttributeError:
                self.fields.skip("choices")
                continue
            if reason:
                self._finish_reason(reason, getattr(choice, "index", None))
            if calls:
                self._tool_calls(calls)
            if self.text is not None and delta is not None:
                content = getattr(delta, "content", None)
                if isinstance(content, str):
                    self.text.append(content)
                elif content is not None:
                    self.fields.skip("choices.delta.content")

    def _finish_reason(self, reason: Any, index: Any) -> None:
        if isinstance(reason, str) and type(index) is int:
            self.reasons[index] = reason
        else:
            self.fields.skip("choices.finish_reason")

    def _tool_calls(self, calls: Any) -> None:
        if type(calls) is not list:
            self.fields.skip("choices.delta.tool_calls")
            return
        for call in calls:
            name = getattr(getattr(call, "function", None), "name", None)
            if name and isinstance(name, str):
                self.tools.append(name)

    def response(self) -> LLMResponse | None:
        if self.id is None and self.usage is None and not self.fields.unreadable:
            return None
        return LLMResponse(
            model=self.model,
            id=self.id,
            finish_reasons=tuple(self.reasons[i] for i in sorted(self.reasons)),
            usage=self.read_usage(self.usage, CHAT),
            tool_names=tuple(self.tools),
            output_messages=(
                content_json([{"role": "assistant", "content": "".join(self.text)}]) if self.text is not None else None
            ),
            unreadable_fields=tuple(self.fields.unreadable),
        )


class ResponsesStreamState:
    """Reads Responses events: everything comes at once in the terminal `response.*` event."""

    __slots__ = ("provider", "final", "created", "fields")

    def __init__(self, provider: OpenAIProvider) -> None:
        self.provider = provider
        self.final: Any = None
        self.created: Any = None
        self.fields = FieldReader()

    def feed(self, event: Any) -> bool:
        kind = getattr(event, "type", None)  # not `event.type`: a `data:` line that is not an object comes as is
        if not isinstance(kind, str):
            self.fields.skip("event")
        elif kind in _RESPONSES_TERMINAL:
            self.final = getattr(event, "response", None)
        elif kind == "response.created":
            self.created = getattr(event, "response", None)
        return False

    def response(self) -> LLMResponse | None:
        fields = self.fields
        if self.final is not None:
            return self.provider._responses_response(self.final, fields)
        if self.created is not None:
            return LLMResponse(
                model=fields.text(self.created, "model"), id=fields.text(self.created, "id"), unreadable_fields=tuple(fields.unreadable)
            )
        return LLMResponse(unreadable_fields=tuple(fields.unreadable)) if fields.unreadable else None


class OpenAIInstrumentor(LibraryInstrumentor):
    library = "openai"
    distribution = "openai"
    min_version = (2,)
    targets = (
        Target("openai.resources.chat.completions.completions", "Completions.create", CHAT),
        Target("openai.resources.chat.completions.completions", "Completions.parse", CHAT),
        Target("openai.resources.chat.completions.completions", "AsyncCompletions.create", CHAT, is_async=True),
        Target("openai.resources.chat.completions.completions", "AsyncCompletions.parse", CHAT, is_async=True),
        Target("openai.resources.responses.responses", "Responses.create", RESPONSES),
        Target("openai.resources.responses.responses", "Responses.parse", RESPONSES),
        Target("openai.resources.responses.responses", "AsyncResponses.create", RESPONSES, is_async=True),
        Target("openai.resources.responses.responses", "AsyncResponses.parse", RESPONSES, is_async=True),
        Target("openai.resources.beta.responses.responses", "Responses.create", RESPONSES),
        Target("openai.resources.beta.responses.responses", "AsyncResponses.create", RESPONSES, is_async=True),
        Target("openai.resources.embeddings", "Embeddings.create", EMBEDDINGS),
        Target("openai.resources.embeddings", "AsyncEmbeddings.create", EMBEDDINGS, is_async=True),
    )

    def provider(self, config: Config) -> OpenAIProvider:
        return OpenAIProvider(config)
