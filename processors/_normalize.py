"""Span attributes, in any convention we know, to plain records.

Reads only names and values (a mapping, a span name, events), so it serves the in-process span
processor, the OTLP receiver and the offline report alike. Understands the current GenAI conventions
(which agentyield writes), their older names, and agentyield's own namespace.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from agentyield import _semconv as sc

from ._records import ArtifactRecord, LLMCallRecord, TaskRecord, ToolCallRecord

__all__ = [
    "Kind", "classify", "llm_call", "phase_of", "signal_kind", "task_record", "tool_call", "tool_name", "verification_passed", "window_artifact",
]

_LLM_OPERATIONS = frozenset({"chat", "text_completion", "generate_content", "embeddings"})
_TASK_OPERATIONS = frozenset({sc.OPERATION_INVOKE_AGENT, sc.OPERATION_INVOKE_WORKFLOW})

# Each usage figure with the names older conventions and other instrumentations use for it, newest first.
_INPUT = (sc.GEN_AI_USAGE_INPUT_TOKENS, "gen_ai.usage.prompt_tokens")
_OUTPUT = (sc.GEN_AI_USAGE_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens")
_CACHE_READ = (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, "gen_ai.usage.cache_read_input_tokens")
_CACHE_WRITE = (
    sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    "gen_ai.usage.cache_creation_input_tokens",
)
_CACHE_WRITE_1H = (sc.USAGE_CACHE_WRITE_1H, "anthropic.usage.cache_creation.ephemeral_1h_input_tokens")
_REASONING = (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, "gen_ai.usage.output_tokens.reasoning")


_MCP_TOOLS_CALL = "tools/call"


class Kind:
    LLM = "llm"
    TOOL = "tool"
    TASK = "task"
    ARTIFACT = "artifact"
    VERIFICATION = "verification"
    SIGNAL = "signal"
    OTHER = "other"


def classify(name: str, attributes: Mapping[str, Any]) -> str:
    """What a span is, from what it says at start (its name and start attributes)."""
    if sc.TASK_ID in attributes:
        return Kind.TASK
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    if operation in _LLM_OPERATIONS:
        return Kind.LLM
    if operation == sc.OPERATION_EXECUTE_TOOL or attributes.get(sc.MCP_METHOD_NAME) == _MCP_TOOLS_CALL:
        return Kind.TOOL
    if operation in _TASK_OPERATIONS:
        return Kind.TASK
    if name == sc.ARTIFACT_EVENT and sc.ARTIFACT_KIND in attributes:
        return Kind.ARTIFACT
    if name == sc.SIGNAL_EVENT and sc.SIGNAL_KIND in attributes:
        return Kind.SIGNAL
    if attributes.get(sc.PHASE) == sc.PHASE_VERIFICATION:
        return Kind.VERIFICATION
    return Kind.OTHER


def verification_passed(attributes: Mapping[str, Any]) -> bool | None:
    passed = attributes.get(sc.VERIFICATION_PASSED)
    return passed if isinstance(passed, bool) else None


def phase_of(attributes: Mapping[str, Any]) -> str | None:
    phase = attributes.get(sc.PHASE)
    return phase if isinstance(phase, str) else None


def _first(attributes: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value
    return None


def _count(attributes: Mapping[str, Any], names: tuple[str, ...], rejected: list[str] | None = None) -> int | None:
    """A count in [0, MAX_TOKEN_COUNT], else None; a value present but not such a count is named in `rejected`."""
    value = _first(attributes, names)
    if type(value) is int and 0 <= value <= sc.MAX_TOKEN_COUNT:
        return value
    if value is not None and rejected is not None:
        rejected.append(names[0])
    return None


def llm_call(attributes: Mapping[str, Any]) -> LLMCallRecord:
    provider = _first(attributes, (sc.GEN_AI_PROVIDER_NAME, "gen_ai.system"))
    request_model = attributes.get(sc.GEN_AI_REQUEST_MODEL)
    model = attributes.get(sc.GEN_AI_RESPONSE_MODEL) or request_model
    rejected: list[str] = []
    input_tokens = _count(attributes, _INPUT, rejected)
    output_tokens = _count(attributes, _OUTPUT, rejected)
    if attributes.get(sc.GEN_AI_OPERATION_NAME) == "embeddings" and output_tokens is None and input_tokens is not None:
        output_tokens = 0  # embeddings have no output tokens by definition
    return LLMCallRecord(
        provider=str(provider or "unknown"),
        model=str(model or "unknown"),
        request_model=str(request_model or model or "unknown"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=_count(attributes, _CACHE_READ, rejected),
        cache_write_tokens=_count(attributes, _CACHE_WRITE, rejected),
        cache_write_1h_tokens=_count(attributes, _CACHE_WRITE_1H, rejected),
        reasoning_tokens=_count(attributes, _REASONING, rejected) or 0,
        usage_missing=input_tokens is None or output_tokens is None or attributes.get(sc.USAGE_MISSING) is True,
        usage_invalid=bool(rejected) or bool(attributes.get(sc.USAGE_INVALID_FIELDS)),
        phase=phase_of(attributes),
        operation=str(attributes.get(sc.GEN_AI_OPERATION_NAME)),
        error_type=attributes.get(sc.ERROR_TYPE),
        privacy_findings=_count(attributes, (sc.PRIVACY_FINDINGS,)),
        agent=agent if isinstance(agent := attributes.get(sc.GEN_AI_AGENT_NAME), str) else None,
        recorded_cost=float(recorded) if type(recorded := attributes.get(sc.COST_USD)) in (int, float) and recorded >= 0 else None,
        recorded_unpriced=attributes.get(sc.PRICED) is False,
        tool_calls=_count(attributes, (sc.TOOL_CALLS_COUNT,)) or 0,
        prefix_hash=prefix if isinstance(prefix := attributes.get(sc.PROMPT_PREFIX_HASH), str) else None,
    )


def tool_name(span_name: str, attributes: Mapping[str, Any]) -> str:
    """`gen_ai.tool.name`, else the target an MCP client span names (`MCP send tools/call {name}`)."""
    name = attributes.get(sc.GEN_AI_TOOL_NAME)
    if name is None and attributes.get(sc.MCP_METHOD_NAME) == _MCP_TOOLS_CALL:
        _, _, name = span_name.partition(_MCP_TOOLS_CALL + " ")
    return str(name or "unknown")


def tool_call(span_name: str, attributes: Mapping[str, Any], is_error: bool) -> ToolCallRecord:
    arguments = attributes.get(sc.TOOL_ARGS_HASH)
    return ToolCallRecord(
        name=tool_name(span_name, attributes),
        error=is_error or sc.ERROR_TYPE in attributes,
        phase=phase_of(attributes),
        args_hash=arguments if isinstance(arguments, str) else None,
    )


def _artifact(attributes: Mapping[str, Any]) -> ArtifactRecord:
    accepted = attributes.get(sc.ARTIFACT_ACCEPTED)
    agent = attributes.get(sc.ARTIFACT_AGENT)
    return ArtifactRecord(
        kind=str(attributes.get(sc.ARTIFACT_KIND) or "unknown"),
        accepted=accepted if isinstance(accepted, bool) else None,
        agent=agent if isinstance(agent, str) else None,
    )


_ACCEPTED = {"true": True, "false": False}


def _task_artifacts(attributes: Mapping[str, Any], events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[ArtifactRecord]:
    """A task's artifacts: from the arrays agentyield writes at its end (complete whatever the span event limit),
    else from its artifact events (spans written by older versions or by hand)."""
    kinds, accepted = attributes.get(sc.TASK_ARTIFACT_KINDS), attributes.get(sc.TASK_ARTIFACT_ACCEPTED)
    if isinstance(kinds, (tuple, list)) and isinstance(accepted, (tuple, list)) and len(kinds) == len(accepted):
        return [ArtifactRecord(str(k), _ACCEPTED.get(a)) for k, a in zip(kinds, accepted)]
    return [_artifact(a) for n, a in events if n == sc.ARTIFACT_EVENT]


def task_record(attributes: Mapping[str, Any], events: Iterable[tuple[str, Mapping[str, Any]]], is_error: bool) -> TaskRecord:
    """A task at its end: its outcome (an error with no recorded outcome is a failure) and its artifacts."""
    outcome = attributes.get(sc.TASK_OUTCOME)
    if outcome not in ("success", "failure"):
        outcome = "failure" if is_error else None
    agent = attributes.get(sc.GEN_AI_AGENT_NAME)
    version = attributes.get(sc.GEN_AI_AGENT_VERSION)
    score = attributes.get(sc.TASK_SCORE)
    return TaskRecord(
        task_id=str(attributes.get(sc.TASK_ID) or ""),
        name=str(attributes.get(sc.TASK_NAME) or agent or "unknown"),
        agent=agent if isinstance(agent, str) else None,
        outcome=outcome,
        artifacts=_task_artifacts(attributes, events),
        version=str(version) if version is not None else None,
        score=float(score) if type(score) in (int, float) else None,
        artifacts_dropped=dropped if type(dropped := attributes.get(sc.TASK_ARTIFACTS_DROPPED)) is int and dropped > 0 else 0,
        rollout_group=str(group) if (group := attributes.get(sc.ROLLOUT_GROUP)) is not None else None,
        budget_usd=float(usd) if type(usd := attributes.get(sc.BUDGET_USD)) in (int, float) and usd > 0 else None,
        budget_tokens=tokens if type(tokens := attributes.get(sc.BUDGET_TOKENS)) is int and tokens > 0 else None,
        budget_enforced=attributes.get(sc.BUDGET_ON_EXCEED) == "raise",
    )


def signal_kind(attributes: Mapping[str, Any]) -> str:
    return str(attributes.get(sc.SIGNAL_KIND) or "unknown")


def window_artifact(attributes: Mapping[str, Any]) -> ArtifactRecord:
    return _artifact(attributes)
