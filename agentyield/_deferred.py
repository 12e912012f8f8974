"""agentyield's span processor as `instrument()` adds it: built, and the price data loaded, off start-up.

The derivation core (ledger, pricing, metrics), the meter provider it records into (when agentyield makes its
own, the OpenTelemetry metrics SDK: ~40 ms) and genai-prices' data (~160 ms to import on a quiet machine,
more than a client SDK) are needed only by the first span, so `instrument()` adds this stand-in and starts
a thread that resolves the meter provider, builds the real processor and loads the price data. A span that comes before the thread is
done waits for what is left of its work, under the same locks: the first call is priced exactly, never left
unpriced or priced from half-loaded data. A typical first call spends far longer waiting for the model's
answer than the loading takes, so it does not wait at all.

A `fork()` waits for the thread first (bounded): a module half-imported by a thread that does not exist in
the child would stay locked there forever.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from opentelemetry.sdk.trace import SpanProcessor

from ._forksafe import fork_safe_lock
from ._guard import internal_error

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.trace import ReadableSpan, Span

    from agentyield.processors import AgentYieldSpanProcessor, PriceBook

__all__ = ["DeferredProcessor"]

_FORK_WAIT_S = 10.0
_warming: set[threading.Thread] = set()


def _finish_warming() -> None:
    for thread in list(_warming):
        if thread.is_alive():
            thread.join(_FORK_WAIT_S)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_finish_warming)


class DeferredProcessor(SpanProcessor):  # type: ignore[misc]
    """Forwards to an `AgentYieldSpanProcessor` built on first need, by `warm()`'s thread or the first span,
    recording into the meter provider `meter_provider()` returns then. Once built, the SDK calls the real
    processor's `on_start`/`on_end` directly (no hop through here)."""

    def __init__(
        self,
        meter_provider: Callable[[], MeterProvider],
        *,
        prices: PriceBook | None,
        default_agent: str,
        verification_tools: Iterable[str],
        small_model: str | None,
    ) -> None:
        from agentyield.processors._price_source import price_source

        self.price_source = prices.version if prices is not None else price_source()
        """`agentyield.price.source`, known before the prices are loaded."""
        self._options: dict[str, Any] = {
            "prices": prices, "default_agent": default_agent, "verification_tools": frozenset(verification_tools), "small_model": small_model,
        }
        self._meter_provider = meter_provider
        self._processor: AgentYieldSpanProcessor | None = None
        self._lock = fork_safe_lock(self)
        self._warming = False

    @property
    def processor(self) -> AgentYieldSpanProcessor:
        processor = self._processor
        if processor is None:
            with self._lock:
                if self._processor is None:
                    from agentyield.processors._processor import AgentYieldSpanProcessor

                    built = AgentYieldSpanProcessor(self._meter_provider(), **self._options)
                    self.on_start, self.on_end = built.on_start, built.on_end  # type: ignore[method-assign]
                    self._processor = built
                processor = self._processor
        return processor

    def warm(self) -> None:
        """Build the processor and load the price data on a daemon thread, now (once)."""
        if self._warming:
            return
        self._warming = True
        thread = threading.Thread(target=self._warm, name="agentyield-warm", daemon=True)
        _warming.add(thread)
        thread.start()

    def _warm(self) -> None:
        try:
            self.processor.prices.load()
        except Exception as exc:  # noqa: BLE001 - the first span builds it again, and reports what fails
            internal_error("processor.warm", exc)
        finally:
            _warming.discard(threading.current_thread())

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self.processor.on_start(span, parent_context)
        except Exception as exc:  # noqa: BLE001 - the SDK calls processors unguarded
            internal_error("processor.on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            self.processor.on_end(span)
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.on_end", exc)

    def book_ending(self, span: Span, attributes: Mapping[str, Any], end_time: int) -> dict[str, Any]:
        try:
            return self.processor.book_ending(span, attributes, end_time)
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.book_ending", exc)
            return {}

    def enrich(self, span: Span, end_time: int) -> None:
        try:
            self.processor.enrich(span, end_time)
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.enrich", exc)

    def budget_exceeded(self, span_id: int) -> str | None:
        try:
            return self.processor.budget_exceeded(span_id)
        except Exception as exc:  # noqa: BLE001
            internal_error("processor.budget_exceeded", exc)
            return None

    def shutdown(self) -> None:
        if self._processor is not None:
            self._processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._processor.force_flush(timeout_millis) if self._processor is not None else True
