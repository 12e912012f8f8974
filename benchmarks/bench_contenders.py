"""Each contender's one line, the floor, and a switch that turns any instrumentation off and on again.

Every contender records into the same providers: `SimpleSpanProcessor` to a no-op exporter, an in-memory
metric reader, content capture off. Not every peer can uninstrument (and some only half-way), so the switch is
generic: it snapshots every attribute of the client SDK modules and their classes before instrumenting and
after, and swaps the changed ones back and forth. Off is then exactly the SDK as it was.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

CONTENDERS = ("agentyield", "agentyield-baseline", "openllmetry", "openinference", "otel-openai-v2", "otel-genai", "openlit",
              "span-only", "in-task")
CALLS_ONLY = frozenset({"span-only", "in-task"})
"""Rows that time calls only (no streams, load or start-up), in agentyield's environment. `span-only` is not an
instrumentation: the floor's own work around the real call, so the report shows in the same run what the least a
span-based instrumentation adds measures. `in-task` is agentyield with every call inside one `task()`, as an agent's
calls are: what a task adds per call (the request fingerprint for loops, the task's accounts), which a call
outside any task does not pay."""
LABELS = {
    "agentyield": "agentyield",
    "agentyield-baseline": "agentyield before (the baseline commit)",
    "openllmetry": "OpenLLMetry",
    "openinference": "OpenInference",
    "otel-openai-v2": "OpenTelemetry openai-v2 (official, deprecated)",
    "otel-genai": "OpenTelemetry genai-openai / genai-anthropic (official)",
    "openlit": "OpenLIT",
    "span-only": "a span only (the floor's work around the call)",
    "in-task": "agentyield, every call inside a `task()`",
}
# What each contender is, by distribution (their versions go into the report).
DISTRIBUTIONS = {
    "agentyield": ("agentyield",),
    "agentyield-baseline": ("agentyield",),
    "in-task": ("agentyield",),
    "openllmetry": ("opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-anthropic"),
    "openinference": ("openinference-instrumentation-openai", "openinference-instrumentation-anthropic"),
    "otel-openai-v2": ("opentelemetry-instrumentation-openai-v2",),
    "otel-genai": ("opentelemetry-instrumentation-genai-openai", "opentelemetry-instrumentation-genai-anthropic"),
    "openlit": ("openlit",),
}


def versions(name: str) -> dict[str, str]:
    """The versions this process runs: the contender's distributions, the SDKs, OpenTelemetry's SDK, Python."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in (*DISTRIBUTIONS.get(name, ()), "openai", "anthropic", "opentelemetry-sdk", "wrapt"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out


# Content capture off wherever a peer reads it from the environment (set before the peer is imported).
CONTENT_OFF = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false",
    "TRACELOOP_TRACE_CONTENT": "false",
    "OPENINFERENCE_HIDE_INPUTS": "true",
    "OPENINFERENCE_HIDE_OUTPUTS": "true",
    "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
}
SDK_PREFIXES = ("openai", "anthropic", "httpx", "httpx2")


class NoOpExporter(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def providers() -> tuple[TracerProvider, MeterProvider, NoOpExporter, InMemoryMetricReader]:
    """The providers every contender records into, made global (some peers only read the global ones), with the
    span exporter and the metric reader they feed."""
    exporter = NoOpExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return tracer_provider, meter_provider, exporter, reader


def floor_tracer() -> Any:
    """A provider of its own for the floor, configured the same, so no contender's processor reaches it."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoOpExporter()))
    return provider.get_tracer("bench.floor")


_FLOOR_ATTRIBUTES = (
    ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"),
    ("server.address", "api.openai.com"), ("server.port", 443), ("gen_ai.response.model", "gpt-4o-2024-08-06"),
    ("gen_ai.response.id", "chatcmpl-BBx7y2kqQ9w1rK3cUO1lY5d6e7f8"), ("gen_ai.response.finish_reasons", ("stop",)),
    ("gen_ai.usage.input_tokens", 2006), ("gen_ai.usage.output_tokens", 300),
    ("gen_ai.usage.cache_read.input_tokens", 1920), ("gen_ai.usage.reasoning.output_tokens", 0),
)


_ROOT = Context()
_tasks: list[Any] = []
"""The `in-task` process's task, open until the process ends (an agent's run)."""


def floor(tracer: Any) -> None:
    """shared/PERFORMANCE.md's floor: one span made current, 12 attributes set after start, around nothing. A root
    span whatever is current (in the `in-task` process a task is), so it is the same span in every process."""
    with tracer.start_as_current_span("chat gpt-4o", context=_ROOT, kind=trace.SpanKind.CLIENT) as span:
        _set_floor_attributes(span)


def _set_floor_attributes(span: Any) -> None:
    """The floor's 12 attributes, one `set_attribute` each, as the floor and *a span only* set them."""
    for key, value in _FLOOR_ATTRIBUTES:
        span.set_attribute(key, value)


def price_file() -> str:
    """OpenLIT fetches its price table from the network unless given a file: a local one with our two models."""
    path = os.path.join(tempfile.gettempdir(), "agentyield-bench-openlit-prices-2.json")
    if not os.path.exists(path):
        import json

        table = {"chat": {"gpt-4o": {"promptPrice": 0.0025, "completionPrice": 0.01},
                          "claude-sonnet-4-6": {"promptPrice": 0.003, "completionPrice": 0.015}},
                 "embeddings": {}, "images": {}, "audio": {}}
        with open(path, "w", encoding="utf-8") as out:
            json.dump(table, out)
    return path


def instrument(name: str, tracer_provider: Any, meter_provider: Any) -> list[str]:
    """Instrument with contender `name` the way its documentation says; the SDKs it covers."""
    if name in ("agentyield", "agentyield-baseline", "in-task"):
        import agentyield

        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        if name == "in-task":
            task = agentyield.task("agent run")
            task.__enter__()
            _tasks.append(task)
        return ["openai", "anthropic"]
    if name == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return ["openai", "anthropic"]
    if name == "openinference":
        from openinference.instrumentation.anthropic import AnthropicInstrumentor
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider)
        return ["openai", "anthropic"]
    if name == "otel-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return ["openai"]
    if name == "otel-genai":
        from opentelemetry.instrumentation.genai.anthropic import AnthropicInstrumentor
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return ["openai", "anthropic"]
    if name == "openlit":
        import openlit

        # It records into the global providers set above (it takes no provider arguments); its events (content
        # records, printed to stdout by default) off like every contender's content.
        openlit.init(capture_message_content=False, disable_events=True, pricing_json=price_file(),
                     collect_gpu_stats=False)
        return ["openai", "anthropic"]
    if name == "span-only":
        import wrapt

        tracer = tracer_provider.get_tracer("bench.span-only")

        def around(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            with tracer.start_as_current_span("chat", kind=trace.SpanKind.CLIENT) as span:
                result = wrapped(*args, **kwargs)
                _set_floor_attributes(span)
                return result

        wrapt.wrap_function_wrapper("openai.resources.chat.completions", "Completions.create", around)
        wrapt.wrap_function_wrapper("anthropic.resources.messages", "Messages.create", around)
        return ["openai", "anthropic"]
    raise ValueError(f"unknown contender {name!r}; known: {', '.join(CONTENDERS)}")


def _attributes(prefixes: tuple[str, ...]) -> dict[tuple[int, str], tuple[Any, Any]]:
    """(owner id, attribute) -> (owner, value) for every module under `prefixes` and every class they define."""
    seen: dict[tuple[int, str], tuple[Any, Any]] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or module_name.split(".")[0] not in prefixes:
            continue
        owners = [module]
        for value in list(vars(module).values()):
            # `issubclass(type(...))`, not `isinstance`: the SDKs' lazy proxies import their module when asked
            # for `__class__`, and the snapshot must not import anything.
            if issubclass(type(value), type) and getattr(value, "__module__", None) == module_name:
                owners.append(value)
        for owner in owners:
            for key, value in list(vars(owner).items()):
                seen[(id(owner), key)] = (owner, value)
    return seen


def _span_processors() -> dict[tuple[int, str], tuple[Any, Any]]:
    """The global tracer provider's span processors, as one more attribute: a contender that adds its own (agentyield's
    derivation) is off only without it. Off with it still there, that processor would book the spans an SDK makes by
    itself (the anthropic SDK's own span) as another instrumentation's, in the uninstrumented call."""
    active = getattr(trace.get_tracer_provider(), "_active_span_processor", None)
    if active is None or not hasattr(active, "_span_processors"):
        return {}
    return {(id(active), "_span_processors"): (active, active._span_processors)}


_ABSENT = object()


class Switch:
    """Turns an instrumentation off and on by swapping back the SDK attributes it replaced, and the span processors
    it added to the global tracer provider.

    Take `snapshot()` after the calls to measure have run once (every module they need is imported), then
    instrument, then `Switch(snapshot)`: it starts on.
    """

    def __init__(self, before: dict[tuple[int, str], tuple[Any, Any]]) -> None:
        owners = {key[0] for key in before}
        after = {**_attributes(SDK_PREFIXES), **_span_processors()}
        # (owner, attribute, value before or _ABSENT, value after): what instrumenting replaced or added.
        self.patches = [(owner, key[1], before[key][1] if key in before else _ABSENT, value)
                        for key, (owner, value) in after.items()
                        if key[0] in owners and not key[1].startswith('__')
                        and (key not in before or before[key][1] is not value)]
        self.on_now = True

    @staticmethod
    def snapshot() -> dict[tuple[int, str], tuple[Any, Any]]:
        return {**_attributes(SDK_PREFIXES), **_span_processors()}

    def set(self, on: bool) -> None:
        if on != self.on_now:
            for owner, key, original, patched in self.patches:
                if on:
                    setattr(owner, key, patched)
                elif original is _ABSENT:
                    delattr(owner, key)
                else:
                    setattr(owner, key, original)
            self.on_now = on
