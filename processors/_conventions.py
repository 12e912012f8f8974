"""Every span convention agentyield reads, as data: one table, read only by the normalizer.

A new source is a new row here (and in docs/interop.md, which is this table in words), never an `if`
elsewhere. Rows are tried in order and the first that matches wins, so the more specific come first.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentyield import _semconv as sc

__all__ = [
    "ANY", "EXCLUSIVE_INPUT", "FIGURES", "ExclusiveInput", "KIND_MARKERS", "KIND_RULES", "LLM_HINTS", "OPERATION_ALIASES", "READ_KEYS",
    "READ_PREFIXES", "TASK_NAME_KEYS", "TOOL_NAME_KEYS",
]

ANY = None
"""In a kind rule: the attribute only has to be present."""

# (attribute, values that match it or ANY, kind). Kinds are the normalizer's: llm, tool, task.
KIND_RULES: tuple[tuple[str, frozenset[str] | None, str], ...] = (
    # agentyield's own tasks.
    (sc.TASK_ID, ANY, "task"),
    # GenAI conventions, old and new (agentyield, official openai-v2 / genai-*, anthropic SDK, OpenLIT,
    # pydantic-ai, OpenLLMetry's newer releases, Google ADK, Strands).
    (sc.GEN_AI_OPERATION_NAME, frozenset({"chat", "text_completion", "generate_content", "embeddings", "completion"}), "llm"),
    (sc.GEN_AI_OPERATION_NAME, frozenset({sc.OPERATION_EXECUTE_TOOL}), "tool"),
    (sc.GEN_AI_OPERATION_NAME, frozenset({sc.OPERATION_INVOKE_AGENT, sc.OPERATION_INVOKE_WORKFLOW}), "task"),
    # OpenInference (Arize): LLM / EMBEDDING / TOOL / AGENT. CHAIN is a step, not a unit of work.
    ("openinference.span.kind", frozenset({"LLM", "EMBEDDING"}), "llm"),
    ("openinference.span.kind", frozenset({"TOOL"}), "tool"),
    ("openinference.span.kind", frozenset({"AGENT"}), "task"),
    # OpenLLMetry (Traceloop): LLM spans carry llm.request.type; decorators set traceloop.span.kind.
    ("llm.request.type", frozenset({"chat", "completion", "embedding"}), "llm"),
    ("traceloop.span.kind", frozenset({"tool"}), "tool"),
    ("traceloop.span.kind", frozenset({"workflow", "agent"}), "task"),
    # The mcp SDK (MCP semantic conventions): a tools/call is a tool call, client or server side.
    ("mcp.method.name", frozenset({"tools/call"}), "tool"),
    # pydantic-ai's older instrumentation (Logfire): the "agent run" span names its agent this way.
    ("agent_name", ANY, "task"),
)

# Each figure of an LLM call with the attributes that carry it, newest convention first. A figure none of
# them carries is unknown (None), never 0.
FIGURES: dict[str, tuple[str, ...]] = {
    "provider": (sc.GEN_AI_PROVIDER_NAME, "gen_ai.system", "llm.provider", "llm.system"),
    "request_model": (sc.GEN_AI_REQUEST_MODEL, "llm.request.model_name", "llm.request.model"),
    "response_model": (sc.GEN_AI_RESPONSE_MODEL, "llm.response.model_name", "llm.response.model", "llm.model_name"),
    # Input includes cache reads and writes in every row (the conventions' meaning; each source checked by
    # tests/test_interop.py).
    "input": (sc.GEN_AI_USAGE_INPUT_TOKENS, "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"),
    "output": (sc.GEN_AI_USAGE_OUTPUT_TOKENS, "gen_ai.usage.completion_tokens", "llm.token_count.completion"),
    "cache_read": (
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write": (
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "cache_write_1h": (sc.USAGE_CACHE_WRITE_1H, "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"),
    "reasoning": (
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        "gen_ai.usage.output_tokens.reasoning",
        "gen_ai.usage.reasoning_tokens",
        "gen_ai.usage.details.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
    "agent": (sc.GEN_AI_AGENT_NAME, "agent.name", "agent_name", "traceloop.entity.name"),
    "tool": (sc.GEN_AI_TOOL_NAME, "tool.name", "mcp.tool.name", "traceloop.entity.name"),
    "response_id": (sc.GEN_AI_RESPONSE_ID,),
    # A task's id: agentyield's own, else the id a framework gives the agent invocation (pydantic-ai's run id).
    # Not gen_ai.conversation.id: one conversation spans several runs, each a task.
    "task_id": (sc.TASK_ID, "gen_ai.agent.call.id"),
    "operation": (sc.GEN_AI_OPERATION_NAME, "llm.request.type"),
}



@dataclass(frozen=True)
class ExclusiveInput:
    """A source that writes a provider's input count as that provider gives it, without the cache reads and
    writes the conventions include: its input is the sum (`input_with_cache`)."""

    marker: tuple[str, str]
    """(attribute, value) on every span the source writes."""
    providers: frozenset[str]
    zero_cache_unknown_if: str | None = None
    """A boolean attribute that, when true, means the source writes 0 for cache figures it did not read: a 0
    there is unknown (None), not 0."""


EXCLUSIVE_INPUT: tuple[ExclusiveInput, ...] = (
    # OpenLIT (checked on 1.45.0): Anthropic's input_tokens as the API gives it. In streams it takes the cache
    # counts from message_start and then overwrites them with 0 from a message_delta that does not repeat them.
    ExclusiveInput(("telemetry.sdk.name", "openlit"), frozenset({"anthropic"}), zero_cache_unknown_if="gen_ai.request.stream"),
)

# Operation names some sources spell differently from the GenAI conventions (OpenLLMetry's request types).
OPERATION_ALIASES = {"completion": "text_completion", "embedding": "embeddings"}

TASK_NAME_KEYS = (sc.TASK_NAME, *FIGURES["agent"], "gen_ai.workflow.name")
"""Where a task's name comes from: agentyield's own name, else the agent the span names, else the workflow
(a peer's invoke_workflow span, as Google ADK's runner writes it)."""
TOOL_NAME_KEYS = FIGURES["tool"]

# Attribute name prefixes that only LLM calls carry: a span with one that no kind rule matched is counted
# as unrecognized (agentyield.spans.unrecognized, by instrumentation scope), not silently skipped.
LLM_HINTS = ("gen_ai.usage.", "llm.token_count.", sc.GEN_AI_REQUEST_MODEL, "llm.model_name")
KIND_MARKERS = frozenset(key for key, _, _ in KIND_RULES)
"""Attributes that say which convention wrote a span: a span with one is understood even when it is a step."""

# The other attributes the normalizer reads (agentyield's own, outcomes, errors, content-free fingerprints).
# With the table's, they make READ_KEYS: every attribute name the normalizer reads. A decoder that builds span
# attributes itself (agentyield serve) keeps only these and the READ_PREFIXES, so a peer's prompts, HTTP details
# and the like cost nothing. tests/test_serve.py checks the list against the normalizer's code.
_NORMALIZER_KEYS = (
    sc.TASK_NAME, sc.TASK_OUTCOME, sc.TASK_SCORE, sc.TASK_ARTIFACT_KINDS, sc.TASK_ARTIFACT_ACCEPTED, sc.TASK_ARTIFACTS_DROPPED,
    sc.ARTIFACT_KIND, sc.ARTIFACT_ACCEPTED, sc.ARTIFACT_AGENT, sc.SIGNAL_KIND, sc.VERIFICATION_PASSED, sc.PHASE,
    sc.ROLLOUT_GROUP, sc.BUDGET_USD, sc.BUDGET_TOKENS, sc.BUDGET_ON_EXCEED, sc.GEN_AI_AGENT_VERSION, sc.GEN_AI_TOOL_TYPE,
    sc.ERROR_TYPE, sc.COST_USD, sc.PRICED, sc.PRIVACY_FINDINGS, sc.USAGE_MISSING, sc.USAGE_INVALID_FIELDS,
    sc.TOOL_CALLS_COUNT, sc.TOOL_ARGS_HASH, sc.PROMPT_PREFIX_HASH, sc.REQUEST_HASH, sc.MCP_METHOD_NAME,
)
_EXCLUSIVE_INPUT_KEYS = tuple(key for source in EXCLUSIVE_INPUT for key in (source.marker[0], source.zero_cache_unknown_if) if key)
READ_KEYS = frozenset({
    *KIND_MARKERS, *(name for names in FIGURES.values() for name in names), *TASK_NAME_KEYS, *_EXCLUSIVE_INPUT_KEYS, *_NORMALIZER_KEYS,
})
READ_PREFIXES = LLM_HINTS
"""Attribute names the normalizer tests by prefix (`looks_like_llm`)."""
