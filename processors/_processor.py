"""The in-process entry point of the derivation core: a span processor.

It reads span attributes only (never client SDK objects), so spans from any instrumentation feed it.
Spans that agentyield itself ends (LLM calls, tasks) are booked just before they end (`book_ending`,
`enrich`), while they can still take attributes: the processor writes the cost and task totals onto them,
so Jaeger shows them. Spans from other instrumentations are booked at `on_end`.
Every method is O(1) per span, does no I/O, and guards itself: the SDK calls processors unguarded.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from agentyield import _semconv as sc
from agentyield._forksafe import fork_safe_lock
from agentyield._guard import internal_error

from . import _normalize as normalize
from ._booking import begin, finish, finish_llm
from ._cache_watch import Drift
from ._ledger import Ledger, Limits, TaskResult
from ._metrics import LedgerMetrics
from ._pricing import PriceBook
from ._traces import CallWindow

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.trace import ReadableSpan, Span

__all__ = ["AgentYieldSpanProcessor"]

_MAX_ENRICHED = 100_000
_MAX_FOREIGN_PROVIDERS = 64
ANY_PROVIDER = "*"
_CLIENT, _ERROR, _LLM = SpanKind.CLIENT, StatusCode.ERROR, normalize.Kind.LLM
_COST_USD, _PRICED, _WORK = sc.COST_USD, sc.PRICED, sc.PHASE_WORK
CACHE_DRIFT = "agentyield.cache.drift"
_drift_log = logging.getLogger(CACHE_DRIFT)


class AgentYieldSpanProcessor(SpanProcessor):  # type: ignore[misc]
    def __init__(
        self,
        meter_provider: MeterProvider | None = None,
        *,
        prices: PriceBook | None = None,
        default_agent: str = "default",
        verification_tools: Iterable[str] = (),
        limits: Limits = Limits(),
        small_model: str | None = None,
    ) -> None:
        self.prices = prices or PriceBook()
        self.ledger = Ledger(self.prices, default_agent=default_agent, limits=limits, small_model=small_model)
        self.metrics = LedgerMetrics(self.ledger, meter_provider, {sc.PRICE_SOURCE: self.prices.version})
        self.ledger.sink = self.metrics.record
        self.verification_tools = frozenset(verification_tools)
        self._enriched: set[int] = set()
        """Spans booked by `book_ending`; set operations are atomic, so no lock."""
        self._budgeted: dict[int, Span] = {}
        """Open task spans with a budget, to add the budget's events to (bounded by the ledger's open tasks)."""
        self.ledger.on_budget = self._budget_crossed
        self._calls = CallWindow()
        """Recent LLM calls: one call that two instrumentations recorded in two traces is booked once (the same
        rule as `agentyield serve`'s, docs/interop.md)."""
        self._calls_lock = fork_safe_lock(self, "_calls_lock")
        self._foreign: frozenset[str] = frozenset()
        """The providers of other instrumentations' spans that started outside any LLM call (`ANY_PROVIDER`: one
        that named none at start). A call of another provider cannot be seen in two traces, so it skips the window:
        set at such a span's start, before any span that could overlap it ends. Replaced, never mutated."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            parent = span.parent
            parent_id = parent.span_id if parent else None
            if span.kind is _CLIENT and span.instrumentation_scope.name == "agentyield":
                self.ledger.start(span.context.span_id, parent_id, _LLM)  # our own LLM span
                return
            attributes = attributes_of(span)
            inside_call = begin(self.ledger, span.context.span_id, parent_id, span.name, attributes, self.verification_tools)
            # Another instrumentation's span inside an LLM call is part of that call, in its trace (the anthropic
            # SDK's own span under ours): only one outside a call can record a call in another trace.
            if not inside_call and span.instrumentation_scope is not None and span.instrumentation_scope.name != "agentyield":
                self._note_foreign(normalize.provider_of(attributes))
            if (sc.BUDGET_USD in attributes or sc.BUDGET_TOKENS in attributes) and len(self._budgeted) < self.ledger.limits.max_open_tasks:
                self._budgeted[span.context.span_id] = span
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.on_start", exc)

    def _note_foreign(self, provider: str) -> None:
        foreign = self._foreign
        if provider in foreign or ANY_PROVIDER in foreign:
            return
        with self._calls_lock:  # a new provider is rare: two threads adding one each must both land
            foreign = self._foreign
            if provider == normalize.UNKNOWN_PROVIDER or len(foreign) >= _MAX_FOREIGN_PROVIDERS:
                provider = ANY_PROVIDER
            self._foreign = foreign | {provider}

    def book_ending(self, span: Span, attributes: Mapping[str, Any], end_time: int) -> dict[str, Any]:
        """Book a span agentyield is about to end at `end_time` (ns), from all the attributes it will have.

        Returns the derived attributes (cost, task totals) for the caller to set before `end(end_time)`; `on_end`
        then knows the span is booked already. The caller ends the span at the instant it was booked with, so
        the durations the ledger records are the span's own.
        """
        try:
            enriched = self._enriched
            if len(enriched) >= _MAX_ENRICHED:
                self.ledger.limits_hit["enriched_spans"] += 1
                return {}  # booked at on_end instead, without derived attributes
            enriched.add(span.context.span_id)
            return self._book(span, attributes, end_time, True)
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.book_ending", exc)
            return {}

    def enrich(self, span: Span, end_time: int) -> None:
        """Book a span agentyield is about to end (a task), and write the derived values onto it."""
        try:
            span.set_attributes(self.book_ending(span, attributes_of(span), end_time))
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.enrich", exc)

    def budget_exceeded(self, span_id: int) -> str | None:
        """Why the task of this task span (or an ancestor) may not send another LLM call, or None."""
        return self.ledger.budget_exceeded(span_id)

    def _budget_crossed(self, span_id: int, crossing: str, budget: Any) -> None:
        span = self._budgeted.get(span_id)
        if span is None:
            return
        event = sc.BUDGET_EXCEEDED_EVENT if crossing == "exceeded" else sc.BUDGET_WARNING_EVENT
        attributes: dict[str, Any] = {"agentyield.budget.spent.tokens": budget.spent_tokens, "agentyield.budget.spent.usd": float(budget.spent_usd)}
        if budget.unpriced_calls:
            attributes["agentyield.budget.unpriced_calls"] = budget.unpriced_calls
        span.add_event(event, attributes)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            span_id = span.context.span_id
            if self._budgeted:
                self._budgeted.pop(span_id, None)
            enriched = self._enriched
            if span_id in enriched:
                enriched.discard(span_id)
                return
            self._book(span, attributes_of(span), span.end_time or time.time_ns())
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.on_end", exc)

    def _book(self, span: Any, attributes: Mapping[str, Any], end_time: int, live: bool = False) -> dict[str, Any]:
        """Book a span (`live`: one agentyield is about to end, which can still take events); return the derived
        attributes it should carry."""
        start_time = span.start_time
        span_id = span.context.span_id
        kind = normalize.classify(span.name, attributes)
        if kind != _LLM:
            booked = finish(
                self.ledger, span_id, span.name, attributes, lambda: [(event.name, event.attributes or {}) for event in span.events],
                span.status.status_code is _ERROR, (end_time - start_time) / 1e9, start_time / 1e9, _scope(span), kind,
            )
            return _task_attributes(booked.task) if booked.task is not None else {}
        if not live and self.ledger.end_duplicate(span_id, normalize.provider_of(attributes)):
            return {}  # another instrumentation's span of a call it is inside: that call's span books it
        call = normalize.llm_call(attributes)
        foreign = self._foreign
        if foreign and (call.provider in foreign or ANY_PROVIDER in foreign):  # the window: one call in two traces
            with self._calls_lock:
                repeat = self._calls.repeats(span.context.trace_id, start_time, end_time, None, _scope(span), call, normalize.response_id(attributes))
            if repeat:
                self.ledger.count("agentyield.spans.duplicate", "gen_ai.provider.name", call.provider)
                self.ledger.end_other(span_id)
                return {}
        priced = finish_llm(self.ledger, span_id, call, (end_time - start_time) / 1e9, start_time / 1e9)
        if priced is None:
            return {}
        if priced.drift is not None:
            _report_drift(span if live else None, priced.drift, priced.agent, call.model)
        # Which price table priced it is an attribute of agentyield's instrumentation scope, not of each span.
        out: dict[str, Any] = {_COST_USD: float(priced.cost)} if priced.cost is not None else {_PRICED: False}
        if priced.phase != _WORK:
            out[sc.PHASE] = priced.phase
        return out

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def attributes_of(span: Any) -> dict[str, Any]:
    """A span's attributes as a dict of its own. The SDK's read-only view hands over a copy of its BoundedAttributes'
    dict, made in C (`copy()`): about 20x cheaper than `dict()` through the Mapping protocol, one Python call per key,
    and this runs twice for every span of another instrumentation (the anthropic SDK's own span on every call)."""
    attributes = span.attributes
    copy = getattr(attributes, "copy", None)
    if copy is not None:
        copied = copy()
        if type(copied) is dict:
            return copied
    return dict(attributes or {})


def _scope(span: Any) -> str | None:
    scope = span.instrumentation_scope
    return scope.name if scope is not None else None


def _report_drift(span: Span | None, drift: Drift, agent: str, model: str) -> None:
    """A cache break: an event on the call's span (when it can still take one) and a log record
    `agentyield.cache.drift` naming the cause."""
    attributes: dict[str, Any] = {
        sc.GEN_AI_AGENT_NAME: agent,
        sc.GEN_AI_RESPONSE_MODEL: model,
        "agentyield.cache.drift.cause": drift.cause,
        "agentyield.cache.drift.ratio_before": drift.before,
        "agentyield.cache.drift.ratio_after": drift.after,
    }
    for key, value in (("agentyield.cache.drift.prefix_before", drift.prefix_before), ("agentyield.cache.drift.prefix_after", drift.prefix_after)):
        if value is not None:
            attributes[key] = value
    if span is not None:
        span.add_event(CACHE_DRIFT, attributes)
    _drift_log.warning(
        "cache-read ratio of agent %r on %s fell from %.2f to %.2f: %s", agent, model, drift.before, drift.after, drift.describe(),
        extra={"agentyield": attributes},
    )


def _task_attributes(result: TaskResult) -> dict[str, Any]:
    totals = result.total
    out: dict[str, Any] = {
        sc.TASK_COST_USD: float(totals.cost),
        sc.TASK_OWN_COST_USD: float(result.own.cost),
        sc.TASK_LLM_CALLS: totals.llm_calls,
        sc.TASK_UNPRICED_CALLS: totals.unpriced_calls,
        sc.TASK_ARTIFACTS_ACCEPTED: result.accepted_artifacts,
        sc.TASK_TOKENS_PREFIX + "input": totals.input,
        sc.TASK_TOKENS_PREFIX + "cache_read": totals.cache_read,
        sc.TASK_TOKENS_PREFIX + "cache_write": totals.cache_write,
        sc.TASK_TOKENS_PREFIX + "output": totals.output,
        sc.TASK_TOKENS_PREFIX + "reasoning": totals.reasoning,
    }
    ratio = totals.cache_read_ratio
    if ratio is not None:
        out[sc.TASK_CACHE_READ_RATIO] = ratio
    if result.privacy_findings is not None:
        out[sc.TASK_PRIVACY_FINDINGS] = result.privacy_findings
    if result.budget_exceeded:
        out[sc.TASK_BUDGET_EXCEEDED] = True
    return out
