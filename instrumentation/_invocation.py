"""The span lifecycle of one LLM call: start -> stop(response) | fail(error).

Separates what happened (the records of `_records`) from how it is recorded (one CLIENT span per call,
attributes passed at start and set once at the end).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, Mapping

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span

from agentyield import _semconv as sc
from agentyield._guard import internal_error
from agentyield._tasks import current_task

from ._fingerprint import request_hash

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from agentyield._config import Config

    from ._records import LLMRequest, LLMResponse

__all__ = ["BeforeEnd", "LLMInvocation", "Telemetry", "in_call"]

_IN_CALL: ContextVar[bool] = ContextVar("agentyield_in_llm_call", default=False)


def in_call() -> bool:
    """True inside the SDK call of an instrumented LLM call: a library we wrap (LiteLLM) calling an SDK we also
    wrap (openai) is one call, counted once, by the outer span."""
    return _IN_CALL.get()

BeforeEnd = Callable[["Span", Mapping[str, Any], int], Mapping[str, Any]]


class Telemetry:
    """The one object the wrappers share: the tracer and the configuration. No globals."""

    __slots__ = ("tracer", "config", "before_end")

    def __init__(self, tracer: Tracer, config: Config, before_end: BeforeEnd | None = None) -> None:
        self.tracer = tracer
        self.config = config
        self.before_end = before_end
        """Called with each finished span and all its attributes just before it ends; returns attributes to add
        (the span processor's `book_ending`)."""

    def start(self, provider: str, request: LLMRequest) -> LLMInvocation:
        attributes = request.attributes
        attributes[sc.GEN_AI_OPERATION_NAME] = request.operation
        attributes[sc.GEN_AI_PROVIDER_NAME] = request.provider or provider
        if self.config.agent is not None and current_task() is None:
            attributes[sc.GEN_AI_AGENT_NAME] = self.config.agent  # outside tasks, say whose spend this is
        # The loop rule compares the fingerprints of a task's own calls; a call with no parent span is in no task
        # (a task is a span around its calls), so nothing would read its fingerprint (docs/metrics.md, "loops").
        if get_current_span().get_span_context().is_valid:
            fingerprint = request_hash(request.kwargs)
            if fingerprint is not None:
                attributes[sc.REQUEST_HASH] = fingerprint
        model = request.model
        if model:
            attributes[sc.GEN_AI_REQUEST_MODEL] = model
            name = f"{request.operation} {model}"
        else:
            name = request.operation
        span = self.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        return LLMInvocation(span, request, self.before_end)


class LLMInvocation:
    """One call in flight. Ends exactly once, whichever of stop, fail or abandon comes first."""

    __slots__ = ("span", "request", "ended", "_token", "_in_call", "_before_end")

    def __init__(self, span: Span, request: LLMRequest, before_end: BeforeEnd | None = None) -> None:
        self.span = span
        self.request = request
        self.ended = False
        self._token: object | None = None
        self._in_call: Any = None
        self._before_end = before_end

    def enter(self) -> None:
        """Make the span current for the duration of the SDK call, so spans made inside nest under it."""
        self._token = context_api.attach(trace.set_span_in_context(self.span))
        self._in_call = _IN_CALL.set(True)

    def exit(self) -> None:
        if self._token is not None:
            _IN_CALL.reset(self._in_call)
            context_api.detach(self._token)
            self._token = None

    def stop(self, response: LLMResponse | None, stream_end: str | None = None) -> None:
        """End the span with what the call returned. Never raises into the host."""
        self._end(response, stream_end, None)

    def fail(self, error: BaseException, response: LLMResponse | None = None) -> None:
        """End the span with the error the call raised. Never raises into the host."""
        self._end(response, "error" if self.request.stream else None, error)

    def _end(self, response: LLMResponse | None, stream_end: str | None, error: BaseException | None) -> None:
        if self.ended:
            return
        self.ended = True
        span = self.span
        end_time = time.time_ns()  # the processor books the call at the instant the span ends
        try:
            if span.is_recording():
                attributes = response_attributes(response, self.request, stream_end)
                if error is not None:
                    attributes[sc.ERROR_TYPE] = _error_type(error)
                    # The type only: provider error messages can echo request content.
                    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                if self._before_end is not None:
                    # What the span processor derives from all the span's attributes, set in the same call.
                    attributes.update(self._before_end(span, {**self.request.attributes, **attributes}, end_time))
                span.set_attributes(attributes)
        except Exception as exc:  # noqa: BLE001
            internal_error("invocation.end", exc)
        finally:
            span.end(end_time)


def _error_type(error: BaseException) -> str:
    """The HTTP status of an API error, else the exception's type.

    Where the SDKs keep the status: `status_code` (openai, anthropic, litellm), `code` (google-genai),
    `response["ResponseMetadata"]["HTTPStatusCode"]` (botocore).
    """
    status = getattr(error, "status_code", None)
    if status is None:
        status = getattr(error, "code", None)
    if status is None:
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    # Only an error status: an error event inside a stream carries the stream's own 200.
    if type(status) is int and 400 <= status < 600:
        return str(status)
    return type(error).__qualname__


def response_attributes(
    response: LLMResponse | None, request: LLMRequest, stream_end: str | None
) -> dict[str, Any]:
    """Every attribute known at the end of the call, built once."""
    attributes: dict[str, Any] = {}
    if stream_end is not None:
        attributes[sc.STREAM_END] = stream_end
    if request.hide_usage_chunk:
        attributes[sc.STREAM_USAGE_REQUESTED] = True
    usage = None
    if response is not None:
        if response.model:
            attributes[sc.GEN_AI_RESPONSE_MODEL] = response.model
        if response.id:
            attributes[sc.GEN_AI_RESPONSE_ID] = response.id
        if response.finish_reasons:
            attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = response.finish_reasons
        if response.tool_names:
            attributes[sc.TOOL_CALLS_COUNT] = len(response.tool_names)
            attributes[sc.TOOL_CALLS_NAMES] = response.tool_names
        if response.output_messages is not None:
            attributes[sc.GEN_AI_OUTPUT_MESSAGES] = response.output_messages
        if response.unreadable_fields:
            attributes[sc.RESPONSE_UNREADABLE_FIELDS] = response.unreadable_fields
        usage = response.usage
    if usage is None:
        attributes[sc.USAGE_MISSING] = True
        return attributes
    for key, value in (
        (sc.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
        (sc.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
        (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_tokens),
        (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write_tokens),
        (sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_write_tokens),
        (sc.USAGE_CACHE_WRITE_5M, usage.cache_write_5m_tokens),
        (sc.USAGE_CACHE_WRITE_1H, usage.cache_write_1h_tokens),
        (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens),
    ):
        if value is not None:
            attributes[key] = value
    if usage.invalid_fields:
        attributes[sc.USAGE_INVALID_FIELDS] = usage.invalid_fields
    return attributes
