"""A population of finished tasks: what the offline analyses (budget-controlled performance, cost of
pass, Pareto frontier, capability vector, tool credit, cache drift) read.

One `TaskRow` per top-level or nested task, built by replaying spans through the ledger (`_replay`), so
its cost and tokens are the very numbers the live metrics report. No OpenTelemetry imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CallRow", "OpenWindow", "TaskRow", "ToolUse", "WindowArtifact"]


@dataclass(frozen=True, slots=True)
class ToolUse:
    name: str
    error: bool
    phase: str = "work"


@dataclass(frozen=True, slots=True)
class WindowArtifact:
    """An artifact a persistent agent recorded outside any task: it closes the agent's spend window."""

    agent: str
    kind: str
    accepted: bool | None
    cost: float | None
    """The window's spend (None when it contains an unpriced call, or no LLM call at all)."""
    llm_calls: int = 0
    cost_known: float = 0.0
    """The priced part of the window's spend."""


@dataclass(frozen=True, slots=True)
class OpenWindow:
    """A persistent agent's spend since its last artifact, still open at the end of the input."""

    agent: str
    llm_calls: int
    cost_known: float
    unpriced_calls: int


@dataclass(frozen=True, slots=True)
class CallRow:
    """One LLM call, for time series (cache-read ratio over time, drift and its causes)."""

    time_s: float
    """End time, seconds since the epoch."""
    agent: str
    provider: str
    model: str
    input: int
    """Uncached input tokens."""
    cache_read: int
    cache_write: int
    output: int
    cost: float | None
    prefix_hash: str | None
    task_id: str | None
    uncached_input_rate: float | None = None
    """USD per uncached input token (None when unpriced): prices missed caching."""
    cache_read_rate: float | None = None
    cache_reported: bool = True
    """False when the source did not say what the call read from or wrote to the cache."""
    has_usage: bool = True
    savings: float | None = None
    """Gross USD its cache reads saved (None when it has no rates): the ledger's figure."""
    write_premium: float | None = None
    """USD its cache writes cost above the uncached rate (None when it has no rates): the ledger's figure."""
    reasoning: int = 0
    missed_cache: bool = False
    """The ledger judged it a missed cache read (docs/metrics.md, "Missed caching")."""


@dataclass(slots=True)
class TaskRow:
    task_id: str
    name: str
    """The task kind (`agentyield.task.name`)."""
    agent: str
    version: str | None
    """`gen_ai.agent.version` of the task, if recorded: configurations are (agent, version, model)."""
    parent_id: str | None
    start_s: float
    end_s: float
    outcome: str
    """`success`, `failure` or `unknown`."""
    score: float | None
    cost: float | None
    """Total cost including sub-tasks; None when any call was unpriced."""
    cost_known: float
    """The priced part of the total cost (a lower bound when `cost` is None)."""
    input: int
    cache_read: int
    cache_write: int
    output: int
    reasoning: int
    llm_calls: int
    models: tuple[str, ...]
    """Models that served the task's own calls, most used first."""
    attributable_cost: float | None
    """What the task's accepted artifacts pay for (own cost plus unproductive sub-tasks'; docs/metrics.md)."""
    attributable_known: float
    """The priced part of the attributable cost (what the live metrics book when a call is unpriced)."""
    accepted_kinds: tuple[str, ...]
    """The kind of each accepted artifact (repeated kinds repeat)."""
    artifacts_rejected: int
    artifacts_unknown: int
    tools: tuple[ToolUse, ...] = ()
    verification_cost: float = 0.0
    privacy_findings: int | None = None
    """Privacy findings in the task's own scanned calls; None when none of them was scanned."""
    verifications: tuple[bool, ...] = ()
    """Outcomes recorded with `verification(...).passed(...)`, in order."""
    input_cache_unreported: int = 0
    measures: dict[str, float] = field(default_factory=dict)
    """Trajectory and context measures (`agentyield.task.*` histograms' values for this task)."""

    @property
    def tokens(self) -> int:
        """Total billed tokens (all four disjoint kinds): the budget axis."""
        return self.input + self.cache_read + self.cache_write + self.output

    @property
    def configuration(self) -> str:
        """`agent@version/model`: what the Pareto frontier and cost of pass compare."""
        model = self.models[0] if self.models else "unknown"
        return f"{self.agent}@{self.version or '-'}/{model}"
