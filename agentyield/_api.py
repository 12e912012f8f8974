"""The one-line setup: `agentyield.instrument()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._config import Config
from ._setup import resolve_tracer_provider

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
) -> None:
    """Instrument every supported LLM client library that is installed. Calling it again does nothing.

    Without providers it records into the ones the application configured globally, and only when there
    are none sets its own up from the standard `OTEL_*` environment variables (OTLP).
    `capture_content` (default: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`, else off) records prompt
    and completion text; `request_stream_usage` (default: `AGENTYIELD_STREAM_USAGE`, else on) asks OpenAI chat
    streams for usage the caller did not ask for and hides that chunk from the caller.
    """
    from agentyield.instrumentation import AgentYieldInstrumentor

    instrumentor = AgentYieldInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        return
    instrumentor.instrument(
        tracer_provider=resolve_tracer_provider(tracer_provider),
        meter_provider=meter_provider,
        config=Config.from_env(capture_content=capture_content, request_stream_usage=request_stream_usage),
    )


def uninstrument() -> None:
    """Restore every wrapped method to the original."""
    from agentyield.instrumentation import AgentYieldInstrumentor

    instrumentor = AgentYieldInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
