"""The OpenTelemetry instruments behind the ledger's numbers. The names are a contract (docs/metrics.md).

Counters are observable: a call costs the ledger a few dictionary updates, and the totals are read at
collection time. Histogram observations are buffered by the ledger's sink and recorded in one batch when
metrics are collected (the flush runs in the first observable callback, before the SDK reads the
histograms), so no per-call histogram `record()` sits on the host's hot path. A full buffer drops and counts.
An integer total past int64 (the OTLP type: one such point fails every later export) is exported as the
int64 maximum and counted once per series in `agentyield.limits.hit{agentyield.limit="counter_int64"}`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from opentelemetry.metrics import CallbackOptions, Observation

from agentyield import _semconv as sc
from agentyield._version import __version__

from ._trajectory import SHRINK_HISTOGRAM_DEFS, SHRINK_HISTOGRAMS, TASK_HISTOGRAMS

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from ._ledger import Ledger

__all__ = ["LedgerMetrics"]

PROVIDER, REQUEST_MODEL, MODEL, AGENT = sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_AGENT_NAME

# name -> (unit, description, attribute names of the ledger's label tuples)
COUNTERS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "agentyield.llm.calls": ("{call}", "LLM calls, priced or not", (PROVIDER, REQUEST_MODEL, AGENT, sc.PRICED)),
    "agentyield.tokens": ("{token}", "Billed tokens by disjoint kind", (PROVIDER, MODEL, AGENT, "agentyield.token.kind")),
    "agentyield.reasoning.tokens": ("{token}", "Reasoning tokens (part of output)", (PROVIDER, MODEL, AGENT)),
    "agentyield.cost.usd": ("{USD}", "Spend on priced LLM calls", (PROVIDER, MODEL, AGENT, sc.PHASE)),
    "agentyield.cache.savings.usd": ("{USD}", "Gross: what cache reads saved against the uncached price", (PROVIDER, MODEL, AGENT)),
    "agentyield.cache.write_premium.usd": ("{USD}", "What cache writes cost above the uncached price (net savings = gross - this)", (PROVIDER, MODEL, AGENT)),
    "agentyield.tasks": ("{task}", "Finished tasks by outcome", (AGENT, sc.TASK_NAME, sc.TASK_OUTCOME)),
    "agentyield.artifacts": ("{artifact}", "Completed artifacts", (AGENT, sc.ARTIFACT_KIND, sc.ARTIFACT_ACCEPTED)),
    "agentyield.unproductive.cost.usd": ("{USD}", "Spend of work that produced no accepted artifact", (AGENT, sc.TASK_NAME)),
    "agentyield.tasks.cost_unknown": ("{task}", "Tasks whose cost is unknown (unpriced calls)", (AGENT, sc.TASK_NAME)),
    "agentyield.usage.missing": ("{call}", "LLM calls that reported no usage", (PROVIDER, MODEL, AGENT)),
    "agentyield.usage.inconsistent": ("{call}", "LLM calls whose usage cannot be priced correctly", (PROVIDER, MODEL, AGENT)),
    "agentyield.usage.invalid": ("{call}", "LLM calls with a usage figure that is not a plausible token count", (PROVIDER, MODEL, AGENT)),
    "agentyield.usage.cache_unreported": ("{call}", "LLM calls whose source did not report cache use (left out of the cache-read ratio)", (PROVIDER, MODEL, AGENT)),
    "agentyield.usage.cache_ttl_assumed": ("{call}", "Cache writes with no TTL split, priced at the 5-minute rate", (PROVIDER, MODEL, AGENT)),
    "agentyield.verifications": ("{check}", "Verification blocks by recorded result", (AGENT, sc.VERIFICATION_PASSED)),
    "agentyield.tool.calls": ("{call}", "Tool calls", (AGENT, sc.GEN_AI_TOOL_NAME, "agentyield.tool.error")),
    "agentyield.privacy.findings": ("{finding}", "Personal data and secrets sent to providers (opt-in scan)", (AGENT,)),
    "agentyield.spans.duplicate": ("{span}", "LLM spans of a call already booked (nested, or same response id), not counted again", (PROVIDER,)),
    "agentyield.spans.unrecognized": (
        "{span}", "Spans that look like LLM calls in a convention agentyield cannot read", ("otel.scope.name",),
    ),
    "agentyield.usage.rollups": (
        "{call}", "Calls booked from an agent or workflow span's usage roll-up (no LLM span below it)", (PROVIDER,),
    ),
    "agentyield.tool.calls.redundant": ("{call}", "Tool calls repeating an earlier call of their task (same tool, same arguments)", (AGENT, sc.GEN_AI_TOOL_NAME)),
    "agentyield.loops": ("{loop}", "Runs of 3 or more identical tool calls in a row within a task", (AGENT, sc.GEN_AI_TOOL_NAME)),
    "agentyield.llm.loops": ("{loop}", "Runs of 3 or more identical LLM requests in a row within a task", (PROVIDER, MODEL, AGENT)),
    "agentyield.budget.exceeded": ("{task}", "Tasks whose spend (sub-tasks' included) exceeded their budget", (AGENT, sc.TASK_NAME, sc.BUDGET_ON_EXCEED)),
    "agentyield.cache.missed.calls": ("{call}", "Calls that re-sent a prefix sent within the cache lifetime yet read no cache", (PROVIDER, MODEL, AGENT)),
    "agentyield.cache.missed.usd": ("{USD}", "What those calls' uncached input would have saved read from cache", (PROVIDER, MODEL, AGENT)),
    "agentyield.cache.drifts": ("{event}", "Cache breaks found live (Page-Hinkley on the cache-read ratio), by cause", (PROVIDER, MODEL, AGENT, "agentyield.cache.drift.cause")),
    "agentyield.signals": ("{signal}", "Next states of LLM calls (tool success or error, verification pass or fail, user reply, none)", (AGENT, sc.SIGNAL_KIND)),
    "agentyield.routing.routable.calls": ("{call}", "LLM calls a small model could serve (docs/metrics.md rule)", (PROVIDER, MODEL, AGENT)),
    "agentyield.routing.savings.usd": ("{USD}", "What routable calls would have saved on instrument(small_model=...)", (PROVIDER, MODEL, AGENT)),
    "agentyield.rollout.tasks": ("{task}", "Finished tasks of rollout groups", (AGENT,)),
    "agentyield.rollout.input.tokens": ("{token}", "Input tokens of rollout tasks' own calls", (AGENT,)),
    "agentyield.rollout.input.shared.tokens": ("{token}", "Input tokens of a rollout's first call that repeat a sibling's", (AGENT,)),
    "agentyield.rollout.output.tokens": ("{token}", "Output tokens of rollout tasks' own calls", (AGENT,)),
    "agentyield.rollout.trajectories.distinct": ("{trajectory}", "Rollout tasks whose trajectory no sibling had produced", (AGENT,)),
    "agentyield.tool.spans.duplicate": ("{span}", "Tool spans inside a span of the same tool call, not counted again", (sc.GEN_AI_TOOL_NAME,)),
}
HISTOGRAMS: dict[str, tuple[str, str, tuple[str, ...], tuple[float, ...] | None]] = {
    "agentyield.task.cost.usd": ("{USD}", "Cost of a finished task", (AGENT, sc.TASK_NAME, sc.TASK_OUTCOME), None),
    "agentyield.artifact.cost.usd": ("{USD}", "Cost per accepted artifact", (AGENT, sc.ARTIFACT_KIND), None),
    "gen_ai.client.token.usage": (
        "{token}", "Tokens used per call", (sc.GEN_AI_OPERATION_NAME, PROVIDER, REQUEST_MODEL, MODEL, "gen_ai.token.type"),
        (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864),
    ),
    "gen_ai.client.operation.duration": (
        "s", "Duration of a GenAI call", (sc.GEN_AI_OPERATION_NAME, PROVIDER, REQUEST_MODEL, MODEL, sc.ERROR_TYPE),
        (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92),
    ),
    "gen_ai.invoke_agent.duration": (
        "s", "Duration of an agent invocation (a task with an agent)", (AGENT, sc.ERROR_TYPE),
        (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6),
    ),
    "gen_ai.workflow.duration": (
        "s", "Duration of a workflow (a task without an agent)", ("gen_ai.workflow.name", sc.ERROR_TYPE),
        (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
    ),
    "gen_ai.execute_tool.duration": (
        "s", "Duration of a tool execution", (sc.GEN_AI_TOOL_NAME, sc.ERROR_TYPE, AGENT, sc.GEN_AI_TOOL_TYPE),
        (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92),
    ),
}
HISTOGRAMS.update(
    {name: (unit, text, (AGENT, sc.TASK_NAME), buckets) for name, (unit, text, buckets) in (TASK_HISTOGRAMS | SHRINK_HISTOGRAM_DEFS).items()}
)
MAX_BUFFERED = 100_000
INT64_MAX = 2**63 - 1


class LedgerMetrics:
    """Exposes a ledger's accumulators as instruments, and is the sink of its histogram observations."""

    def __init__(self, ledger: Ledger, meter_provider: MeterProvider | None, scope_attributes: dict[str, str]) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter("agentyield", __version__, meter_provider=meter_provider, attributes=scope_attributes)
        self._ledger = ledger
        self._buffer: list[tuple[str, float, tuple[Any, ...]]] = []
        self._saturated: set[tuple[str, tuple[Any, ...]]] = set()
        self._histograms = {
            name: meter.create_histogram(name, unit=unit, description=text, explicit_bucket_boundaries_advisory=buckets)
            for name, (unit, text, _, buckets) in HISTOGRAMS.items()
        }
        # The SDK runs every callback, in creation order, before it reads any instrument: the first counter's
        # callback flushes the histograms' buffer, and the limits come last, after the counters found saturations.
        for i, (name, (unit, text, keys)) in enumerate(COUNTERS.items()):
            meter.create_observable_counter(name, [self._observer(name, keys, flush=i == 0)], unit=unit, description=text)
        meter.create_observable_counter(
            "agentyield.limits.hit", [self._limits], unit="{event}", description="Bounds that dropped something"
        )
        meter.create_observable_gauge(
            "agentyield.window.open.cost.usd", [self._open_windows], unit="{USD}",
            description="Spend outside tasks since the agent's last artifact (booked on the next one)",
        )

    def record(self, name: str, value: float, labels: tuple[Any, ...]) -> None:
        """The ledger's sink, called under the ledger's lock: O(1), no instrument call on the host's thread."""
        if len(self._buffer) >= MAX_BUFFERED:
            self._ledger.limits_hit["histogram_buffer"] += 1
            return
        if value < 0 and name in SHRINK_HISTOGRAMS:
            name, value = SHRINK_HISTOGRAMS[name], -value
        self._buffer.append((name, value, labels))

    def _flush(self) -> None:
        with self._ledger._lock:
            pending, self._buffer = self._buffer, []
        # Each label set's attributes built once per flush (the SDK copies what it is given).
        attributes: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
        histograms = self._histograms
        for name, value, labels in pending:
            built = attributes.get((name, labels))
            if built is None:
                built = attributes[(name, labels)] = {k: v for k, v in zip(HISTOGRAMS[name][2], labels) if v is not None}
            histograms[name].record(value, built)

    def _limits(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._ledger._lock:
            hits = list(self._ledger.limits_hit.items())
        return [Observation(n, {"agentyield.limit": k}) for k, n in hits]

    def _value(self, name: str, labels: tuple[Any, ...], value: Any) -> float | int:
        if isinstance(value, Decimal):
            return float(value)
        if value > INT64_MAX:
            if (name, labels) not in self._saturated:
                self._saturated.add((name, labels))  # bounded: one entry per exported series at most
                with self._ledger._lock:
                    self._ledger.limits_hit["counter_int64"] += 1
            return INT64_MAX
        return value

    def _open_windows(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(float(w.cost), {AGENT: agent}) for agent, w in self._ledger.open_windows().items()]

    def _observer(self, name: str, keys: tuple[str, ...], flush: bool) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            if flush:
                self._flush()
            return [Observation(self._value(name, labels, v), dict(zip(keys, labels))) for labels, v in self._ledger.counter(name).items()]

        return observe
