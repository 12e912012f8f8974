"""Google Gen AI SDK (`google-genai`): `models.generate_content`, `generate_content_stream`, their `aio`
equivalents, and chats (which call them), on the Gemini API and on Vertex AI.

One span per request the SDK sends: the SDK's per-request methods are wrapped, not the public ones, because
one public call can send several requests (automatic function calling, automatic continuation), each
billed on its own usage.

Provider quirks live here and nowhere else: `prompt_token_count` includes cached tokens but not the
tool-use prompt (`tool_use_prompt_token_count`), which is billed as input too; `candidates_token_count`
excludes thoughts (`thoughts_token_count`), which are billed as output. The API omits zero counts, so an
absent count next to a reported prompt is 0. Streams repeat the usage so far in every chunk; the last wins.
The provider is `gcp.vertex_ai` for a client made with `vertexai=True`, else `gcp.gemini`.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from agentyield import _semconv as sc

from ._fingerprint import prefix_hash
from ._instrumentor import LibraryInstrumentor, Target
from ._privacy import findings_attributes
from ._records import LLMRequest, LLMResponse, Usage, UsageReader, content_json, get, server_of_url

if TYPE_CHECKING:
    from agentyield._config import Config

__all__ = ["GoogleGenAIInstrumentor"]

GENERATE = "generate_content"
GENERATE_STREAM = "generate_content_stream"
_PARAMS = (
    ("temperature", sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    ("top_p", sc.GEN_AI_REQUEST_TOP_P, (int, float)),
    ("top_k", sc.GEN_AI_REQUEST_TOP_K, (int, float)),
    ("max_output_tokens", sc.GEN_AI_REQUEST_MAX_TOKENS, (int,)),
    ("seed", sc.GEN_AI_REQUEST_SEED, (int,)),
    ("presence_penalty", sc.GEN_AI_REQUEST_PRESENCE_PENALTY, (int, float)),
    ("frequency_penalty", sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, (int, float)),
)


def _usage(metadata: Any) -> Usage | None:
    if metadata is None:
        return None
    reader = UsageReader()
    prompt = reader.count(metadata, "prompt_token_count", required=True)
    tool_prompt = reader.count(metadata, "tool_use_prompt_token_count")
    candidates = reader.count(metadata, "candidates_token_count")
    thoughts = reader.count(metadata, "thoughts_token_count")
    invalid = reader.invalid
    # Zero counts are omitted from the payload: an absent count in a reported usage means 0; a malformed one
    # makes its total unknown.
    input_tokens = None
    if prompt is not None and "tool_use_prompt_token_count" not in invalid:
        input_tokens = prompt + (tool_prompt or 0)
    output_tokens = None
    if "candidates_token_count" not in invalid and "thoughts_token_count" not in invalid:
        output_tokens = (candidates or 0) + (thoughts or 0)
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=reader.count(metadata, "cached_content_token_count"),
        reasoning_tokens=thoughts,
        invalid_fields=tuple(reader.invalid),
    )


def _model_name(model: Any) -> str | None:
    """`gemini-2.5-pro` from `models/...`, `publishers/google/models/...` or a full Vertex resource name."""
    if not isinstance(model, str):
        return None
    if model.startswith("models/") or "/models/" in model:
        return model.rsplit("models/", 1)[1]
    return model


def _messages(contents: Any) -> Any:
    """Contents in the shape the privacy scan reads: `model` turns are the assistant's, text is in `parts`."""
    if isinstance(contents, (list, tuple)):
        return [
            {"role": "assistant" if get(c, "role") == "model" else get(c, "role"), "content": get(c, "parts") or c}
            if not isinstance(c, str)
            else {"role": "user", "content": c}
            for c in contents
        ]
    return contents


def _reason(candidate: Any) -> str | None:
    reason = get(candidate, "finish_reason")
    reason = getattr(reason, "value", reason)
    return reason.lower() if isinstance(reason, str) else None


def _tools(candidates: Any) -> list[str]:
    names = []
    for candidate in candidates or ():
        for part in get(get(candidate, "content"), "parts") or ():
            name = get(get(part, "function_call"), "name")
            if isinstance(name, str):
                names.append(name)
    return names


class GoogleGenAIProvider:
    name = sc.PROVIDER_GCP_GEMINI
    stream_types: tuple[type, ...] = (types.GeneratorType,)
    async_stream_types: tuple[type, ...] = (types.AsyncGeneratorType,)
    raw_types: tuple[type, ...] = ()

    def __init__(self, config: Config) -> None:
        self.config = config

    def request(self, api: str, instance: Any, kwargs: dict[str, Any]) -> LLMRequest:
        client = instance._api_client
        attributes: dict[str, Any] = {}
        address, port = server_of_url(get(client._http_options, "base_url"))
        if address:
            attributes[sc.SERVER_ADDRESS] = address
            attributes[sc.SERVER_PORT] = port
        config = kwargs.get("config")
        for key, attribute, kinds in _PARAMS:
            value = get(config, key)
            if type(value) in kinds:
                attributes[attribute] = value
        stop = get(config, "stop_sequences")
        if isinstance(stop, (list, tuple)):
            attributes[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(str(s) for s in stop)
        count = get(config, "candidate_count")
        if type(count) is int and count != 1:
            attributes[sc.GEN_AI_REQUEST_CHOICE_COUNT] = count
        system = get(config, "system_instruction")
        contents = kwargs.get("contents")
        fingerprint = prefix_hash(system if isinstance(system, (str, list, dict)) else get(system, "parts"), get(config, "tools"))
        if fingerprint:
            attributes[sc.PROMPT_PREFIX_HASH] = fingerprint
        if self.config.privacy_scan:
            findings_attributes(_messages(contents), attributes)
        if self.config.capture_content:
            if system is not None:
                attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = system if isinstance(system, str) else content_json(system)
            if contents is not None:
                attributes[sc.GEN_AI_INPUT_MESSAGES] = content_json(contents)
        request = LLMRequest(api, "generate_content", _model_name(kwargs.get("model")), attributes, kwargs)
        request.stream = api == GENERATE_STREAM
        request.provider = sc.PROVIDER_GCP_VERTEX_AI if client.vertexai else sc.PROVIDER_GCP_GEMINI
        return request

    def response(self, request: LLMRequest, result: Any) -> LLMResponse:
        candidates = get(result, "candidates") or ()
        reasons = [_reason(c) for c in candidates]
        return LLMResponse(
            model=get(result, "model_version"),
            id=get(result, "response_id"),
            finish_reasons=tuple(r for r in reasons if r),
            usage=_usage(get(result, "usage_metadata")),
            tool_names=tuple(_tools(candidates)),
            output_messages=content_json([get(c, "content") for c in candidates]) if self.config.capture_content else None,
        )

    def stream_state(self, request: LLMRequest) -> GenerateStreamState:
        return GenerateStreamState(self.config.capture_content)


class GenerateStreamState:
    """Every chunk is a partial response: usage so far (the last wins), ids, finish reasons, function calls."""

    __slots__ = ("usage", "id", "model", "reasons", "tools", "text")

    def __init__(self, capture_content: bool) -> None:
        self.usage: Any = None
        self.id: str | None = None
        self.model: str | None = None
        self.reasons: list[str] = []
        self.tools: list[str] = []
        self.text: list[str] | None = [] if capture_content else None

    def feed(self, chunk: Any) -> bool:
        usage = chunk.usage_metadata
        if usage is not None:
            self.usage = usage
        if self.id is None:
            self.id = chunk.response_id
            self.model = chunk.model_version
        candidates = chunk.candidates
        if candidates:
            for candidate in candidates:
                reason = _reason(candidate)
                if reason:
                    self.reasons.append(reason)
                if self.text is not None:
                    for part in get(get(candidate, "content"), "parts") or ():
                        if isinstance(get(part, "text"), str):
                            self.text.append(part.text)
            self.tools.extend(_tools(candidates))
        return False

    def response(self) -> LLMResponse | None:
        if self.id is None and self.usage is None:
            return None
        return LLMResponse(
            model=self.model,
            id=self.id,
            finish_reasons=tuple(self.reasons),
            usage=_usage(self.usage),
            tool_names=tuple(self.tools),
            output_messages=(
                content_json([{"role": "model", "parts": [{"text": "".join(self.text)}]}]) if self.text is not None else None
            ),
        )


class GoogleGenAIInstrumentor(LibraryInstrumentor):
    library = "google.genai"
    distribution = "google-genai"
    min_version = (1,)
    targets = (
        Target("google.genai.models", "Models._generate_content", GENERATE),
        Target("google.genai.models", "Models._generate_content_stream", GENERATE_STREAM),
        Target("google.genai.models", "AsyncModels._generate_content", GENERATE, is_async=True),
        Target("google.genai.models", "AsyncModels._generate_content_stream", GENERATE_STREAM, is_async=True),
    )

    def provider(self, config: Config) -> GoogleGenAIProvider:
        return GoogleGenAIProvider(config)
