"""Issue 8: every number a user reads is right, complete and the same live and in the report.

Each expected value is computed here from the inputs (per-call prices from `genai_prices.calc_price`), never
by calling the code under test. One scripted run exercises spend outside tasks, an HTTP 500, an unpriced
call, an artifact whose window saw no call, a window left open and 200 artifacts in one task.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

import agentyield
from agentyield._files import JsonLinesSpanExporter
from agentyield._tracefiles import iter_requests
from agentyield._report import build_report, render_text
from agentyield.processors import PriceBook
from agentyield.processors._replay import decode_spans, replay
from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, default_respond, hx
from test_processor import make_providers

MODEL = "gpt-4o-2024-08-06"
C = float(calc_price(Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), MODEL, provider_id="openai").total_price)
ARTIFACTS = 200  # past the SDK's 128 events per span


def respond(body: dict[str, Any], path: str) -> Any:
    if body["model"] == "my-private-model":
        return hx.Response(200, json={**chat_completion(body), "model": "my-private-model"})
    if body["model"] == "broken":
        return hx.Response(500, json={"error": {"message": "internal error", "type": "server_error"}})
    return default_respond(body, path)


def workload() -> None:
    sync, _ = clients(OpenAIMock(respond))

    def chat(model: str = "gpt-4o") -> None:
        sync.chat.completions.create(model=model, messages=[{"role": "user", "content": "go"}])

    chat()  # outside any task: the process agent's ("support") window
    chat()
    with agentyield.task("fix", agent="coder") as t1:  # 2 calls, one accepted artifact
        chat()
        chat()
        t1.artifact("patch", accepted=True)
    with agentyield.task("flaky", agent="coder"):  # an HTTP 500 (not billed) and a priced call; nothing accepted
        with pytest.raises(Exception):
            chat("broken")
        chat()
    with agentyield.task("private", agent="coder") as t3:  # only an unpriced call, yet accepted
        chat("my-private-model")
        t3.artifact("note", accepted=True)
    with agentyield.task("bulk", agent="coder") as t4:  # one call, 200 accepted artifacts
        chat()
        for i in range(ARTIFACTS):
            t4.artifact("row", id=str(i), accepted=True)
    with agentyield.task("half-priced", agent="coder"):  # unpriced and priced, nothing accepted: a lower bound
        chat("my-private-model")
        chat()
    # The watcher names itself, but every call outside tasks was the process agent's: its window saw no call.
    agentyield.artifact("alert", agent="watcher", accepted=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    directory = tmp_path_factory.mktemp("numbers")
    tracer_provider, _, meter_provider, reader = make_providers()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(directory)))
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, agent="support")
    try:
        workload()
    finally:
        agentyield.uninstrument()
    return points(reader), directory


def test_live_metrics(run: tuple[dict[str, Any], Path]) -> None:
    live, _ = run
    coder = dict(gen_ai__provider__name="openai", gen_ai__agent__name="coder")
    assert live["agentyield.llm.calls"] == {
        labels(gen_ai__provider__name="openai", gen_ai__agent__name="support", gen_ai__request__model="gpt-4o", agentyield__priced="true"): 2,
        labels(**coder, gen_ai__request__model="gpt-4o", agentyield__priced="true"): 5,
        labels(**coder, gen_ai__request__model="my-private-model", agentyield__priced="false"): 2,
        labels(**coder, gen_ai__request__model="broken", agentyield__priced="not_billed"): 1,  # an HTTP 500 bills nothing
    }
    assert live["agentyield.artifacts"][labels(gen_ai__agent__name="coder", agentyield__artifact__kind="row", agentyield__artifact__accepted="true")] == ARTIFACTS
    # Cost per accepted artifact: fix's 2 calls on one patch; bulk's one call over 200 rows. The private task
    # (unpriced) and the watcher's alert (no call seen) make no observation: no number rather than $0.
    assert live["agentyield.artifact.cost.usd"] == {
        labels(gen_ai__agent__name="coder", agentyield__artifact__kind="patch"): (1, pytest.approx(2 * C, abs=1e-12)),
        labels(gen_ai__agent__name="coder", agentyield__artifact__kind="row"): (ARTIFACTS, pytest.approx(C, abs=1e-12)),
    }
    # Unproductive: flaky's one priced call (the 500 is not billed: its cost is known); half-priced's priced
    # part, C, as a lower bound (it is also counted in tasks.cost_unknown).
    assert live["agentyield.unproductive.cost.usd"] == {
        labels(gen_ai__agent__name="coder", agentyield__task__name="flaky"): pytest.approx(C, abs=1e-12),
        labels(gen_ai__agent__name="coder", agentyield__task__name="half-priced"): pytest.approx(C, abs=1e-12),
    }
    assert live["agentyield.tasks.cost_unknown"] == {
        labels(gen_ai__agent__name="coder", agentyield__task__name="private"): 1,
        labels(gen_ai__agent__name="coder", agentyield__task__name="half-priced"): 1,
    }
    # The process agent's window is still open: its 2 calls wait for its next artifact.
    assert live["agentyield.window.open.cost.usd"] == {labels(gen_ai__agent__name="support"): pytest.approx(2 * C, abs=1e-12)}


def load(*paths: Path) -> list[Any]:
    return [span for _, _, request in iter_requests(list(paths)) for span in decode_spans(request)]


def test_replay_equals_live_with_errors_unpriced_calls_and_open_windows(run: tuple[dict[str, Any], Path]) -> None:
    live, directory = run
    ledger = replay(load(directory), PriceBook()).ledger
    assert ledger is not None
    keys = {
        "agentyield.llm.calls": ("gen_ai.provider.name", "gen_ai.request.model", "gen_ai.agent.name", "agentyield.priced"),
        "agentyield.cost.usd": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name", "agentyield.phase"),
        "agentyield.unproductive.cost.usd": ("gen_ai.agent.name", "agentyield.task.name"),
        "agentyield.artifacts": ("gen_ai.agent.name", "agentyield.artifact.kind", "agentyield.artifact.accepted"),
        "agentyield.tasks.cost_unknown": ("gen_ai.agent.name", "agentyield.task.name"),
        "agentyield.cache.savings.usd": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name"),
        "agentyield.cache.write_premium.usd": ("gen_ai.provider.name", "gen_ai.response.model", "gen_ai.agent.name"),
    }
    for name, names in keys.items():
        offline = {frozenset(zip(names, k)): pytest.approx(float(v), abs=1e-12) for k, v in ledger.counter(name).items()}
        assert offline == live[name], name
    assert {agent: float(w.cost) for agent, w in ledger.open_windows().items()} == {"support": pytest.approx(2 * C, abs=1e-12)}


def test_report_headline_covers_every_call_and_every_dollar_lands_once(run: tuple[dict[str, Any], Path]) -> None:
    _, directory = run
    data = build_report([directory])
    s = data["summary"]
    # 7 priced calls (2 outside tasks, 5 inside), 2 unpriced, 1 not billed.
    assert s["llm_calls"] == 10 and s["unpriced_calls"] == 2
    assert s["cost_usd"] == pytest.approx(7 * C, abs=1e-12)
    assert (s["in_tasks_usd"], s["outside_tasks_usd"]) == (pytest.approx(5 * C, abs=1e-12), pytest.approx(2 * C, abs=1e-12))
    assert s["notes"]["cost_usd"] == "lower bound: 2 of 10 LLM calls are unpriced"
    spend = s["spend"]
    assert spend["accepted_artifacts_usd"] == pytest.approx(3 * C, abs=1e-12)  # fix 2C, bulk C
    assert spend["unproductive_usd"] == pytest.approx(2 * C, abs=1e-12)  # flaky C, half-priced C
    assert spend["open_windows_usd"] == pytest.approx(2 * C, abs=1e-12)
    assert spend["open_tasks_usd"] == pytest.approx(0, abs=1e-12)  # every task ended
    artifacts = {(r["agent"], r["kind"]): r for r in data["artifact_costs"]}
    assert artifacts[("watcher", "alert")]["cost_per_artifact"] is None
    assert artifacts[("watcher", "alert")]["insufficient"] == "every accepted artifact's work: no LLM calls seen"
    assert artifacts[("coder", "row")]["accepted"] == ARTIFACTS and artifacts[("coder", "row")]["cost_per_artifact"] == pytest.approx(C / ARTIFACTS, abs=1e-15)
    assert data["open_windows"] == [{"agent": "support", "llm_calls": 2, "cost_usd": pytest.approx(2 * C, abs=1e-12), "unpriced_calls": 0, "lower_bound": False}]
    unproductive = {r["task"]: r for r in data["unproductive"]}
    assert unproductive["half-priced"]["lower_bound"] is True and unproductive["half-priced"]["cost_usd"] == pytest.approx(C, abs=1e-12)
    text = render_text(data)
    assert "Open windows (spend outside tasks no artifact has closed yet)" in text
    assert "no LLM calls seen" in text


def test_the_same_spans_read_twice_count_once(run: tuple[dict[str, Any], Path]) -> None:
    _, directory = run
    (path,) = directory.glob("traces*.jsonl")
    once, twice = build_report([path]), build_report([path, path])
    assert twice["source"]["duplicate_spans"] == once["source"]["spans"]
    for key in ("tasks", "llm_calls", "cost_usd", "savings_usd", "cache_read_ratio"):
        assert twice["summary"][key] == once["summary"][key], key


# -- prices: those the agent ran with, at the time of each call -----------------------------------------------


def test_report_keeps_the_costs_recorded_live_and_reprices_only_on_request(tmp_path: Path) -> None:
    """An agent priced gpt-4o-2024-08-06 from its own price file: $10/$20/$1 per million (input/output/cache read)."""
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  - {provider: openai, model: gpt-4o-2024-08-06, input_mtok: 10, output_mtok: 20, cache_read_mtok: 1}\n")
    own = (86 * 10 + 300 * 20 + 1920 * 1) / 1e6
    tracer_provider, _, meter_provider, _ = make_providers()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path / "run")))
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, prices=str(prices))
    try:
        sync, _ = clients(OpenAIMock())
        with agentyield.task("fix", agent="coder") as t:
            sync.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "go"}])
            t.artifact("patch", accepted=True)
    finally:
        agentyield.uninstrument()
    as_run = build_report([tmp_path / "run"])
    assert as_run["summary"]["cost_usd"] == pytest.approx(own, abs=1e-15)
    assert as_run["source"]["priced_live_with"] == [f"genai-prices {__import__('genai_prices').__version__} + prices.yaml"]
    repriced = build_report([tmp_path / "run"], reprice=True)  # genai-prices' own rates, on purpose
    assert repriced["summary"]["cost_usd"] == pytest.approx(C, abs=1e-15)
    assert repriced["source"]["prices"].startswith("re-priced with genai-prices")
    cli = subprocess.run([sys.executable, "-m", "agentyield", "report", str(tmp_path / "run"), "--prices", str(prices)],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "costs re-priced with genai-prices" in cli.stdout and "+ prices.yaml" in cli.stdout


def _otlp_span(start: datetime, attributes: dict[str, Any], scope: str = "com.example.llm") -> dict[str, Any]:
    ns = int(start.timestamp() * 1e9)
    values = [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}} for k, v in attributes.items()]
    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"{abs(hash((ns, scope))) % 16**16:016x}", "name": "chat",
            "kind": 3, "startTimeUnixNano": str(ns), "endTimeUnixNano": str(ns + 10**9), "attributes": values, "status": {}}
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": scope}, "spans": [span]}]}]}


def test_each_call_is_priced_at_its_own_time(tmp_path: Path) -> None:
    """claude-sonnet-4-6's long-context price changed on 2026-03-13: a 250k-token call on 2026-02-01 cost $1.5225, today $0.765."""
    usage = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-6",
             "gen_ai.usage.input_tokens": 250_000, "gen_ai.usage.cache_read.input_tokens": 0, "gen_ai.usage.output_tokens": 1000}
    then, now = datetime(2026, 2, 1, 12, tzinfo=timezone.utc), datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    expected = {
        when: float(calc_price(Usage(input_tokens=250_000, output_tokens=1000), "claude-sonnet-4-6", provider_id="anthropic",
                               genai_request_timestamp=when).total_price)
        for when in (then, now)
    }
    assert expected[then] != expected[now]
    for when in (then, now):
        path = tmp_path / f"{when.month}.jsonl"
        path.write_text(json.dumps(_otlp_span(when, usage)) + "\n")
        assert build_report([path])["summary"]["cost_usd"] == pytest.approx(expected[when], abs=1e-12)
    # Live: the rates in force when the span started.
    book = PriceBook()
    rates = book.rates("anthropic", "claude-sonnet-4-6", 250_000, at=then.timestamp())
    assert rates is not None and float(250_000 * rates.uncached_input + 1000 * rates.output) == pytest.approx(expected[then], abs=1e-12)


# -- cache: unknown is not 0; net of the write premium --------------------------------------------------------


def test_cache_not_reported_is_unknown_and_net_savings_subtract_the_write_premium(tmp_path: Path) -> None:
    """Two calls at the same time: one from an instrumentation that writes no cache attribute (official
    openai-v2), one Anthropic call reading 4000 and writing 1500 (500 of them for an hour) of 5512 input."""
    when = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    no_cache = {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 2006, "gen_ai.usage.output_tokens": 300}
    cached = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
              "gen_ai.usage.input_tokens": 5512, "gen_ai.usage.cache_read.input_tokens": 4000,
              "gen_ai.usage.cache_write.input_tokens": 1500, "agentyield.usage.cache_write_1h.input_tokens": 500,
              "gen_ai.usage.output_tokens": 100}
    no_ttl = {**cached}
    del no_ttl["agentyield.usage.cache_write_1h.input_tokens"]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(_otlp_span(when, a, scope)) + "\n" for a, scope in
                            ((no_cache, "opentelemetry.instrumentation.openai_v2"), (cached, "a"), (no_ttl, "b"))))
    data = build_report([path])
    s = data["summary"]
    assert s["cache_not_reported_calls"] == 1
    assert s["cache_read_ratio"] == pytest.approx(8000 / (2 * 5512), abs=1e-15)  # the openai-v2 call is left out

    def price(**usage: int) -> float:
        return float(calc_price(Usage(**usage), "claude-sonnet-4-5", provider_id="anthropic", genai_request_timestamp=when).total_price)

    base = dict(input_tokens=5512, output_tokens=100)
    uncached = price(**base)
    gross_one = uncached - price(**base, cache_read_tokens=4000)
    with_ttl = price(**base, cache_write_tokens=1500, cache_write_1h_tokens=500) - uncached
    assumed = price(**base, cache_write_tokens=1500) - uncached  # no split: all at the 5-minute rate
    assert s["savings_usd"] == pytest.approx(2 * gross_one, abs=1e-12)
    assert s["write_premium_usd"] == pytest.approx(with_ttl + assumed, abs=1e-12)
    assert s["savings_net_usd"] == pytest.approx(2 * gross_one - with_ttl - assumed, abs=1e-12)
    ledger = replay(load(path), PriceBook()).ledger
    assert ledger is not None
    assert ledger.counter("agentyield.usage.cache_ttl_assumed") == {("anthropic", "claude-sonnet-4-5", "default"): 1}
    assert ledger.counter("agentyield.usage.cache_unreported") == {("openai", "gpt-4o-2024-08-06", "default"): 1}
    tokens = ledger.counter("agentyield.tokens")
    assert tokens[("openai", "gpt-4o-2024-08-06", "default", "input_cache_unreported")] == 2006
    assert tokens[("openai", "gpt-4o-2024-08-06", "default", "input")] == 0


# -- verification results ----------------------------------------------------------------------------------------


def test_verification_records_pass_and_fail(tmp_path: Path) -> None:
    tracer_provider, _, meter_provider, reader = make_providers()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(tmp_path)))
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        for outcome in (True, True, False):
            with agentyield.task("fix", agent="coder", attributes={"gen_ai.agent.version": "v1"}):
                with agentyield.verification("tests") as check:
                    check.passed(outcome)
        with pytest.raises(AssertionError):
            with agentyield.task("fix", agent="coder", attributes={"gen_ai.agent.version": "v1"}):
                with agentyield.verification("tests"):
                    raise AssertionError("test failed")  # no recorded result: a failure
    finally:
        agentyield.uninstrument()
    assert points(reader)["agentyield.verifications"] == {
        labels(gen_ai__agent__name="coder", agentyield__verification__passed="true"): 2,
        labels(gen_ai__agent__name="coder", agentyield__verification__passed="false"): 2,
    }
    (row,) = build_report([tmp_path], )["capability"]
    assert row["verification_pass_rate"] == 0.5 and row["verifications"] == 4


# -- reproducible ---------------------------------------------------------------------------------------------------


def _without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("t", "t_end", "first", "last", "paths")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


def test_demo_with_a_seed_is_reproducible(tmp_path: Path) -> None:
    runs = []
    for i in range(2):
        out = tmp_path / f"{i}.json"
        result = subprocess.run([sys.executable, "-m", "agentyield", "demo", "--seed", "3", "--dir", str(tmp_path / str(i)), "--json", str(out)],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        runs.append(_without_times(json.loads(out.read_text())))
    assert runs[0] == runs[1]
    assert runs[0]["cache"]["drifts"] and math.isfinite(runs[0]["summary"]["cost_usd"])


# -- the conventions' agent and tool durations ------------------------------------------------------------------


def test_invoke_agent_workflow_and_execute_tool_durations_are_the_span_durations() -> None:
    """agentyield books its own task spans as it ends them (to write their totals on them), and ends them at the
    instant it booked them with: the recorded durations are the spans' own, exactly."""
    tracer_provider, exporter, meter_provider, reader = make_providers()
    agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)

    @agentyield.tool
    def lookup(key: str) -> str:
        if key == "missing":
            raise KeyError(key)
        return key.upper()

    try:
        with agentyield.task("fix", agent="coder"):
            lookup("a")
            with pytest.raises(KeyError):
                lookup("missing")
        with pytest.raises(ValueError):
            with agentyield.task("nightly"):  # no agent: a workflow
                raise ValueError("stop")
    finally:
        agentyield.uninstrument()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    seconds = {name: (s.end_time - s.start_time) / 1e9 for name, s in spans.items()}
    tools = [s for s in exporter.get_finished_spans() if s.name == "execute_tool lookup"]
    got = points(reader)
    assert got["gen_ai.invoke_agent.duration"] == {labels(gen_ai__agent__name="coder"): (1, seconds["invoke_agent coder"])}
    assert got["gen_ai.workflow.duration"] == {
        labels(gen_ai__workflow__name="nightly", error__type="ValueError"): (1, seconds["invoke_workflow nightly"])
    }
    ok, failed = sorted(tools, key=lambda s: "error.type" in s.attributes)
    assert got["gen_ai.execute_tool.duration"] == {
        labels(gen_ai__tool__name="lookup", gen_ai__agent__name="coder", gen_ai__tool__type="function"):
            (1, pytest.approx((ok.end_time - ok.start_time) / 1e9, abs=1e-9)),
        labels(gen_ai__tool__name="lookup", gen_ai__agent__name="coder", gen_ai__tool__type="function", error__type="KeyError"):
            (1, pytest.approx((failed.end_time - failed.start_time) / 1e9, abs=1e-9)),
    }
