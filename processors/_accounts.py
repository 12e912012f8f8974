"""What the ledger keeps and hands back: running totals, open tasks and spans, per-label-set call series with
the metric views read from them at collection, and the results of a priced call and of a finished task.

Plain data, no behaviour beyond adding up: the rules that fill these live in `_ledger.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from ._budget import Budget
from ._cache_watch import Drift, _Stream
from ._population import ToolUse
from ._pricing import Rates, Tiers
from ._records import TaskRecord
from ._trajectory import Trajectory

OTHER = "_other"
"""The label value that stands for every value past an attribute's cardinality cap."""
WINDOW = "(window)"
"""The task name under which a persistent agent's spend outside any task is booked."""

Sink = Callable[[str, float, tuple[Any, ...]], None]
"""Receives histogram observations: (instrument name, value, label tuple). Called with the ledger's lock held."""
BudgetListener = Callable[[int, str, Budget], None]
"""Told (task span id, `warning` or `exceeded`, the budget) when a task's spend crosses a line; lock held."""


@dataclass(frozen=True)
class Limits:
    max_open_spans: int = 100_000
    max_open_tasks: int = 10_000
    max_label_values: int = 200
    """Distinct values per metric attribute (model, agent, task name, artifact kind, tool name)."""
    max_agents: int = 1_000
    max_series: int = 10_000
    max_tools_per_task: int = 256
    """Distinct (provider, model, request model, agent, phase, operation) sets of LLM calls."""


@dataclass(slots=True)
class Totals:
    cost: Decimal = Decimal(0)
    input: int = 0
    """Uncached input tokens (including those of calls that did not report their cache use)."""
    input_cache_unreported: int = 0
    """The part of `input` from calls that did not say what they read from or wrote to the cache."""
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0
    llm_calls: int = 0
    unpriced_calls: int = 0
    """Calls with no known price or no usage: the cost above is then a lower bound."""
    tool_calls: int = 0
    tool_errors: int = 0

    def add(self, other: Totals) -> None:
        self.cost += other.cost
        self.input += other.input
        self.input_cache_unreported += other.input_cache_unreported
        self.cache_read += other.cache_read
        self.cache_write += other.cache_write
        self.output += other.output
        self.reasoning += other.reasoning
        self.llm_calls += other.llm_calls
        self.unpriced_calls += other.unpriced_calls
        self.tool_calls += other.tool_calls
        self.tool_errors += other.tool_errors

    @property
    def cache_read_ratio(self) -> float | None:
        """cache_read / (input + cache_read + cache_write) over the calls that reported their cache use: a share of
        tokens, not of spend."""
        denominator = self.input - self.input_cache_unreported + self.cache_read + self.cache_write
        return self.cache_read / denominator if denominator else None


@dataclass(slots=True)
class _Task:
    task_id: str
    name: str
    agent: str
    parent: _Task | None
    own: Totals = field(default_factory=Totals)
    children: Totals = field(default_factory=Totals)
    attributable: Decimal = Decimal(0)
    """Own cost plus the cost handed up by children that produced no accepted artifact."""
    attributable_unpriced: int = 0
    models: dict[str, int] = field(default_factory=dict)
    """Calls by the model that served them (own calls)."""
    tools: list[ToolUse] = field(default_factory=list)
    verification_cost: Decimal = Decimal(0)
    privacy_findings: int | None = None
    """Findings in its own scanned calls; None while none of its calls was scanned."""
    verifications: list[bool] = field(default_factory=list)
    """Its own recorded verification results (pass or fail), in order."""
    trajectory: Trajectory = field(default_factory=Trajectory)
    has_subtasks: bool = False
    span_id: int | None = None
    rollout_group: str | None = None
    budget: Budget | None = None
    budgeted: bool = False
    """It or an ancestor has a budget: its calls are charged up the chain."""

    def total(self) -> Totals:
        out = Totals()
        out.add(self.own)
        out.add(self.children)
        return out


@dataclass(slots=True)
class _Node:
    task: _Task | None
    phase: str
    is_llm: bool
    duplicate: bool = False
    tool: str | None = None
    """The tool call this span is (or is inside of), within its task: the same tool seen again below it, by
    another layer (an MCP client's own span, the server's span in the same trace), is that call, not another."""


@dataclass(slots=True)
class _Series:
    """The accumulators of the LLM calls of one label set: a call costs a few `+=`, read at collection."""

    provider: Any
    model: Any
    request_model: Any
    agent: Any
    phase: str
    operation: str
    priced: int = 0
    unpriced: int = 0
    with_usage: int = 0
    missing: int = 0
    inconsistent: int = 0
    invalid: int = 0
    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0
    cost: Decimal = Decimal(0)
    savings: Decimal = Decimal(0)
    """Gross: cache reads at the uncached rate minus at the cache-read rate."""
    write_premium: Decimal = Decimal(0)
    """What cache writes cost above the uncached rate (net savings = savings - write_premium)."""
    not_billed: int = 0
    cache_unreported: int = 0
    input_cache_unreported: int = 0
    ttl_assumed: int = 0
    privacy_findings: int = 0
    routable: int = 0
    routing_savings: Decimal = Decimal(0)
    routing_unpriced: int = 0
    """Routable calls that could not be priced at the small model's rates (or at their own)."""
    missed_calls: int = 0
    missed_unpriced: int = 0
    missed_usd: Decimal = Decimal(0)
    """Missed caching: the uncached input of calls that re-sent a recently sent prefix yet read no cache,
    priced at what reading it from cache would have saved."""
    cache_stream: _Stream | None = None
    """Its (agent, model)'s stream in the ledger's `CacheWatch`, once found."""
    price_period: int | None = None
    price_tiers: Tiers | None = None
    """The rates of its (provider, model, request model) in the half hour `price_period`, resolved once for it."""
    mixed: bool = False
    """The overflow series past `max_series`: its calls are of many models, so it keeps no rates."""
    genai_labels: tuple[Any, ...] = ()
    input_labels: tuple[Any, ...] = ()
    output_labels: tuple[Any, ...] = ()
    ok_labels: tuple[Any, ...] = ()
    """The duration's labels of a call without an error (most calls): one tuple, not one per call."""

    def __post_init__(self) -> None:
        self.genai_labels = (self.operation, self.provider, self.request_model, self.model)
        self.input_labels = (*self.genai_labels, "input")
        self.output_labels = (*self.genai_labels, "output")
        self.ok_labels = (*self.genai_labels, None)


def _is_http_error(error_type: str | None) -> bool:
    """`error.type` is the HTTP status for an error response (the conventions' rule, and agentyield's)."""
    return error_type is not None and len(error_type) == 3 and error_type.isdigit() and error_type[0] in "45"


def _view_calls(s: _Series) -> list[tuple[tuple[Any, ...], int]]:
    out = []
    for value, count in (("true", s.priced), ("false", s.unpriced), ("not_billed", s.not_billed)):
        if count:
            out.append(((s.provider, s.request_model, s.agent, value), count))
    return out


def _view_tokens(s: _Series) -> list[tuple[tuple[Any, ...], int]]:
    if not s.with_usage:
        return []
    base = (s.provider, s.model, s.agent)
    out = [((*base, "input"), s.input - s.input_cache_unreported), ((*base, "cache_read"), s.cache_read), ((*base, "cache_write"), s.cache_write), ((*base, "output"), s.output)]
    if s.cache_unreported:
        out.append(((*base, "input_cache_unreported"), s.input_cache_unreported))
    return out


_CALL_VIEWS: dict[str, Callable[[_Series], list[tuple[tuple[Any, ...], Any]]]] = {
    "agentyield.llm.calls": _view_calls,
    "agentyield.tokens": _view_tokens,
    "agentyield.reasoning.tokens": lambda s: [((s.provider, s.model, s.agent), s.reasoning)] if s.with_usage else [],
    "agentyield.cost.usd": lambda s: [((s.provider, s.model, s.agent, s.phase), s.cost)] if s.priced else [],
    "agentyield.cache.savings.usd": lambda s: [((s.provider, s.model, s.agent), s.savings)] if s.priced else [],
    "agentyield.cache.write_premium.usd": lambda s: [((s.provider, s.model, s.agent), s.write_premium)] if s.priced else [],
    "agentyield.usage.cache_unreported": lambda s: [((s.provider, s.model, s.agent), s.cache_unreported)] if s.cache_unreported else [],
    "agentyield.usage.cache_ttl_assumed": lambda s: [((s.provider, s.model, s.agent), s.ttl_assumed)] if s.ttl_assumed else [],
    "agentyield.usage.missing": lambda s: [((s.provider, s.model, s.agent), s.missing)] if s.missing else [],
    "agentyield.usage.inconsistent": lambda s: [((s.provider, s.model, s.agent), s.inconsistent)] if s.inconsistent else [],
    "agentyield.usage.invalid": lambda s: [((s.provider, s.model, s.agent), s.invalid)] if s.invalid else [],
    "agentyield.routing.routable.calls": lambda s: [((s.provider, s.model, s.agent), s.routable)] if s.routable else [],
    "agentyield.routing.savings.usd": lambda s: [((s.provider, s.model, s.agent), s.routing_savings)] if s.routable > s.routing_unpriced else [],
    "agentyield.cache.missed.calls": lambda s: [((s.provider, s.model, s.agent), s.missed_calls)] if s.missed_calls else [],
    "agentyield.cache.missed.usd": lambda s: [((s.provider, s.model, s.agent), s.missed_usd)] if s.missed_calls > s.missed_unpriced else [],
    "agentyield.privacy.findings": lambda s: [((s.agent,), s.privacy_findings)] if s.privacy_findings else [],
}


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, about 4x slower, and
# booking makes one for every call, span or task it books (agentyield serve's hot path). Treat it as immutable.
@dataclass(slots=True)
class PricedCall:
    cost: Decimal | None
    """None when the call could not be priced (unknown model, or usage missing)."""
    agent: str
    phase: str
    task_id: str | None = None
    rates: Rates | None = None
    savings: Decimal | None = None
    """Gross cache savings of the call (None when it has no rates)."""
    write_premium: Decimal | None = None
    """What its cache writes cost above the uncached rate (None when it has no rates)."""
    drift: Drift | None = None
    """The cache break this call revealed (docs/metrics.md, "Cache breaks, live")."""
    missed_cache: bool = False
    """It re-sent a prefix within the cache lifetime and read nothing from the cache (missed caching)."""


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, about 4x slower, and
# booking makes one for every call, span or task it books (agentyield serve's hot path). Treat it as immutable.
@dataclass(slots=True)
class TaskResult:
    """Everything the ledger knows of a finished task (the span processor writes some of it on the span;
    the offline report keeps all of it)."""

    record: TaskRecord
    agent: str
    parent_id: str | None
    total: Totals
    """Own spend plus every sub-task's."""
    own: Totals
    accepted_kinds: tuple[str, ...]
    attributable: Decimal | None
    """What its accepted artifacts pay for; None when an unpriced call is in it."""
    attributable_known: Decimal
    """The priced part of `attributable`: what is booked as unproductive when it produced nothing accepted."""
    models: tuple[str, ...]
    """Models of its own calls, most used first."""
    tools: tuple[ToolUse, ...]
    verification_cost: Decimal
    privacy_findings: int | None
    verifications: tuple[bool, ...] = ()
    budget_exceeded: bool = False
    measures: tuple[tuple[str, float], ...] = ()
    """Its trajectory and context measures (`_trajectory.measures`), as recorded in the per-task histograms."""

    @property
    def accepted_artifacts(self) -> int:
        return len(self.accepted_kinds)
