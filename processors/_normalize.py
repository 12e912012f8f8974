"""Span attributes, in any convention we know, to plain records.

Reads only names and values (a mapping, a span name, events), so it serves the in-process span
processor, the OTLP receiver and the offline report alike. Which attribute means what, in every
convention it understands, is data in `_conventions` (docs/interop.md says it in words).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from agentyield import _semconv as sc

from ._conventions import (
    ANY, EXCLUSIVE_INPUT, FIGURES, KIND_MARKERS, KIND_RULES, LLM_HINTS, OPERATION_ALIASES, READ_KEYS, READ_PREFIXES, TASK_NAME_KEYS,
    TOOL_NAME_KEYS,
)
from ._records import ArtifactRecord, LLMCallRecord, TaskRecord, ToolCallRecord

__all__ = [
    "READ_KEYS", "READ_PREFIXES", "Kind", "classify", "has_usage", "is_known_step", "llm_call", "looks_like_llm", "phase_of", "response_id", "signal_kind",
    "task_record", "tool_call", "tool_name", "verification_passed", "window_artifact",
]


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
    """What a span is, from what it says at start (its name and start attributes): the first matching
    row of the conventions table."""
    for key, values, kind in KIND_RULES:
        value = attributes.get(key)
        if value is not None and (values is ANY or value in values):
            return kind
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


def looks_like_llm(attributes: Mapping[str, Any]) -> bool:
    """Whether a span no kind rule matched carries what only LLM calls carry, with no marker of a convention
    we know (a known step, such as an OpenInference CHAIN, is not unrecognized): a source we cannot read."""
    return any(key.startswith(LLM_HINTS) for key in attributes) and not is_known_step(attributes)


def is_known_step(attributes: Mapping[str, Any]) -> bool:
    """A span of a convention we know that is neither call nor task (an OpenInference CHAIN, say)."""
    return any(key in attributes for key in KIND_MARKERS)


def has_usage(attributes: Mapping[str, Any]) -> bool:
    """Whether a span carries token usage (a task span's roll-up of its calls, say)."""
    return _count(attributes, FIGURES["input"]) is not None or _count(attributes, FIGURES["output"]) is not None


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
    """A count in [0, MAX_TOKEN_COUNT], else None; a value present but not such a count is named in `rejected`.
    (`_first` inlined here and in `_text`: they run a dozen times per LLM span, on serve's hot path.)"""
    for name in names:
        value = attributes.get(name)
        if value is not None:
            if type(value) is int and 0 <= value <= sc.MAX_TOKEN_COUNT:
                return value
            if rejected is not None:
                rejected.append(names[0])
            return None
    return None


def _text(attributes: Mapping[str, Any], figure: str) -> str | None:
    return _text_of(attributes, FIGURES[figure])


def _text_of(attributes: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            return value if isinstance(value, str) and value else None
    return None


def response_id(attributes: Mapping[str, Any]) -> str | None:
    """The provider's id of the response: two spans with the same one in a trace are one call."""
    return _text(attributes, "response_id")


# The figures of an LLM call, read once per LLM span (the hot path of every entry point): each row's names
# bound once here rather than looked up in the table per call.
_REQUEST_MODEL, _RESPONSE_MODEL, _PROVIDER, _AGENT = (FIGURES[f] for f in ("request_model", "response_model", "provider", "agent"))
_INPUT, _OUTPUT, _OPERATION = FIGURES["input"], FIGURES["output"], FIGURES["operation"]
_CACHE_READ, _CACHE_WRITE, _CACHE_WRITE_1H, _REASONING = (FIGURES[f] for f in ("cache_read", "cache_write", "cache_write_1h", "reasoning"))
_PRIVACY, _TOOL_CALLS = (sc.PRIVACY_FINDINGS,), (sc.TOOL_CALLS_COUNT,)


UNKNOWN_PROVIDER = "unknown"


def provider_of(attributes: Mapping[str, Any]) -> str:
    """An LLM call's provider from whichever convention wrote it, lower case, else `UNKNOWN_PROVIDER`."""
    provider = _text_of(attributes, _PROVIDER)
    return provider.lower() if provider else UNKNOWN_PROVIDER  # OpenInference capitalises some


def llm_call(attributes: Mapping[str, Any]) -> LLMCallRecord:
    """An LLM call's figures from whichever convention wrote them; a figure none wrote stays None."""
    request_model = _text_of(attributes, _REQUEST_MODEL)
    model = _text_of(attributes, _RESPONSE_MODEL) or request_model
    rejected: list[str] = []
    input_tokens = _count(attributes, _INPUT, rejected)
    output_tokens = _count(attributes, _OUTPUT, rejected)
    operation = _first(attributes, _OPERATION)
    operation = OPERATION_ALIASES.get(operation, operation) if isinstance(operation, str) else "chat"
    if operation == "embeddings" and output_tokens is None and input_tokens is not None:
        output_tokens = 0  # embeddings have no output tokens by definition
    provider = provider_of(attributes)
    cache_read = _count(attributes, _CACHE_READ, rejected)
    cache_write = _count(attributes, _CACHE_WRITE, rejected)
    for source in EXCLUSIVE_INPUT:
        if attributes.get(source.marker[0]) == source.marker[1] and provider in source.providers:
            if source.zero_cache_unknown_if is not None and attributes.get(source.zero_cache_unknown_if) is True:
                cache_read, cache_write = cache_read or None, cache_write or None
            if input_tokens is not None:  # a malformed cache count leaves the total unknown, not short
                cut = any(name in rejected for name in (_CACHE_READ[0], _CACHE_WRITE[0]))
                input_tokens = None if cut else sc.input_with_cache(input_tokens, cache_read, cache_write)
            break
    cache_write_1h = _count(attributes, _CACHE_WRITE_1H, rejected)
    reasoning = _count(attributes, _REASONING, rejected) or 0
    recorded = attributes.get(sc.COST_USD)
    prefix = attributes.get(sc.PROMPT_PREFIX_HASH)
    request = attributes.get(sc.REQUEST_HASH)
    # Positional, in the record's field order: a class called with keywords costs about 3x as much (CPython
    # passes them through a dict), and this runs once per LLM span.
    return LLMCallRecord(
        provider,
        model or "unknown",  # model
        request_model or model or "unknown",  # request_model
        input_tokens,
        output_tokens,
        cache_read,  # cache_read_tokens
        cache_write,  # cache_write_tokens
        cache_write_1h,  # cache_write_1h_tokens
        reasoning,  # reasoning_tokens
        input_tokens is None or output_tokens is None or attributes.get(sc.USAGE_MISSING) is True,  # usage_missing
        bool(rejected) or bool(attributes.get(sc.USAGE_INVALID_FIELDS)),  # usage_invalid
        phase_of(attributes),  # phase
        operation,
        attributes.get(sc.ERROR_TYPE),  # error_type
        None,  # duration_s: the entry point's
        _count(attributes, _PRIVACY),  # privacy_findings
        _text_of(attributes, _AGENT),  # agent
        None,  # time_s: the entry point's
        float(recorded) if type(recorded) in (int, float) and recorded >= 0 else None,  # recorded_cost
        attributes.get(sc.PRICED) is False,  # recorded_unpriced
        prefix if isinstance(prefix, str) else None,  # prefix_hash
        request if isinstance(request, str) else None,  # request_hash
        _count(attributes, _TOOL_CALLS) or 0,  # tool_calls
    )


def tool_name(span_name: str, attributes: Mapping[str, Any]) -> str:
    """The tool's name in any convention, else the target an MCP client span names (`MCP send tools/call {name}`)."""
    name = _first(attributes, TOOL_NAME_KEYS)
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
        error_type=_error_type(attributes, is_error),
        tool_type=tool_type if isinstance(tool_type := attributes.get(sc.GEN_AI_TOOL_TYPE), str) else None,
    )


def _error_type(attributes: Mapping[str, Any], is_error: bool) -> str | None:
    """`error.type` as written, else the conventions' fallback `_OTHER` for a span that ended in error."""
    error = attributes.get(sc.ERROR_TYPE)
    return str(error) if error is not None else ("_OTHER" if is_error else None)


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


def task_record(
    attributes: Mapping[str, Any], events: Iterable[tuple[str, Mapping[str, Any]]], is_error: bool, span_id: int = 0
) -> TaskRecord:
    """A task at its end: its outcome (an error with no recorded outcome is a failure) and its artifacts.

    A peer's agent span (invoke_agent, AGENT, workflow) is a task of the agent it names, identified by the id
    its source gives the invocation (written at its start, so start and end agree), else by its span id; its
    outcome is unknown unless it failed."""
    outcome = attributes.get(sc.TASK_OUTCOME)
    if outcome not in ("success", "failure"):
        outcome = "failure" if is_error else None
    agent = _text(attributes, "agent")
    version = attributes.get(sc.GEN_AI_AGENT_VERSION)
    score = attributes.get(sc.TASK_SCORE)
    return TaskRecord(
        task_id=_text(attributes, "task_id") or (f"{span_id:016x}" if span_id else ""),
        name=str(_first(attributes, TASK_NAME_KEYS) or "unknown"),
        agent=agent,
        outcome=outcome,
        artifacts=_task_artifacts(attributes, events),
        version=str(version) if version is not None else None,
        score=float(score) if type(score) in (int, float) else None,
        artifacts_dropped=dropped if type(dropped := attributes.get(sc.TASK_ARTIFACTS_DROPPED)) is int and dropped > 0 else 0,
        rollout_group=str(group) if (group := attributes.get(sc.ROLLOUT_GROUP)) is not None else None,
        budget_usd=float(usd) if type(usd := attributes.get(sc.BUDGET_USD)) in (int, float) and usd > 0 else None,
        budget_tokens=tokens if type(tokens := attributes.get(sc.BUDGET_TOKENS)) is int and tokens > 0 else None,
        budget_enforced=attributes.get(sc.BUDGET_ON_EXCEED) == "raise",
        error_type=_error_type(attributes, is_error),
    )


def signal_kind(attributes: Mapping[str, Any]) -> str:
    return str(attributes.get(sc.SIGNAL_KIND) or "unknown")


def window_artifact(attributes: Mapping[str, Any]) -> ArtifactRecord:
    return _artifact(attributes)
