"""Offline entry point of the derivation core: OTLP JSON spans replayed through the same trace assembly,
booking and ledger as `agentyield serve`.

Each trace is booked in time order (starts and ends as events), exactly as the span processor sees it
live, so a file gives the numbers the live metrics gave. The input streams through: what is held is the
open traces (bounded, every drop counted) and the population of tasks and calls the offline analyses read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from sys import intern
from typing import Iterable, Iterator

from ._assembly import AssemblyLimits, TraceAssembler, held_bytes
from ._booking import Booked
from ._decode import MalformedOTLP, decode_spans  # noqa: F401 - decoding is part of replay's interface
from ._ledger import Ledger, PricedCall, TaskResult
from ._population import CallRow, OpenWindow, TaskRow, WindowArtifact
from ._pricing import PriceBook
from ._records import LLMCallRecord
from ._traces import CallWindow, SpanRow, book_spans

__all__ = ["AssemblyLimits", "MalformedOTLP", "Population", "SpanRow", "decode_spans", "replay"]

_BATCH = 512
"""Spans handed to the assembly at a time (what one export request holds at most by default)."""


@dataclass
class Population:
    tasks: list[TaskRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)
    windows: list[WindowArtifact] = field(default_factory=list)
    ledger: Ledger | None = None
    spans_read: int = 0
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
        name=intern(record.name),
        agent=intern(result.agent),
        version=intern(record.version) if record.version is not None else None,
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
    )


def _call_row(span: SpanRow, call: LLMCallRecord, priced: PricedCall) -> CallRow:
    has_usage = call.input_tokens is not None and call.output_tokens is not None and not call.usage_missing
    rates = priced.rates
    cache_read, cache_write = call.cache_read_tokens or 0, call.cache_write_tokens or 0
    return CallRow(
        time_s=span.end_ns / 1e9,
        agent=intern(priced.agent),  # one string per agent, provider and model, however many calls (bounded memory)
        provider=intern(call.provider),
        model=intern(call.model),
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


def replay(
    spans: Iterable[SpanRow],
    prices: PriceBook,
    *,
    verification_tools: Iterable[str] = (),
    reprice: bool = False,
    limits: AssemblyLimits | None = None,
) -> Population:
    """Book the spans trace by trace, each in time order, through the same bounded assembly as `agentyield
    serve`; the ledger's live metrics and the population both come out.

    `spans` is read once, as it comes (a generator over a file streams): memory follows the open traces, not
    the input's size. The clock is the spans' own (the latest end read so far): a trace is booked once its
    root has ended and the input has moved `grace_s` past it, or at its time to live, or early when a bound
    is hit (counted in `limits_hit` as `report:...`). Traces that become due together are booked together in
    time order, so spans written in the order they end (the embedded store, a Collector's file exporter)
    give the live numbers.

    The cost agentyield recorded on a span when it ran is that call's cost (so a report gives the live numbers
    whatever price data it has); `reprice` prices every call from `prices` instead. Each call is priced at
    the rates in force when it started.
    """
    ledger = Ledger(prices, reprice=reprice)
    population = Population(ledger=ledger)
    tools, window = tuple(verification_tools), CallWindow()
    now = [0.0]

    def hit(what: str, n: int) -> None:
        ledger.limits_hit[what] += n

    assembler = TraceAssembler(limits or AssemblyLimits(), hit, lambda: now[0], name="report")
    sources: set[str] = set()

    def book(everything: bool = False) -> None:
        ready = assembler.take_due(everything=everything)
        if ready:
            together = [span for trace, _ in ready for span in trace]
            _collect(population, ledger, book_spans(ledger, together, tools, window))
            assembler.booked(sum(size for _, size in ready))

    iterator = iter(spans)
    while batch := list(islice(iterator, _BATCH)):
        population.spans_read += len(batch)
        now[0] = max(now[0], max(span.end_ns for span in batch) / 1e9)
        sources.update(span.price_source for span in batch if span.price_source is not None)
        sized = [(span, held_bytes(span)) for span in batch if span.trace_id and span.span_id]
        if len(sized) < len(batch):
            hit("report:spans_without_ids", len(batch) - len(sized))
        while not assembler.add(sized):  # only when one batch released more than half the byte bound
            book()
        book()
    book(everything=True)
    population.duplicate_spans = assembler.duplicates
    population.price_sources = tuple(sorted(sources))
    population.open_windows = [
        OpenWindow(agent, w.llm_calls, float(w.cost), w.unpriced_calls) for agent, w in ledger.open_windows().items()
    ]
    return population


def _collect(population: Population, ledger: Ledger, booked_spans: Iterator[tuple[SpanRow, Booked]]) -> None:
    for span, booked in booked_spans:
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
