"""The scripted demo workload (`agentyield._demo.run_workload`), checked through what agentyield recorded.

The workload drives the real openai and anthropic SDKs against an in-process mock endpoint. Everything
below is read back from the finished spans and the metric reader, never from the demo's internals: the
counts are the ones the workload is designed to produce, and the cache behaviour is computed from the
LLM spans' usage attributes in time order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import agentyield
from agentyield import _semconv as sc
from agentyield._demo import plan_workload, run_workload
from metrics_util import labels, points

SEED = 7
TOP_TASKS = 80  # coder tasks at scale 1: 20 of each kind, 10 per version within each kind
SUB_TASKS = 16  # nested research tasks of the researcher sub-agent
CHANGE, FIX = 40, 50  # top-level task indexes: the cache-breaking prompt revision, and its fix
ALERTS = [True, False, True, True, False]
KINDS = ("fix-bug", "write-tests", "research", "summarize")
TOOLS_SCOPE = "agentyield.demo.tools"

# The anthropic SDK warns on every call that claude-sonnet-4-5 (the v2 configuration) is deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:The model 'claude-sonnet-4-5' is deprecated:DeprecationWarning")


@dataclass
class Recorded:
    spans: list[Any]
    metrics: dict[str, dict[frozenset[tuple[str, Any]], Any]]

    def __post_init__(self) -> None:
        self.by_id = {s.context.span_id: s for s in self.spans}
        self.tasks = sorted((s for s in self.spans if sc.TASK_ID in s.attributes), key=lambda s: s.start_time)
        self.coder = [s for s in self.tasks if s.attributes[sc.GEN_AI_AGENT_NAME] == "coder"]
        self.researcher = [s for s in self.tasks if s.attributes[sc.GEN_AI_AGENT_NAME] == "researcher"]
        self.llm = sorted(
            (s for s in self.spans if s.instrumentation_scope.name == "agentyield" and s.kind.name == "CLIENT"),
            key=lambda s: s.start_time,
        )
        self.tools = [s for s in self.spans if s.instrumentation_scope.name == TOOLS_SCOPE]

    def ancestor(self, span: Any, test: Callable[[Any], bool]) -> Any:
        parent = span.parent
        while parent is not None:
            node = self.by_id.get(parent.span_id)
            if node is None:
                return None
            if test(node):
                return node
            parent = node.parent
        return None

    def task_of(self, span: Any) -> Any:
        return self.ancestor(span, lambda s: sc.TASK_ID in s.attributes)


def record(tracer_provider: TracerProvider, exporter: InMemorySpanExporter, meter_provider: MeterProvider,
           reader: InMemoryMetricReader, seed: int = SEED) -> Recorded:
    # The tool spans come from the global provider, as another instrumentation's would.
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = tracer_provider
    try:
        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, agent="watcher")
        run_workload(seed=seed)
    finally:
        agentyield.uninstrument()
        trace._TRACER_PROVIDER = previous
    return Recorded(list(exporter.get_finished_spans()), points(reader))


@pytest.fixture(scope="module")
def run() -> Recorded:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return record(tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader)


def usage(span: Any, name: str) -> int:
    return int(span.attributes.get(name, 0))


def read_ratio(spans: list[Any]) -> float:
    """cache reads / input (input includes cache reads and writes), over calls in order."""
    total = sum(usage(s, sc.GEN_AI_USAGE_INPUT_TOKENS) for s in spans)
    return sum(usage(s, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) for s in spans) / total


def total_tokens(task: Any) -> int:
    return sum(task.attributes[sc.TASK_TOKENS_PREFIX + kind] for kind in ("input", "cache_read", "cache_write", "output"))


def test_task_spans_as_designed(run: Recorded) -> None:
    assert len(run.tasks) == TOP_TASKS + SUB_TASKS == 96
    assert len(run.coder) == TOP_TASKS and len(run.researcher) == SUB_TASKS
    assert Counter(s.attributes[sc.TASK_NAME] for s in run.coder) == {kind: 20 for kind in KINDS}
    assert Counter((s.attributes[sc.TASK_NAME], s.attributes[sc.GEN_AI_AGENT_VERSION]) for s in run.coder) == {
        (kind, version): 10 for kind in KINDS for version in ("v1", "v2")
    }
    coder_ids = {s.context.span_id for s in run.coder}
    for sub in run.researcher:  # the sub-agent's task nests directly in a coder task, never in summarize
        assert sub.attributes[sc.TASK_NAME] == "research"
        parent = run.by_id[sub.parent.span_id]
        assert parent.context.span_id in coder_ids and parent.attributes[sc.TASK_NAME] != "summarize"
        assert parent.start_time < sub.start_time and sub.end_time < parent.end_time
        assert parent.attributes[sc.TASK_COST_USD] > parent.attributes[sc.TASK_OWN_COST_USD]  # its spend rolls up
    tasks = run.metrics["agentyield.tasks"]
    assert sum(v for k, v in tasks.items() if ("gen_ai.agent.name", "coder") in k) == TOP_TASKS
    assert sum(v for k, v in tasks.items() if ("gen_ai.agent.name", "researcher") in k) == SUB_TASKS
    assert "agentyield.tasks.cost_unknown" not in run.metrics  # every call was priced


def test_both_providers_and_a_model_per_configuration(run: Recorded) -> None:
    assert {s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in run.llm} == {"openai", "anthropic"}
    models: dict[tuple[Any, Any], set[str]] = {}
    for span in run.llm:
        owner = run.task_of(span)
        key = (owner.attributes[sc.GEN_AI_AGENT_NAME], owner.attributes.get(sc.GEN_AI_AGENT_VERSION)) if owner else (None, None)
        models.setdefault(key, set()).add(span.attributes[sc.GEN_AI_REQUEST_MODEL])
    assert models == {
        ("coder", "v1"): {"gpt-4o"},
        ("coder", "v2"): {"claude-sonnet-4-5"},
        ("researcher", None): {"claude-haiku-4-5"},
        (None, None): {"gpt-4o-mini"},  # the watcher, outside any task
    }
    assert all(sc.COST_USD in s.attributes for s in run.llm)
    cost = {v: [s.attributes[sc.TASK_COST_USD] for s in run.coder if s.attributes[sc.GEN_AI_AGENT_VERSION] == v] for v in ("v1", "v2")}
    assert all(c > 0 for costs in cost.values() for c in costs)
    assert sum(cost["v1"]) != sum(cost["v2"])  # the two configurations differ in cost


def test_prompt_change_breaks_the_cache_for_a_while(run: Recorded) -> None:
    change, fix = run.coder[CHANGE].start_time, run.coder[FIX].start_time
    in_tasks = [s for s in run.llm if run.task_of(s) is not None]
    before = [s for s in in_tasks if s.start_time < change]
    broken = [s for s in in_tasks if change <= s.start_time < fix]
    after = [s for s in in_tasks if s.start_time >= fix]
    assert read_ratio(before) > 0.5
    assert read_ratio(broken[:8]) < 0.2
    assert read_ratio(broken) == 0.0  # the time on the prompt's first line: no request shares a prefix
    assert read_ratio(after) > 0.5  # the fix: caching recovers
    # The break is visible without any text: a new prefix fingerprint on every call, against 9 before
    # (4 task kinds x 2 versions, and the researcher).
    assert len({s.attributes[sc.PROMPT_PREFIX_HASH] for s in before}) == 9
    assert len({s.attributes[sc.PROMPT_PREFIX_HASH] for s in broken}) == len(broken) > 8

    def anthropic(spans: list[Any]) -> list[Any]:
        return [s for s in spans if s.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"]

    def mean_writes(spans: list[Any]) -> float:
        return sum(usage(s, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS) for s in spans) / len(spans)

    assert mean_writes(anthropic(broken)) > 4 * mean_writes(anthropic(before))  # cache writes spike
    assert all(usage(s, sc.USAGE_CACHE_WRITE_1H) > 0 for s in anthropic(broken))  # the system prompt, every time
    # Anthropic splits writes by TTL: 1h for the system prompt, 5m for the conversation.
    assert sum(usage(s, sc.USAGE_CACHE_WRITE_1H) for s in anthropic(before)) > 0
    assert sum(usage(s, sc.USAGE_CACHE_WRITE_5M) for s in anthropic(before)) > 0
    for s in anthropic(run.llm):
        assert usage(s, sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS) == usage(s, sc.USAGE_CACHE_WRITE_5M) + usage(s, sc.USAGE_CACHE_WRITE_1H)
    openai = [s for s in run.llm if s.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"]
    assert all(usage(s, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) % 128 == 0 for s in openai)  # OpenAI's cache steps
    assert sum(usage(s, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS) for s in openai) > 0
    assert all(sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS not in s.attributes for s in openai)
    savings = run.metrics["agentyield.cache.savings.usd"]
    assert {dict(k)[sc.GEN_AI_PROVIDER_NAME] for k, v in savings.items() if v > 0} == {"openai", "anthropic"}


def test_streamed_calls(run: Recorded) -> None:
    streams = [s for s in run.llm if sc.STREAM_END in s.attributes]
    assert Counter(s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in streams) == {"openai": 10, "anthropic": 10}  # summarize
    assert all(s.attributes[sc.STREAM_END] == "completed" and s.attributes[sc.COST_USD] > 0 for s in streams)
    assert all(s.attributes.get(sc.STREAM_USAGE_REQUESTED) is True for s in streams if s.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai")
    assert all(run.task_of(s).attributes[sc.TASK_NAME] == "summarize" for s in streams)
    assert "agentyield.usage.missing" not in run.metrics


def test_artifacts_outcomes_and_unproductive_spend(run: Recorded) -> None:
    events = [(task, dict(e.attributes)) for task in run.coder for e in task.events if e.name == sc.ARTIFACT_EVENT]
    accepted = [a for _, a in events if a[sc.ARTIFACT_ACCEPTED] is True]
    rejected = [a for _, a in events if a[sc.ARTIFACT_ACCEPTED] is False]
    assert accepted and rejected
    for task in run.coder:  # a success leaves one accepted artifact; a failure a rejected one or nothing
        mine = [a for t, a in events if t is task]
        success = task.attributes[sc.TASK_OUTCOME] == "success"
        assert [a[sc.ARTIFACT_ACCEPTED] for a in mine] == ([True] if success else [False] if mine else [])
        assert task.attributes[sc.TASK_ARTIFACTS_ACCEPTED] == int(success)
    nothing = [t for t in run.coder if not t.events]
    assert nothing and all(t.attributes[sc.TASK_OUTCOME] == "failure" for t in nothing)
    artifacts = run.metrics["agentyield.artifacts"]
    coder = {k: v for k, v in artifacts.items() if ("gen_ai.agent.name", "coder") in k}
    assert sum(v for k, v in coder.items() if (sc.ARTIFACT_ACCEPTED, "true") in k) == len(accepted)
    assert sum(v for k, v in coder.items() if (sc.ARTIFACT_ACCEPTED, "false") in k) == len(rejected)
    assert artifacts[labels(gen_ai__agent__name="researcher", agentyield__artifact__kind="notes", agentyield__artifact__accepted="unknown")] == SUB_TASKS
    unproductive = run.metrics["agentyield.unproductive.cost.usd"]
    failed_kinds = {t.attributes[sc.TASK_NAME] for t in run.coder if t.attributes[sc.TASK_OUTCOME] == "failure"}
    assert {dict(k)[sc.TASK_NAME] for k, v in unproductive.items() if dict(k)[sc.GEN_AI_AGENT_NAME] == "coder" and v > 0} == failed_kinds
    per_artifact = run.metrics["agentyield.artifact.cost.usd"]
    assert sum(n for k, (n, _) in per_artifact.items() if dict(k)[sc.GEN_AI_AGENT_NAME] == "coder") == len(accepted)


def test_outcomes_follow_spend_and_version(run: Recorded) -> None:
    outcomes = Counter(t.attributes[sc.TASK_OUTCOME] for t in run.coder)
    assert outcomes["success"] > 0 and outcomes["failure"] > 0 and sum(outcomes.values()) == TOP_TASKS
    rate = {
        v: sum(t.attributes[sc.TASK_OUTCOME] == "success" for t in run.coder if t.attributes[sc.GEN_AI_AGENT_VERSION] == v) / 40
        for v in ("v1", "v2")
    }
    assert rate["v2"] > rate["v1"]
    for kind in KINDS:  # within each kind, the tasks that succeeded spent more tokens on average
        tasks = [t for t in run.coder if t.attributes[sc.TASK_NAME] == kind]
        won = [total_tokens(t) for t in tasks if t.attributes[sc.TASK_OUTCOME] == "success"]
        lost = [total_tokens(t) for t in tasks if t.attributes[sc.TASK_OUTCOME] == "failure"]
        assert sum(won) / len(won) > sum(lost) / len(lost), kind
    scores = [(t.attributes[sc.TASK_OUTCOME], t.attributes[sc.TASK_SCORE]) for t in run.coder]
    assert all((score >= 0.7) == (outcome == "success") for outcome, score in scores)


def test_tool_spans_and_their_failures(run: Recorded) -> None:
    assert run.tools and all(s.attributes[sc.GEN_AI_OPERATION_NAME] == "execute_tool" for s in run.tools)
    assert {"run_tests", "search", "read_file", "edit_file"} <= {s.attributes[sc.GEN_AI_TOOL_NAME] for s in run.tools}
    assert all(run.task_of(s) is not None for s in run.tools)
    failed = [s for s in run.tools if s.status.status_code is StatusCode.ERROR]
    assert failed
    assert {s.context.span_id for s in failed} == {s.context.span_id for s in run.tools if sc.ERROR_TYPE in s.attributes}
    assert {s.attributes[sc.ERROR_TYPE] for s in failed} <= {"TimeoutError", "FileNotFoundError", "PatchConflictError"}
    calls = run.metrics["agentyield.tool.calls"]
    assert sum(calls.values()) == len(run.tools)
    assert sum(v for k, v in calls.items() if ("agentyield.tool.error", "true") in k) == len(failed)
    # Model-requested tools: the LLM span says which tool the model asked for.
    asked = [s for s in run.llm if s.attributes.get(sc.TOOL_CALLS_COUNT)]
    assert {n for s in asked for n in s.attributes[sc.TOOL_CALLS_NAMES]} >= {"search", "read_file", "edit_file", "delegate_research"}


def test_verification_phase(run: Recorded) -> None:
    cost = run.metrics["agentyield.cost.usd"]
    verification = {dict(k)[sc.GEN_AI_PROVIDER_NAME]: v for k, v in cost.items() if dict(k)[sc.PHASE] == "verification"}
    assert set(verification) == {"openai", "anthropic"} and all(v > 0 for v in verification.values())
    reviews = [s for s in run.llm if s.attributes.get(sc.PHASE) == "verification"]
    assert len(reviews) == 60  # one review call in every task but summarize
    assert sum(s.attributes[sc.COST_USD] for s in reviews) == pytest.approx(sum(verification.values()), rel=1e-9)

    def in_verification(span: Any) -> bool:
        return run.ancestor(span, lambda s: s.attributes.get(sc.PHASE) == "verification") is not None

    test_runs = [s for s in run.tools if s.attributes[sc.GEN_AI_TOOL_NAME] == "run_tests" and in_verification(s)]
    assert len({run.task_of(s).context.span_id for s in test_runs}) == 40  # every fix-bug and write-tests task


def test_watcher_window_artifacts(run: Recorded) -> None:
    alerts = sorted((s for s in run.spans if s.name == sc.ARTIFACT_EVENT), key=lambda s: s.start_time)
    assert [s.attributes[sc.ARTIFACT_KIND] for s in alerts] == ["alert"] * 5
    assert [s.attributes[sc.ARTIFACT_ACCEPTED] for s in alerts] == ALERTS
    assert all(s.parent is None for s in alerts)
    watcher = [s for s in run.llm if run.task_of(s) is None]
    assert len(watcher) == 15 and all(s.parent is None for s in watcher)  # 3 calls before each alert
    for i, alert in enumerate(alerts):
        assert sum(alert.start_time > s.end_time for s in watcher) == 3 * (i + 1)
    per_artifact = run.metrics["agentyield.artifact.cost.usd"][labels(gen_ai__agent__name="watcher", agentyield__artifact__kind="alert")]
    wasted = run.metrics["agentyield.unproductive.cost.usd"][labels(gen_ai__agent__name="watcher", agentyield__task__name="(window)")]
    assert per_artifact[0] == 3 and per_artifact[1] > 0 and wasted > 0
    spent = sum(v for k, v in run.metrics["agentyield.cost.usd"].items() if dict(k)[sc.GEN_AI_AGENT_NAME] == "watcher")
    assert per_artifact[1] + wasted == pytest.approx(spent, rel=1e-9)  # every dollar lands once


def test_every_dollar_lands_once(run: Recorded) -> None:
    spent = sum(run.metrics["agentyield.cost.usd"].values())
    booked = sum(s for _, s in run.metrics["agentyield.artifact.cost.usd"].values()) + sum(run.metrics["agentyield.unproductive.cost.usd"].values())
    assert booked == pytest.approx(spent, rel=1e-9)
    assert spent == pytest.approx(sum(s.attributes[sc.COST_USD] for s in run.llm), rel=1e-9)


def test_same_seed_same_run(
    run: Recorded, tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter,
    meter_provider: MeterProvider, metric_reader: InMemoryMetricReader,
) -> None:
    again = record(tracer_provider, span_exporter, meter_provider, metric_reader)

    def outcomes(r: Recorded) -> list[tuple[str, str, str]]:
        return [(t.attributes[sc.GEN_AI_AGENT_NAME], t.attributes[sc.TASK_NAME], t.attributes[sc.TASK_OUTCOME]) for t in r.tasks]

    def calls(r: Recorded) -> list[tuple[Any, ...]]:
        keys = (sc.GEN_AI_REQUEST_MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS, sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.COST_USD)
        return [tuple(s.attributes.get(k) for k in keys) for s in r.llm]

    assert len(outcomes(again)) == 96
    assert outcomes(again) == outcomes(run)
    assert calls(again) == calls(run)
    assert plan_workload(SEED + 1) != plan_workload(SEED)  # the seed does decide
