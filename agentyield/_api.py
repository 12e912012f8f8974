"""The one-line setup: `agentyield.instrument()`."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from opentelemetry import trace

from . import _tasks, _tools
from ._config import Config
from ._semconv import PRICE_SOURCE
from ._version import __version__
from ._setup import prometheus_meter_provider, resolve_meter_provider, resolve_tracer_provider

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from agentyield.processors import AgentYieldSpanProcessor

__all__ = ["instrument", "uninstrument"]

PRICES_ENV = "AGENTYIELD_PRICES"
AGENT_ENV = "AGENTYIELD_AGENT"
PROMETHEUS_PORT_ENV = "AGENTYIELD_PROMETHEUS_PORT"
PROMETHEUS_ADDRESS_ENV = "AGENTYIELD_PROMETHEUS_ADDRESS"

# One processor per tracer provider: the SDK cannot remove a processor, so instrumenting again reuses it.
_processors: weakref.WeakKeyDictionary[object, AgentYieldSpanProcessor] = weakref.WeakKeyDictionary()
_samplers: weakref.WeakKeyDictionary[object, object] = weakref.WeakKeyDictionary()


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    capture_content: bool | None = None,
    request_stream_usage: bool | None = None,
    privacy_scan: bool | None = None,
    prices: str | Path | None = None,
    agent: str | None = None,
    verification_tools: Iterable[str] = (),
    directory: str | Path | None = None,
    prometheus_port: int | None = None,
    prometheus_address: str | None = None,
    small_model: str | None = None,
) -> None:
    """Instrument every supported LLM client library that is installed, and derive agent metrics.

    Calling it again does nothing (and instrumenting the same tracer provider again after `uninstrument()`
    reuses its span processor, with the options it was first given). Without providers it records into the
    ones the application configured globally, and only when there are none sets its own up: OTLP when an
    `OTEL_EXPORTER_OTLP_*` endpoint is set, else the embedded default (OTLP JSON lines in `directory`).

    - `capture_content` (default `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, else off): record text.
    - `request_stream_usage` (default `AGENTYIELD_STREAM_USAGE`, else on): ask OpenAI chat streams for the
      usage the caller did not ask for, and hide that chunk from the caller.
    - `privacy_scan` (default `AGENTYIELD_PRIVACY_SCAN`, else off): count personal data and secrets in what each
      call sends (`agentyield.privacy.findings`; counts and kinds only, never the text).
    - `prices` (default `AGENTYIELD_PRICES`): a JSON or YAML price file that overrides or adds models.
    - `agent` (default `AGENTYIELD_AGENT`, else `OTEL_SERVICE_NAME`, else "default"): the agent that spend
      outside any `task()` belongs to.
    - `verification_tools`: tool names whose calls count as verification.
    - `directory` (default `AGENTYIELD_DIR`, else `./.agentyield`): where the embedded default writes OTLP
      JSON lines when no provider and no OTLP endpoint is configured.
    - `prometheus_port` (default `AGENTYIELD_PROMETHEUS_PORT`): serve the derived metrics at
      `http://<prometheus_address>:<port>/metrics` for Prometheus to scrape, instead of sending them to a meter
      provider; `prometheus_address` (default `AGENTYIELD_PROMETHEUS_ADDRESS`, else 127.0.0.1).
    - `small_model`: a cheaper model of the same provider; calls the routability rule marks (docs/metrics.md) are
      priced again at its rates, and the difference is `agentyield.routing.savings.usd`.
    """
    port_env = os.environ.get(PROMETHEUS_PORT_ENV)
    if prometheus_port is None and port_env:
        try:
            prometheus_port = int(port_env)
        except ValueError:
            raise ValueError(f"{PROMETHEUS_PORT_ENV}={port_env!r} is not a port number") from None
    if prometheus_port is not None and meter_provider is not None:
        raise ValueError("give either meter_provider or prometheus_port: the derived metrics go to one of them")
    from agentyield.instrumentation import AgentYieldInstrumentor
    from agentyield.processors import AgentYieldSpanProcessor, PriceBook, RecordEverythingSampler

    instrumentor = AgentYieldInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return
    agent = agent or os.environ.get(AGENT_ENV) or os.environ.get("OTEL_SERVICE_NAME")  # None: "default", unwritten
    tracer_provider = resolve_tracer_provider(tracer_provider, directory)
    processor = _processors.get(tracer_provider)
    if processor is None and hasattr(tracer_provider, "add_span_processor"):
        if prometheus_port is not None:
            address = prometheus_address or os.environ.get(PROMETHEUS_ADDRESS_ENV) or "127.0.0.1"
            meter_provider = prometheus_meter_provider(prometheus_port, address)
        processor = AgentYieldSpanProcessor(
            resolve_meter_provider(meter_provider, directory),
            prices=PriceBook(prices or os.environ.get(PRICES_ENV) or None),
            default_agent=agent or "default",
            verification_tools=verification_tools,
            small_model=small_model,
        )
        tracer_provider.add_span_processor(processor)
        _processors[tracer_provider] = processor
    if processor is not None and hasattr(tracer_provider, "sampler") and tracer_provider not in _samplers:
        # Derived metrics stay exact under any sampler: drops become record-only for what we derive from.
        _samplers[tracer_provider] = tracer_provider.sampler
        tracer_provider.sampler = RecordEverythingSampler(tracer_provider.sampler)
    scope_attributes = {PRICE_SOURCE: processor.prices.version} if processor is not None else None
    _tasks.configure(
        trace.get_tracer("agentyield", __version__, tracer_provider=tracer_provider, attributes=scope_attributes),
        processor.enrich if processor is not None else None,
        agent,
        processor.budget_exceeded if processor is not None else None,
    )
    config = Config.from_env(
        capture_content=capture_content, request_stream_usage=request_stream_usage, privacy_scan=privacy_scan, agent=agent
    )
    _tools.configure(config.capture_content)
    instrumentor.instrument(
        tracer_provider=tracer_provider,
        scope_attributes=scope_attributes,
        config=config,
        before_end=processor.book_ending if processor is not None else None,
    )


def uninstrument() -> None:
    """Restore every wrapped method and the sampler. (The SDK cannot remove a span processor; it stays.)"""
    from agentyield.instrumentation import AgentYieldInstrumentor

    instrumentor = AgentYieldInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    for provider, sampler in list(_samplers.items()):
        provider.sampler = sampler  # type: ignore[attr-defined]
        del _samplers[provider]
    _tasks.configure(None, None)
    _tools.configure(False)
