"""Interop with real peer instrumentations: the same mock-endpoint calls (tests/peers/workload.py: cache reads
and writes, reasoning, streams), instrumented by each peer in a virtual environment of its own (their pins
conflict with each other and with ours; cached outside the repository), exported over real OTLP to a running
`agentyield serve`. Tokens, cache and cost must equal those of agentyield's own instrumentation for the same
calls, except where docs/interop.md says a peer does not report a figure.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from serve_util import MetricsSink, serving

PEERS_DIR = Path(__file__).parent / "peers"
REPO = PEERS_DIR.parent.parent
CACHE = Path(os.environ.get("AGENTYIELD_CACHE", Path.home() / ".cache" / "agentyield")) / "peers"
WORKLOAD = PEERS_DIR / "workload.py"
PROVIDER, MODEL = "gen_ai.provider.name", "gen_ai.response.model"


def peer_python(name: str, *, with_agentyield: bool = False) -> str:
    """The peer's virtual environment, built from tests/peers/<name>.txt once and rebuilt when that changes;
    `with_agentyield`: a venv of its own that also has this repository installed (editable), for agentyield
    and the peer in one process."""
    requirements = PEERS_DIR / f"{name}.txt"
    # With agentyield, the stamp names this checkout too: an editable install points at the tree it came from.
    stamp = hashlib.sha256(requirements.read_bytes() + (str(REPO).encode() + (REPO / "pyproject.toml").read_bytes()) * with_agentyield).hexdigest()
    venv = CACHE / (f"{name}+agentyield" if with_agentyield else name)
    python = venv / "bin" / "python"
    built = (venv / ".requirements").read_text() if (venv / ".requirements").exists() else None
    if not python.exists() or built != stamp:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)], check=True, timeout=1800)
        if with_agentyield:
            subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO)], check=True, timeout=1800)
        (venv / ".requirements").write_text(stamp)
    return str(python)


def _collapse(series: dict[str, Any]) -> dict[str, dict[tuple[Any, ...], float]]:
    """The figures compared, summed over agents: tokens by kind, reasoning, cost, calls (priced or not)."""
    out: dict[str, dict[tuple[Any, ...], float]] = defaultdict(lambda: defaultdict(float))
    for labels, value in series.get("agentyield.tokens", {}).items():
        d = dict(labels)
        out["tokens"][(d[PROVIDER], d[MODEL], d["agentyield.token.kind"])] += value
    for labels, value in series.get("agentyield.reasoning.tokens", {}).items():
        d = dict(labels)
        out["reasoning"][(d[PROVIDER], d[MODEL])] += value
    for labels, value in series.get("agentyield.cost.usd", {}).items():
        d = dict(labels)
        out["cost"][(d[PROVIDER], d[MODEL])] += value
    for labels, value in series.get("agentyield.llm.calls", {}).items():
        d = dict(labels)
        out["calls"][(d[PROVIDER], d["agentyield.priced"])] += value
    return {k: {key: pytest.approx(v, abs=1e-12) for key, v in d.items()} for k, d in out.items()}


def run_workload(python: str, peer: str, protocol: str, extra: tuple[str, ...] = (), script: Path = WORKLOAD) -> dict[str, Any]:
    sink = MetricsSink()
    try:
        with serving(sink=sink) as server:
            endpoint = server.traces_url if protocol == "http" else f"127.0.0.1:{server.grpc}"
            done = subprocess.run([python, str(script), peer, protocol, endpoint, *extra], capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-3000:]
            code, _, err = server.stop()
            assert code == 0, err
        return sink.summed()
    finally:
        sink.close()


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    """agentyield's own instrumentation of the same calls, through the same server."""
    return run_workload(sys.executable, "agentyield", "http")


def _openai_only(collapsed: dict[str, Any]) -> dict[str, Any]:
    return {kind: {k: v for k, v in d.items() if k[0] == "openai"} for kind, d in collapsed.items()}


# What a peer does not report, as docs/interop.md says: figure -> (provider, model) -> the peer's value.
OPENAI_MODEL, REASONING_PER_CALL = "gpt-4o-2024-08-06", 256
ANTHROPIC_MODEL, ANTHROPIC_STREAM_INPUT, ANTHROPIC_OUTPUT = "claude-sonnet-4-20250514", 50, 120
"""tests/peers/workload.py's Anthropic model and usage: input_tokens 50 (without its 1,800 cache reads and 200 writes)."""
GAPS: dict[str, dict[str, dict[tuple[str, str], float]]] = {
    # OpenLLMetry's OpenAI stream spans carry no reasoning tokens: only the non-streamed call's count.
    "openllmetry": {"reasoning": {("openai", OPENAI_MODEL): REASONING_PER_CALL}},
}


@pytest.mark.parametrize(("peer", "protocol"), [("openllmetry", "http"), ("openinference", "grpc"), ("otel-genai", "grpc"), ("pydantic-ai", "http")])
def test_peer_spans_give_our_numbers(ours: dict[str, Any], peer: str, protocol: str) -> None:
    got = run_workload(peer_python(peer), peer, protocol)
    collapsed, expected = _collapse(got), _collapse(ours)
    for figure, values in GAPS.get(peer, {}).items():
        for key, value in values.items():
            assert expected[figure][key] != value  # a real gap: ours knows more
            expected[figure][key] = pytest.approx(value, abs=1e-12)
    assert collapsed == expected
    assert not got.get("agentyield.spans.unrecognized")
    assert sum(got["agentyield.spans.duplicate"].values()) >= 1  # the anthropic SDK's own spans, not booked again


def test_official_openai_v2_reports_no_cache(ours: dict[str, Any]) -> None:
    """openai-v2 writes no cache and no reasoning attribute: its calls' input is counted as input with the
    cache not reported (priced as uncached, an upper bound, and counted), never as 0 cached (docs/interop.md)."""
    got = run_workload(peer_python("otel-openai-v2"), "otel-openai-v2", "http")
    collapsed, expected = _collapse(got), _openai_only(_collapse(ours))
    assert collapsed["calls"] == expected["calls"]
    tokens = collapsed["tokens"]
    key = ("openai", OPENAI_MODEL)
    assert tokens[(*key, "output")] == expected["tokens"][(*key, "output")]
    all_input = sum(expected["tokens"][(*key, kind)].expected for kind in ("input", "cache_read", "cache_write"))
    assert tokens[(*key, "input_cache_unreported")] == pytest.approx(all_input)
    assert tokens[(*key, "cache_read")] == 0 and tokens[(*key, "input")] == 0
    assert sum(got["agentyield.usage.cache_unreported"].values()) == 2
    assert collapsed["reasoning"][key] == 0  # not reported


def test_openlit(ours: dict[str, Any], tmp_path: Path) -> None:
    """OpenLIT (prices from a local file, no download): its OpenAI spans give our numbers. Its Anthropic spans
    write input without the cache (50 for 2,050, as the API gives it): read as exclusive, the non-streamed
    call gives our numbers. Its Anthropic stream writes 0 for the cache counts it lost (docs/interop.md):
    read as not reported, so the call's 50 input tokens count as input with the cache unreported, never as
    0 cached."""
    import json

    from genai_prices import Usage, calc_price

    prices = tmp_path / "openlit-prices.json"
    prices.write_text(json.dumps({"chat": {"gpt-4o": {"promptPrice": 0.0025, "completionPrice": 0.01}}}))
    got = run_workload(peer_python("openlit"), "openlit", "http", ("--prices", str(prices)))
    collapsed, expected = _collapse(got), _collapse(ours)
    openai_got, openai_expected = _openai_only(collapsed), _openai_only(expected)
    for figure in ("tokens", "cost", "calls"):  # OpenLIT writes no reasoning count
        assert openai_got[figure] == openai_expected[figure], figure
    assert not got.get("agentyield.usage.inconsistent")
    assert {dict(k)[PROVIDER]: v for k, v in got["agentyield.usage.cache_unreported"].items()} == {"anthropic": 1}
    # Anthropic: the non-streamed call as ours (half of ours' two calls), the stream's cache unknown.
    key = ("anthropic", ANTHROPIC_MODEL)
    tokens = collapsed["tokens"]
    for kind in ("input", "cache_read", "cache_write"):
        assert tokens[(*key, kind)] == pytest.approx(expected["tokens"][(*key, kind)].expected / 2), kind
    assert tokens[(*key, "input_cache_unreported")] == ANTHROPIC_STREAM_INPUT
    assert tokens[(*key, "output")] == expected["tokens"][(*key, "output")]
    stream = calc_price(Usage(input_tokens=ANTHROPIC_STREAM_INPUT, output_tokens=ANTHROPIC_OUTPUT), ANTHROPIC_MODEL, provider_id="anthropic")
    assert collapsed["cost"][key] == pytest.approx(expected["cost"][key].expected / 2 + float(stream.total_price), abs=1e-12)
    assert collapsed["calls"][("anthropic", "true")] == 2


def test_openlit_anthropic_input_is_read_with_its_cache() -> None:
    """The rule on OpenLIT's Anthropic attributes (as its 1.45.0 writes them): input plus cache; a stream's 0
    cache counts unknown but a count it did read kept; a malformed cache count leaves the input unknown."""
    from agentyield.processors._normalize import llm_call

    span = {"telemetry.sdk.name": "openlit", "gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": ANTHROPIC_MODEL, "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 120,
            "gen_ai.usage.cache_read.input_tokens": 1800, "gen_ai.usage.cache_creation.input_tokens": 200, "gen_ai.request.stream": False}
    call = llm_call(span)
    assert (call.input_tokens, call.cache_read_tokens, call.cache_write_tokens, call.cache_reported) == (2050, 1800, 200, True)
    lost = llm_call({**span, "gen_ai.request.stream": True, "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.cache_creation.input_tokens": 0})
    assert (lost.input_tokens, lost.cache_read_tokens, lost.cache_write_tokens, lost.cache_reported) == (50, None, None, False)
    read = llm_call({**span, "gen_ai.request.stream": True, "gen_ai.usage.cache_creation.input_tokens": 0})
    assert (read.input_tokens, read.cache_read_tokens, read.cache_write_tokens) == (1850, 1800, None)
    bad = llm_call({**span, "gen_ai.usage.cache_read.input_tokens": -1})
    assert bad.input_tokens is None and bad.usage_invalid and bad.usage_missing
    other = llm_call({**span, "telemetry.sdk.name": "opentelemetry"})  # the conventions' inclusive input: not summed
    assert other.input_tokens == 50


def test_agentyield_and_a_peer_in_one_process_book_each_call_once() -> None:
    """agentyield and OpenInference instrumenting the same openai client in one process: each call makes two
    LLM spans (OpenInference's under agentyield's), and each is booked once, in process (the span processor's
    metrics) and from the exported spans (`agentyield serve`), at the cost genai-prices gives for it."""
    from genai_prices import Usage, calc_price

    usage = {"input": 2006 - 1920, "cache_read": 1920, "cache_write": 0, "output": 300}  # workload.py's OPENAI_USAGE, per call
    price = calc_price(Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), OPENAI_MODEL, provider_id="openai")
    live = MetricsSink()
    try:
        served = run_workload(peer_python("openinference", with_agentyield=True), "agentyield+openinference", "http", ("--metrics", live.endpoint))
        in_process = live.summed()
    finally:
        live.close()
    for where, series in (("in process", in_process), ("served", served)):
        collapsed = _collapse(series)
        assert collapsed["calls"] == {("openai", "true"): 2}, where  # a plain call and a stream
        assert collapsed["tokens"] == {("openai", OPENAI_MODEL, kind): 2 * n for kind, n in usage.items()}, where
        assert collapsed["cost"] == {("openai", OPENAI_MODEL): pytest.approx(2 * float(price.total_price), abs=1e-12)}, where
        assert {dict(k)[PROVIDER]: v for k, v in series["agentyield.spans.duplicate"].items()} == {"openai": 2}, where


def _agents_workload() -> Any:
    """tests/peers/agents.py as a module (it imports only the standard library at the top): its mock's usage."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("interop_agents", PEERS_DIR / "agents.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("framework", ["google-adk", "strands"])
def test_agent_frameworks_native_spans(framework: str) -> None:
    """Google ADK and Strands write GenAI spans themselves: one agent run with a tool call (two model rounds,
    a mock model endpoint) gives two calls with the mock's tokens, one task of the agent, one tool call; the
    agent span's usage roll-up (Strands) is not booked on top. ADK's calls are priced as genai-prices prices
    them; Strands names itself, not the provider (`gen_ai.system` strands-agents), so its calls are counted
    unpriced, never priced as a guess."""
    from genai_prices import Usage, calc_price

    agents = _agents_workload()
    got = run_workload(peer_python(framework), framework, "http", script=PEERS_DIR / "agents.py")
    collapsed = _collapse(got)
    provider, model = {"google-adk": ("gcp.gemini", agents.GEMINI_MODEL), "strands": ("strands-agents", "gpt-4o")}[framework]
    uncached = sum(prompt - cached for prompt, cached, _ in agents.ROUNDS)
    assert collapsed["tokens"][(provider, model, "input")] == uncached
    assert collapsed["tokens"][(provider, model, "cache_read")] == sum(cached for _, cached, _ in agents.ROUNDS)
    assert collapsed["tokens"][(provider, model, "output")] == sum(output for _, _, output in agents.ROUNDS)
    priced = framework == "google-adk"
    assert collapsed["calls"] == {(provider, "true" if priced else "false"): len(agents.ROUNDS)}
    if priced:
        expected = sum(float(calc_price(Usage(input_tokens=p, cache_read_tokens=c, output_tokens=o), model, provider_id="google").total_price)
                       for p, c, o in agents.ROUNDS)
        assert collapsed["cost"] == {(provider, model): pytest.approx(expected, abs=1e-12)}
    tasks = {(dict(k)["gen_ai.agent.name"], dict(k)["agentyield.task.name"]): v for k, v in got["agentyield.tasks"].items()}
    # ADK's runner also writes an invoke_workflow span around the agent's: a task named after its workflow,
    # of the emitting service (it names no agent).
    workflow = {(f"interop-{framework}", agents.AGENT): 1} if framework == "google-adk" else {}
    assert tasks == {(agents.AGENT, agents.AGENT): 1, **workflow}
    tools = {(dict(k)["gen_ai.tool.name"], dict(k)["agentyield.tool.error"]): v for k, v in got["agentyield.tool.calls"].items()}
    assert tools == {(agents.TOOL, "false"): 1}
    assert not got.get("agentyield.usage.rollups") and not got.get("agentyield.spans.unrecognized")
