"""Auto-instrumentation of LLM and tool client libraries: one module per library, one umbrella instrumentor.

`AgentYieldInstrumentor` is what `agentyield.instrument()` and `opentelemetry-instrument` (through the
`opentelemetry_instrumentor` entry point) use: it instruments every supported library that is installed.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Collection

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from agentyield._config import Config
from agentyield._version import __version__

from ._instrumentor import LibraryInstrumentor
from ._invocation import Telemetry

__all__ = ["AgentYieldInstrumentor"]

_LIBRARIES = (
    ("openai", "agentyield.instrumentation.openai", "OpenAIInstrumentor"),
    ("anthropic", "agentyield.instrumentation.anthropic", "AnthropicInstrumentor"),
    ("google.genai", "agentyield.instrumentation.google_genai", "GoogleGenAIInstrumentor"),
    ("botocore", "agentyield.instrumentation.bedrock", "BedrockInstrumentor"),
    ("litellm", "agentyield.instrumentation.litellm", "LiteLLMInstrumentor"),
    ("mcp", "agentyield.instrumentation.mcp", "MCPInstrumentor"),
    ("agents", "agentyield.instrumentation.openai_agents", "OpenAIAgentsInstrumentor"),
)


def _library_instrumentors() -> list[LibraryInstrumentor]:
    """An instrumentor for each supported library that is installed (found, not imported)."""
    found = []
    for library, module, name in _LIBRARIES:
        try:
            spec = importlib.util.find_spec(library)
        except ModuleNotFoundError:  # the parent of a dotted name (`google` of `google.genai`) is not installed
            continue
        if spec is not None:
            found.append(getattr(importlib.import_module(module), name)())
    return found


class AgentYieldInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every supported client library that is installed; `uninstrument()` undoes all of it."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        config = kwargs.get("config") or Config.from_env()
        tracer = trace.get_tracer(
            "agentyield", __version__, tracer_provider=kwargs.get("tracer_provider"), attributes=kwargs.get("scope_attributes")
        )
        telemetry = Telemetry(tracer, config, kwargs.get("before_end"))
        self._instrumentors = _library_instrumentors()
        for instrumentor in self._instrumentors:
            instrumentor.instrument(telemetry=telemetry)

    def _uninstrument(self, **kwargs: Any) -> None:
        for instrumentor in self._instrumentors:
            instrumentor.uninstrument()
        self._instrumentors = []
