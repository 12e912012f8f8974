"""The ledger: records in, numbers out. Pure Python, no OpenTelemetry.

Spans arrive as start and end events keyed by span id. At start the ledger learns where a span sits
(its task and phase, inherited from its parent); at end it prices LLM calls, accumulates them into their
task (or, outside any task, into their agent's running window) and into metric accumulators keyed by
bounded label tuples. Every bound that drops something is counted in `limits_hit`.

Cost attribution (docs/metrics.md, "cost per accepted artifact"): a task that produced accepted artifacts
divides its attributable cost among them; a task that produced none hands its cost up to its parent task,
or, at the top, books it as unproductive spend. So every priced dollar lands exactly once: on an accepted
artifact or in unproductive spend.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from agentyield import _semconv as sc
from agentyield._forksafe import fork_safe_lock

from ._accounts import (
    _CALL_VIEWS, OTHER, WINDOW, BudgetListener, Limits, PricedCall, Sink, TaskResult, Totals, _is_http_error, _Node, _Series,
    _Task,
)
from ._budget import Budget
from ._cache_watch import CacheWatch
from ._live import LiveMeasures
from ._normalize import Kind
from ._population import ToolUse
from ._pricing import PriceBook, Rates, Tiers, TokenCounts, cost_of
from ._records import ArtifactRecord, LLMCallRecord, TaskRecord, ToolCallRecord
from ._rollouts import Rollouts
from ._routing import routable
from ._trajectory import measures

__all__ = ["Ledger", "Limits", "PricedCall", "TaskResult", "Totals"]

_TOKEN_USAGE, _OPERATION_DURATION = "gen_ai.client.token.usage", "gen_ai.client.operation.duration"
_OUTSIDE_CALL = _Node(None, sc.PHASE_WORK, True)
"""The node of every LLM span with no known parent (nodes are never changed, so one serves them all)."""


class Ledger(LiveMeasures):
    def __init__(
        self,
        prices: PriceBook,
        *,
        default_agent: str = "default",
        limits: Limits = Limits(),
        sink: Sink | None = None,
        reprice: bool = False,
        small_model: str | None = None,
    ) -> None:
        self.prices = prices
        self.small_model = small_model
        """`instrument(small_model=...)`: routable calls are priced again at its rates (same provider)."""
        self.reprice = reprice
        """Price every call from `prices`, even one whose span carries the cost agentyield recorded when it ran."""
        self.default_agent = default_agent
        self.limits = limits
        self.sink: Sink = sink or (lambda name, value, labels: None)
        self.on_budget: BudgetListener | None = None
        self.cache_watch = CacheWatch()
        self.rollouts = Rollouts()
        self.counters: dict[str, dict[tuple[Any, ...], Any]] = defaultdict(lambda: defaultdict(int))
        """Accumulators of the low-rate metrics (tasks, artifacts, tools): name -> label tuple -> running total.
        Read every metric through `counter()`, which adds the LLM-call ones from their series."""
        self._series: dict[tuple[Any, ...], _Series] = {}
        self.limits_hit: dict[str, int] = defaultdict(int)
        self.windows: dict[str, Totals] = {}
        self._nodes: dict[int, _Node] = {}
        self._open_tasks = 0
        self._labels: dict[str, set[Any]] = defaultdict(set)
        self._lock = fork_safe_lock(self)

    # -- bounded labels -------------------------------------------------------------------------------

    def _label(self, attribute: str, value: Any) -> Any:
        seen = self._labels[attribute]
        if value in seen:
            return value
        if len(seen) >= self.limits.max_label_values:
            self.limits_hit[f"label:{attribute}"] += 1
            return OTHER
        seen.add(value)
        return value

    # -- span lifecycle -------------------------------------------------------------------------------

    def start(
        self, span_id: int, parent_id: int | None, kind: str, *, task: TaskRecord | None = None, phase: str | None = None, tool: str | None = None
    ) -> bool:
        """A span began: remember its task, phase and enclosing tool call (inherited from its parent) until it ends.
        Returns whether it is inside an LLM call (its parent is one): then it is part of that call."""
        with self._lock:
            parent = self._nodes.get(parent_id) if parent_id is not None else None
            inside_call = parent is not None and parent.is_llm
            if kind == Kind.LLM and phase is None:  # every call: it inherits all it knows from its parent
                if len(self._nodes) >= self.limits.max_open_spans:
                    self.limits_hit["open_spans"] += 1
                elif parent is None:
                    self._nodes[span_id] = _OUTSIDE_CALL
                else:
                    self._nodes[span_id] = _Node(parent.task, parent.phase, True, inside_call, parent.tool)
                return inside_call
            current = parent.task if parent is not None else None
            node_phase = phase or (parent.phase if parent is not None else sc.PHASE_WORK)
            enclosing_tool = parent.tool if parent is not None else None
            if kind == Kind.TASK and task is not None:
                enclosing_tool = None
                if self._open_tasks >= self.limits.max_open_tasks:
                    self.limits_hit["open_tasks"] += 1
                else:
                    self._open_tasks += 1
                    agent = task.agent or (current.agent if current is not None else self.default_agent)
                    if current is not None:
                        current.has_subtasks = True
                    current = _Task(task.task_id, task.name, agent, current, span_id=span_id, rollout_group=task.rollout_group)
                    if task.budget_usd is not None or task.budget_tokens is not None:
                        usd = Decimal(repr(task.budget_usd)) if task.budget_usd is not None else None
                        current.budget = Budget(usd, task.budget_tokens, task.budget_enforced)
                    current.budgeted = current.budget is not None or (current.parent is not None and current.parent.budgeted)
            if len(self._nodes) >= self.limits.max_open_spans:
                self.limits_hit["open_spans"] += 1
                return inside_call
            if kind == Kind.TOOL:
                duplicate = tool is not None and tool == enclosing_tool
                enclosing_tool = tool
            else:
                duplicate = kind == Kind.LLM and inside_call
            self._nodes[span_id] = _Node(current, node_phase, kind == Kind.LLM, duplicate, enclosing_tool)
            return inside_call

    def end_other(self, span_id: int) -> None:
        with self._lock:
            self._nodes.pop(span_id, None)

    def end_llm(self, span_id: int, call: LLMCallRecord) -> PricedCall | None:
        """An LLM call ended: price it and book it. None for a duplicate (an SDK's own span under ours)."""
        with self._lock:
            node = self._nodes.pop(span_id, None)
            if node is not None and node.duplicate:
                self._count_duplicate(call.provider)
                return None
            task = node.task if node is not None else None
            phase = call.phase or (node.phase if node is not None else sc.PHASE_WORK)
            agent = task.agent if task is not None else (call.agent or self.default_agent)
            return self._book_call(call, task, agent, phase)

    def end_duplicate(self, span_id: int, provider: str) -> bool:
        """If this LLM span is a duplicate (another layer's span of the call it is inside: an SDK's own span under
        ours), count it and forget it: True. Else False, and the span is still to be booked (`end_llm`). Lets an
        entry point skip reading a duplicate's call."""
        with self._lock:
            node = self._nodes.get(span_id)
            if node is None or not node.duplicate:
                return False
            del self._nodes[span_id]
            self._count_duplicate(provider)
            return True

    def _count_duplicate(self, provider: str) -> None:
        self.counters["agentyield.spans.duplicate"][(self._label(sc.GEN_AI_PROVIDER_NAME, provider),)] += 1

    def _series_for(self, call: LLMCallRecord, agent: str, phase: str) -> _Series:
        key = (call.provider, call.model, call.request_model, agent, phase, call.operation)
        series = self._series.get(key)
        if series is None:
            mixed = len(self._series) >= self.limits.max_series
            if mixed:
                self.limits_hit["series"] += 1
                key = (OTHER, OTHER, OTHER, OTHER, phase, call.operation)
                series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(
                    self._label(sc.GEN_AI_PROVIDER_NAME, key[0]),
                    self._label(sc.GEN_AI_RESPONSE_MODEL, key[1]),
                    self._label(sc.GEN_AI_REQUEST_MODEL, key[2]),
                    self._label(sc.GEN_AI_AGENT_NAME, key[3]),
                    phase,
                    call.operation,
                    mixed=mixed,
                )
        return series

    def _tiers(self, series: _Series, call: LLMCallRecord) -> Tiers | None:
        """The call's rates by tier: its model's, else its request model's; resolved once per series and half hour."""
        prices = self.prices
        period = prices.period(call.time_s)
        if period == series.price_period:
            return series.price_tiers
        tiers = prices.tiers(call.provider, call.model, period)
        if tiers is None and call.request_model != call.model:
            tiers = prices.tiers(call.provider, call.request_model, period)
        if not series.mixed:
            series.price_period, series.price_tiers = period, tiers
        return tiers

    def _book_call(self, call: LLMCallRecord, task: _Task | None, agent: str, phase: str) -> PricedCall:
        series = self._series.get((call.provider, call.model, call.request_model, agent, phase, call.operation)) or self._series_for(call, agent, phase)
        target = task.own if task is not None else (self.windows.get(agent) or self._window(agent))
        target.llm_calls += 1
        price: Decimal | None = None
        rates: Rates | None = None
        savings = premium = None
        drift = None
        missed = False
        if task is not None:
            task.models[call.model] = task.models.get(call.model, 0) + 1
            if task.trajectory.interaction():
                self._signal(task, "none")
            if task.trajectory.request(call.request_hash):
                self.counters["agentyield.llm.loops"][(series.provider, series.model, series.agent)] += 1
        if call.privacy_findings is not None:
            series.privacy_findings += call.privacy_findings
            if task is not None:
                task.privacy_findings = (task.privacy_findings or 0) + call.privacy_findings
        input_tokens, output_tokens = call.input_tokens, call.output_tokens
        if call.usage_invalid:
            series.invalid += 1
        not_billed = False
        if call.usage_missing or input_tokens is None or output_tokens is None:
            series.missing += 1
            # The provider answered with an HTTP error and reported no usage: it bills nothing for a refused request.
            not_billed = _is_http_error(call.error_type)
        else:
            cache_read, cache_write = call.cache_read_tokens or 0, call.cache_write_tokens or 0
            uncached = input_tokens - cache_read - cache_write
            if uncached < 0:
                # Input that excludes cache tokens (not the conventions' meaning): pricing it would be wrong.
                series.inconsistent += 1
            else:
                reasoning = call.reasoning_tokens
                series.with_usage += 1
                series.input += uncached
                target.input += uncached
                if not call.cache_reported:  # the source said nothing of the cache: its input may hide cache reads
                    series.cache_unreported += 1
                    series.input_cache_unreported += uncached
                    target.input_cache_unreported += uncached
                series.cache_read += cache_read
                series.cache_write += cache_write
                series.output += output_tokens
                series.reasoning += reasoning
                target.cache_read += cache_read
                target.cache_write += cache_write
                target.output += output_tokens
                target.reasoning += reasoning
                if task is not None:
                    task.trajectory.llm(input_tokens, cache_read)
                    if task.rollout_group is not None:
                        self._rollout_call(task, call, input_tokens, output_tokens)
                tiers = self._tiers(series, call)
                write_1h = min(call.cache_write_1h_tokens or 0, cache_write)
                write_5m = cache_write - write_1h
                if tiers is not None:
                    rates = tiers.for_input(input_tokens)
                    if write_5m and call.cache_write_1h_tokens is None and rates.cache_write_1h != rates.cache_write_5m:
                        series.ttl_assumed += 1  # no TTL split reported: priced at the 5-minute rate
                    if self.reprice or call.recorded_cost is None:
                        price = cost_of(uncached, cache_read, write_5m, write_1h, output_tokens, rates)
                    savings = cache_read * rates.read_saving
                    premium = rates.write_premium(write_5m, write_1h)
                    series.savings += savings
                    series.write_premium += premium
                missed, drift = self._watch_cache(series, call, input_tokens, uncached, rates)
                if routable(call):
                    series.routable += 1
                    if self.small_model is not None:
                        self._route(series, call, TokenCounts(uncached, cache_read, write_5m, write_1h, output_tokens), rates)
        if not_billed:
            price = Decimal(0)
            series.not_billed += 1
        elif not self.reprice and call.recorded_cost is not None:
            price = Decimal(repr(call.recorded_cost))  # the cost agentyield recorded when the call ran
        elif not self.reprice and call.recorded_unpriced:
            price = None
        if task is not None and task.budgeted and input_tokens is not None and output_tokens is not None:
            self._charge(task, price, input_tokens + output_tokens)
        sink = self.sink
        if input_tokens is not None:
            sink(_TOKEN_USAGE, input_tokens, series.input_labels)
        if output_tokens is not None:
            sink(_TOKEN_USAGE, output_tokens, series.output_labels)
        if call.duration_s is not None:
            error = call.error_type
            sink(_OPERATION_DURATION, call.duration_s, series.ok_labels if error is None else (*series.genai_labels, error))
        if price is None:
            series.unpriced += 1
            target.unpriced_calls += 1
            if task is not None:
                task.attributable_unpriced += 1
        else:
            if not not_billed:
                series.priced += 1
            series.cost += price
            target.cost += price
            if task is not None:
                task.attributable += price
                if phase == sc.PHASE_VERIFICATION:
                    task.verification_cost += price
        return PricedCall(price, agent, phase, task.task_id if task is not None else None, rates, savings, premium, drift, missed)

    def _window(self, agent: str) -> Totals:
        window = self.windows.get(agent)
        if window is None:
            if len(self.windows) >= self.limits.max_agents:
                self.limits_hit["agents"] += 1
                return self.windows.setdefault(OTHER, Totals())
            window = self.windows[agent] = Totals()
        return window

    def open_windows(self) -> dict[str, Totals]:
        """Spend outside tasks that no artifact has closed yet, by agent: booked nowhere else until one does."""
        with self._lock:
            out: dict[str, Totals] = {}
            for agent, window in self.windows.items():
                if window.llm_calls:
                    copy = Totals()
                    copy.add(window)
                    out[agent] = copy
            return out

    def counter(self, name: str) -> dict[tuple[Any, ...], Any]:
        """A snapshot of one counter: label tuple -> running total (the LLM-call ones summed from their series)."""
        with self._lock:
            view = _CALL_VIEWS.get(name)
            if view is None:
                return dict(self.counters.get(name, {}))
            out: dict[tuple[Any, ...], Any] = defaultdict(int)
            for series in self._series.values():
                for labels, value in view(series):
                    out[labels] += value
            return dict(out)

    def count(self, name: str, attribute: str, value: Any) -> None:
        """Add one to a counter with a single bounded label (spans skipped as duplicates, unrecognized, ...)."""
        with self._lock:
            self.counters[name][(self._label(attribute, value),)] += 1

    def end_tool(self, span_id: int, call: ToolCallRecord) -> None:
        """A tool call ended: count it (once: a span of the same call made by another layer is a duplicate)."""
        with self._lock:
            node = self._nodes.pop(span_id, None)
            if node is not None and node.duplicate:
                self.counters["agentyield.tool.spans.duplicate"][(self._label(sc.GEN_AI_TOOL_NAME, call.name),)] += 1
                return
            task = node.task if node is not None else None
            agent = task.agent if task is not None else self.default_agent
            target = task.own if task is not None else self._window(agent)
            target.tool_calls += 1
            target.tool_errors += int(call.error)
            labels = (self._label(sc.GEN_AI_AGENT_NAME, agent), self._label(sc.GEN_AI_TOOL_NAME, call.name))
            if task is not None:
                if len(task.tools) < self.limits.max_tools_per_task:
                    task.tools.append(ToolUse(call.name, call.error, call.phase or (node.phase if node else sc.PHASE_WORK)))
                else:
                    self.limits_hit["task_tools"] += 1
                repeat, loop = task.trajectory.tool(call.name, call.args_hash)
                if repeat:
                    self.counters["agentyield.tool.calls.redundant"][labels] += 1
                if loop:
                    self.counters["agentyield.loops"][labels] += 1
                if task.trajectory.next_state():
                    self._signal(task, "tool_error" if call.error else "tool_success")
            self.counters["agentyield.tool.calls"][(*labels, "true" if call.error else "false")] += 1
            if call.duration_s is not None:
                self.sink("gen_ai.execute_tool.duration", call.duration_s, (
                    labels[1], self._label(sc.ERROR_TYPE, call.error_type), labels[0], self._label(sc.GEN_AI_TOOL_TYPE, call.tool_type),
                ))

    def end_verification(self, span_id: int, passed: bool | None) -> None:
        """A verification block ended with a recorded outcome (or none): count it, and keep it on its task."""
        with self._lock:
            node = self._nodes.pop(span_id, None)
            task = node.task if node is not None else None
            agent = task.agent if task is not None else self.default_agent
            state = "unknown" if passed is None else ("true" if passed else "false")
            self.counters["agentyield.verifications"][(self._label(sc.GEN_AI_AGENT_NAME, agent), state)] += 1
            if task is not None and passed is not None and task.trajectory.next_state():
                self._signal(task, "verification_pass" if passed else "verification_fail")
            if task is not None and passed is not None:
                if len(task.verifications) < self.limits.max_tools_per_task:
                    task.verifications.append(passed)
                else:
                    self.limits_hit["task_verifications"] += 1

    def end_task(self, span_id: int, record: TaskRecord) -> TaskResult:
        """A task ended: book its outcome, artifacts and cost."""
        with self._lock:
            node = self._nodes.pop(span_id, None)
            task = node.task if node is not None and node.task is not None and node.task.task_id == record.task_id else None
            if task is None:  # its start was dropped by a limit: book what the end says, with no spend
                task = _Task(record.task_id, record.name, record.agent or self.default_agent, None)
            else:
                self._open_tasks -= 1
            total = task.total()
            if task.parent is not None:
                task.parent.children.add(total)
            agent = self._label(sc.GEN_AI_AGENT_NAME, task.agent)
            name = self._label(sc.TASK_NAME, task.name)
            outcome = record.outcome or "unknown"
            self.counters["agentyield.tasks"][(agent, name, outcome)] += 1
            if record.duration_s is not None:  # the conventions' agent (or workflow) invocation duration
                error = self._label(sc.ERROR_TYPE, record.error_type)
                if record.agent is not None:
                    self.sink("gen_ai.invoke_agent.duration", record.duration_s, (agent, error))
                else:
                    self.sink("gen_ai.workflow.duration", record.duration_s, (name, error))
            accepted = self._book_artifacts(record.artifacts, agent)
            if record.artifacts_dropped:
                self.limits_hit["task_artifacts"] += record.artifacts_dropped
            if task.trajectory.close():
                self._signal(task, "none")
            if task.rollout_group is not None:
                signature = hash((task.trajectory.signature, task.trajectory.llm_calls))
                self.counters["agentyield.rollout.tasks"][(agent,)] += 1
                self.counters["agentyield.rollout.trajectories.distinct"][(agent,)] += self.rollouts.finish(task.rollout_group, signature)
            values = measures(task.trajectory, total, task.own, task.verification_cost, record.artifacts, task.has_subtasks)
            for measure, value in values:
                self.sink(measure, value, (agent, name))
            if task.trajectory.distinct_dropped:
                self.limits_hit["task_distinct_tool_calls"] += task.trajectory.distinct_dropped
            # No LLM call seen in its tree: its cost is unknown (a client agentyield cannot see?), not $0.
            seen = total.llm_calls > 0
            complete = seen and task.attributable_unpriced == 0 and total.unpriced_calls == 0
            if complete:
                self.sink("agentyield.task.cost.usd", float(total.cost), (agent, name, outcome))
            else:
                self.counters["agentyield.tasks.cost_unknown"][(agent, name)] += 1
            if accepted:
                if seen and task.attributable_unpriced == 0:
                    for kind in accepted:
                        self.sink("agentyield.artifact.cost.usd", float(task.attributable / len(accepted)), (agent, kind))
            elif task.parent is not None:
                task.parent.attributable += task.attributable
                task.parent.attributable_unpriced += task.attributable_unpriced
            else:
                self.counters["agentyield.unproductive.cost.usd"][(agent, name)] += task.attributable
            return TaskResult(
                record=record,
                agent=task.agent,
                parent_id=task.parent.task_id if task.parent is not None else None,
                total=total,
                own=task.own,
                accepted_kinds=tuple(a.kind for a in record.artifacts if a.accepted),
                attributable=task.attributable if task.attributable_unpriced == 0 else None,
                attributable_known=task.attributable,
                models=tuple(sorted(task.models, key=lambda m: -task.models[m])),
                tools=tuple(task.tools),
                verification_cost=task.verification_cost,
                privacy_findings=task.privacy_findings,
                verifications=tuple(task.verifications),
                budget_exceeded=task.budget is not None and task.budget.exceeded,
                measures=tuple(values),
            )

    def _book_artifacts(self, artifacts: list[ArtifactRecord], agent: Any) -> list[Any]:
        """Count artifacts; return the (bounded) kinds of the accepted ones."""
        accepted = []
        for artifact in artifacts:
            kind = self._label(sc.ARTIFACT_KIND, artifact.kind)
            state = "unknown" if artifact.accepted is None else ("true" if artifact.accepted else "false")
            self.counters["agentyield.artifacts"][(agent, kind, state)] += 1
            if artifact.accepted:
                accepted.append(kind)
        return accepted

    def end_window_artifact(self, span_id: int, artifact: ArtifactRecord) -> Totals:
        """An artifact outside any task closes its agent's window: the spend since its previous artifact."""
        with self._lock:
            self._nodes.pop(span_id, None)
            agent = artifact.agent or self.default_agent
            window = self.windows.pop(agent, None) or Totals()
            label = self._label(sc.GEN_AI_AGENT_NAME, agent)
            accepted = self._book_artifacts([artifact], label)
            if accepted:
                if window.llm_calls and window.unpriced_calls == 0:
                    self.sink("agentyield.artifact.cost.usd", float(window.cost), (label, accepted[0]))
            else:
                self.counters["agentyield.unproductive.cost.usd"][(label, WINDOW)] += window.cost
            return window
