"""Shared fixtures: in-memory exporters, the `instrument` fixture, and real SDK clients on mock transports."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentyield

os.environ["AGENTYIELD_STRICT"] = "1"  # our own bugs raise under the test suite (see agentyield/_guard.py)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's import would fetch its price map

Handler = Callable[[Any], Any]


def sdk_httpx(sdk_module: Any) -> Any:
    """The httpx module the SDK is built on (`httpx2` for current SDKs, `httpx` for older majors)."""
    base = sdk_module._base_client
    return getattr(base, "httpx2", None) or base.httpx


def sse(events: list[tuple[str | None, dict[str, Any]]], *, done: bool = False) -> bytes:
    """A server-sent-events body: (event name or None, data) pairs, optionally closed by `[DONE]`."""
    out = []
    for name, data in events:
        if name:
            out.append(f"event: {name}\n")
        out.append(f"data: {json.dumps(data)}\n\n")
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> MeterProvider:
    return MeterProvider(metric_readers=[metric_reader])


@pytest.fixture
def instrument(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Iterator[Callable[..., None]]:
    """Call to instrument (with options); always uninstruments on teardown."""

    def _instrument(**kwargs: Any) -> None:
        kwargs.setdefault("tracer_provider", tracer_provider)
        kwargs.setdefault("meter_provider", meter_provider)
        agentyield.instrument(**kwargs)

    yield _instrument
    agentyield.uninstrument()


@pytest.fixture
def instrumented(instrument: Callable[..., None]) -> None:
    instrument()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


class Recorder:
    """A mock endpoint: records each request's JSON body and answers with `respond(body)`."""

    def __init__(self, respond: Callable[[dict[str, Any]], Any]) -> None:
        self.respond = respond
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        body = json.loads(request.content) if request.content else {}
        self.bodies.append(body)
        return self.respond(body)


def llm_spans(exporter: InMemorySpanExporter, scope: str = "agentyield") -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == scope]


def only_span(exporter: InMemorySpanExporter) -> Any:
    """The one agentyield LLM span the exporter holds."""
    spans = llm_spans(exporter)
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


def usage_attributes(span: Any) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith(("gen_ai.usage.", "agentyield.usage."))}


@pytest.fixture
def break_methods(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`break_methods(Class, "name", ...)`: those methods raise, as a bug in our extractors would, with the
    production guard on (internal errors logged, not raised), to check the caller never sees them."""
    monkeypatch.setenv("AGENTYIELD_STRICT", "0")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("extractor bug")

    def break_(owner: type, *names: str) -> None:
        for name in names:
            monkeypatch.setattr(owner, name, broken)

    return break_
