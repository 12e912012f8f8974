"""Tool calls as spans: `@agentyield.tool`, `@agentyield.tool(name=...)` and `with agentyield.tool("name") as call:`.

Each call is one `execute_tool {name}` INTERNAL span with the GenAI conventions' `gen_ai.tool.*` attributes,
a fingerprint of the arguments (`agentyield.tool.args_hash`, so repeated calls can be found without the
arguments ever leaving the process) and the size of the result. Content is recorded only when
`capture_content` is on. The user's function runs outside our guarded code: it returns and raises exactly
what it would have without agentyield. MCP clients (instrumentation/mcp.py) open the same spans through
`start_tool_call`.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from hashlib import blake2b
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar, overload

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _semconv as sc
from . import _tasks
from ._guard import internal_error

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

__all__ = ["ToolCall", "args_hash", "configure", "start_tool_call", "tool"]

F = TypeVar("F", bound=Callable[..., Any])

TOOL_TYPE_FUNCTION = "function"
TOOL_TYPE_EXTENSION = "extension"

_capture_content = False


def configure(capture_content: bool) -> None:
    """Called by `instrument()`: record tool arguments and results as content only when asked to."""
    global _capture_content
    _capture_content = capture_content


def _json(value: Any) -> str:
    def default(obj: Any) -> Any:
        dump = getattr(obj, "model_dump", None)
        return dump(mode="json") if dump is not None else repr(obj)

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=default, ensure_ascii=False)


def args_hash(arguments: Any) -> str:
    """A 16-hex-digit fingerprint of the arguments' canonical JSON form (objects without one: their repr)."""
    return blake2b(_json(arguments).encode(), digest_size=8).hexdigest()


def _size(result: Any) -> int:
    if isinstance(result, str):
        return len(result)
    if isinstance(result, (bytes, bytearray)):
        return len(result)
    return len(_json(result))


class ToolCall:
    """One tool call in flight: `call.result(value)` or `call.failed(error_type)`; the span ends once."""

    __slots__ = ("span", "capture", "_token", "_ended", "_result", "_error_type")

    def __init__(self, span: Span, capture: bool) -> None:
        self.span = span
        self.capture = capture
        self._token: object | None = None
        self._ended = False
        self._result: tuple[Any] | None = None
        self._error_type: str | None = None

    def result(self, value: Any) -> None:
        """Record what the tool returned (its size; the value itself only with content capture on)."""
        self._result = (value,)

    def failed(self, error_type: str = "tool_error") -> None:
        """Mark the call failed without an exception (a tool that reports errors in its result)."""
        self._error_type = error_type

    def _enter(self) -> None:
        self._token = context_api.attach(trace.set_span_in_context(self.span))

    def end(self, error: BaseException | None = None) -> None:
        """End the span (with the exception that left the tool, if any). Never raises into the host."""
        if self._ended:
            return
        self._ended = True
        try:
            if self._token is not None:
                context_api.detach(self._token)
                self._token = None
            span = self.span
            if span.is_recording():
                attributes: dict[str, Any] = {}
                if self._result is not None:
                    value = self._result[0]
                    attributes[sc.TOOL_RESULT_SIZE] = _size(value)
                    if self.capture:
                        attributes[sc.GEN_AI_TOOL_CALL_RESULT] = value if isinstance(value, str) else _json(value)
                error_type = type(error).__qualname__ if error is not None else self._error_type
                if error_type is not None:
                    attributes[sc.ERROR_TYPE] = error_type
                    span.set_status(Status(StatusCode.ERROR, error_type))
                span.set_attributes(attributes)
        except Exception as exc:  # noqa: BLE001
            internal_error("tool.end", exc)
        finally:
            self.span.end()


def start_tool_call(
    tracer: Tracer,
    name: str,
    arguments: Any,
    *,
    tool_type: str = TOOL_TYPE_FUNCTION,
    call_id: str | None = None,
    capture: bool = False,
    attributes: Mapping[str, Any] | None = None,
) -> ToolCall | None:
    """Open a tool call's span (None, and the tool runs untraced, if our own code fails)."""
    try:
        values: dict[str, Any] = dict(attributes or {})
        values[sc.GEN_AI_OPERATION_NAME] = sc.OPERATION_EXECUTE_TOOL
        values[sc.GEN_AI_TOOL_NAME] = name
        values[sc.GEN_AI_TOOL_TYPE] = tool_type
        values[sc.GEN_AI_TOOL_CALL_ID] = call_id or uuid.uuid4().hex[:16]
        if arguments is not None:
            values[sc.TOOL_ARGS_HASH] = args_hash(arguments)
            if capture:
                values[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = _json(arguments)
        span = tracer.start_span(f"{sc.OPERATION_EXECUTE_TOOL} {name}", kind=SpanKind.INTERNAL, attributes=values)
        return ToolCall(span, capture)
    except Exception as exc:  # noqa: BLE001 - never break the host
        internal_error("tool.start", exc)
        return None


def _binder(func: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """The arguments of a call by parameter name when they bind (so `f(1)` and `f(x=1)` fingerprint alike);
    the signature is read once per decorated function."""
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None

    def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if signature is not None:
            try:
                return dict(signature.bind(*args, **kwargs).arguments)
            except TypeError:
                pass
        return {"args": list(args), "kwargs": kwargs}

    return arguments


class tool:  # noqa: N801 - used like a function: `@agentyield.tool`, `with agentyield.tool("search"):`
    """A tool call: a decorator (sync and async functions) or a context manager for tool code that is not one.

        @agentyield.tool
        def search(query: str) -> list[str]: ...

        @agentyield.tool(name="web.search")
        async def search(query: str) -> list[str]: ...

        with agentyield.tool("shell", arguments={"cmd": cmd}) as call:
            out = run(cmd)
            call.result(out)
    """

    @overload
    def __new__(cls, func: F) -> F: ...  # type: ignore[misc]

    @overload
    def __new__(
        cls, name: str | None = None, *, arguments: Any = None, call_id: str | None = None, tool_type: str = TOOL_TYPE_FUNCTION
    ) -> tool: ...

    def __new__(cls, name: Any = None, **kwargs: Any) -> Any:
        if callable(name) and not kwargs:
            return cls()(name)  # bare `@agentyield.tool`
        return super().__new__(cls)

    def __init__(
        self, name: str | None = None, *, arguments: Any = None, call_id: str | None = None, tool_type: str = TOOL_TYPE_FUNCTION
    ) -> None:
        self.name = name
        self.arguments = arguments
        self.call_id = call_id
        self.tool_type = tool_type
        self._entered: list[ToolCall | None] = []

    def _start(self, name: str, arguments: Any) -> ToolCall | None:
        call = start_tool_call(
            _tasks.tracer(), name, arguments, tool_type=self.tool_type, call_id=self.call_id, capture=_capture_content
        )
        if call is not None:
            call._enter()
        return call

    def __enter__(self) -> ToolCall:
        call = self._start(self.name or "tool", self.arguments)
        self._entered.append(call)
        return call if call is not None else ToolCall(trace.INVALID_SPAN, False)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        call = self._entered.pop()
        if call is not None:
            call.end(exc)

    async def __aenter__(self) -> ToolCall:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, func: F) -> F:
        """As a decorator: one tool call per call of `func`, named `name` or the function's name."""
        name = self.name or getattr(func, "__name__", "tool")
        spec = self
        arguments = _binder(func)

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                call = spec._start(name, arguments(args, kwargs))
                if call is None:
                    return await func(*args, **kwargs)
                try:
                    result = await func(*args, **kwargs)
                except BaseException as error:
                    call.end(error)
                    raise
                call.result(result)
                call.end()
                return result

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            call = spec._start(name, arguments(args, kwargs))
            if call is None:
                return func(*args, **kwargs)
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                call.end(error)
                raise
            call.result(result)
            call.end()
            return result

        return run  # type: ignore[return-value]
