"""`agentyield serve`: the Collector tier. An OTLP receiver that derives agentyield's metrics from any
instrumentation's spans (docs/interop.md), behind or beside an OpenTelemetry Collector."""

from agentyield.processors._assembly import AssemblyLimits
from ._server import ServeConfig, Server, run

__all__ = ["AssemblyLimits", "ServeConfig", "Server", "run"]
