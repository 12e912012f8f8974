"""MCP clients: `ClientSession.call_tool` and `ClientSession.list_tools` of the `mcp` SDK (majors 1 and 2).

A `tools/call` becomes an `execute_tool {name}` span (`gen_ai.tool.type = "extension"`, `mcp.method.name`),
like any other tool call; a result with `isError` set is a failed call (`error.type = "tool_error"`), not an
exception. The SDK's own client span (`MCP send tools/call {name}`, mcp 2) and the server's span, when the
server runs in the same trace, nest under it and are recognized as the same call (counted once).
A `tools/list` becomes a `tools/list` span that says how many tools the server listed.

`mcp.session.id` is known only to a streamable-HTTP transport (the server's `mcp-session-id` header), not to
the client session. The transport's writer task receives the very stream the session writes to, so while that
task runs, `Sessions` maps the stream to its transport, and each call looks its session's id up there. A stdio
or in-memory session has no id; an SDK whose private fields moved leaves it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from opentelemetry.trace import SpanKind, Status, StatusCode

from agentyield import _semconv as sc
from agentyield._guard import internal_error
from agentyield._tools import TOOL_TYPE_EXTENSION, start_tool_call

from ._instrumentor import LibraryInstrumentor, Target

if TYPE_CHECKING:
    from agentyield._config import Config

    from ._invocation import Telemetry

__all__ = ["MCPInstrumentor"]

TOOLS_CALL = "tools/call"
TOOLS_LIST = "tools/list"


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


class Sessions:
    """Streamable-HTTP transports by the write stream of their session, while their writer task runs (so bounded
    by the open connections; no stream id outlives its stream)."""

    MAX_OPEN = 1_024

    def __init__(self) -> None:
        self._transports: dict[int, tuple[Any, Any]] = {}

    def session_id(self, session: Any) -> str | None:
        """The id the server gave this client session, when it speaks streamable HTTP and has one."""
        dispatcher = getattr(session, "_dispatcher", None)  # mcp 2: the session writes through its dispatcher
        stream = getattr(dispatcher if dispatcher is not None else session, "_write_stream", None)
        entry = self._transports.get(id(stream))
        if entry is None or entry[0] is not stream:
            return None
        session_id = getattr(entry[1], "session_id", None)
        return session_id if isinstance(session_id, str) and session_id else None

    def writer(self) -> Callable[..., Any]:
        """Wraps `StreamableHTTPTransport.post_writer(client, reader, read_writer, write_stream, ...)`: the stream
        maps to its transport for as long as the writer runs. Past MAX_OPEN connections, calls go without an id."""

        async def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            stream = _argument(args, kwargs, 3, "write_stream")
            key = id(stream)
            if stream is not None and len(self._transports) < self.MAX_OPEN:
                self._transports[key] = (stream, instance)
            try:
                return await wrapped(*args, **kwargs)
            finally:
                if self._transports.get(key, (None,))[0] is stream:
                    del self._transports[key]

        return traced


def _session_attributes(sessions: Sessions, instance: Any, method: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {sc.MCP_METHOD_NAME: method}
    version = getattr(instance, "protocol_version", None)  # mcp 2; mcp 1 does not keep it on the session
    if isinstance(version, str):
        attributes["mcp.protocol.version"] = version
    session_id = sessions.session_id(instance)
    if session_id is not None:
        attributes[sc.MCP_SESSION_ID] = session_id
    return attributes


def _is_error(result: Any) -> bool:
    flag = getattr(result, "is_error", None)  # mcp 2
    if flag is None:
        flag = getattr(result, "isError", None)  # mcp 1
    return flag is True


def _call_tool(telemetry: Telemetry, sessions: Sessions, api: str) -> Callable[..., Any]:
    async def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = None
        try:
            name = str(_argument(args, kwargs, 0, "name"))
            arguments = _argument(args, kwargs, 1, "arguments")
            call = start_tool_call(
                telemetry.tracer,
                name,
                arguments if arguments is not None else {},
                tool_type=TOOL_TYPE_EXTENSION,
                capture=telemetry.config.capture_content,
                attributes=_session_attributes(sessions, instance, TOOLS_CALL),
            )
            if call is not None:
                call._enter()
        except Exception as exc:  # noqa: BLE001 - never break the host
            internal_error("mcp.call_tool.start", exc)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            call.end(error)
            raise
        try:
            call.result(getattr(result, "content", result))
            if _is_error(result):
                call.failed("tool_error")
        except Exception as exc:  # noqa: BLE001
            internal_error("mcp.call_tool.finish", exc)
        call.end()
        return result

    return traced


def _list_tools(telemetry: Telemetry, sessions: Sessions, api: str) -> Callable[..., Any]:
    async def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        span = None
        try:
            span = telemetry.tracer.start_span(TOOLS_LIST, kind=SpanKind.INTERNAL, attributes=_session_attributes(sessions, instance, TOOLS_LIST))
        except Exception as exc:  # noqa: BLE001
            internal_error("mcp.list_tools.start", exc)
        if span is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            span.set_attribute(sc.ERROR_TYPE, type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            span.end()
            raise
        try:
            tools = getattr(result, "tools", None)
            if isinstance(tools, list):
                span.set_attribute(sc.MCP_TOOLS_COUNT, len(tools))
        except Exception as exc:  # noqa: BLE001
            internal_error("mcp.list_tools.finish", exc)
        span.end()
        return result

    return traced


def _post_writer(telemetry: Telemetry, sessions: Sessions, api: str) -> Callable[..., Any]:
    return sessions.writer()


class MCPInstrumentor(LibraryInstrumentor):
    library = "mcp"
    distribution = "mcp"
    min_version = (1,)
    targets = (
        Target("mcp.client.session", "ClientSession.call_tool", TOOLS_CALL, is_async=True, factory=_call_tool),
        Target("mcp.client.session", "ClientSession.list_tools", TOOLS_LIST, is_async=True, factory=_list_tools),
        Target(
            "mcp.client.streamable_http", "StreamableHTTPTransport.post_writer", "post_writer", is_async=True,
            factory=_post_writer,
        ),
    )

    def provider(self, config: Config) -> Sessions:
        return Sessions()
