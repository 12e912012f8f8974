"""Offline entry point of the derivation core: OTLP JSON spans replayed through the same booking and ledger.

Spans are replayed in time order (starts and ends as events), exactly as the span processor sees them
live, so a file gives the numbers the live metrics gave. The result is a population of tasks and calls
for the offline analyses.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from agentyield import _semconv as sc

from ._ledger import Ledger, PricedCall, TaskResult
from ._population import CallRow, OpenWindow, TaskRow, WindowArtifact
from ._pricing import PriceBook
from ._records import LLMCallRecord
from ._traces import CallWindow, SpanRow, book_spans

__all__ = ["Population", "SpanRow", "decode_spans", "replay"]

_ERROR = 2  # OTLP status code ERROR


def _any_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return tuple(_any_value(v) for v in value["arrayValue"].get("values", ()))
    if "kvlistValue" in value:
        return {kv["key"]: _any_value(kv.get("value", {})) for kv in value["kvlistValue"].get("values", ())}
    return None


def _attributes(items: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {kv["key"]: _any_value(kv.get("value", {})) for kv in items or ()}


def _id(value: str | None) -> int | None:
    """OTLP/JSON ids are hex; protobuf's own JSON mapping writes base64. Accept both."""
    if not value:
        return None
    try:
        return int(value, 16)
    except ValueError:
        return int.from_bytes(base64.b64decode(value), "big")


def decode_spans(request: Mapping[str, Any]) -> list[SpanRow]:
    """The spans of one OTLP JSON export request (`resourceSpans`); other signals give none."""
    rows: list[SpanRow] = []
    for resource_spans in request.get("resourceSpans", ()):
        service = _attributes(resource_spans.get("resource", {}).get("attributes")).get("service.name")
        if isinstance(service, str) and service.startswith("unknown_service"):
            service = None
        for scope_spans in resource_spans.get("scopeSpans", ()):
            price_source = _attributes(scope_spans.get("scope", {}).get("attributes")).get(sc.PRICE_SOURCE)
            scope = scope_spans.get("scope", {}).get("name")
            for span in scope_spans.get("spans", ()):
                rows.append(
                    SpanRow(
                        name=span.get("name", ""),
                        trace_id=_id(span.get("traceId")) or 0,
                        span_id=_id(span.get("spanId")) or 0,
                        parent_id=_id(span.get("parentSpanId")),
                        start_ns=int(span.get("startTimeUnixNano", 0)),
                        end_ns=int(span.get("endTimeUnixNano", 0)),
                        is_error=span.get("status", {}).get("code") in (_ERROR, "STATUS_CODE_ERROR"),
                        attributes=_attributes(span.get("attributes")),
                        events=[(e.get("name", ""), _attributes(e.get("attributes"))) for e in span.get("events", ())],
                        service=service if isinstance(service, str) else None,
                        price_source=price_source if isinstance(price_source, str) else None,
                        scope=scope if isinstance(scope, str) else None,
                    )
                )
    return rows


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
        prefix_hash=span.attributes.get(sc.PROMPT_PREFIX_HASH),
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
