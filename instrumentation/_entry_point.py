"""`AgentYieldInstrumentor`: agentyield for `opentelemetry-instrument` (the `opentelemetry_instrumentor` entry point).

It does what `agentyield.instrument()` does, with everything from the environment: the span processor and
derived metrics on the providers the distro's configurator set up, or agentyield's own when there are none.
"""

from __future__ import annotations

from typing import Any, Collection

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from . import instrument_all, is_instrumented, uninstrument_all

__all__ = ["AgentYieldInstrumentor"]


class AgentYieldInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments every supported client library; `uninstrument()` undoes all of it."""

    @property
    def _is_instrumented_by_opentelemetry(self) -> bool:
        """One state for both ways in: after `opentelemetry-instrument`, `agentyield.instrument()` sees it
        instrumented, and after `agentyield.uninstrument()` this instrumentor sees it not."""
        return is_instrumented()

    @_is_instrumented_by_opentelemetry.setter
    def _is_instrumented_by_opentelemetry(self, _value: bool) -> None:
        pass  # set by instrument_all() and uninstrument_all()

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # each library's instrumentor checks its own version, when the application imports it

    def _instrument(self, **kwargs: Any) -> None:
        instrument_all(**kwargs)

    def _uninstrument(self, **kwargs: Any) -> None:
        uninstrument_all()
