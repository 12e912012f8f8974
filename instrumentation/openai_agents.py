"""The OpenAI Agents SDK (`openai-agents`), through its trace-processor interface.

Its agent spans become tasks (`invoke_agent {name}`), its function spans tool calls (`execute_tool {name}`,
with the argument fingerprint), its handoffs `handoff` spans. Its response and generation spans are not
mapped: the LLM call they describe is the `openai` client call that agentyield's openai instrumentation already
records (nested under the agent's task span), so none is counted twice. The mapped spans are made current
while the SDK's span is, so the LLM calls and tool calls inside an agent nest under its task.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from agentyield import _semconv as sc
from agentyield._guard import internal_error
from agentyield._tools import ToolCall, start_tool_call

from ._instrumentor import LibraryInstrumentor

if TYPE_CHECKING:
    from ._invocation import Telemetry

__all__ = ["OpenAIAgentsInstrumentor"]

HANDOFF_FROM = "agentyield.handoff.from"
HANDOFF_TO = "agentyield.handoff.to"
MAX_OPEN_SPANS = 10_000
"""SDK spans in flight that we mapped; past it the oldest mapping is forgotten (its span still ends with the SDK's)."""


def _arguments(text: Any) -> Any:
    """A function span's input is the model's JSON arguments: fingerprint the parsed value, like `agentyield.tool`."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Mapped:
    __slots__ = ("span", "tool", "token")

    def __init__(self, span: Any, tool: ToolCall | None, token: object) -> None:
        self.span = span
        self.tool = tool
        self.token = token


class AgentYieldTracingProcessor:
    """Registered once per process with `agents.add_trace_processor`; maps spans while `telemetry` is set."""

    def __init__(self) -> None:
        self.telemetry: Telemetry | None = None
        self._open: OrderedDict[str, _Mapped] = OrderedDict()

    def on_trace_start(self, trace_: Any) -> None:
        pass

    def on_trace_end(self, trace_: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        telemetry = self.telemetry
        if telemetry is None:
            return
        try:
            data = span.span_data
            kind = data.type
            parent = self._open.get(span.parent_id) if span.parent_id else None
            context = trace.set_span_in_context(parent.span) if parent is not None else None
            tool = None
            if kind == "agent":
                attributes = {
                    sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
                    sc.GEN_AI_AGENT_NAME: data.name,
                    sc.TASK_NAME: data.name,
                    sc.TASK_ID: span.span_id,
                }
                otel_span = telemetry.tracer.start_span(f"invoke_agent {data.name}", context, SpanKind.INTERNAL, attributes)
            elif kind == "function":
                token = context_api.attach(context) if context is not None else None
                try:
                    tool = start_tool_call(telemetry.tracer, data.name, _arguments(data.input), capture=telemetry.config.capture_content)
                finally:
                    if token is not None:
                        context_api.detach(token)
                if tool is None:
                    return
                otel_span = tool.span
            elif kind == "handoff":
                otel_span = telemetry.tracer.start_span("handoff", context, SpanKind.INTERNAL)  # agents named at its end
            else:
                return  # response and generation spans: the openai instrumentation records the call itself
            if len(self._open) >= MAX_OPEN_SPANS:
                self._open.popitem(last=False)
            self._open[span.span_id] = _Mapped(otel_span, tool, context_api.attach(trace.set_span_in_context(otel_span)))
        except Exception as exc:  # noqa: BLE001
            internal_error("openai_agents.on_span_start", exc)

    def on_span_end(self, span: Any) -> None:
        mapped = self._open.pop(span.span_id, None) if self._open else None
        if mapped is None:
            return
        try:
            context_api.detach(mapped.token)
            error = span.error
            data = span.span_data
            if mapped.tool is not None:
                if data.output is not None:
                    mapped.tool.result(data.output)
                if error:
                    mapped.tool.failed("tool_error")
                mapped.tool.end()
                return
            otel_span = mapped.span
            if data.type == "handoff":
                for key, agent in ((HANDOFF_FROM, data.from_agent), (HANDOFF_TO, data.to_agent)):
                    if agent is not None:
                        otel_span.set_attribute(key, str(agent))
            if error:
                otel_span.set_attribute(sc.ERROR_TYPE, "agent_error")
                otel_span.set_status(Status(StatusCode.ERROR, "agent_error"))  # the message may echo content
            telemetry = self.telemetry
            end_time = time.time_ns()
            if data.type == "agent" and telemetry is not None and telemetry.before_end is not None:
                # Book the task as it ends, so its span carries its totals (like `agentyield.task`'s).
                otel_span.set_attributes(telemetry.before_end(otel_span, dict(otel_span.attributes or {}), end_time))
            otel_span.end(end_time)
        except Exception as exc:  # noqa: BLE001
            internal_error("openai_agents.on_span_end", exc)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


class OpenAIAgentsInstrumentor(LibraryInstrumentor):
    """Adds a trace processor to the Agents SDK; uninstrumenting silences it (the SDK cannot remove one)."""

    library = "agents"
    distribution = "openai-agents"
    min_version = (0, 2)

    _processor: AgentYieldTracingProcessor | None = None

    def instrument(self, telemetry: Telemetry) -> None:
        if self._processor is not None or not self._supported():
            return
        try:
            from agents import TracingProcessor, add_trace_processor
        except ImportError:
            return  # a module named `agents` that is not the OpenAI Agents SDK
        try:
            processor = type("AgentYieldTracingProcessor", (AgentYieldTracingProcessor, TracingProcessor), {})()
            processor.telemetry = telemetry
            add_trace_processor(processor)
            self._processor = processor
        except Exception as exc:  # noqa: BLE001 - an SDK we cannot read stays uninstrumented, not broken
            internal_error("openai_agents.instrument", exc)

    def uninstrument(self) -> None:
        if self._processor is not None:
            self._processor.telemetry = None
            self._processor = None
