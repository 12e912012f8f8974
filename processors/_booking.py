"""Spans to ledger events: the one place that decides what a span's start and end mean.

The in-process span processor and the offline replay of trace files both call `begin` and `finish`, so
the same span gives the same numbers whichever way it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from agentyield import _semconv as sc

from . import _normalize as normalize
from ._ledger import Ledger, PricedCall, TaskResult, Totals
from ._records import ArtifactRecord, LLMCallRecord

__all__ = ["Booked", "begin", "finish", "finish_llm"]


def begin(
    ledger: Ledger,
    span_id: int,
    parent_id: int | None,
    name: str,
    attributes: Mapping[str, Any],
    verification_tools: frozenset[str],
    kind: str | None = None,
) -> bool:
    """A span started: tell the ledger what it is (task, tool, LLM call, ...) and its phase. Returns whether it
    is inside an LLM call (part of that call).

    `kind` overrides what the span says it is (a trace-level rule decided: a duplicate is OTHER)."""
    kind = kind or normalize.classify(name, attributes)
    phase = normalize.phase_of(attributes)
    tool = None
    if kind == normalize.Kind.TOOL:
        tool = normalize.tool_name(name, attributes)
        if tool in verification_tools:
            phase = sc.PHASE_VERIFICATION
    task = normalize.task_record(attributes, (), False, span_id) if kind == normalize.Kind.TASK else None
    return ledger.start(span_id, parent_id, kind, task=task, phase=phase, tool=tool)


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, about 4x slower, and
# booking makes one for every call, span or task it books (agentyield serve's hot path). Treat it as immutable.
@dataclass(slots=True)
class Booked:
    """What ending a span booked: an LLM call (`call`, `priced`), a task (`task`), a window artifact, or none."""

    kind: str
    call: LLMCallRecord | None = None
    priced: PricedCall | None = None
    task: TaskResult | None = None
    window: tuple[ArtifactRecord, Totals] | None = None
    """An artifact outside any task, and the spend window it closed."""


def finish(
    ledger: Ledger,
    span_id: int,
    name: str,
    attributes: Mapping[str, Any],
    events: Callable[[], Iterable[tuple[str, Mapping[str, Any]]]],
    is_error: bool,
    duration_s: float,
    start_s: float | None = None,
    scope: str | None = None,
    kind: str | None = None,
    call: LLMCallRecord | None = None,
) -> Booked:
    """A span ended (or is about to): book it. `events` is called only for a task (the only kind that needs them).
    `start_s`, when the span started, picks the prices in force then (None: now). `scope` (the span's
    instrumentation scope) names the source of a span agentyield cannot read; `kind` overrides what the span
    says it is, as in `begin`; `call` is the span's call when the caller has read it already."""
    kind = kind or normalize.classify(name, attributes)
    if kind == normalize.Kind.LLM:
        call = call or normalize.llm_call(attributes)
        return Booked(kind, call, finish_llm(ledger, span_id, call, duration_s, start_s))
    if kind == normalize.Kind.TOOL:
        tool = normalize.tool_call(name, attributes, is_error)
        tool.duration_s = duration_s
        ledger.end_tool(span_id, tool)
    elif kind == normalize.Kind.TASK:
        record = normalize.task_record(attributes, events(), is_error, span_id)
        record.duration_s = duration_s
        return Booked(kind, task=ledger.end_task(span_id, record))
    elif kind == normalize.Kind.VERIFICATION:
        ledger.end_verification(span_id, normalize.verification_passed(attributes))
    elif kind == normalize.Kind.SIGNAL:
        ledger.end_signal(span_id, normalize.signal_kind(attributes))
    elif kind == normalize.Kind.ARTIFACT:
        artifact = normalize.window_artifact(attributes)
        return Booked(kind, window=(artifact, ledger.end_window_artifact(span_id, artifact)))
    else:
        ledger.end_other(span_id)
        if normalize.looks_like_llm(attributes):
            ledger.count("agentyield.spans.unrecognized", "otel.scope.name", scope or "unknown")
    return Booked(kind)


def finish_llm(ledger: Ledger, span_id: int, call: LLMCallRecord, duration_s: float, start_s: float | None) -> PricedCall | None:
    """`finish` for a span known to be an LLM call, whose call the caller has read: the span processor's path
    for agentyield's own calls, with nothing else to decide."""
    call.duration_s = duration_s
    call.time_s = start_s
    return ledger.end_llm(span_id, call)
