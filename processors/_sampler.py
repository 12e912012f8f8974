"""Sampling that does not bend the numbers.

The application's sampler decides which traces are exported; the derived metrics must see every call
anyway. This wrapper keeps the delegate's decision for export, but turns DROP into RECORD_ONLY for the
spans the derivation reads (LLM calls, tools, tasks, artifacts, verification) and for every span under
one that is recorded, so lineage (which task, which phase) survives. Recorded-only spans reach span
processors but no exporter.
"""

from __future__ import annotations

from typing import Any, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

from agentyield import _semconv as sc

__all__ = ["RecordEverythingSampler"]

_DERIVED_FROM = (sc.GEN_AI_OPERATION_NAME, sc.TASK_ID, sc.PHASE, sc.ARTIFACT_KIND)


class RecordEverythingSampler(Sampler):  # type: ignore[misc]
    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: Any,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Sequence[Any] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        result = self.delegate.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        if result.decision is not Decision.DROP:
            return result
        derived = attributes is not None and any(key in attributes for key in _DERIVED_FROM)
        if derived or trace.get_current_span(parent_context).is_recording():
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordEverything{{{self.delegate.get_description()}}}"
