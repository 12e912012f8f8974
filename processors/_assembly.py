"""Per-trace assembly: spans of one trace arrive in any order, in several requests (`agentyield serve`) or
lines (`agentyield report`); a trace is booked once its root has ended plus a grace period (for its
stragglers), and never later than its time to live. Serve runs it on the wall clock; report on the time the
spans themselves tell (the latest end seen), so a file's memory follows its open traces, not its size.

Bounded like the Collector's groupbytrace processor, and every bound that acts is counted (under the
entry point's name, `serve:` or `report:`): past `max_traces`, or half of `max_bytes`, the oldest open trace
is booked early (`traces_evicted`); past `max_spans_per_trace` a span is dropped (`spans_per_trace`); a
trace whose root never arrives is booked at its time to live (`trace_ttl`); a span of a trace already booked
is booked on its own (`late_spans`). The other half of the byte bound is for traces released and not yet
booked: while those exceed it, requests are refused with a retryable status (`refused_busy`), as the
Collector's memory_limiter does. A span seen twice (same trace and span id: a retried export, a file read
twice) is held once and counted in `duplicates`; for traces already booked the span ids of the last
`_RECENT_SPANS` are remembered for this.
"""

from __future__ import annotations

import threading
import time
from array import array
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from ._traces import SpanRow

__all__ = ["AssemblyLimits", "TraceAssembler", "held_bytes"]

_RECENT = 100_000
"""How many booked trace ids are remembered to recognise late spans."""
_RECENT_SPANS = 1_000_000
"""How many span ids of booked traces are remembered to recognise a span seen twice (8 bytes each)."""
_TRACE_OVERHEAD = 400
"""Bytes an open trace holds beyond its spans (dict entries, lists), for the byte bound."""


@dataclass(frozen=True)
class AssemblyLimits:
    grace_s: float = 2.0
    ttl_s: float = 300.0
    max_traces: int = 10_000
    max_spans_per_trace: int = 10_000
    max_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.grace_s < 0:
            raise ValueError(f"grace_s must be 0 or more, got {self.grace_s}")
        for name in ("ttl_s", "max_traces", "max_spans_per_trace", "max_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass(slots=True)
class _Trace:
    first_seen: float
    spans: list[SpanRow] = field(default_factory=list)
    ids: set[int] = field(default_factory=set)
    bytes: int = _TRACE_OVERHEAD
    due: float | None = None
    """When the trace is booked: its root's arrival plus the grace period."""


class TraceAssembler:
    """Holds open traces; `add` from receiver threads, `take_due` from the booking thread."""

    def __init__(
        self, limits: AssemblyLimits, count: Callable[[str, int], None], clock: Callable[[], float] = time.monotonic, *, name: str = "serve"
    ) -> None:
        self.limits = limits
        self._count = lambda what, n: count(f"{name}:{what}", n)
        """Receives (`name:what a bound did`, how many): the entry point adds it to `agentyield.limits.hit`."""
        self._clock = clock
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._recent: OrderedDict[int, array[int]] = OrderedDict()
        """Booked trace ids, each with its span ids (sorted), to recognise late and repeated spans."""
        self._recent_spans = 0
        self.duplicates = 0
        """Spans seen twice (same trace and span id), held once."""
        self._ready: list[tuple[list[SpanRow], int]] = []
        self.bytes = 0
        """Bytes of open traces: at most half the byte bound (the oldest are released to stay under)."""
        self._ready_bytes = 0
        """Bytes of traces released and not yet booked: past half the byte bound, requests are refused."""
        self._lock = threading.Lock()
        self.wake = threading.Event()
        """Set when a trace was evicted and waits to be booked now."""

    @property
    def open_traces(self) -> int:
        return len(self._traces)

    @property
    def held_bytes(self) -> int:
        """What the byte bound limits: open traces and those waiting to be booked."""
        return self.bytes + self._ready_bytes

    def add(self, spans: list[tuple[SpanRow, int]]) -> bool:
        """Take a request's spans; False (nothing taken) while traces released early wait to be booked for
        more than half the byte bound: booking is behind, and the sender should retry later."""
        now = self._clock()
        limits = self.limits
        with self._lock:
            half = limits.max_bytes // 2
            if self._ready_bytes > half:
                self._count("refused_busy", len(spans))
                return False
            for span, size in spans:
                trace = self._traces.get(span.trace_id)
                if trace is None:
                    booked = self._recent.get(span.trace_id)
                    if booked is not None:
                        at = bisect_left(booked, span.span_id)
                        if at < len(booked) and booked[at] == span.span_id:
                            self.duplicates += 1
                            continue
                        self._count("late_spans", 1)
                    while self._traces and (len(self._traces) >= limits.max_traces or self.bytes + size > half):
                        self._release(next(iter(self._traces)), "traces_evicted")
                    trace = self._traces[span.trace_id] = _Trace(now)
                    self.bytes += trace.bytes
                if span.span_id in trace.ids:
                    self.duplicates += 1
                    continue
                if len(trace.spans) >= limits.max_spans_per_trace:
                    self._count("spans_per_trace", 1)
                    continue
                trace.ids.add(span.span_id)
                trace.spans.append(span)
                trace.bytes += size
                self.bytes += size
                if span.parent_id is None and trace.due is None:
                    trace.due = now + limits.grace_s
                while self.bytes > half and len(self._traces) > 1:
                    oldest = next(iter(self._traces))
                    self._release(oldest if oldest != span.trace_id else list(self._traces)[1], "traces_evicted")
        return True

    def _release(self, trace_id: int, reason: str | None) -> None:
        trace = self._traces.pop(trace_id)
        self.bytes -= trace.bytes
        self._ready_bytes += trace.bytes
        earlier = self._recent.pop(trace_id, array("Q"))  # a trace booked again (its late spans) keeps its earlier ids
        self._recent[trace_id] = array("Q", sorted(trace.ids.union(earlier)))
        self._recent_spans += len(self._recent[trace_id]) - len(earlier)
        while len(self._recent) > _RECENT or self._recent_spans > _RECENT_SPANS:
            self._recent_spans -= len(self._recent.popitem(last=False)[1])
        if reason is not None:
            self._count(reason, 1)
            self.wake.set()
        self._ready.append((trace.spans, trace.bytes))

    def booked(self, size: int) -> None:
        """The booking thread is done with a trace of `size` bytes taken from `take_due`."""
        with self._lock:
            self._ready_bytes -= size

    def take_due(self, *, everything: bool = False) -> list[tuple[list[SpanRow], int]]:
        """The traces to book now: evicted ones, those whose root ended a grace period ago, those past their
        time to live (all of them with `everything`, at shutdown)."""
        now = self._clock()
        ttl = self.limits.ttl_s
        with self._lock:
            self.wake.clear()
            for trace_id, trace in list(self._traces.items()):
                if everything or (trace.due is not None and trace.due <= now):
                    self._release(trace_id, None)
                elif trace.due is None and now - trace.first_seen >= ttl:  # a root that arrived waits for its grace
                    self._release(trace_id, "trace_ttl")
            ready, self._ready = self._ready, []
        return ready


_HELD_SPAN, _HELD_ITEM = 700, 160
"""What a decoded span costs to hold as Python objects: per span, and per attribute or event (measured with
tracemalloc on the demo's spans), plus its string values."""


def held_bytes(span: SpanRow) -> int:
    """What a span read from a file costs to hold until its trace is booked (serve estimates it from the
    encoded size instead, which it has for free)."""
    items = len(span.attributes) + sum(1 + len(attributes) for _, attributes in span.events)
    return _HELD_SPAN + _HELD_ITEM * items + sum(len(v) for v in span.attributes.values() if isinstance(v, str))
