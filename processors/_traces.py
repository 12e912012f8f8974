"""Whole traces through the booking: the entry points that see a trace complete (`agentyield serve`,
`agentyield report`) book it here, with the exactly-once rules that need the whole trace.

Spans are booked in time order (starts and ends as events), exactly as the span processor sees them live,
so a trace gives the numbers the live metrics give. Rules that need the trace (docs/interop.md):
- two LLM spans of one trace with the same `gen_ai.response.id` that overlap in time are one call seen
  twice: the first to start is booked, the other is counted in `agentyield.spans.duplicate` (an LLM span
  under an LLM span is the ledger's rule already). Calls one after another with the same id (a mock server,
  a provider that reuses ids) stay distinct;
- usage on a span that is not an LLM call (invoke_agent, workflow, AGENT, CHAIN) is a roll-up of the calls
  below it, never booked on top of them: it is booked as one call only when nothing below it carries usage,
  and then counted in `agentyield.usage.rollups`;
- one call recorded by two instrumentations in two traces (a wrapper that does not make its span current
  around the SDK's own span, as OpenInference's Anthropic stream and OpenLLMetry's Anthropic spans do) is
  one call: same service and provider, another instrumentation scope, overlapping in time, and either the
  same response id, or the same model and usage with a response id on one of them only (two different ids
  are two calls; no id on either is never collapsed). `CallWindow` remembers recent calls for this,
  bounded; the in-process span processor keeps one too, for the same rule.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from . import _normalize as normalize
from ._booking import Booked, begin, finish
from ._ledger import Ledger
from ._records import LLMCallRecord

__all__ = ["CallWindow", "SpanRow", "book_spans"]

_PER_KEY = 8
"""Calls remembered per (service, provider, response id) or (..., model, usage): same usage is common."""
_ROLLUP_ID = 1 << 64
"""Added to a span id for the call booked from its roll-up: span ids are 64-bit, so it cannot collide."""


@dataclass(slots=True)
class SpanRow:
    """One finished span as the trace-level entry points hold it: plain values, no SDK objects."""

    name: str
    trace_id: int
    span_id: int
    parent_id: int | None
    start_ns: int
    end_ns: int
    is_error: bool
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    service: str | None
    price_source: str | None = None
    """`agentyield.price.source` of the span's instrumentation scope: the price data that priced it live."""
    scope: str | None = None
    """The instrumentation scope's name: which source wrote the span."""


class CallWindow:
    """Recent LLM calls by what they reported, to recognise one call seen in two traces. Bounded: the
    oldest entries go first (a duplicate that arrives later than `capacity` calls is booked twice)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._calls: OrderedDict[tuple[Any, ...], list[tuple[int, int, int, str | None, str | None]]] = OrderedDict()

    def is_repeat(self, span: SpanRow, call: LLMCallRecord, response: str | None) -> bool:
        """Whether `span` (its call, its response id) repeats a call another instrumentation recorded in another
        trace; remembers it otherwise."""
        return self.repeats(span.trace_id, span.start_ns, span.end_ns, span.service, span.scope, call, response)

    def repeats(
        self, trace: int, first: int, last: int, service: str | None, scope: str | None, call: LLMCallRecord, response: str | None
    ) -> bool:
        """`is_repeat` from plain values: a span's trace, start and end (ns), service, instrumentation scope."""
        keys = []
        if response is not None:
            keys.append((service, call.provider, response))  # the same response, whatever each reported
        if call.input_tokens is not None or call.output_tokens is not None:
            keys.append((service, call.provider, call.model, call.input_tokens, call.output_tokens, call.cache_read_tokens, call.cache_write_tokens))
        for key in keys:
            for trace_id, start, end, other, other_scope in self._calls.get(key, ()):
                # Overlapping in time (what most remembered calls fail), another trace, another source, and ids that agree.
                if start <= last and first <= end and trace_id != trace and other_scope != scope and (
                    other == response if other is not None and response is not None else (other is None) != (response is None)
                ):
                    return True
        for key in keys:
            seen = self._calls.get(key)
            if seen is None:
                if len(self._calls) >= self.capacity:
                    self._calls.popitem(last=False)
                seen = self._calls[key] = []
            if len(seen) >= _PER_KEY:
                del seen[0]  # a repeat overlaps in time: the most recent calls are the ones to keep
            seen.append((trace, first, last, response, scope))
        return False


def _depths(spans: list[SpanRow]) -> dict[int, int]:
    parents = {s.span_id: s.parent_id for s in spans}
    depths: dict[int, int] = {}
    for span in spans:
        chain = []
        current: int | None = span.span_id
        while current is not None and current not in depths and len(chain) < 256:
            chain.append(current)
            current = parents.get(current)
        depth = depths.get(current, -1) if current is not None else -1
        for span_id in reversed(chain):
            depth += 1
            depths[span_id] = depth
    return depths


def _roles(spans: list[SpanRow], window: CallWindow | None) -> tuple[dict[int, str], dict[int, LLMCallRecord], set[int], set[int]]:
    """Each span's kind and each LLM span's call (read once), the LLM spans that repeat a call booked
    elsewhere, and the roll-up spans to book."""
    kinds = {s.span_id: normalize.classify(s.name, s.attributes) for s in spans}
    calls: dict[int, LLMCallRecord] = {}
    duplicates: set[int] = set()
    booked_until: dict[tuple[int, str], int] = {}
    """(trace, response id) -> end of the last span booked for it."""
    for span in sorted(spans, key=lambda s: s.start_ns):
        if kinds[span.span_id] != normalize.Kind.LLM:
            continue
        call = calls[span.span_id] = normalize.llm_call(span.attributes)
        response = normalize.response_id(span.attributes)
        if window is not None and window.is_repeat(span, call, response):
            duplicates.add(span.span_id)
            continue
        if response is None:
            continue
        key = (span.trace_id, response)
        if key in booked_until and span.start_ns <= booked_until[key]:
            duplicates.add(span.span_id)  # overlaps the booked span of the same response: the same call
        else:
            booked_until[key] = span.end_ns
    # A span "has usage below" when a descendant is an LLM span or carries usage itself.
    carries = {s.span_id for s in spans if kinds[s.span_id] == normalize.Kind.LLM or normalize.has_usage(s.attributes)}
    parents = {s.span_id: s.parent_id for s in spans}
    below: set[int] = set()
    for span_id in carries:
        parent, hops = parents.get(span_id), 0
        while parent is not None and parent not in below and hops < 256:
            below.add(parent)
            parent, hops = parents.get(parent), hops + 1
    rollups = {
        s.span_id
        for s in spans
        if s.span_id in carries
        and s.span_id not in below
        and (kinds[s.span_id] == normalize.Kind.TASK or (kinds[s.span_id] == normalize.Kind.OTHER and normalize.is_known_step(s.attributes)))
    }
    return kinds, calls, duplicates, rollups


def book_spans(
    ledger: Ledger, spans: list[SpanRow], verification_tools: Iterable[str] = (), window: CallWindow | None = None
) -> Iterator[tuple[SpanRow, Booked]]:
    """Book complete traces in time order; yields each ended span with what it booked (the roll-up call of
    a span first, then the span itself). `window` carries recent calls from one call to the next."""
    tools = frozenset(verification_tools)
    depths = _depths(spans)
    kinds, calls, duplicates, rollups = _roles(spans, window)
    events: list[tuple[int, int, int, int, SpanRow]] = []
    for index, span in enumerate(spans):
        depth = depths.get(span.span_id, 0)
        events.append((span.start_ns, 0, depth, index, span))
        events.append((span.end_ns, 1, -depth, index, span))
    events.sort()  # (time, start before end, depth, index): the index is unique, so spans are never compared
    for _, is_end, _, _, span in events:
        ledger.default_agent = span.service or "default"  # spend outside tasks belongs to the emitting service
        kind = normalize.Kind.OTHER if span.span_id in duplicates else kinds[span.span_id]
        if not is_end:
            begin(ledger, span.span_id, span.parent_id, span.name, span.attributes, tools, kind)
            continue
        duration_s = (span.end_ns - span.start_ns) / 1e9
        if span.span_id in duplicates:
            ledger.count("agentyield.spans.duplicate", "gen_ai.provider.name", calls[span.span_id].provider)
        if span.span_id in rollups:
            call_id = span.span_id + _ROLLUP_ID
            ledger.start(call_id, span.span_id, normalize.Kind.LLM)
            call = normalize.llm_call(span.attributes)
            call.duration_s = duration_s
            call.time_s = span.start_ns / 1e9
            ledger.count("agentyield.usage.rollups", "gen_ai.provider.name", call.provider)
            yield span, Booked(normalize.Kind.LLM, call, ledger.end_llm(call_id, call))
        booked = finish(
            ledger, span.span_id, span.name, span.attributes, lambda: span.events, span.is_error, duration_s,
            span.start_ns / 1e9, scope=span.scope, kind=kind, call=calls.get(span.span_id),
        )
        yield span, booked
