"""The one-line setup: `agentyield.instrument()`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

__all__ = ["instrument", "uninstrument"]


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

    A wrong argument raises here (`ValueError`; `ImportError` naming the extra to install); a wrong environment
    variable never does (one warning, and the agent runs without that feature); a port in use, a full or
    read-only disk or an unreachable Collector is one warning either way. Providers set up here shut down
    within `AGENTYIELD_SHUTDOWN_TIMEOUT` seconds (default 5) at exit and flush on SIGTERM and SIGINT.
    """
    from agentyield.instrumentation import instrument_all, is_instrumented

    options = {
        "tracer_provider": tracer_provider, "meter_provider": meter_provider, "capture_content": capture_content,
        "request_stream_usage": request_stream_usage, "privacy_scan": privacy_scan, "prices": prices, "agent": agent,
        "verification_tools": verification_tools, "directory": directory, "prometheus_port": prometheus_port,
        "prometheus_address": prometheus_address, "small_model": small_model,
    }
    if is_instrumented():
        # Already instrumented (by an earlier call, or by opentelemetry-instrument): say so if options would be lost.
        ignored = sorted(name for name, value in options.items() if value is not None and value != ())
        if ignored:
            logging.getLogger("agentyield").warning(
                "agentyield: already instrumented (by an earlier instrument() or opentelemetry-instrument); ignoring %s", ", ".join(ignored)
            )
        return
    instrument_all(**options)


def uninstrument() -> None:
    """Restore every wrapped method and the sampler. (The SDK cannot remove a span processor; it stays.)"""
    from agentyield.instrumentation import uninstrument_all

    uninstrument_all()
