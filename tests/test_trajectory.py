"""Trajectory and context measures per task, recorded at its end: a scripted agent (real openai SDK against a
mock endpoint, real tools), every expected value computed here from the scenario's own inputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

import agentyield

from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, hx

# (prompt tokens including cached, cached, completion) of each LLM call, in order.
OWN_CALLS = [(1000, 0, 50), (1500, 800, 100), (2100, 0, 30)]
VERIFY_CALL = (2200, 2000, 10)
SUB_CALL = (500, 0, 20)


def usage(prompt: int, cached: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def scripted(calls: list[tuple[int, int, int]]) -> OpenAIMock:
    answers = iter(calls)
    return OpenAIMock(lambda body, path: hx.Response(200, json=chat_completion(body, usage=usage(*next(answers)))))


VERDICTS = [False, False, True, False]


def loops_in(requests: list[Any]) -> int:
    """Runs of LOOP_LENGTH (3) or more equal requests in a row, each run once."""
    runs, length = 0, 0
    for previous, current in zip([object(), *requests], requests):
        length = length + 1 if current == previous else 1
        runs += length == 3
    return runs


def scripted_agent() -> OpenAIMock:
    """Task "fix" (agent coder): three calls, tools (three identical searches: two repeats and a loop; a failing
    read; another search), a verification call, a sub-task with one call, four judged artifacts. Its four own
    calls send the same request (a loop of LLM requests). Returns the mock, which kept each request's body."""
    mock = scripted([*OWN_CALLS, VERIFY_CALL, SUB_CALL])
    client, _ = clients(mock)

    def ask() -> None:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])

    @agentyield.tool
    def search(q: str) -> str:
        return "result"

    @agentyield.tool
    def read(path: str) -> str:
        raise FileNotFoundError(path)

    with agentyield.task("fix", agent="coder") as task:
        ask()
        for _ in range(3):
            search("a")  # the 2nd and 3rd repeat the 1st; three in a row are a loop
        with pytest.raises(FileNotFoundError):
            read("x")
        search("b")
        ask()
        ask()
        with agentyield.verification("tests") as check:
            ask()
            check.passed(True)
        with agentyield.task("sub", agent="helper"):
            ask()
        for accepted in VERDICTS:
            task.artifact("patch", accepted=accepted)
    return mock


def expected_measures(own_costs: list[float], own_bodies: list[Any]) -> dict[str, float]:
    """Every measure of task "fix", from the script's own numbers (the costs its spans recorded, the requests
    its own calls sent)."""
    own_calls = [*OWN_CALLS, VERIFY_CALL]
    inputs = [p for p, _, _ in own_calls]
    growth = sum(b - a for a, b in zip(inputs, inputs[1:])) / (len(inputs) - 1)
    resent = sum(max(0, min(prev, cur) - cached) for (prev, _, _), (cur, cached, _) in zip(own_calls, own_calls[1:]))
    own_output = sum(c for _, _, c in own_calls)
    own_tokens = sum(inputs) + own_output
    return {
        "agentyield.task.llm_calls": 5,
        "agentyield.task.tool_calls": 5,
        "agentyield.task.tool_calls.redundant": 2,
        "agentyield.task.loops": loops_in(["a", "a", "a", "x", "b"]) + loops_in(own_bodies),
        "agentyield.task.rework": VERDICTS.index(True),
        "agentyield.task.context.growth": growth,
        "agentyield.task.input.resent_uncached": resent / sum(inputs),
        "agentyield.task.context_to_output": sum(inputs) / own_output,
        "agentyield.task.verification.share": own_costs[3] / math.fsum(own_costs),
        "agentyield.task.token_multiplier": (own_tokens + SUB_CALL[0] + SUB_CALL[2]) / own_tokens,
        # Four own calls (the 5th is the sub-task's): a tool result followed the 1st, the verification result the
        # 4th; the 2nd and 3rd were followed by another call.
        "agentyield.task.signal_yield": 2 / 4,
    }


def test_trajectory_and_context_measures(instrumented: None, span_exporter: Any, metric_reader: Any) -> None:
    mock = scripted_agent()
    spans = span_exporter.get_finished_spans()
    llm = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    assert len(llm) == 5
    own_costs = [s.attributes["agentyield.cost.usd"] for s in llm[:4]]
    expected = expected_measures(own_costs, mock.bodies[:4])
    assert expected["agentyield.task.loops"] == 2  # the scenario has both kinds
    metrics = points(metric_reader)
    coder = labels(gen_ai__agent__name="coder", agentyield__task__name="fix")
    for name, value in expected.items():
        count, total = metrics[name][coder]
        assert count == 1, name
        assert total == pytest.approx(value, rel=1e-9), name
    # The sub-task has one call and no sub-task of its own: no growth, no multiplier.
    helper = labels(gen_ai__agent__name="helper", agentyield__task__name="sub")
    assert metrics["agentyield.task.llm_calls"][helper] == (1, 1)
    assert helper not in metrics["agentyield.task.context.growth"]
    assert helper not in metrics["agentyield.task.token_multiplier"]
    assert metrics["agentyield.tool.calls.redundant"] == {labels(gen_ai__agent__name="coder", gen_ai__tool__name="search"): 2}
    assert metrics["agentyield.loops"] == {labels(gen_ai__agent__name="coder", gen_ai__tool__name="search"): 1}
    assert metrics["agentyield.llm.loops"] == {
        labels(gen_ai__provider__name="openai", gen_ai__response__model="gpt-4o-2024-08-06", gen_ai__agent__name="coder"): 1
    }


def test_rework_and_repeats_on_plain_records() -> None:
    from agentyield.processors._records import ArtifactRecord
    from agentyield.processors._trajectory import LOOP_LENGTH, Trajectory, rework

    assert rework([ArtifactRecord("a", False), ArtifactRecord("a", None), ArtifactRecord("a", False)]) == 2
    assert rework([ArtifactRecord("a", True), ArtifactRecord("a", False)]) == 0
    assert rework([]) == 0
    trajectory = Trajectory()
    sequence = ["x"] * (LOOP_LENGTH + 2) + ["y", "x", "x", "x", None, None]
    repeats, loops = zip(*(trajectory.tool("t", h) for h in sequence))
    # Repeats: every "x" after the first, the 2nd "y" never; calls without a fingerprint never repeat.
    assert list(repeats) == [False] + [True] * (LOOP_LENGTH + 1) + [False, True, True, True, False, False]
    # Loops: the first run of 5 (once, at its 3rd call), then the run of 3 after "y"; two None are no run.
    assert [i for i, loop in enumerate(loops) if loop] == [LOOP_LENGTH - 1, len(sequence) - 3]
    assert trajectory.loops == 2
    assert trajectory.redundant == LOOP_LENGTH + 1 + 3
    requests = ["r", "r", None, "r", "r", "r", "r", "s", "s"]
    assert [trajectory.request(r) for r in requests] == [False] * 5 + [True] + [False] * 3
    assert trajectory.loops == 3


def test_the_report_shows_the_live_measures(tmp_path: Path) -> None:
    """The same run written to trace files: the report's trajectory row is the live values, in text and JSON."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from agentyield._files import JsonLinesSpanExporter
    from agentyield._report import build_report, render_text
    from test_processor import make_providers

    tracer_provider, exporter, meter_provider, _ = make_providers()
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path)))
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        mock = scripted_agent()
    finally:
        agentyield.uninstrument()
    llm = [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]
    expected = expected_measures([s.attributes["agentyield.cost.usd"] for s in llm[:4]], mock.bodies[:4])
    data = build_report([tmp_path])
    (row,) = [r for r in data["trajectory"] if r["agent"] == "coder"]
    assert row["tasks"] == 1
    for name, value in expected.items():
        assert row[name.removeprefix("agentyield.task.")] == pytest.approx(value, rel=1e-9), name
    (helper,) = [r for r in data["trajectory"] if r["agent"] == "helper"]
    assert helper["context.growth"] is None and helper["token_multiplier"] is None
    text = render_text(data)
    assert "Trajectory and context (mean per task" in text
    line = next(l for l in text.splitlines() if l.lstrip().startswith("coder") and " fix " in l)
    assert f"{expected['agentyield.task.input.resent_uncached'] * 100:.1f}%" in line

    # The HTML page (rendered by Chromium) shows the same row, every measure formatted as the page formats it.
    from agentyield._html import render_html
    from test_html import dump_dom

    page = tmp_path / "report.html"
    page.write_text(render_html(data), encoding="utf-8")
    dom, console = dump_dom(page, tmp_path / "dom")
    assert console == []
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", dom)]
    (cells,) = [r for r in rows if r[:3] == ["coder", "fix", "1"]]
    percent = {"agentyield.task.input.resent_uncached", "agentyield.task.verification.share", "agentyield.task.signal_yield"}
    columns = [  # the page's column order
        "llm_calls", "tool_calls", "tool_calls.redundant", "loops", "rework", "context.growth", "input.resent_uncached",
        "context_to_output", "verification.share", "token_multiplier", "signal_yield",
    ]
    shown = dict(zip(("agentyield.task." + c for c in columns), cells[3:]))
    for name, value in expected.items():
        assert shown[name] == (f"{value * 100:.1f}%" if name in percent else page_number(value)), name


def page_number(value: float) -> str:
    """A number as the HTML page writes it: thousands grouped past 1,000, else three significant digits."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{float(f'{value:.3g}'):g}"


def test_identical_llm_requests_in_a_row_are_loops(instrumented: None, metric_reader: Any, mode: str) -> None:
    """Three or more identical requests in a row (the real SDK's request bodies say which are identical) make one
    loop; two do not; a parameter that changes, or a conversation that grows in place, breaks the run."""
    import asyncio

    mock = OpenAIMock()
    sync_client, async_client = clients(mock)
    conversation = [{"role": "system", "content": "You fix bugs."}, {"role": "user", "content": "fix the build"}]

    def ask(messages: list[dict[str, str]], **params: Any) -> None:
        if mode == "sync":
            sync_client.chat.completions.create(model="gpt-4o", messages=messages, **params)
        else:
            asyncio.run(async_client.chat.completions.create(model="gpt-4o", messages=messages, **params))

    with agentyield.task("loopy", agent="looper"):
        for _ in range(4):
            ask([dict(m) for m in conversation])  # the same request, new objects each time: one loop of 4
        ask(conversation, temperature=0.5)
        ask(conversation, temperature=0.5, timeout=30)  # how it is sent is not what is asked: same request
        ask(conversation, temperature=0.5)  # three in a row: a loop
        for step in range(3):  # the same list, grown in place: three different requests
            conversation.append({"role": "assistant", "content": f"step {step}"})
            ask(conversation)
    in_loopy = len(mock.bodies)
    with agentyield.task("twice", agent="looper"):
        ask(conversation)
        ask(conversation)  # two in a row: no loop

    expected = loops_in(mock.bodies[:in_loopy])
    assert expected == 2
    assert loops_in(mock.bodies[in_loopy:]) == 0
    metrics = points(metric_reader)
    assert metrics["agentyield.task.loops"][labels(gen_ai__agent__name="looper", agentyield__task__name="loopy")] == (1, expected)
    assert metrics["agentyield.task.loops"][labels(gen_ai__agent__name="looper", agentyield__task__name="twice")] == (1, 0)
    series = labels(gen_ai__provider__name="openai", gen_ai__response__model="gpt-4o-2024-08-06", gen_ai__agent__name="looper")
    assert metrics["agentyield.llm.loops"] == {series: expected}


def test_the_request_fingerprint_is_written_on_calls_with_a_parent_span(instrumented: None, span_exporter: Any, tracer_provider: Any) -> None:
    """Only calls that can be in a task carry the fingerprint the loop rule reads: a call at the root of its trace
    is in no task, so it goes without (it is not computed); a call under any span, a task or another, has one."""
    from agentyield import _semconv as sc

    mock = OpenAIMock()
    client, _ = clients(mock)
    ask = lambda: client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])  # noqa: E731
    ask()
    with agentyield.task("t"):
        ask()
    with tracer_provider.get_tracer("app").start_as_current_span("request handler"):
        ask()
    calls = [s for s in span_exporter.get_finished_spans() if s.name == "chat gpt-4o"]
    assert [s.parent is not None for s in calls] == [False, True, True]
    hashes = [s.attributes.get(sc.REQUEST_HASH) for s in calls]
    assert hashes[0] is None
    assert all(re.fullmatch("[0-9a-f]{16}", h) for h in hashes[1:])
    assert hashes[1] == hashes[2]  # the same request


def test_the_request_fingerprint_is_keyed_and_skips_transport_arguments() -> None:
    """Equal requests give equal fingerprints in one process, whatever objects carry them; the key is per process
    (a fresh interpreter gives another value for the same request); unreadable values give none."""
    import subprocess
    import sys

    from agentyield.instrumentation._fingerprint import request_hash
    from agentyield.processors._records import ArtifactRecord

    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
    same = request_hash({**request, "messages": [{"content": "hi", "role": "user"}], "timeout": 5, "extra_headers": {"x": "1"}})
    assert request_hash(request) == same
    assert request_hash({**request, "temperature": 0.0}) != same  # 0 and 0.0 are sent differently
    assert request_hash({**request, "messages": [*request["messages"], {"role": "user", "content": "hi"}]}) != same
    assert request_hash({"timeout": 5}) is None
    edited = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 300}]}
    before = request_hash(edited)
    edited["messages"][0]["content"] = "y" * 300  # the same message object, edited in place
    assert request_hash(edited) != before
    assert request_hash({**request, "response_format": ArtifactRecord}) is not None  # a class (a schema) by its name
    assert request_hash({**request, "tools": [{1: "a", "b": 2}]}) is None  # mixed keys cannot be sorted: no fingerprint
    tools = [{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}]
    with_tools = request_hash({**request, "tools": tools})
    assert request_hash({**request, "tools": tools}) == with_tools  # read once per object, then remembered
    assert request_hash({**request, "tools": json.loads(json.dumps(tools))}) == with_tools  # equal, other objects
    assert request_hash({**request, "tools": [{"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}}]}) != with_tools
    # The cost is bounded: a list by its length and its last element, a long string by its length and its ends.
    history = [{"role": "user", "content": "a" * 10_000}, {"role": "user", "content": "go on"}]
    edited = [{"role": "user", "content": "b" * 10_000}, {"role": "user", "content": "go on"}]
    assert request_hash({"messages": history}) == request_hash({"messages": edited})  # the documented blind spot
    assert request_hash({"messages": history}) != request_hash({"messages": [*history[:1], {"role": "user", "content": "stop"}]})
    long_text = "x" * 5_000
    assert request_hash({"input": long_text + "1"}) != request_hash({"input": long_text + "2"})
    assert request_hash({"input": "1" + long_text + "1"}) != request_hash({"input": "2" + long_text + "1"})
    assert request_hash({"input": long_text[:-1] + "1"}) != request_hash({"input": long_text + "1"})  # its length
    assert request_hash({"input": "1", "n": 1}) != request_hash({"input": 1, "n": 1})
    code = "from agentyield.instrumentation._fingerprint import request_hash; print(request_hash(%r))" % (request,)
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert len(other) == len(same) == 16 and other != same


def test_a_shrinking_context_is_recorded_as_its_shrink(instrumented: None, metric_reader: Any) -> None:
    """OpenTelemetry histograms drop negative values: a task whose input shrank (compaction) is recorded in
    `agentyield.task.context.shrink`, by the size of its mean shrink, and not lost; a growing one in growth."""
    shrinking, growing = [(3000, 0, 10), (1200, 0, 10), (900, 0, 10)], [(100, 0, 10), (400, 0, 10)]
    client, _ = clients(scripted([*shrinking, *growing]))
    for name, calls in (("compact", shrinking), ("grow", growing)):
        with agentyield.task(name, agent="coder"):
            for _ in calls:
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])
    metrics = points(metric_reader)
    compact = labels(gen_ai__agent__name="coder", agentyield__task__name="compact")
    grow = labels(gen_ai__agent__name="coder", agentyield__task__name="grow")
    assert metrics["agentyield.task.context.shrink"] == {compact: (1, (3000 - 900) / 2)}
    assert metrics["agentyield.task.context.growth"] == {grow: (1, 400 - 100)}
