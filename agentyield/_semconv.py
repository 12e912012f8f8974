"""Every span attribute name agentyield writes or reads, in one place.

The `gen_ai.*` names follow the OpenTelemetry GenAI semantic conventions (semantic-conventions-genai);
the `agentyield.*` names cover what the conventions lack. Instrumentation writes these names and the
derivation core reads them, so a rename here is a rename everywhere.
"""

from __future__ import annotations

# Operation and provider (set at span start, so samplers see them).
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# `gen_ai.provider.name` values the conventions define, keyed by the genai-prices provider id they are priced as.
# A provider the conventions do not name is written as its genai-prices id ("openrouter", "together", ...);
# an endpoint nobody knows (a local server) as its host.
PROVIDER_AZURE_OPENAI = "azure.ai.openai"
PROVIDER_AWS_BEDROCK = "aws.bedrock"
PROVIDER_GCP_GEMINI = "gcp.gemini"
PROVIDER_GCP_VERTEX_AI = "gcp.vertex_ai"
PROVIDER_NAMES = {
    "azure": PROVIDER_AZURE_OPENAI,
    "aws": PROVIDER_AWS_BEDROCK,
    "google": PROVIDER_GCP_GEMINI,
    "mistral": "mistral_ai",
    "x-ai": "x_ai",
}
PRICE_PROVIDER_IDS = {
    **{name: price_id for price_id, name in PROVIDER_NAMES.items()},
    PROVIDER_GCP_VERTEX_AI: "google",
    "gcp.gen_ai": "google",
    "azure.ai.inference": "azure",
}
"""The genai-prices provider id of each conventions name that is not itself a genai-prices id."""

# Request parameters.
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"

# Response.
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
ERROR_TYPE = "error.type"

# Usage. `input_tokens` includes cache reads and writes for every provider; `output_tokens` includes reasoning.
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"  # deprecated alias of cache_write
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"

# Opt-in content.
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"

# agentyield's own namespace.
USAGE_CACHE_WRITE_5M = "agentyield.usage.cache_write_5m.input_tokens"
USAGE_CACHE_WRITE_1H = "agentyield.usage.cache_write_1h.input_tokens"
USAGE_MISSING = "agentyield.usage.missing"
"""True when the provider reported no usage at all for the call (a stream without usage, say)."""
USAGE_INVALID_FIELDS = "agentyield.usage.invalid_fields"
"""Usage fields the provider reported in a form that cannot be a token count (None, negative, not an integer,
or above `MAX_TOKEN_COUNT`)."""
MAX_TOKEN_COUNT = 10**9
"""The largest token count believed for one field of one call: 100x the largest context windows offered today
(about 10 million tokens), and small enough that no sum of them leaves int64 (an OTLP counter's type) within
9 billion calls."""


def input_with_cache(uncached: int, cache_read: int | None, cache_write: int | None) -> int:
    """Input as the conventions count it (cache reads and writes included), from a count that excludes them:
    Anthropic's and Bedrock's `input_tokens`, and the sources that pass it on as is (docs/interop.md)."""
    return uncached + (cache_read or 0) + (cache_write or 0)

RESPONSE_UNREADABLE_FIELDS = "agentyield.response.unreadable_fields"
"""Response fields other than usage that came in an unexpected shape and were skipped (`choices`, `chunk`, ...);
the call's other fields, its usage above all, are still read."""
TOOL_CALLS_COUNT = "agentyield.tool_calls.count"
TOOL_CALLS_NAMES = "agentyield.tool_calls.names"
PROMPT_PREFIX_HASH = "agentyield.prompt.prefix_hash"
REQUEST_HASH = "agentyield.request.hash"
"""A fingerprint of the whole request (model, messages, tools, parameters), keyed per process: equal values in one
task are identical requests (a loop when three or more come in a row); never matchable against a guessed text."""
PRIVACY_FINDINGS = "agentyield.privacy.findings"
"""Personal data and secrets found in the new part of the request (opt-in scan; present only when scanned)."""
PRIVACY_FINDING_KINDS = "agentyield.privacy.finding_kinds"
TASK_PRIVACY_FINDINGS = "agentyield.task.privacy.findings"
STREAM_END = "agentyield.stream.end"
"""How a streamed call's span ended: `completed`, `closed` (by the caller before the end), `abandoned`
(garbage collected unread) or `error`."""
STREAM_USAGE_REQUESTED = "agentyield.stream.usage_requested"
"""True when agentyield asked the provider for stream usage that the caller did not ask for."""

# Units of work (tasks), artifacts and phases: written by agentyield.task() and friends.
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_VERSION = "gen_ai.agent.version"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
OPERATION_INVOKE_AGENT = "invoke_agent"
OPERATION_INVOKE_WORKFLOW = "invoke_workflow"
OPERATION_EXECUTE_TOOL = "execute_tool"
TASK_NAME = "agentyield.task.name"
TASK_ID = "agentyield.task.id"
TASK_OUTCOME = "agentyield.task.outcome"
"""`success`, `failure`, or absent (unknown)."""
TASK_SCORE = "agentyield.task.score"
ARTIFACT_EVENT = "agentyield.artifact"
"""Span event (on a task span) or span name (outside any task) of a completed artifact."""
ARTIFACT_KIND = "agentyield.artifact.kind"
ARTIFACT_ID = "agentyield.artifact.id"
ARTIFACT_ACCEPTED = "agentyield.artifact.accepted"
ARTIFACT_AGENT = "agentyield.artifact.agent"
PHASE = "agentyield.phase"
"""`work` (default) or `verification`."""
PHASE_VERIFICATION = "verification"
PHASE_WORK = "work"
VERIFICATION_PASSED = "agentyield.verification.passed"
"""On a `verification()` span: did the check pass (absent: not recorded)."""
TASK_ARTIFACT_KINDS = "agentyield.task.artifact.kinds"
TASK_ARTIFACT_ACCEPTED = "agentyield.task.artifact.accepted"
"""Every artifact of a task, written at its end as two parallel arrays (kind; `true`/`false`/`unknown`), so none
is lost to the span event limit."""
SIGNAL_EVENT = "agentyield.signal"
"""Span name of a learning signal recorded with `agentyield.signal(kind)` or `task.user_message()`."""
SIGNAL_KIND = "agentyield.signal.kind"
SIGNAL_USER_REPLY = "user_reply"
ROLLOUT_GROUP = "agentyield.rollout.group"
"""Sibling tasks sampled from the same start (`task(..., rollout_group=...)`): prefix sharing is measured among them."""
BUDGET_USD = "agentyield.budget.usd"
BUDGET_TOKENS = "agentyield.budget.tokens"
BUDGET_ON_EXCEED = "agentyield.budget.on_exceed"
"""A task's budget (`task(..., budget_usd=, budget_tokens=, on_exceed=)`): `record` or `raise`."""
BUDGET_WARNING_EVENT = "agentyield.budget.warning"
BUDGET_EXCEEDED_EVENT = "agentyield.budget.exceeded"
"""Span events on the task span when its spend (sub-tasks' included) crosses 80% and 100% of its budget."""
TASK_BUDGET_EXCEEDED = "agentyield.task.budget.exceeded"
TASK_ARTIFACTS_DROPPED = "agentyield.task.artifacts.dropped"
"""Artifacts past the per-task bound, counted (`agentyield.limits.hit{agentyield.limit="task_artifacts"}`)."""

# Derived values the span processor writes back on spans.
COST_USD = "agentyield.cost.usd"
PRICED = "agentyield.priced"
PRICE_SOURCE = "agentyield.price.source"
TASK_COST_USD = "agentyield.task.cost.usd"
TASK_OWN_COST_USD = "agentyield.task.own_cost.usd"
TASK_TOKENS_PREFIX = "agentyield.task.tokens."
TASK_ARTIFACTS_ACCEPTED = "agentyield.task.artifacts.accepted"
TASK_CACHE_READ_RATIO = "agentyield.task.cache_read_ratio"
TASK_LLM_CALLS = "agentyield.task.llm_calls"
TASK_UNPRICED_CALLS = "agentyield.task.unpriced_calls"

# Tool calls (`agentyield.tool`, MCP clients, frameworks' `execute_tool` spans).
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
"""`function` for a decorated Python function, `extension` for an MCP server's tool (the conventions' values)."""
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
"""Opt-in content (`capture_content`): the arguments and result as JSON."""
TOOL_ARGS_HASH = "agentyield.tool.args_hash"
"""A fingerprint of the arguments (never the arguments): the same tool with the same fingerprint is a repeat."""
TOOL_RESULT_SIZE = "agentyield.tool.result.size"
"""Characters of the result as text (a string's length, else its JSON form's): what the next call may carry."""
MCP_METHOD_NAME = "mcp.method.name"
MCP_SESSION_ID = "mcp.session.id"
MCP_TOOLS_COUNT = "agentyield.mcp.tools.count"
"""On a `tools/list` span: how many tools the server listed."""
