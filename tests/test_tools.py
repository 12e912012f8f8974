"""`agentyield.tool`: tool calls become `execute_tool` spans, sync and async, decorator and context manager."""

from __future__ import annotations

import asyncio
import json
from hashlib import blake2b
from typing import Any

import pytest

import agentyield
from agentyield import _semconv as sc

from metrics_util import labels, points


def fingerprint(value: Any) -> str:
    """The documented fingerprint, computed here from its definition: blake2b-64 of the canonical JSON."""
    return blake2b(json.dumps(value, sort_keys=True, separators=(",", ":")).encode(), digest_size=8).hexdigest()


def tool_spans(exporter: Any) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "execute_tool"]


def test_decorated_function_becomes_one_span(instrumented: None, span_exporter: Any, mode: str) -> None:
    result = {"hits": ["a", "b"], "total": 2}

    if mode == "sync":

        @agentyield.tool
        def search(query: str, limit: int = 10) -> dict[str, Any]:
            return result

        returned = search("cats", limit=3)
    else:

        @agentyield.tool
        async def search(query: str, limit: int = 10) -> dict[str, Any]:
            await asyncio.sleep(0)
            return result

        returned = asyncio.run(search("cats", limit=3))
    assert returned is result
    assert search.__name__ == "search"
    (span,) = tool_spans(span_exporter)
    assert span.name == "execute_tool search"
    assert span.kind.name == "INTERNAL"
    call_id = span.attributes[sc.GEN_AI_TOOL_CALL_ID]
    assert isinstance(call_id, str) and len(call_id) == 16
    assert dict(span.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "execute_tool",
        sc.GEN_AI_TOOL_NAME: "search",
        sc.GEN_AI_TOOL_TYPE: "function",
        sc.GEN_AI_TOOL_CALL_ID: call_id,
        sc.TOOL_ARGS_HASH: fingerprint({"query": "cats", "limit": 3}),
        sc.TOOL_RESULT_SIZE: len(json.dumps(result, sort_keys=True, separators=(",", ":"))),
    }
    assert span.status.status_code.name == "UNSET"


def test_positional_and_keyword_arguments_fingerprint_alike(instrumented: None, span_exporter: Any) -> None:
    @agentyield.tool(name="fs.read")
    def read(path: str) -> str:
        return "x" * 42

    read("/etc/hosts")
    read(path="/etc/hosts")
    read("/etc/passwd")
    spans = tool_spans(span_exporter)
    assert [s.name for s in spans] == ["execute_tool fs.read"] * 3
    hashes = [s.attributes[sc.TOOL_ARGS_HASH] for s in spans]
    assert hashes[0] == hashes[1] == fingerprint({"path": "/etc/hosts"})
    assert hashes[2] == fingerprint({"path": "/etc/passwd"})
    assert [s.attributes[sc.TOOL_RESULT_SIZE] for s in spans] == [42, 42, 42]
    assert len({s.attributes[sc.GEN_AI_TOOL_CALL_ID] for s in spans}) == 3


def test_exception_is_recorded_and_reraised_unchanged(instrumented: None, span_exporter: Any, mode: str) -> None:
    error = FileNotFoundError("/nope")

    if mode == "sync":

        @agentyield.tool
        def read(path: str) -> str:
            raise error

        with pytest.raises(FileNotFoundError) as raised:
            read("/nope")
    else:

        @agentyield.tool
        async def read(path: str) -> str:
            raise error

        with pytest.raises(FileNotFoundError) as raised:
            asyncio.run(read("/nope"))
    assert raised.value is error
    (span,) = tool_spans(span_exporter)
    assert span.attributes[sc.ERROR_TYPE] == "FileNotFoundError"
    assert span.status.status_code.name == "ERROR"
    assert sc.TOOL_RESULT_SIZE not in span.attributes


def test_context_manager_with_result_and_reported_failure(instrumented: None, span_exporter: Any) -> None:
    with agentyield.tool("shell", arguments={"cmd": "make test"}, call_id="call_7") as call:
        call.result("12 passed")
    with agentyield.tool("shell", arguments={"cmd": "make lint"}) as call:
        call.result("3 errors")
        call.failed("lint_error")
    ok, failed = tool_spans(span_exporter)
    assert ok.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_7"
    assert ok.attributes[sc.TOOL_ARGS_HASH] == fingerprint({"cmd": "make test"})
    assert ok.attributes[sc.TOOL_RESULT_SIZE] == len("12 passed")
    assert sc.ERROR_TYPE not in ok.attributes
    assert failed.attributes[sc.ERROR_TYPE] == "lint_error"
    assert failed.status.status_code.name == "ERROR"


def test_no_content_by_default_and_content_when_opted_in(instrument: Any, span_exporter: Any) -> None:
    @agentyield.tool
    def lookup(user: str) -> str:
        return "alice@example.com"

    instrument()
    lookup("alice")
    agentyield.uninstrument()
    instrument(capture_content=True)
    lookup("alice")
    plain, captured = tool_spans(span_exporter)
    assert "alice" not in json.dumps(dict(plain.attributes))
    assert captured.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"user":"alice"}'
    assert captured.attributes[sc.GEN_AI_TOOL_CALL_RESULT] == "alice@example.com"


def test_tool_calls_nest_in_task_and_are_counted(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    @agentyield.tool
    def run_tests() -> str:
        raise RuntimeError("red")

    @agentyield.tool
    def search(q: str) -> list[str]:
        return [q]

    with agentyield.task("fix", agent="coder"):
        search("a")
        with pytest.raises(RuntimeError):
            run_tests()
        search("b")
    task = next(s for s in span_exporter.get_finished_spans() if s.name == "invoke_agent coder")
    assert {s.parent.span_id for s in tool_spans(span_exporter)} == {task.context.span_id}
    assert points(metric_reader)["agentyield.tool.calls"] == {
        labels(gen_ai__agent__name="coder", gen_ai__tool__name="search", agentyield__tool__error="false"): 2,
        labels(gen_ai__agent__name="coder", gen_ai__tool__name="run_tests", agentyield__tool__error="true"): 1,
    }


def test_our_failure_never_breaks_the_tool(instrumented: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """An argument our fingerprint cannot serialize (its repr raises) leaves the call untraced, not broken."""
    monkeypatch.setenv("AGENTYIELD_STRICT", "0")

    class Hostile:
        def __repr__(self) -> str:
            raise ValueError("no repr")

    @agentyield.tool
    def use(thing: Any) -> int:
        return 7

    assert use(Hostile()) == 7


def test_without_instrument_the_tool_still_runs(span_exporter: Any) -> None:
    @agentyield.tool
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    assert tool_spans(span_exporter) == []
