"""Per-trace assembly: spans of one trace arrive in any order, in several requests; a trace is booked
once its root has ended plus a grace period (for its stragglers), and never later than its time to live.

Bounded like the Collector's groupbytrace processor, and every bound that acts is counted: past
`max_traces`, or half of `max_bytes`, the oldest open trace is booked early (`traces_evicted`); past
`max_spans_per_trace` a span is dropped (`spans_per_trace`); a trace whose root never arrives is booked at
its time to live (`trace_ttl`); a span of a trace already booked is booked on its own (`late_spans`). The
other half of the byte bound is for traces released and not yet booked: while those exceed it, requests
are refused with a retryable status (`refused_busy`), as the Collector's memory_limiter does.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from agentyield.processors._traces import SpanRow

__all__ = ["AssemblyLimits", "TraceAssembler"]

_RECENT = 100_000
"""How many booked trace ids are remembered to recognise late spans."""
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
    bytes: int = _TRACE_OVERHEAD
    due: float | None = None
    """When the trace is booked: its root's arrival plus the grace period."""


class TraceAssembler:
    """Holds open traces; `add` from receiver threads, `take_due` from the booking thread."""

    def __init__(self, limits: AssemblyLimits, count: Callable[[str, int], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._count = count
        """Receives (what a bound did, how many): the server adds it to `agentyield.limits.hit`."""
        self._clock = clock
        self._traces: OrderedDict[int, _Trace] = OrderedDict()
        self._recent: OrderedDict[int, None] = OrderedDict()
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
                self._count("serve:refused_busy", len(spans))
                return False
            for span, size in spans:
                trace = self._traces.get(span.trace_id)
                if trace is None:
                    if span.trace_id in self._recent:
                        self._count("serve:late_spans", 1)
                    while self._traces and (len(self._traces) >= limits.max_traces or self.bytes + size > half):
                        self._release(next(iter(self._traces)), "serve:traces_evicted")
                    trace = self._traces[span.trace_id] = _Trace(now)
                    self.bytes += trace.bytes
                if len(trace.spans) >= limits.max_spans_per_trace:
                    self._count("serve:spans_per_trace", 1)
                    continue
                trace.spans.append(span)
                trace.bytes += size
                self.bytes += size
                if span.parent_id is None and trace.due is None:
                    trace.due = now + limits.grace_s
                while self.bytes > half and len(self._traces) > 1:
                    oldest = next(iter(self._traces))
                    self._release(oldest if oldest != span.trace_id else list(self._traces)[1], "serve:traces_evicted")
        return True

    def _release(self, trace_id: int, reason: str | None) -> None:
        trace = self._traces.pop(trace_id)
        self.bytes -= trace.bytes
        self._ready_bytes += trace.bytes
        self._recent[trace_id] = None
        if len(self._recent) > _RECENT:
            self._recent.popitem(last=False)
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
                elif now - trace.first_seen >= ttl:
                    self._release(trace_id, "serve:trace_ttl")
            ready, self._ready = self._ready, []
        return ready
