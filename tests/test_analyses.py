"""The offline analyses on planted populations: every expected value follows from how the rows were built."""

from __future__ import annotations

import json
import math
import random
import statistics
from datetime import datetime, timezone
from typing import Any

import pytest

from agentyield.processors._analyses import (
    DRIFT_BASELINE,
    INF,
    artifact_costs,
    budget,
    cache,
    capability,
    cost_of_pass,
    missed_caching,
    pareto,
    report_data,
    tool_credit,
    unproductive,
)
from agentyield.processors._population import CallRow, TaskRow, ToolUse, WindowArtifact

T0 = 1_800_000_000.0  # a whole hour (and minute) since the epoch: buckets of 60 s start on it
U_RATE, R_RATE = 3e-6, 0.3e-6  # uncached input and cache-read USD per token
TOP_KEYS = {"summary", "artifact_costs", "unproductive", "open_windows", "cache", "budget", "cost_of_pass", "pareto", "capability", "tool_credit", "trajectory"}

_ids = iter(range(1, 1_000_000))


def task(
    *,
    name: str = "fix",
    agent: str = "coder",
    version: str | None = "1",
    model: str = "m",
    outcome: str = "success",
    cost: float | None = 0.01,
    tokens: int = 1000,
    llm_calls: int = 1,
    parent_id: str | None = None,
    task_id: str | None = None,
    start: float = T0,
    duration: float = 1.0,
    attributable: float | None = None,
    accepted: tuple[str, ...] = (),
    tools: tuple[ToolUse, ...] = (),
    privacy: int = 0,
    output: int = 0,
    known: float | None = None,
    verifications: tuple[bool, ...] = (),
) -> TaskRow:
    """A task row with only what an analysis reads set; `tokens` are all uncached input. `known` is the priced
    part of the cost (default: the cost, or 0 when unknown)."""
    attributable_cost = cost if attributable is None else attributable
    return TaskRow(
        task_id=task_id or f"t{next(_ids)}", name=name, agent=agent, version=version, parent_id=parent_id,
        start_s=start, end_s=start + duration, outcome=outcome, score=None, cost=cost,
        cost_known=known if known is not None else (cost or 0.0), input=tokens, cache_read=0,
        cache_write=0, output=output, reasoning=0, llm_calls=llm_calls, models=(model,),
        attributable_cost=attributable_cost, attributable_known=known if known is not None else (attributable_cost or 0.0),
        accepted_kinds=accepted, artifacts_rejected=0, artifacts_unknown=0, tools=tools, privacy_findings=privacy,
        verifications=verifications,
    )


def call(
    minute: float, *, agent: str = "coder", model: str = "m", prefix: str | None = "aaa", input: int = 100,
    cache_read: int = 0, priced: bool = True, cache_reported: bool = True, task_id: str | None = None, cost: float = 0.001,
    missed: bool = False,
) -> CallRow:
    return CallRow(
        time_s=T0 + 60 * minute + 10, agent=agent, provider="p", model=model, input=input, cache_read=cache_read,
        cache_write=0, output=10, cost=cost if priced else None, prefix_hash=prefix, task_id=task_id,
        uncached_input_rate=U_RATE if priced else None, cache_read_rate=R_RATE if priced else None,
        cache_reported=cache_reported, savings=cache_read * (U_RATE - R_RATE) if priced else None, write_premium=0.0 if priced else None,
        missed_cache=missed,
    )


def iso_minute(minute: int) -> str:
    return datetime.fromtimestamp(T0 + 60 * minute, timezone.utc).isoformat()


def outcomes(successes: int, n: int) -> list[str]:
    return ["success"] * successes + ["failure"] * (n - successes)


# -- budget: R², fit, bins, versions within matched budgets -----------------------------------------------------


def test_budget_planted_r2_and_fit_by_hand() -> None:
    """Budgets 10, 100, 1000, 10000 tokens (twice each), success only above 100: with x = ln tokens =
    L·(1, 2, 3, 4) and y = (0, 0, 1, 1), Sxx = 5L², Sxy = 2L, Syy = 1, so R² = Sxy²/(Sxx·Syy) = 0.8,
    b = 0.4/L and a = 0.5 - b·2.5L = -0.5: p = -0.5 + 0.4·log10(tokens)."""
    tasks = [task(tokens=10**k, outcome="success" if k >= 3 else "failure") for k in (1, 2, 3, 4) for _ in range(2)]
    out = budget(tasks, min_tasks=5, axis="billed")
    assert out["insufficient"] is None and out["tasks"] == 8
    assert out["r2"] == pytest.approx(0.8, abs=1e-12)
    assert out["fit"]["a"] == pytest.approx(-0.5, abs=1e-12)
    assert out["fit"]["b"] == pytest.approx(0.4 / math.log(10), abs=1e-12)
    assert len(out["curve"]) == 20
    assert out["curve"][0]["tokens"] == pytest.approx(10) and out["curve"][0]["p"] == 0.0  # -0.1 clipped
    assert out["curve"][-1]["tokens"] == pytest.approx(10_000) and out["curve"][-1]["p"] == 1.0  # 1.1 clipped
    middle = out["curve"][9]  # x = L·(1 + 3·9/19)
    assert middle["p"] == pytest.approx(-0.5 + 0.4 * (1 + 27 / 19), abs=1e-12)
    # 8 tasks at 5 per bin clamp to 4 quantile bins of 2 tasks each.
    assert out["bins"] == [
        {"lo": 10, "hi": 100, "tasks": 2, "success_rate": 0.0},
        {"lo": 100, "hi": 1000, "tasks": 2, "success_rate": 0.0},
        {"lo": 1000, "hi": 10000, "tasks": 2, "success_rate": 1.0},
        {"lo": 10000, "hi": 10000, "tasks": 2, "success_rate": 1.0},
    ]


def test_budget_r2_equals_squared_correlation_on_a_random_population() -> None:
    """For a simple least-squares line R² is the squared Pearson correlation: an independent formula."""
    rng = random.Random(7)
    tasks = []
    for _ in range(200):
        tokens = rng.randint(1_000, 1_000_000)
        p = min(1.0, max(0.0, (math.log(tokens) - math.log(1_000)) / (math.log(1_000_000) - math.log(1_000))))
        tasks.append(task(tokens=tokens, outcome="success" if rng.random() < p else "failure"))
    out = budget(tasks, min_tasks=5, axis="billed")
    x = [math.log(t.tokens) for t in tasks]
    y = [1.0 if t.outcome == "success" else 0.0 for t in tasks]
    slope, intercept = statistics.linear_regression(x, y)
    assert out["r2"] == pytest.approx(statistics.correlation(x, y) ** 2, abs=1e-12)
    assert out["fit"] == pytest.approx({"a": intercept, "b": slope}, abs=1e-12)
    assert len(out["bins"]) == 8 and sum(b["tasks"] for b in out["bins"]) == 200
    assert [b["tasks"] for b in out["bins"]] == [25] * 8  # distinct budgets: equal-count quantile bins
    assert all(b["lo"] < b["hi"] for b in out["bins"])
    assert out["bins"][-1]["hi"] == max(t.tokens for t in tasks)


def test_budget_reads_decided_top_level_tasks_only() -> None:
    """A sub-task's tokens are already in its parent's; unknown outcomes say nothing about success."""
    tasks = [task(tokens=10**k, outcome="success" if k >= 3 else "failure", task_id=f"p{k}{i}") for k in (1, 2, 3, 4) for i in range(2)]
    tasks += [task(tokens=5, outcome="success", parent_id="p10"), task(tokens=50_000, outcome="unknown")]
    assert budget(tasks, min_tasks=5, axis="billed")["r2"] == pytest.approx(0.8, abs=1e-12)
    assert budget(tasks, min_tasks=5, axis="billed")["tasks"] == 8


def test_budget_compares_versions_within_matched_bins() -> None:
    """16 tasks at 4 per bin: 4 quantile bins of 4. Bin 100-200: v1 2/2, v2 0/2 (compared); bin 200-300:
    v1 has a single task (nothing compared); bin 300-400: v1 1/2, v2 2/2; bin 400-403: only v3."""
    plan = [("1", "success"), ("1", "success"), ("2", "failure"), ("2", "failure"),
            ("1", "success"), ("2", "success"), ("2", "success"), ("2", "failure"),
            ("1", "success"), ("1", "failure"), ("2", "success"), ("2", "success"),
            ("3", "success"), ("3", "failure"), ("3", "success"), ("3", "failure")]
    tasks = [task(version=v, tokens=100 * (1 + i // 4) + i % 4, outcome=o) for i, (v, o) in enumerate(plan)]
    out = budget(tasks, min_tasks=4, axis="billed")
    assert [(b["lo"], b["hi"], b["tasks"], b["success_rate"]) for b in out["bins"]] == [
        (100, 200, 4, 0.5), (200, 300, 4, 0.75), (300, 400, 4, 0.75), (400, 403, 4, 0.5),
    ]
    assert out["versions"] == [
        {"lo": 100, "hi": 200, "version": "coder@1", "tasks": 2, "success_rate": 1.0},
        {"lo": 100, "hi": 200, "version": "coder@2", "tasks": 2, "success_rate": 0.0},
        {"lo": 300, "hi": 400, "version": "coder@1", "tasks": 2, "success_rate": 0.5},
        {"lo": 300, "hi": 400, "version": "coder@2", "tasks": 2, "success_rate": 1.0},
    ]
    assert "versions" not in out["notes"]

    interleaved = [task(version=v, tokens=1000, outcome=o) for v, o in (("1", "success"), ("2", "failure")) for _ in range(3)]
    interleaved += [task(version=v, tokens=9000, outcome="success") for v in ("1", "2") for _ in range(2)]
    out = budget(interleaved, min_tasks=5, axis="billed")  # 4 quantile starts 1000, 1000, 1000, 9000: tied edges merge
    assert [(b["lo"], b["hi"], b["tasks"]) for b in out["bins"]] == [(1000, 9000, 6), (9000, 9000, 4)]
    assert out["notes"]["bins"] == "tied budgets: only 2 distinct quantile edges"
    assert out["versions"] == [
        {"lo": 1000, "hi": 9000, "version": "coder@1", "tasks": 3, "success_rate": 1.0},
        {"lo": 1000, "hi": 9000, "version": "coder@2", "tasks": 3, "success_rate": 0.0},
        {"lo": 9000, "hi": 9000, "version": "coder@1", "tasks": 2, "success_rate": 1.0},
        {"lo": 9000, "hi": 9000, "version": "coder@2", "tasks": 2, "success_rate": 1.0},
    ]


def test_budget_insufficient_paths() -> None:
    four = [task(tokens=10**k, outcome="success" if k > 2 else "failure") for k in (1, 2, 3, 4)]
    out = budget(four, min_tasks=5, axis="billed")
    assert out["r2"] is None and out["fit"] is None and out["curve"] == [] and out["bins"] == []
    assert out["insufficient"] == "4 decided top-level tasks with a known budget (billed tokens (uncached input, cache reads and writes, output)); need at least 5"

    all_succeed = [task(tokens=10**k) for k in (1, 2, 3, 4, 5)]
    out = budget(all_succeed, min_tasks=5, axis="billed")
    assert out["r2"] is None and "no variance in success" in out["insufficient"]
    assert len(out["bins"]) == 4  # the bins are still data

    same_budget = [task(tokens=500, outcome=o) for o in outcomes(3, 6)]
    out = budget(same_budget, min_tasks=5, axis="billed")
    assert out["r2"] is None and "no variance in budget" in out["insufficient"]

    no_tokens = [task(tokens=0, outcome=o) for o in outcomes(3, 6)]
    out = budget(no_tokens, min_tasks=5, axis="billed")
    assert out["r2"] is None and out["tasks"] == 0 and out["notes"]["excluded"].startswith("6 decided tasks used no budget (billed tokens")


# -- cost of pass ------------------------------------------------------------------------------------------------


def test_cost_of_pass_planted() -> None:
    """10 attempts at $0.02 with 4 successes: 0.02 / 0.4 = $0.05 per pass; no success in 10: infinite."""
    tasks = [task(name="fix", model="a", cost=0.02, outcome=o) for o in outcomes(4, 10)]
    tasks += [task(name="fix", model="b", cost=0.01, outcome="failure") for _ in range(10)]
    tasks += [task(name="review", model="a", cost=0.03, outcome="success") for _ in range(5)]
    rows = cost_of_pass(tasks, min_tasks=5)
    assert [(r["task"], r["configuration"]) for r in rows] == [("fix", "coder@1/a"), ("fix", "coder@1/b"), ("review", "coder@1/a")]
    assert rows[0] == {"task": "fix", "agent": "coder", "configuration": "coder@1/a", "attempts": 10, "decided": 10, "successes": 4,
                       "mean_cost": pytest.approx(0.02, abs=1e-15), "cost_of_pass": pytest.approx(0.05, abs=1e-15),
                       "lower_bound": False, "frontier": True, "insufficient": None, "notes": {}}
    assert rows[1]["cost_of_pass"] == INF == "inf" and rows[1]["insufficient"] is None
    assert rows[2]["cost_of_pass"] == pytest.approx(0.03, abs=1e-15)


def test_cost_of_pass_unknown_outcomes_cost_but_do_not_count_as_failures() -> None:
    """6 decided attempts (3 successes) and 2 unknown ones, all at $0.04: mean cost over the 8 attempts,
    success rate over the 6 decided: 0.04 / 0.5 = 0.08."""
    tasks = [task(cost=0.04, outcome=o) for o in outcomes(3, 6) + ["unknown", "unknown"]]
    (row,) = cost_of_pass(tasks, min_tasks=5)
    assert (row["attempts"], row["decided"], row["successes"]) == (8, 6, 3)
    assert row["cost_of_pass"] == pytest.approx(0.08, abs=1e-15)


def test_cost_of_pass_insufficient_paths() -> None:
    few = [task(model="few", outcome="failure") for _ in range(4)]
    unpriced = [task(model="unpriced", cost=None if i == 0 else 0.01, outcome="success") for i in range(6)]
    undecided = [task(model="undecided", outcome="unknown") for _ in range(6)]
    rows = {r["configuration"]: r for r in cost_of_pass(few + unpriced + undecided, min_tasks=5)}
    assert rows["coder@1/few"]["cost_of_pass"] is None  # 0 successes in 4 is not yet "inf"
    assert rows["coder@1/few"]["insufficient"] == "4 attempts with a recorded outcome; need at least 5"
    # One unpriced attempt does not blank the configuration: its priced part is a flagged lower bound.
    unpriced_row = rows["coder@1/unpriced"]
    assert unpriced_row["mean_cost"] == pytest.approx(5 * 0.01 / 6, abs=1e-15) and unpriced_row["lower_bound"] is True
    assert unpriced_row["cost_of_pass"] == pytest.approx(5 * 0.01 / 6, abs=1e-15) and unpriced_row["frontier"] is False
    assert unpriced_row["notes"]["lower_bound"] == "1 of 6 attempts contain an unpriced call: costs are lower bounds"
    assert rows["coder@1/undecided"]["cost_of_pass"] is None
    assert rows["coder@1/undecided"]["insufficient"] == "no attempt has a recorded outcome"


# -- Pareto frontier -----------------------------------------------------------------------------------------------


def planted_configurations() -> list[TaskRow]:
    """(model, cost per task, successes of 10): A, B and the tie F are the frontier; C and E are dominated by
    B (E only on cost), D by A (only on success)."""
    plan = {"A": (0.01, 5), "B": (0.02, 8), "C": (0.03, 7), "D": (0.01, 4), "E": (0.05, 8), "F": (0.02, 8)}
    tasks = [task(model=m, cost=c, outcome=o) for m, (c, s) in plan.items() for o in outcomes(s, 10)]
    tasks += [task(model="G", cost=0.001, outcome="success") for _ in range(3)]  # too few to judge
    tasks += [task(model="H", cost=None if i == 0 else 0.001, outcome="success") for i in range(10)]  # unknown cost
    tasks += [task(model="A", cost=9.0, outcome="unknown"), task(model="A", cost=9.0, parent_id="x", outcome="failure")]
    return tasks


def test_pareto_planted_frontier() -> None:
    rows = pareto(planted_configurations(), min_tasks=5)
    by = {r["configuration"].split("/")[1]: r for r in rows}
    assert {m for m, r in by.items() if r["frontier"]} == {"A", "B", "F", "H"}
    assert {m: r["dominated_by"] for m, r in by.items() if r["frontier"] is False} == {
        "C": "coder@1/B", "D": "coder@1/A", "E": "coder@1/B",
    }
    assert by["A"]["mean_cost"] == pytest.approx(0.01, abs=1e-15) and by["A"]["success_rate"] == 0.5
    assert by["A"]["tasks"] == 10  # unknown outcomes and sub-tasks left out
    # H has an unpriced call: it stays on the chart at its lower-bound cost (9 x 0.001 / 10), flagged, and as a
    # lower bound it dominates nothing; nothing complete is cheaper at 100% success, so it is not dominated.
    assert by["H"]["lower_bound"] is True and by["H"]["mean_cost"] == pytest.approx(0.0009, abs=1e-15)
    assert by["H"]["frontier"] is True and by["H"]["dominated_by"] is None
    assert [r["configuration"][-1] for r in rows] == ["H", "A", "D", "B", "F", "C", "E", "G"]  # by cost, then success
    assert by["G"]["frontier"] is None and by["G"]["insufficient"] == "3 decided top-level tasks; need at least 5"


# -- cost per accepted artifact, unproductive spend ------------------------------------------------------------------


def test_artifact_cost_shares() -> None:
    """$0.30 for (pr, pr, doc) -> $0.10 each; $0.50 for one pr; an unpriced task's doc counts as accepted
    but not in the mean; a kind seen only in unpriced tasks has no cost."""
    tasks = [
        task(attributable=0.3, accepted=("pr", "pr", "doc")),
        task(attributable=0.5, accepted=("pr",)),
        task(cost=None, attributable=None, accepted=("doc", "plan")),
        task(version="2", attributable=0.2, accepted=("pr",), parent_id="x"),  # nested tasks book their own artifacts
        task(attributable=0.7),  # no accepted artifact: unproductive, not here
    ]
    rows = artifact_costs(tasks)
    assert [(r["version"], r["kind"], r["accepted"], r["priced"]) for r in rows] == [
        ("1", "doc", 2, 1), ("1", "plan", 1, 0), ("1", "pr", 3, 3), ("2", "pr", 1, 1),
    ]
    costs = [r["cost_per_artifact"] for r in rows]
    assert costs[0] == pytest.approx(0.1, abs=1e-15)
    assert costs[1] is None and rows[1]["insufficient"] == "every accepted artifact's work: contains an unpriced call"
    assert costs[2] == pytest.approx((0.1 + 0.1 + 0.5) / 3, abs=1e-15)
    assert costs[3] == pytest.approx(0.2, abs=1e-15)


def test_unproductive_spend_is_top_level_attributable_cost() -> None:
    tasks = [
        task(name="fix", cost=0.9, attributable=0.4, task_id="root"),  # its productive sub-task's 0.5 is on artifacts
        task(name="sub", attributable=0.5, accepted=("pr",), parent_id="root"),
        task(name="sub", attributable=0.3, parent_id="root2"),  # nested: handed to its parent, not booked here
        task(name="fix", attributable=0.1),
        task(name="fix", cost=None, attributable=None),
        task(name="plan", cost=None, attributable=None),
        task(name="fix", attributable=0.2, accepted=("pr",)),
    ]
    # As the live counter books it: the priced part of each task's attributable cost; a group with an unpriced
    # call is a flagged lower bound, not dropped (live and replay agree).
    assert unproductive(tasks) == [
        {"agent": "coder", "version": "1", "task": "fix", "tasks": 3, "unpriced_tasks": 1, "cost_usd": pytest.approx(0.5, abs=1e-15),
         "lower_bound": True},
        {"agent": "coder", "version": "1", "task": "plan", "tasks": 1, "unpriced_tasks": 1, "cost_usd": 0.0, "lower_bound": True},
    ]


def test_no_llm_calls_seen_is_not_zero_dollars() -> None:
    """A task whose tree holds no LLM call, or a window that saw none, has no cost: not $0."""
    tasks = [task(cost=0.0, attributable=0.0, llm_calls=0, accepted=("pr",)), task(attributable=0.2, accepted=("pr",))]
    windows = [WindowArtifact("watcher", "alert", True, None, llm_calls=0), WindowArtifact("watcher", "alert", True, 0.004, llm_calls=2, cost_known=0.004)]
    rows = {r["kind"]: r for r in artifact_costs(tasks, windows)}
    assert rows["pr"]["accepted"] == 2 and rows["pr"]["priced"] == 1 and rows["pr"]["cost_per_artifact"] == pytest.approx(0.2, abs=1e-15)
    assert rows["pr"]["notes"] == {"no LLM calls seen": 1}
    assert rows["alert"]["priced"] == 1 and rows["alert"]["cost_per_artifact"] == pytest.approx(0.004, abs=1e-15)
    only_blind = artifact_costs([task(cost=0.0, attributable=0.0, llm_calls=0, accepted=("doc",))])
    assert only_blind[0]["cost_per_artifact"] is None and only_blind[0]["insufficient"] == "every accepted artifact's work: no LLM calls seen"


# -- cache: ratio over time, drift and its cause, missed caching ------------------------------------------------------


def drift_calls() -> list[CallRow]:
    """One call a minute for 30 minutes: prefix aaa reads 900 of 1000 prompt tokens from cache (ratio 0.9);
    from minute 20 the prefix is bbb and nothing is read (ratio 0). Another agent sends bbb at minutes 22
    and 28: new to that agent, then 6 minutes later, beyond the 5-minute cache lifetime."""
    calls = [call(m, prefix="aaa", input=100, cache_read=900) for m in range(20)]
    calls += [call(m, prefix="bbb", input=1000, missed=m > 20) for m in range(20, 30)]  # as the ledger judges them
    calls += [call(m, agent="other", prefix="bbb", input=1000) for m in (22, 28)]
    return calls


def at(minute: int) -> str:
    """The time of `call(minute)`."""
    return datetime.fromtimestamp(T0 + 60 * minute + 10, timezone.utc).isoformat()


def test_cache_planted_drift_with_prefix_cause_and_missed_dollars() -> None:
    out = cache(drift_calls())  # 32 calls: buckets of ceil(32 / 40) = 1 call
    assert out["bucket_calls"] == 1 and out["insufficient"] is None
    assert len(out["points"]) == 32
    assert out["points"][0] == {"t": at(0), "t_end": at(0), "ratio": 0.9, "calls": 1}
    # One drop, one drift (the later low buckets belong to the same drop).
    assert out["drifts"] == [{"t": at(20), "before": pytest.approx(0.9, abs=1e-12), "after": 0.0,
                              "cause": "prompt prefix changed (aaa -> bbb)"}]
    # Minutes 21-29 of the first agent re-sent bbb within a minute without a cache read: 9 x 1000 tokens.
    assert out["missed_calls"] == 9
    assert out["missed_caching_usd"] == pytest.approx(9 * 1000 * (U_RATE - R_RATE), abs=1e-15)


def test_cache_drift_cause_model_and_unknown() -> None:
    """Same prefix throughout; at minute 12 the model changes (and the cache, per model, is cold); at
    minute 25 the ratio drops again with nothing else changed."""
    calls = [call(m, model="m1", cache_read=900) for m in range(12)]
    calls += [call(m, model="m2", cache_read=900 if m >= 13 else 0, missed=m == 12) for m in range(12, 25)]
    calls += [call(m, model="m2", cache_read=100) for m in range(25, 30)]
    out = cache(calls)
    assert [(d["t"], d["cause"]) for d in out["drifts"]] == [(at(12), "model changed (m1 -> m2)"), (at(25), "unknown")]
    assert out["drifts"][1]["before"] == pytest.approx(0.9, abs=1e-12)
    assert out["drifts"][1]["after"] == 0.5  # 100 read of 200
    assert out["missed_calls"] == 1  # minute 12: aaa seen a minute before, no read


def test_missed_caching_pricing_and_insufficient_paths() -> None:
    """The report prices the calls the ledger judged missed (the rule: tests/test_cache_watch.py)."""
    assert missed_caching([]).usd is None and missed_caching([]).note == "no LLM calls"
    no_hash = missed_caching([call(0, prefix=None), call(1, prefix=None)])
    assert no_hash.usd is None and no_hash.note == "no call recorded a prompt prefix hash"
    unpriced = missed_caching([call(0, priced=False), call(1, priced=False, missed=True)])
    assert unpriced.usd is None and unpriced.calls == 1 and unpriced.note == "none of the 1 calls that missed the cache is priced"
    partial = missed_caching([call(0), call(1, priced=False, missed=True), call(2, missed=True)])
    assert partial.usd == pytest.approx(100 * (U_RATE - R_RATE), abs=1e-15) and partial.unpriced_calls == 1
    assert partial.note == "lower bound: 1 of 2 calls that missed the cache are unpriced"
    nothing_missed = missed_caching([call(0), call(1, cache_read=50), call(7)])
    assert nothing_missed.usd == 0.0 and nothing_missed.calls == 0 and nothing_missed.note is None


def test_cache_insufficient_paths() -> None:
    empty = cache([])
    assert empty["points"] == [] and empty["drifts"] == [] and empty["missed_caching_usd"] is None
    assert empty["insufficient"] == "no LLM calls"
    short = cache([call(m, cache_read=900 if m < 2 else 0) for m in range(3)])
    assert short["drifts"] == [] and short["insufficient"] == f"3 buckets with prompt tokens: drift detection needs {DRIFT_BASELINE} before the one it tests"
    instant = cache([call(0), call(0)])
    assert instant["points"] == [{"t": at(0), "t_end": at(0), "ratio": 0.0, "calls": 1}] * 2


def test_cache_buckets_hold_equal_call_counts_whatever_the_timing() -> None:
    """100 calls: buckets of ceil(100 / 40) = 3 consecutive calls (the last holds 1); the points are the same
    whether the calls were a second or an hour apart, so a replayed workload gives the same curve."""
    def run(spacing_s: float) -> list[tuple[float | None, int]]:
        calls = [CallRow(time_s=T0 + i * spacing_s, agent="a", provider="p", model="m", input=100, cache_read=(i % 5) * 100,
                         cache_write=0, output=1, cost=None, prefix_hash=None, task_id=None) for i in range(100)]
        out = cache(calls)
        assert out["bucket_calls"] == 3
        return [(p["ratio"], p["calls"]) for p in out["points"]]

    fast, slow = run(0.01), run(3600)
    assert fast == slow and len(fast) == 34 and fast[-1][1] == 1
    # The first bucket: reads 0, 100, 200 over prompts 100, 200, 300.
    assert fast[0][0] == pytest.approx(300 / 600, abs=1e-15)


def test_calls_that_did_not_report_cache_are_left_out_of_the_ratio() -> None:
    """The official openai-v2 instrumentation writes no cache attribute: unknown, not 0 cached."""
    calls = [call(0, input=100, cache_read=900), call(1, input=1000, cache_reported=False)]
    out = report_data([], calls)
    assert out["summary"]["cache_read_ratio"] == pytest.approx(900 / 1000, abs=1e-15)
    assert out["summary"]["cache_not_reported_calls"] == 1


# -- capability vector ------------------------------------------------------------------------------------------------


def capability_population() -> list[TaskRow]:
    """Version coder@1: 6 decided tasks with 1-6 LLM calls and outcomes S S S F S F (plus one unknown):
    success 4/6; fix (1-3) 3/3 and review (4-6) 1/3 -> consistency 1/3. Verification results recorded in the
    tasks with 1-4 calls, failed in the one with 2 -> pass rate 3/4. Tools: pytest 4 uses with 1 error, grep 4
    uses, no error -> reliability 7/8. Privacy: 3 findings over 1+...+7 = 28 calls."""
    plan = [(1, "fix", "success"), (2, "fix", "success"), (3, "fix", "success"), (4, "review", "failure"),
            (5, "review", "success"), (6, "review", "failure"), (7, "review", "unknown")]
    tasks = []
    for calls, name, outcome in plan:
        tools = (ToolUse("grep", False),) if calls <= 4 else ()
        if calls <= 4:
            tools += (ToolUse("pytest", calls == 2, phase="verification"),)
        verified = (calls != 2,) if calls <= 4 else ()
        tasks.append(task(name=name, outcome=outcome, llm_calls=calls, tools=tools, privacy=1 if calls in (1, 4, 7) else 0,
                          verifications=verified))
    tasks += [task(version="2", outcome="success"), task(version="2", outcome="failure")]
    return tasks


def test_capability_axes_on_a_hand_made_population() -> None:
    rows = capability(capability_population(), min_tasks=5)
    assert [r["version"] for r in rows] == ["coder@1", "coder@2"]
    v1, v2 = rows
    assert v1 == {
        "version": "coder@1", "tasks": 7, "task_success": pytest.approx(4 / 6, abs=1e-15), "verification_pass_rate": 0.75,
        "verifications": 4, "tool_reliability": 0.875, "privacy_findings_per_call": pytest.approx(3 / 28, abs=1e-15),
        "mode_consistency": pytest.approx(1 / 3, abs=1e-15), "notes": {},
    }
    assert v2["tasks"] == 2 and v2["privacy_findings_per_call"] == 0.0
    for axis in ("task_success", "verification_pass_rate", "tool_reliability", "mode_consistency"):
        assert v2[axis] is None and v2["notes"][axis]
    assert v2["notes"]["task_success"] == "2 decided tasks; need at least 5"
    assert v2["notes"]["mode_consistency"] == "1 task names with at least 2 decided tasks; need at least 2"
    assert v2["notes"]["tool_reliability"] == "no tool uses"


def test_capability_privacy_counts_own_calls() -> None:
    """A parent's llm_calls (10) includes its child's (4): 2 findings over 10 calls made, not 14."""
    nested = [task(task_id="parent", llm_calls=10, privacy=1), task(parent_id="parent", llm_calls=4, privacy=1)]
    (row,) = capability(nested, min_tasks=5)
    assert row["privacy_findings_per_call"] == pytest.approx(0.2, abs=1e-15)


# -- tool credit ---------------------------------------------------------------------------------------------------


def test_tool_credit_planted_lift() -> None:
    """search in 4 jobs (3 succeed), not in 4 (1 succeeds): lift 0.75 - 0.25 = 0.5. browse is used by a
    sub-task: its parent job gets the credit. rare is used once: no lift."""
    tasks = [task(outcome=o, tools=(ToolUse("search", False),)) for o in outcomes(3, 4)]
    tasks += [task(outcome=o, task_id=f"job{i}") for i, o in enumerate(outcomes(1, 4))]
    tasks += [task(parent_id="job0", outcome="failure", tools=(ToolUse("browse", True), ToolUse("rare", False))),
              task(parent_id="job1", outcome="failure", tools=(ToolUse("browse", False),))]
    tasks += [task(outcome="unknown", tools=(ToolUse("search", False),))]  # undecided: no credit either way
    rows = {r["tool"]: r for r in tool_credit(tasks)}
    assert list(rows) == ["browse", "rare", "search"]
    assert rows["search"] == {"tool": "search", "with_tasks": 4, "with_success_rate": 0.75, "without_tasks": 4,
                              "without_success_rate": 0.25, "lift": 0.5, "insufficient": None}
    # job0 (success) and job1 (failure) used browse through their sub-tasks; 3 + 0 of the other 6 succeeded.
    assert (rows["browse"]["with_tasks"], rows["browse"]["with_success_rate"]) == (2, 0.5)
    assert rows["browse"]["lift"] == pytest.approx(0.5 - 3 / 6, abs=1e-15)
    assert rows["rare"]["lift"] is None and rows["rare"]["with_tasks"] == 1 and rows["rare"]["with_success_rate"] == 1.0
    assert rows["rare"]["insufficient"] == "1 tasks with and 7 without; need at least 2 on each side"


# -- report_data ---------------------------------------------------------------------------------------------------


def test_report_data_shape_summary_and_json() -> None:
    tasks = planted_configurations() + capability_population()
    calls = drift_calls()
    data = report_data(tasks, calls)
    assert set(data) == TOP_KEYS
    json.dumps(data, allow_nan=False)  # only JSON types, no NaN or infinity
    summary = data["summary"]
    assert summary["tasks"] == len(tasks) and summary["llm_calls"] == 32
    # The headline spend is every priced call in the input, inside tasks or not (here: 32 calls outside tasks).
    assert summary["unpriced_tasks"] == 1 and summary["cost_complete"] is True and summary["unpriced_calls"] == 0
    assert summary["cost_usd"] == pytest.approx(32 * 0.001, abs=1e-15)
    assert (summary["in_tasks_usd"], summary["outside_tasks_usd"]) == (0.0, pytest.approx(32 * 0.001, abs=1e-15))
    assert "cost_usd" not in summary["notes"]
    assert summary["cache_read_ratio"] == pytest.approx(20 * 900 / (32 * 1000), abs=1e-15)
    assert summary["savings_usd"] == pytest.approx(20 * 900 * (U_RATE - R_RATE), abs=1e-15)
    assert summary["write_premium_usd"] == 0.0 and summary["savings_net_usd"] == summary["savings_usd"]
    assert summary["missed_caching_usd"] == data["cache"]["missed_caching_usd"] == pytest.approx(9 * 1000 * (U_RATE - R_RATE), abs=1e-15)
    for section in ("artifact_costs", "unproductive", "cost_of_pass", "pareto", "capability", "tool_credit"):
        assert isinstance(data[section], list)
    assert isinstance(data["cache"], dict) and isinstance(data["budget"], dict)


def test_report_data_on_nothing_is_all_unknown_not_zero() -> None:
    data = report_data([], [])
    assert set(data) == TOP_KEYS
    json.dumps(data, allow_nan=False)
    summary = data["summary"]
    assert (summary["tasks"], summary["llm_calls"], summary["unpriced_tasks"]) == (0, 0, 0)
    for key in ("cost_usd", "cache_read_ratio", "savings_usd", "missed_caching_usd"):
        assert summary[key] is None and summary["notes"][key]
    assert summary["cost_complete"] is False
    assert data["budget"]["r2"] is None
    assert data["budget"]["insufficient"] == "0 decided top-level tasks with a known budget (output tokens (reasoning included)); need at least 5"
    assert data["cache"]["insufficient"] == "no LLM calls"
    assert [data[k] for k in ("artifact_costs", "unproductive", "open_windows", "cost_of_pass", "pareto", "capability", "tool_credit")] == [[]] * 7


def test_unpriced_calls_give_no_savings_and_min_tasks_is_checked() -> None:
    data = report_data([], [call(0, priced=False)])
    assert data["summary"]["savings_usd"] is None and data["summary"]["notes"]["savings_usd"] == "no priced LLM calls"
    with pytest.raises(ValueError):
        report_data([], [], min_tasks=0)


def _walk(value: Any) -> None:
    assert value is None or isinstance(value, (str, int, float, bool, list, dict))
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            _walk(item)
    elif isinstance(value, list):
        for item in value:
            _walk(item)


def test_report_data_holds_only_json_types() -> None:
    _walk(report_data(planted_configurations() + capability_population(), drift_calls(), min_tasks=3))


def test_budget_axis_defaults_to_output_tokens_and_says_so() -> None:
    """Output tokens are the budget by default (the matched thinking budgets of arXiv:2604.02460): here they
    explain success while billed tokens (20,000 for all) explain nothing; `usd` reads the known cost."""
    tasks = [task(tokens=20_000 - 10**k, output=10**k, cost=0.001 * k, outcome="success" if k >= 3 else "failure") for k in (1, 2, 3, 4) for _ in range(2)]
    out = budget(tasks, min_tasks=5)
    assert out["axis"] == "output" and out["axis_label"] == "output tokens (reasoning included)"
    assert out["fitted_on"] == "success (1 or 0) ~ ln(output tokens (reasoning included)), least squares over 8 decided top-level tasks"
    assert out["r2"] == pytest.approx(0.8, abs=1e-12)  # the same planted relation as test_budget_planted_r2_and_fit_by_hand
    billed = budget(tasks, min_tasks=5, axis="billed")
    assert billed["r2"] is None and "no variance in budget" in billed["insufficient"]
    dollars = budget(tasks + [task(cost=None, output=50, outcome="success")], min_tasks=5, axis="usd")
    assert dollars["tasks"] == 8 and dollars["notes"]["excluded"].startswith("1 decided tasks used no budget (USD) or an unknown one")
    x = [math.log(0.001 * k) for k in (1, 2, 3, 4) for _ in range(2)]
    y = [1.0 if k >= 3 else 0.0 for k in (1, 2, 3, 4) for _ in range(2)]
    assert dollars["r2"] == pytest.approx(statistics.correlation(x, y) ** 2, abs=1e-12)
