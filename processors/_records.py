"""Plain records the normalizer makes from spans, whatever convention or entry point they came from.

No OpenTelemetry imports: the ledger turns these into numbers, and tests build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ArtifactRecord", "LLMCallRecord", "TaskRecord", "ToolCallRecord"]


@dataclass(slots=True)
class LLMCallRecord:
    provider: str
    model: str
    """The model that served the call (response model, else request model)."""
    request_model: str
    input_tokens: int | None
    """Includes cache reads and writes (the conventions' meaning)."""
    output_tokens: int | None
    cache_read_tokens: int | None = None
    """None: the source did not report cache reads (unknown, not 0)."""
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    """None: no TTL split reported (Anthropic writes are then priced at the 5-minute rate, marked assumed)."""
    reasoning_tokens: int = 0
    usage_missing: bool = False
    usage_invalid: bool = False
    """A usage figure was reported but is not a count in [0, MAX_TOKEN_COUNT] (or the instrumentation says so):
    it is left out, exactly as if it had not been reported."""
    phase: str | None = None
    operation: str = "chat"
    error_type: str | None = None
    duration_s: float | None = None
    """Set by the entry point, which knows the span's times."""
    privacy_findings: int | None = None
    """None when the call was not scanned."""
    agent: str | None = None
    """`gen_ai.agent.name` on the call's own span: whose spend it is when it belongs to no task."""
    time_s: float | None = None
    """When the call ended (seconds since the epoch): prices are those in force then. None: now."""
    recorded_cost: float | None = None
    """`agentyield.cost.usd` that agentyield wrote on the span when it ran: replay keeps it unless re-pricing."""
    recorded_unpriced: bool = False
    """The span says agentyield could not price it when it ran (`agentyield.priced = false`)."""
    prefix_hash: str | None = None
    """`agentyield.prompt.prefix_hash`: the cache key's fingerprint (system prompt and tools)."""
    request_hash: str | None = None
    """`agentyield.request.hash`: the whole request's fingerprint; the same one in a row within a task is a loop."""
    tool_calls: int = 0
    """Tool calls the model asked for in its answer (`agentyield.tool_calls.count`)."""

    @property
    def cache_reported(self) -> bool:
        return self.cache_read_tokens is not None or self.cache_write_tokens is not None


@dataclass(slots=True)
class ToolCallRecord:
    name: str
    error: bool
    phase: str | None = None
    args_hash: str | None = None
    """`agentyield.tool.args_hash`: the same tool with the same fingerprint in one task is a repeated call."""
    error_type: str | None = None
    tool_type: str | None = None
    duration_s: float | None = None
    """Set by the entry point, which knows the span's times (`gen_ai.execute_tool.duration`)."""


@dataclass(slots=True)
class ArtifactRecord:
    kind: str
    accepted: bool | None
    agent: str | None = None
    """Set only for an artifact outside any task (a persistent agent's window)."""


@dataclass(slots=True)
class TaskRecord:
    task_id: str
    name: str
    agent: str | None
    outcome: str | None = None
    """`success`, `failure` or None (unknown), known at the task's end."""
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    version: str | None = None
    """`gen_ai.agent.version`: agent versions are compared as configurations."""
    score: float | None = None
    artifacts_dropped: int = 0
    """Artifacts past the per-task bound of `agentyield.task()` (counted as a limit hit)."""
    error_type: str | None = None
    duration_s: float | None = None
    """Set by the entry point (`gen_ai.invoke_agent.duration`, `gen_ai.workflow.duration`)."""
    rollout_group: str | None = None
    budget_usd: float | None = None
    budget_tokens: int | None = None
    budget_enforced: bool = False
    """`on_exceed="raise"`."""
