"""The ledger's live agent measures (docs/metrics.md, "Tool calls and live agent measures"): the cache watched
per call (missed caching, cache breaks), small-model routing savings, prefix sharing across rollouts, learning
signals and budgets charged up the task chain. Methods of `Ledger` (which inherits them), kept apart so the
ledger's own booking stays short; they run with the ledger's lock held, like the booking that calls them.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable

from agentyield import _semconv as sc

from ._pricing import cost

if TYPE_CHECKING:
    from ._pricing import Rates, TokenCounts
    from ._budget import Budget
    from ._cache_watch import CacheWatch, Drift
    from ._accounts import BudgetListener, Limits, _Node, _Series, _Task
    from ._records import LLMCallRecord
    from ._rollouts import Rollouts

__all__ = ["LiveMeasures"]


class LiveMeasures:
    """Mixed into `Ledger`; the attributes below are the ledger's."""

    counters: dict[str, dict[tuple[Any, ...], Any]]
    limits: Limits
    limits_hit: dict[str, int]
    default_agent: str
    small_model: str | None
    on_budget: BudgetListener | None
    cache_watch: CacheWatch
    rollouts: Rollouts
    _nodes: dict[int, _Node]
    _lock: Any
    prices: Any
    _label: Callable[[str, Any], Any]

    def _watch_cache(
        self, series: _Series, call: LLMCallRecord, input_tokens: int, uncached: int, rates: Rates | None
    ) -> tuple[bool, Drift | None]:
        """Missed caching and cache breaks (`_cache_watch`), per agent and model, for a call that reported usage:
        (did it miss the cache, the break it revealed). The one place the missed-caching rule is applied."""
        stream = series.cache_stream
        if stream is None:
            key = (series.agent, series.model)
            if key not in self.cache_watch and len(self.cache_watch) >= self.limits.max_series:
                self.limits_hit["cache_watch"] += 1
                return False, None
            stream = series.cache_stream = self.cache_watch.stream(key)
        cache_read = call.cache_read_tokens or 0 if call.cache_reported else None
        missed, drift = stream.observe(call.time_s or time.time(), call.prefix_hash, input_tokens, cache_read)
        if missed:
            series.missed_calls += 1
            if rates is None:
                series.missed_unpriced += 1
            else:
                series.missed_usd += uncached * (rates.uncached_input - rates.cache_read)
        if drift is not None:
            self.counters["agentyield.cache.drifts"][(series.provider, series.model, series.agent, drift.cause)] += 1
        return missed, drift

    def _route(self, series: _Series, call: LLMCallRecord, counts: TokenCounts, rates: Rates | None) -> None:
        """What a routable call would have cost on the small model (same tokens, its rates, same provider)."""
        assert self.small_model is not None
        small = self.prices.rates(call.provider, self.small_model, call.input_tokens or 0, at=call.time_s)
        if rates is None or small is None:
            series.routing_unpriced += 1
            return
        series.routing_savings += max(Decimal(0), cost(counts, rates) - cost(counts, small))

    def _rollout_call(self, task: _Task, call: LLMCallRecord, input_tokens: int, output_tokens: int) -> None:
        assert task.rollout_group is not None
        counters, agent = self.counters, (self._label(sc.GEN_AI_AGENT_NAME, task.agent),)
        if task.trajectory.llm_calls == 1:
            counters["agentyield.rollout.input.shared.tokens"][agent] += self.rollouts.first_call(task.rollout_group, call.prefix_hash, input_tokens)
        counters["agentyield.rollout.input.tokens"][agent] += input_tokens
        counters["agentyield.rollout.output.tokens"][agent] += output_tokens

    def _signal(self, task: _Task, kind: str) -> None:
        self.counters["agentyield.signals"][(self._label(sc.GEN_AI_AGENT_NAME, task.agent), self._label(sc.SIGNAL_KIND, kind))] += 1

    def end_signal(self, span_id: int, kind: str) -> None:
        """A learning signal recorded by the application (a user reply, ...): the next state of the task's last
        LLM call, if one awaits it; counted either way."""
        with self._lock:
            node = self._nodes.pop(span_id, None)
            task = node.task if node is not None else None
            if task is not None:
                task.trajectory.next_state()
                self._signal(task, kind)
            else:
                self.counters["agentyield.signals"][(self._label(sc.GEN_AI_AGENT_NAME, self.default_agent), self._label(sc.SIGNAL_KIND, kind))] += 1

    def _charge(self, task: _Task, price: Decimal | None, tokens: int) -> None:
        """Charge a call to its task and every ancestor with a budget; tell the listener of each line crossed."""
        current: _Task | None = task
        while current is not None:
            budget = current.budget
            if budget is not None:
                crossing = budget.charge(price, tokens)
                if crossing is not None:
                    if crossing == "exceeded":
                        key = (self._label(sc.GEN_AI_AGENT_NAME, current.agent), self._label(sc.TASK_NAME, current.name))
                        self.counters["agentyield.budget.exceeded"][(*key, "raise" if budget.enforce else "record")] += 1
                    if self.on_budget is not None and current.span_id is not None:
                        self.on_budget(current.span_id, crossing, budget)
            current = current.parent

    def budget_exceeded(self, span_id: int) -> str | None:
        """Whether the task of this (open) task span, or an ancestor, exceeded a budget that is enforced: the
        reason, else None. Called before each LLM call inside a task whose chain enforces a budget."""
        with self._lock:
            node = self._nodes.get(span_id)
            current = node.task if node is not None else None
            while current is not None:
                budget = current.budget
                if budget is not None and budget.enforce and budget.exceeded:
                    return f"task {current.name!r} exceeded its budget ({budget.describe()})"
                current = current.parent
            return None
