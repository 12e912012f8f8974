"""Offline entry point of the derivation core: OTLP JSON spans replayed through the same booking and ledger.

Spans are replayed in time order (starts and ends as events), exactly as the span processor sees them
live, so a file gives the numbers the live metrics gave. The result is a population of tasks and calls
for the offline analyses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ._decode import MalformedOTLP, decode_spans  # noqa: F401 - decoding is part of replay's interface
from ._ledger import Ledger, PricedCall, TaskResult
from ._population import CallRow, OpenWindow, TaskRow, WindowArtifact
from ._pricing import PriceBook
from ._records import LLMCallRecord
from ._traces import CallWindow, SpanRow, book_spans

__all__ = ["MalformedOTLP", "Population", "SpanRow", "decode_spans", "replay"]


@dataclass
class Population:
    tasks: list[TaskRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)
    windows: list[WindowArtifact] = field(default_factory=list)
    ledger: Ledger | None = None
    duplicate_spans: int = 0
    """Spans read more than once (same trace and span id), booked once."""
    price_sources: tuple[str, ...] = ()
    """The price data that priced the spans live (their scopes' `agentyield.price.source`)."""
    open_windows: list[OpenWindow] = field(default_factory=list)
    """Spend outside tasks that no artifact had closed when the input ended."""


def _task_row(result: TaskResult, span: SpanRow) -> TaskRow:
    total = result.total
    record = result.record
    return TaskRow(
        task_id=record.task_id,
        name=record.name,
        agent=result.agent,
        version=record.version,
        parent_id=result.parent_id,
        start_s=span.start_ns / 1e9,
        end_s=span.end_ns / 1e9,
        outcome=record.outcome or "unknown",
        score=record.score,
        cost=float(total.cost) if total.unpriced_calls == 0 else None,
        cost_known=float(total.cost),
        input=total.input,
        input_cache_unreported=total.input_cache_unreported,
        cache_read=total.cache_read,
        cache_write=total.cache_write,
        output=total.output,
        reasoning=total.reasoning,
        llm_calls=total.llm_calls,
        models=result.models,
        attributable_cost=float(result.attributable) if result.attributable is not None else None,
        attributable_known=float(result.attributable_known),
        accepted_kinds=result.accepted_kinds,
        artifacts_rejected=sum(1 for a in record.artifacts if a.accepted is False),
        artifacts_unknown=sum(1 for a in record.artifacts if a.accepted is None),
        tools=result.tools,
        verification_cost=float(result.verification_cost),
        verifications=result.verifications,
        privacy_findings=result.privacy_findings,
        measures=dict(result.measures),
        attributes={k: v for k, v in span.attributes.items() if not k.startswith("agentyield.task.")},
    )


def unique_spans(spans: Iterable[SpanRow]) -> list[SpanRow]:
    """Each (trace id, span id) once: the same file read twice, or a span exported twice, is one span."""
    seen: set[tuple[int, int]] = set()
    out: list[SpanRow] = []
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key not in seen:
            seen.add(key)
            out.append(span)
    return out


def _call_row(span: SpanRow, call: LLMCallRecord, priced: PricedCall) -> CallRow:
    has_usage = call.input_tokens is not None and call.output_tokens is not None and not call.usage_missing
    rates = priced.rates
    cache_read, cache_write = call.cache_read_tokens or 0, call.cache_write_tokens or 0
    return CallRow(
        time_s=span.end_ns / 1e9,
        agent=priced.agent,
        provider=call.provider,
        model=call.model,
        input=max(0, (call.input_tokens or 0) - cache_read - cache_write) if has_usage else 0,
        cache_read=cache_read,
        cache_write=cache_write,
        output=call.output_tokens or 0,
        cost=float(priced.cost) if priced.cost is not None else None,
        prefix_hash=call.prefix_hash,
        task_id=priced.task_id,
        uncached_input_rate=float(rates.uncached_input) if rates is not None else None,
        cache_read_rate=float(rates.cache_read) if rates is not None else None,
        cache_reported=call.cache_reported,
        has_usage=has_usage,
        savings=float(priced.savings) if priced.savings is not None else None,
        write_premium=float(priced.write_premium) if priced.write_premium is not None else None,
        reasoning=call.reasoning_tokens,
        missed_cache=priced.missed_cache,
    )


def replay(spans: list[SpanRow], prices: PriceBook, *, verification_tools: Iterable[str] = (), reprice: bool = False) -> Population:
    """Book every span in time order; the ledger's live metrics and the population both come out.

    The cost agentyield recorded on a span when it ran is that call's cost (so a report gives the live numbers
    whatever price data it has); `reprice` prices every call from `prices` instead. Each call is priced at
    the rates in force when it started.
    """
    ledger = Ledger(prices, reprice=reprice)
    read = len(spans)
    spans = unique_spans(spans)
    population = Population(
        ledger=ledger,
        duplicate_spans=read - len(spans),
        price_sources=tuple(sorted({s.price_source for s in spans if s.price_source is not None})),
    )
    for span, booked in book_spans(ledger, spans, verification_tools, CallWindow()):
        if booked.task is not None:
            population.tasks.append(_task_row(booked.task, span))
        elif booked.window is not None:
            artifact, window = booked.window
            population.windows.append(
                WindowArtifact(
                    agent=artifact.agent or ledger.default_agent,
                    kind=artifact.kind,
                    accepted=artifact.accepted,
                    cost=float(window.cost) if window.unpriced_calls == 0 else None,
                    llm_calls=window.llm_calls,
                    cost_known=float(window.cost),
                )
            )
        elif booked.priced is not None and booked.call is not None:
            population.calls.append(_call_row(span, booked.call, booked.priced))
    population.open_windows = [
        OpenWindow(agent, w.llm_calls, float(w.cost), w.unpriced_calls) for agent, w in ledger.open_windows().items()
    ]
    return population
