"""The local metrics path: Prometheus scrapes the derived metrics, under the same names as the OTLP path."""

from __future__ import annotations

import re
import socket
import urllib.request
import pytest

from agentyield.processors._metrics import COUNTERS, HISTOGRAMS
from test_processor import make_providers, scenario


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Prometheus 3's OTLP translation (the default `UnderscoreEscapingWithSuffixes`), for the units we use:
# dots become underscores, a unit in braces adds nothing, `s` adds `_seconds`, monotonic sums get `_total`.
_UNIT_SUFFIX = {"s": "seconds", "1": ""}  # a dimensionless `1` adds `_ratio` to gauges only; we have none


def otlp_translated(name: str, unit: str, counter: bool) -> str:
    base = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    suffix = "" if unit.startswith("{") else _UNIT_SUFFIX.get(unit, unit)
    if suffix and not base.endswith("_" + suffix):
        base += "_" + suffix
    return base + "_total" if counter else base


# Counters the scenario gives no point (no fingerprinted tool repeats, misses, breaks, routable calls, rollouts or
# budgets): tests/test_trajectory.py, test_cache_watch.py, test_signals_routing.py, test_rollouts.py and
# test_budgets.py check their values.
NOT_IN_SCENARIO = {
    "agentyield.tool.calls.redundant", "agentyield.loops", "agentyield.tool.spans.duplicate", "agentyield.cache.missed.calls",
    "agentyield.cache.missed.usd", "agentyield.cache.drifts", "agentyield.routing.routable.calls", "agentyield.routing.savings.usd",
    "agentyield.rollout.tasks", "agentyield.rollout.input.tokens", "agentyield.rollout.input.shared.tokens",
    "agentyield.rollout.output.tokens", "agentyield.rollout.trajectories.distinct", "agentyield.budget.exceeded",
}


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def scraped() -> str:
    import agentyield
    from opentelemetry import trace

    port = free_port()
    tracer_provider, _, _, _ = make_providers()
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER = tracer_provider
    try:
        agentyield.instrument(tracer_provider=tracer_provider, prometheus_port=port, agent="watcher", verification_tools=["run_tests"])
        scenario()
        return scrape(port)
    finally:
        agentyield.uninstrument()
        trace._TRACER_PROVIDER = previous


def test_every_metric_is_served_under_its_otlp_name(scraped: str) -> None:
    served = {line.split("{")[0].split(" ")[0] for line in scraped.splitlines() if line and not line.startswith("#")}
    for name, (unit, _, _) in COUNTERS.items():
        if name in ("agentyield.usage.missing", "agentyield.usage.inconsistent", "agentyield.usage.invalid", "agentyield.privacy.findings",
                    "agentyield.usage.cache_unreported", "agentyield.usage.cache_ttl_assumed",
                    "agentyield.spans.unrecognized", "agentyield.usage.rollups") or name in NOT_IN_SCENARIO:
            continue  # the scenario has none (and scans nothing): a counter with no points has no series
        assert otlp_translated(name, unit, counter=True) in served, name
    for name, (unit, _, _, _) in HISTOGRAMS.items():
        if name in ("gen_ai.workflow.duration", "agentyield.task.context.shrink"):
            continue  # every task of the scenario names its agent (no workflow), and none's context shrinks
        base = otlp_translated(name, unit, counter=False)
        assert {base + "_bucket", base + "_sum", base + "_count"} <= served, name
    assert otlp_translated("agentyield.limits.hit", "{event}", counter=True) not in served  # no limit was hit


def test_values_and_labels(scraped: str) -> None:
    line = next(
        l for l in scraped.splitlines()
        if l.startswith("agentyield_tasks_total{") and 'agentyield_task_name="fix-bug"' in l and 'agentyield_task_outcome="success"' in l
    )
    assert 'gen_ai_agent_name="coder"' in line and line.endswith(" 1.0")
    calls = [l for l in scraped.splitlines() if l.startswith("agentyield_llm_calls_total{")]
    assert sum(float(l.rsplit(" ", 1)[1]) for l in calls) == 10.0


def test_port_and_meter_provider_are_exclusive() -> None:
    import agentyield
    from opentelemetry.sdk.metrics import MeterProvider

    with pytest.raises(ValueError, match="either meter_provider or prometheus_port"):
        agentyield.instrument(meter_provider=MeterProvider(), prometheus_port=free_port())

