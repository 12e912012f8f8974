"""How the providers agentyield set up itself end: promptly, and saying what they could not deliver.

- At exit they shut down within `AGENTYIELD_SHUTDOWN_TIMEOUT` seconds (default 5), instead of the SDK
  exporters' retries holding the process for half a minute when a Collector is down; whatever was not
  delivered by then is named on stderr.
- On SIGTERM and SIGINT they flush (within the same bound) and hand the signal on to the handler that was
  there before: the host's own, or Python's default, so the exit code is the one the host would have had.

Providers the application configured itself are left alone: it decides how they end (see the README).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["SHUTDOWN_TIMEOUT_ENV", "CountedSpanExporter", "Delivery", "own", "prepare"]

SHUTDOWN_TIMEOUT_ENV = "AGENTYIELD_SHUTDOWN_TIMEOUT"
_DEFAULT_TIMEOUT_S = 5.0
logger = logging.getLogger("agentyield")


@dataclass(eq=False)
class Delivery:
    """What went to one destination: spans ended (sampled) against spans an export accepted."""

    destination: str
    is_metrics: bool = False
    spans_ended: int = 0
    spans_delivered: int = 0
    metric_exports_failed: int = 0
    metrics_pending: bool = field(default=False)
    """True from the start of a metrics export until it succeeds."""

    def undelivered(self) -> str | None:
        lost = []
        if self.spans_ended > self.spans_delivered:
            lost.append(f"{self.spans_ended - self.spans_delivered} spans")
        if self.metric_exports_failed or self.metrics_pending:
            lost.append(f"{self.metric_exports_failed + self.metrics_pending} metric exports")
        return " and ".join(lost) or None


class _EndedSpans(SpanProcessor):  # type: ignore[misc]
    """Counts the spans handed to export (the sampled ones), to say at exit how many never arrived."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self.delivery.spans_ended += 1


class CountedSpanExporter(SpanExporter):  # type: ignore[misc]
    def __init__(self, inner: SpanExporter, delivery: Delivery) -> None:
        self.inner = inner
        self.delivery = delivery

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = self.inner.export(spans)
        if result == SpanExportResult.SUCCESS:
            self.delivery.spans_delivered += len(spans)
        return result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))

    def shutdown(self) -> None:
        self.inner.shutdown()


_owned: list[tuple[Any, Delivery]] = []
_timeout_s = _DEFAULT_TIMEOUT_S
_previous_handlers: dict[int, Any] = {}
_prepared = False


def _read_timeout() -> float:
    value = os.environ.get(SHUTDOWN_TIMEOUT_ENV, "").strip()
    try:
        seconds = float(value) if value else _DEFAULT_TIMEOUT_S
        if not 0 <= seconds < 3600:
            raise ValueError
    except ValueError:
        logger.warning("agentyield: ignoring %s=%r: not a number of seconds; using %g", SHUTDOWN_TIMEOUT_ENV, value, _DEFAULT_TIMEOUT_S)
        return _DEFAULT_TIMEOUT_S
    return seconds


def prepare() -> None:
    """Exit and signal handling for the providers agentyield will own, once. Signal handlers can only be set
    from the main thread: `attach()` calls this there for a meter provider its start-up thread will make."""
    global _timeout_s, _prepared
    if _prepared:
        return
    _prepared = True
    _timeout_s = _read_timeout()
    atexit.register(_at_exit)
    _install_signal_handlers()


def own(provider: Any, delivery: Delivery) -> None:
    """End `provider` (set up by agentyield) at exit and on SIGTERM/SIGINT, within the shutdown timeout."""
    if hasattr(provider, "add_span_processor"):
        provider.add_span_processor(_EndedSpans(delivery))
    prepare()
    _owned.append((provider, delivery))


def _bounded(action: Callable[[Any], Any]) -> list[Delivery]:
    """Run `action` on every owned provider, each in a daemon thread, all within one deadline; the
    deliveries of the providers that did not finish in time."""
    deadline = time.monotonic() + _timeout_s
    workers = []
    for provider, delivery in _owned:

        def run(provider: Any = provider) -> None:
            try:
                action(provider)
            except Exception:  # noqa: BLE001 - an exporter failing at exit must not change the exit
                pass

        worker = threading.Thread(target=run, name="agentyield-shutdown", daemon=True)
        worker.start()
        workers.append((worker, delivery))
    for worker, _ in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return [delivery for worker, delivery in workers if worker.is_alive()]


def _report_undelivered(unfinished: list[Delivery]) -> None:
    """One line per destination (traces and metrics to the same directory are one)."""
    by_destination: dict[str, tuple[Delivery, bool]] = {}
    for _, delivery in _owned:
        total, late = by_destination.get(delivery.destination, (Delivery(delivery.destination), False))
        total.spans_ended += delivery.spans_ended
        total.spans_delivered += delivery.spans_delivered
        total.metric_exports_failed += delivery.metric_exports_failed
        # A meter provider that did not finish in time still held its final collection.
        total.metrics_pending = total.metrics_pending or delivery.metrics_pending or (delivery.is_metrics and delivery in unfinished)
        by_destination[delivery.destination] = (total, late or delivery in unfinished)
    for destination, (delivery, late) in by_destination.items():
        lost = delivery.undelivered()
        if lost:
            why = f" within {_timeout_s:g} s ({SHUTDOWN_TIMEOUT_ENV})" if late else ""
            sys.stderr.write(f"agentyield: at exit, could not deliver {lost} to {destination}{why}\n")


def _at_exit() -> None:
    millis = int(_timeout_s * 1000)
    _report_undelivered(_bounded(lambda provider: provider.shutdown(**({"timeout_millis": millis} if hasattr(provider, "get_meter") else {}))))


def _install_signal_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # handlers can only be set from the main thread; exit still flushes
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if previous is None:
            continue  # a handler installed outside Python: leave it alone
        _previous_handlers[signum] = previous
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: Any) -> Any:
    """Flush what our providers hold, then do what the previous handler would have done."""
    millis = int(_timeout_s * 1000)
    _bounded(lambda provider: provider.force_flush(millis))
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        return previous(signum, frame)
    if previous == signal.SIG_IGN:
        return None
    # The default action: die of the signal, as the host would have without agentyield.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    return None
