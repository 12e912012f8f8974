"""MCP tools through a real in-process MCP server and client (mcp 2, and mcp 1 in the oldest environment)."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from hashlib import blake2b
from typing import Any, AsyncIterator

import pytest
from opentelemetry import trace

import agentyield
from agentyield import _semconv as sc

from metrics_util import labels, points

pytest.importorskip("mcp")


def _major() -> int:
    from importlib.metadata import version

    return int(version("mcp").split(".")[0])


def fingerprint(value: Any) -> str:
    return blake2b(json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), digest_size=8).hexdigest()


def server() -> Any:
    """A server with two tools: `add`, and `fail`, which raises (the SDK answers with an `isError` result)."""
    if _major() >= 2:
        from mcp.server.mcpserver import MCPServer

        app = MCPServer("calc")
    else:
        from mcp.server.fastmcp import FastMCP

        app = FastMCP("calc")

    @app.tool()
    def add(a: int, b: int) -> int:
        return a + b

    @app.tool()
    def fail(reason: str) -> str:
        raise ValueError(reason)

    return app


@asynccontextmanager
async def session(app: Any) -> AsyncIterator[Any]:
    """A real client session connected in-process (memory streams) to the server."""
    if _major() >= 2:
        from mcp import Client

        async with Client(app) as client:
            yield client
    else:
        from mcp.shared.memory import create_connected_server_and_client_session

        async with create_connected_server_and_client_session(app._mcp_server) as client:
            yield client


@pytest.fixture
def global_tracing(tracer_provider: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The application's global tracer provider, which the mcp SDK's own spans (mcp 2) go to."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", tracer_provider)
    if _major() >= 2:
        import mcp.shared._otel as otel

        monkeypatch.setattr(otel, "_tracer", tracer_provider.get_tracer("mcp-python-sdk"))


def content_size(result: Any) -> int:
    return len(json.dumps([c.model_dump(mode="json") for c in result.content], sort_keys=True, separators=(",", ":"), ensure_ascii=False))


async def test_tool_calls_and_listing(instrumented: None, global_tracing: None, span_exporter: Any, metric_reader: Any) -> None:
    async with session(server()) as client:
        with agentyield.task("calc-job", agent="mcp-agent"):
            listed = await client.list_tools()
            first = await client.call_tool("add", {"a": 1, "b": 2})
            again = await client.call_tool("add", arguments={"a": 1, "b": 2})
            failed = await client.call_tool("fail", {"reason": "boom"})
    assert [t.name for t in listed.tools] == ["add", "fail"]
    assert "3" in json.dumps([c.model_dump(mode="json") for c in first.content])
    is_error = getattr(failed, "is_error", None) if _major() >= 2 else failed.isError
    assert is_error is True  # the failure came back as a result, not an exception

    spans = span_exporter.get_finished_spans()
    ours = [s for s in spans if s.instrumentation_scope.name == "agentyield" and s.name.startswith(("execute_tool", "tools/"))]
    assert [s.name for s in ours] == ["tools/list", "execute_tool add", "execute_tool add", "execute_tool fail"]
    listing, add1, add2, fail = ours
    assert listing.attributes[sc.MCP_METHOD_NAME] == "tools/list"
    assert listing.attributes[sc.MCP_TOOLS_COUNT] == 2
    for span, result in ((add1, first), (add2, again), (fail, failed)):
        assert span.kind.name == "INTERNAL"
        assert span.attributes[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
        assert span.attributes[sc.GEN_AI_TOOL_TYPE] == "extension"
        assert span.attributes[sc.MCP_METHOD_NAME] == "tools/call"
        assert span.attributes[sc.TOOL_RESULT_SIZE] == content_size(result)
        assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in span.attributes
    assert add1.attributes[sc.TOOL_ARGS_HASH] == add2.attributes[sc.TOOL_ARGS_HASH] == fingerprint({"a": 1, "b": 2})
    assert fail.attributes[sc.TOOL_ARGS_HASH] == fingerprint({"reason": "boom"})
    assert fail.attributes[sc.ERROR_TYPE] == "tool_error"
    assert fail.status.status_code.name == "ERROR"
    assert sc.ERROR_TYPE not in add1.attributes

    # The SDK's own spans of each call (mcp 2: client `MCP send tools/call {name}` and the server's `tools/call
    # {name}`) nest under ours: each call is counted once, the other layers' spans as duplicates.
    others = [s for s in spans if s.instrumentation_scope.name == "mcp-python-sdk" and "tools/call" in s.name]
    by_ours = {s.context.span_id: s for s in (add1, add2, fail)}
    parents = {s.context.span_id: s.parent.span_id for s in spans if s.parent is not None}

    def tool_ancestor(span: Any) -> Any:
        parent = parents.get(span.context.span_id)
        while parent is not None and parent not in by_ours:
            parent = parents.get(parent)
        return by_ours.get(parent)

    for span in others:
        assert tool_ancestor(span).name.endswith(span.name.rsplit(" ", 1)[1])
    expected_duplicates: dict[Any, int] = {}
    for span in others:
        key = labels(gen_ai__tool__name=span.name.rsplit(" ", 1)[1])
        expected_duplicates[key] = expected_duplicates.get(key, 0) + 1
    if _major() >= 2:
        assert expected_duplicates, "mcp 2 emits its own spans"
    metrics = points(metric_reader)
    assert metrics["agentyield.tool.calls"] == {
        labels(gen_ai__agent__name="mcp-agent", gen_ai__tool__name="add", agentyield__tool__error="false"): 2,
        labels(gen_ai__agent__name="mcp-agent", gen_ai__tool__name="fail", agentyield__tool__error="true"): 1,
    }
    assert metrics.get("agentyield.tool.spans.duplicate", {}) == expected_duplicates


async def test_transport_failure_is_reraised_unchanged(instrument: Any, span_exporter: Any) -> None:
    """A call on a closed session raises exactly what it raises without agentyield, and the span says so."""
    from mcp import ClientSession

    async with session(server()) as client:
        raw = client.session if _major() >= 2 else client
    assert isinstance(raw, ClientSession)
    with pytest.raises(Exception) as plain:
        await raw.call_tool("add", {"a": 1, "b": 2})
    instrument()
    with pytest.raises(type(plain.value)) as traced:
        await raw.call_tool("add", {"a": 1, "b": 2})
    assert type(traced.value) is type(plain.value)
    (span,) = [s for s in span_exporter.get_finished_spans() if s.name == "execute_tool add"]
    assert span.attributes[sc.ERROR_TYPE] == type(plain.value).__qualname__
    assert span.status.status_code.name == "ERROR"


@asynccontextmanager
async def http_server(app: Any) -> AsyncIterator[tuple[str, set[str]]]:
    """The server's streamable-HTTP app on a real socket (uvicorn, in a thread); yields its URL and every
    `mcp-session-id` it sent, read from its responses on the way out."""
    import asyncio
    import socket
    import threading

    import uvicorn

    asgi = app.streamable_http_app()
    sent: set[str] = set()

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def send_recording(message: Any) -> None:
            if message["type"] == "http.response.start":
                sent.update(v.decode() for k, v in message.get("headers", ()) if k.lower() == b"mcp-session-id")
            await send(message)

        await asgi(scope, receive, send_recording)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(recording, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/mcp", sent
    finally:
        server.should_exit = True
        thread.join(10)


@asynccontextmanager
async def http_session(url: str, mode: str = "legacy") -> AsyncIterator[Any]:
    """A real client session over streamable HTTP: mcp 2 in `mode` ("legacy": the initialize handshake, which
    opens a session; "auto": the 2026 protocol, which has none); mcp 1 always with the handshake."""
    if _major() >= 2:
        from mcp import Client

        async with Client(url, mode=mode) as client:
            yield client
    else:
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        async with streamable_http_client(url) as (read, write, _session_id), ClientSession(read, write) as client:
            await client.initialize()
            yield client


async def test_streamable_http_calls_carry_the_session_id(instrumented: None, span_exporter: Any) -> None:
    """Over streamable HTTP, each MCP span carries the `mcp-session-id` the server gave the session; in memory, or
    on mcp 2's sessionless 2026 protocol, there is no session and none does."""
    async with http_server(server()) as (url, sent):
        async with http_session(url) as client:
            await client.list_tools()
            await client.call_tool("add", {"a": 1, "b": 2})
            await client.call_tool("fail", {"reason": "boom"})
    assert len(sent) == 1, sent  # one session, one id
    ours = [s for s in span_exporter.get_finished_spans() if s.instrumentation_scope.name == "agentyield"]
    assert [s.name for s in ours] == ["tools/list", "execute_tool add", "execute_tool fail"]
    assert [s.attributes.get(sc.MCP_SESSION_ID) for s in ours] == [next(iter(sent))] * 3

    span_exporter.clear()
    async with session(server()) as client:
        await client.call_tool("add", {"a": 1, "b": 2})
    if _major() >= 2:
        async with http_server(server()) as (url, sent), http_session(url, mode="auto") as client:
            await client.call_tool("add", {"a": 1, "b": 2})
        assert sent == set()  # the 2026 protocol has no session
    spans = [s for s in span_exporter.get_finished_spans() if s.name == "execute_tool add"]
    assert len(spans) == (2 if _major() >= 2 else 1)
    assert all(sc.MCP_SESSION_ID not in s.attributes for s in spans)
