"""Auto-instrumentation of LLM and tool client libraries: one module per library, loaded when the application imports it.

`instrument_all()` is what `agentyield.instrument()` and `AgentYieldInstrumentor` (what `opentelemetry-instrument`
loads through the `opentelemetry_instrumentor` entry point) both do: wire agentyield into the providers
(`agentyield._setup.attach`) and instrument every supported library, each when the application imports it.
Nothing of a library's instrumentation (its module here, wrapt) is imported before the library is, nor
OpenTelemetry's instrumentor base before `opentelemetry-instrument` asks for it: together they cost more
start-up time than the rest of agentyield.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from agentyield._guard import internal_error
from agentyield._setup import attach, detach
from agentyield._version import __version__

from ._hooks import when_imported
from ._invocation import Telemetry

if TYPE_CHECKING:
    from types import ModuleType

    from ._entry_point import AgentYieldInstrumentor
    from ._instrumentor import LibraryInstrumentor

__all__ = ["AgentYieldInstrumentor", "instrument_all", "is_instrumented", "uninstrument_all"]

_LIBRARIES = (
    ("openai", "agentyield.instrumentation.openai", "OpenAIInstrumentor"),
    ("anthropic", "agentyield.instrumentation.anthropic", "AnthropicInstrumentor"),
    ("google.genai", "agentyield.instrumentation.google_genai", "GoogleGenAIInstrumentor"),
    ("botocore.client", "agentyield.instrumentation.bedrock", "BedrockInstrumentor"),  # what boto3 imports to make a client
    ("litellm", "agentyield.instrumentation.litellm", "LiteLLMInstrumentor"),
    ("mcp", "agentyield.instrumentation.mcp", "MCPInstrumentor"),
    ("agents", "agentyield.instrumentation.openai_agents", "OpenAIAgentsInstrumentor"),
)


class _State:
    active = False
    generation = 0
    """Bumped by every instrument and uninstrument: a hook of an earlier generation stands down."""
    instrumentors: dict[str, LibraryInstrumentor] = {}
    """One per library, made when the application imports it, kept to uninstrument and instrument again."""


def instrument_all(**options: Any) -> bool:
    """Wire agentyield into the providers (`options` are `agentyield.instrument()`'s) and instrument every
    supported library as the application imports it; False, doing nothing, if already instrumented."""
    if _State.active:
        return False
    wiring = attach(**options)
    tracer = trace.get_tracer("agentyield", __version__, tracer_provider=wiring.tracer_provider, attributes=wiring.scope_attributes)
    telemetry = Telemetry(tracer, wiring.config, wiring.before_end)
    _State.active = True
    _State.generation += 1
    for library, module, name in _LIBRARIES:
        when_imported(library, __name__, functools.partial(_instrument_library, module, name, telemetry, _State.generation))
    return True


def _instrument_library(module: str, name: str, telemetry: Telemetry, generation: int, _library: ModuleType) -> None:
    if generation != _State.generation:
        return
    try:
        instrumentor = _State.instrumentors.get(module)
        if instrumentor is None:
            instrumentor = _State.instrumentors[module] = getattr(importlib.import_module(module), name)()
        instrumentor.instrument(telemetry)
    except Exception as exc:  # noqa: BLE001 - a library we cannot instrument stays as it is, never broken
        internal_error(f"{module}.instrument", exc)


def is_instrumented() -> bool:
    return _State.active


def uninstrument_all() -> None:
    """Restore every wrapped method, the samplers and the task tracer; libraries imported later stay as they are."""
    _State.active = False
    _State.generation += 1
    for instrumentor in _State.instrumentors.values():
        instrumentor.uninstrument()
    detach()


def __getattr__(name: str) -> Any:
    if name == "AgentYieldInstrumentor":  # imported only for opentelemetry-instrument, which has its base loaded
        from ._entry_point import AgentYieldInstrumentor

        return AgentYieldInstrumentor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
