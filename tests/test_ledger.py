"""The pure ledger: records in, numbers out, with every bound counted. No OpenTelemetry involved."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agentyield.processors import Ledger, Limits, PriceBook
from agentyield.processors._ledger import OTHER
from agentyield.processors._normalize import Kind
from agentyield.processors._records import ArtifactRecord, LLMCallRecord, TaskRecord

RATE_IN, RATE_OUT = Decimal("2") / 1_000_000, Decimal("8") / 1_000_000


@pytest.fixture
def prices(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "prices.json"
    path.write_text('{"models": [{"provider": "local", "model": "m", "input_mtok": 2, "output_mtok": 8, "cache_read_mtok": 0.5}]}')
    return PriceBook(path)


def call(model: str = "m", input_tokens: int | None = 1000, output_tokens: int | None = 100, cache_read: int = 0) -> LLMCallRecord:
    return LLMCallRecord("local", model, model, input_tokens, output_tokens, cache_read_tokens=cache_read)


def test_cost_and_savings_from_user_prices(prices: PriceBook) -> None:
    ledger = Ledger(prices)
    priced = ledger.end_llm(1, call(cache_read=600))
    assert priced is not None and priced.cost == 400 * RATE_IN + 600 * Decimal("0.5") / 1_000_000 + 100 * RATE_OUT
    assert ledger.counter("agentyield.cache.savings.usd")[("local", "m", "default")] == 600 * (RATE_IN - Decimal("0.5") / 1_000_000)
    assert ledger.counter("agentyield.tokens") == {
        ("local", "m", "default", "input"): 400,
        ("local", "m", "default", "cache_read"): 600,
        ("local", "m", "default", "cache_write"): 0,
        ("local", "m", "default", "output"): 100,
    }


def test_missing_and_inconsistent_usage_are_counted_not_priced(prices: PriceBook) -> None:
    ledger = Ledger(prices)
    assert ledger.end_llm(1, call(input_tokens=None, output_tokens=None)).cost is None  # type: ignore[union-attr]
    missing = call()
    missing.usage_missing = True
    assert ledger.end_llm(2, missing).cost is None  # type: ignore[union-attr]
    assert ledger.end_llm(3, call(input_tokens=10, cache_read=50)).cost is None  # type: ignore[union-attr]
    assert ledger.counter("agentyield.usage.missing")[("local", "m", "default")] == 2
    assert ledger.counter("agentyield.usage.inconsistent")[("local", "m", "default")] == 1
    assert ledger.counter("agentyield.llm.calls")[("local", "m", "default", "false")] == 3
    assert ledger.counter("agentyield.cost.usd") == {}
    assert ledger.windows["default"].unpriced_calls == 3 and ledger.windows["default"].cost == 0


def test_unknown_model_is_unpriced(prices: PriceBook) -> None:
    ledger = Ledger(prices)
    assert ledger.end_llm(1, call(model="nobody-knows-this-model")).cost is None  # type: ignore[union-attr]
    assert ledger.counter("agentyield.llm.calls")[("local", "nobody-knows-this-model", "default", "false")] == 1


def test_label_values_are_capped_and_counted(prices: PriceBook) -> None:
    ledger = Ledger(prices, limits=Limits(max_label_values=3))
    for i in range(5):
        task = TaskRecord(f"id{i}", f"task-{i}", "agent")
        ledger.start(i, None, Kind.TASK, task=task)
        ledger.end_task(i, task)
    assert dict(ledger.counters["agentyield.tasks"]) == {
        ("agent", "task-0", "unknown"): 1,
        ("agent", "task-1", "unknown"): 1,
        ("agent", "task-2", "unknown"): 1,
        ("agent", OTHER, "unknown"): 2,
    }
    assert ledger.limits_hit["label:agentyield.task.name"] == 2


def test_open_span_and_task_limits_are_counted(prices: PriceBook) -> None:
    ledger = Ledger(prices, limits=Limits(max_open_spans=2, max_open_tasks=1))
    ledger.start(1, None, Kind.TASK, task=TaskRecord("a", "a", "x"))
    ledger.start(2, 1, Kind.TASK, task=TaskRecord("b", "b", "x"))  # over the task limit: stays in task a
    ledger.start(3, 2, Kind.LLM)  # over the span limit
    assert ledger.limits_hit == {"open_tasks": 1, "open_spans": 1}
    # A call whose start was dropped is still counted, outside any task.
    assert ledger.end_llm(3, call()).agent == "default"  # type: ignore[union-attr]
    result = ledger.end_task(2, TaskRecord("b", "b", "x"))  # its start was dropped: booked with no spend
    assert result.total.llm_calls == 0


def test_calls_past_the_series_limit_are_each_priced_at_their_own_model(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A series resolves its rates once; the overflow series holds calls of many models, so each is priced anew."""
    path = tmp_path / "prices.json"
    rates = {"a": (1, 4), "b": (3, 9), "c": (5, 20)}
    path.write_text('{"models": [%s]}' % ", ".join(
        f'{{"provider": "local", "model": "{m}", "input_mtok": {i}, "output_mtok": {o}}}' for m, (i, o) in rates.items()))
    ledger = Ledger(PriceBook(path), limits=Limits(max_series=1))
    for model in ("a", "b", "c", "b", "a"):
        priced = ledger.end_llm(1, call(model=model, input_tokens=1000, output_tokens=100))
        i, o = rates[model]
        assert priced is not None and priced.cost == 1000 * Decimal(i) / 1_000_000 + 100 * Decimal(o) / 1_000_000
    assert ledger.limits_hit["series"] == 3


def test_nested_llm_span_is_a_duplicate(prices: PriceBook) -> None:
    ledger = Ledger(prices)
    ledger.start(1, None, Kind.LLM)
    ledger.start(2, 1, Kind.LLM)
    assert ledger.end_llm(2, call()) is None
    assert ledger.end_llm(1, call()) is not None
    assert ledger.counter("agentyield.llm.calls")[("local", "m", "default", "true")] == 1
    assert ledger.counters["agentyield.spans.duplicate"][("local",)] == 1


def test_every_priced_dollar_lands_once(prices: PriceBook) -> None:
    """Attribution invariant: artifact observations + unproductive spend = total priced spend."""
    observed: list[tuple[str, float, tuple[object, ...]]] = []
    ledger = Ledger(prices, sink=lambda name, value, labels: observed.append((name, value, labels)))
    unit = ledger.end_llm(999, call()).cost  # type: ignore[union-attr]
    ledger.windows.clear()
    # parent P (1 call) > child Q (2 calls, rejected artifact) > grandchild R (1 call, 2 accepted artifacts)
    records = {1: TaskRecord("p", "p", "a"), 2: TaskRecord("q", "q", "a"), 3: TaskRecord("r", "r", "a")}
    ledger.start(1, None, Kind.TASK, task=records[1])
    ledger.start(2, 1, Kind.TASK, task=records[2])
    ledger.start(3, 2, Kind.TASK, task=records[3])
    for span_id, parent in ((10, 1), (11, 2), (12, 2), (13, 3)):
        ledger.start(span_id, parent, Kind.LLM)
        ledger.end_llm(span_id, call())
    records[3].artifacts = [ArtifactRecord("doc", True), ArtifactRecord("doc", True)]
    records[2].artifacts = [ArtifactRecord("doc", False)]
    ledger.end_task(3, records[3])
    ledger.end_task(2, records[2])
    result = ledger.end_task(1, records[1])
    artifact_costs = [value for name, value, _ in observed if name == "agentyield.artifact.cost.usd"]
    assert artifact_costs == [float(unit / 2), float(unit / 2)]  # type: ignore[operator]
    assert ledger.counters["agentyield.unproductive.cost.usd"][("a", "p")] == 3 * unit  # type: ignore[operator]
    assert result.total.cost == 4 * unit and result.own.cost == unit  # type: ignore[operator]
    assert sum(artifact_costs) + float(ledger.counters["agentyield.unproductive.cost.usd"][("a", "p")]) == pytest.approx(float(4 * unit), abs=1e-15)  # type: ignore[operator]


def test_agent_windows_are_bounded(prices: PriceBook) -> None:
    ledger = Ledger(prices, limits=Limits(max_agents=2))
    for agent in ("a", "b", "c", "d"):
        ledger.default_agent = agent
        ledger.end_llm(hash(agent), call())
    assert sorted(ledger.windows) == ["_other", "a", "b"]
    assert ledger.windows["_other"].llm_calls == 2 and ledger.limits_hit["agents"] == 2
