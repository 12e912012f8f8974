"""The offline report's analyses: a population of tasks and calls in, a JSON-ready dict out.

Pure functions over `TaskRow`/`CallRow` (processors/_population.py): no OpenTelemetry, no I/O, standard
library only. Each analysis follows a finding in docs/metrics.md (with its source) and the cost attribution
there. Where the data cannot support a number the value is `None` and a sibling `insufficient` (or `notes`)
string says why: an unknown is never reported as 0 or as a guess. Money is in `_spend`, the cache over
time in `_cache_analysis`; this module holds outcomes (budget, cost of pass, Pareto frontier, capability,
tool credit) and the entry point.

Which tasks each analysis reads:

- A task's cost, tokens and `llm_calls` include its sub-tasks' (`_replay`), so analyses of *whole jobs*
  (budget, Pareto, tool credit, unproductive spend) read top-level tasks only; reading nested tasks too
  would count their spend twice.
- Analyses of *a kind of task* or *an agent version* (cost of pass, capability) read every task, nested
  ones included: a sub-task is an attempt of its own kind by its own agent, with its own outcome.
- Accepted artifacts (artifact costs) are booked on the task that produced them, nested or not; the
  attributable costs partition the spend, so every task contributes.
- Tool uses, verification results and privacy findings are recorded on the task that made them.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Callable, Sequence

from ._analysis_common import (
    INF,
    SUCCESS,
    Json,
    children,
    decided,
    group,
    own_calls,
    ratio,
    subtree_tools,
    success_rate,
    top_level,
    version_key,
)
from ._cache_analysis import DRIFT_BASELINE, cache, missed_caching
from ._population import CallRow, OpenWindow, TaskRow, WindowArtifact
from ._spend import artifact_costs, open_windows, spend_breakdown, summary, unproductive
from ._trajectory import table as trajectory_table

__all__ = [
    "BUDGET_AXES",
    "DRIFT_BASELINE",
    "INF",
    "artifact_costs",
    "budget",
    "cache",
    "capability",
    "cost_of_pass",
    "missed_caching",
    "pareto",
    "report_data",
    "summary",
    "tool_credit",
    "unproductive",
    "version_key",
]

MIN_BINS, MAX_BINS = 4, 8
CURVE_POINTS = 20

BUDGET_AXES: dict[str, tuple[str, Callable[[TaskRow], float | None]]] = {
    "output": ("output tokens (reasoning included)", lambda t: t.output),
    "billed": ("billed tokens (uncached input, cache reads and writes, output)", lambda t: t.tokens),
    "usd": ("USD", lambda t: t.cost),
}
"""What "budget" means: output tokens by default, as the matched thinking-token budgets of the single- vs
multi-agent study; billed tokens (mostly cache reads in a persistent agent) or dollars on request."""


# -- performance at a fixed budget ----------------------------------------------------------------------------


def _bin_starts(values: Sequence[float], count: int) -> list[float]:
    """Quantile edges: the first value of each of `count` equal-count chunks of the sorted values
    (tied edges merge, so heavy ties give fewer bins)."""
    ordered = sorted(values)
    return sorted({ordered[i * len(ordered) // count] for i in range(count)})


def _bins(points: Sequence[tuple[float, TaskRow]], min_tasks: int) -> list[tuple[float, float, list[TaskRow]]]:
    """Quantile bins (lo inclusive, hi exclusive; the last bin includes its hi, the largest budget).
    About `min_tasks` tasks per bin, clamped to 4-8 bins."""
    count = min(MAX_BINS, max(MIN_BINS, len(points) // min_tasks))
    starts = _bin_starts([v for v, _ in points], count)
    top = max(v for v, _ in points)
    out = []
    for i, lo in enumerate(starts):
        last = i == len(starts) - 1
        hi = top if last else starts[i + 1]
        members = [t for v, t in points if lo <= v and (v <= hi if last else v < hi)]
        out.append((lo, hi, members))
    return out


def _least_squares(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """(a, b, R²) of y = a + b·x: R² = 1 - SSE/SST, the share of the variance of y the fit explains."""
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxx = math.fsum((xi - mx) ** 2 for xi in x)
    sxy = math.fsum((xi - mx) * (yi - my) for xi, yi in zip(x, y))
    sst = math.fsum((yi - my) ** 2 for yi in y)
    b = sxy / sxx
    a = my - b * mx
    sse = math.fsum((yi - a - b * xi) ** 2 for xi, yi in zip(x, y))
    return a, b, 1 - sse / sst


def _version_rows(bins: Sequence[tuple[float, float, list[TaskRow]]]) -> list[Json]:
    """Versions compared within matched budgets: per bin, every version with >= 2 tasks, when at least two
    versions qualify (comparing across budgets would credit a version for spending more)."""
    rows = []
    for lo, hi, members in bins:
        by_version = group(members, lambda t: version_key(t.agent, t.version))
        qualified = sorted(v for v, g in by_version.items() if len(g) >= 2)
        if len(qualified) < 2:
            continue
        for version in qualified:
            members_of = by_version[version]
            rows.append({"lo": lo, "hi": hi, "version": version, "tasks": len(members_of), "success_rate": success_rate(members_of)})
    return rows


def budget(tasks: Sequence[TaskRow], *, min_tasks: int, axis: str = "output") -> Json:
    """Success against the budget each decided top-level task used (sub-tasks included): how much of success
    the budget explains (R² of success, 0 or 1, on ln budget, least squares), success by budget bin, and
    versions compared within the same bin. `axis` is a key of BUDGET_AXES."""
    label, value = BUDGET_AXES[axis]
    jobs = decided(top_level(tasks))
    points = [(float(v), t) for t in jobs if (v := value(t)) is not None and v > 0]
    notes: dict[str, str] = {}
    if len(points) < len(jobs):
        notes["excluded"] = f"{len(jobs) - len(points)} decided tasks used no budget ({label}) or an unknown one and are left out"
    out: Json = {"axis": axis, "axis_label": label, "fitted_on": f"success (1 or 0) ~ ln({label}), least squares over {len(points)} decided top-level tasks",
                 "tasks": len(points), "bins": [], "r2": None, "fit": None, "curve": [], "versions": [], "insufficient": None, "notes": notes}
    if len(points) < min_tasks:
        out["insufficient"] = f"{len(points)} decided top-level tasks with a known budget ({label}); need at least {min_tasks}"
        return out
    bins = _bins(points, min_tasks)
    out["bins"] = [{"lo": lo, "hi": hi, "tasks": len(m), "success_rate": success_rate(m)} for lo, hi, m in bins]
    if len(bins) < MIN_BINS:
        notes["bins"] = f"tied budgets: only {len(bins)} distinct quantile edges"
    out["versions"] = _version_rows(bins)
    if not out["versions"]:
        notes["versions"] = "no budget bin holds two versions with at least 2 tasks each"
    x = [math.log(v) for v, _ in points]
    y = [1.0 if t.outcome == SUCCESS else 0.0 for _, t in points]
    if len(set(y)) < 2:
        out["insufficient"] = "no variance in success (every task " + ("succeeded)" if y[0] else "failed)")
        return out
    if len(set(x)) < 2:
        out["insufficient"] = "no variance in budget (every task used the same)"
        return out
    a, b, r2 = _least_squares(x, y)
    out["r2"], out["fit"] = r2, {"a": a, "b": b}
    lo_x, hi_x = min(x), max(x)
    out["curve"] = [
        {"tokens": math.exp(xi), "p": min(1.0, max(0.0, a + b * xi))}
        for xi in (lo_x + (hi_x - lo_x) * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS))
    ]
    return out


# -- cost of pass, Pareto frontier -----------------------------------------------------------------------------


def _mean_known_cost(tasks: Sequence[TaskRow]) -> tuple[float, int]:
    """Mean cost over every task, unpriced parts left out (then a lower bound), and how many had an unpriced call."""
    return math.fsum(t.cost_known for t in tasks) / len(tasks), sum(t.cost is None for t in tasks)


def _cost_of_pass_row(task: str, agent: str, configuration: str, attempts: Sequence[TaskRow], min_tasks: int) -> Json:
    """E[cost per attempt] / success rate (Erol et al. 2025). The mean cost is over every attempt (an
    attempt with an unknown outcome still cost money); the success rate over the decided ones, which must
    number at least `min_tasks`. An attempt with an unpriced call makes both a lower bound, flagged."""
    known = decided(attempts)
    successes = sum(t.outcome == SUCCESS for t in known)
    mean_cost, unpriced = _mean_known_cost(attempts)
    row: Json = {"task": task, "agent": agent, "configuration": configuration, "attempts": len(attempts), "decided": len(known),
                 "successes": successes, "mean_cost": mean_cost, "cost_of_pass": None, "lower_bound": unpriced > 0,
                 "frontier": False, "insufficient": None, "notes": {}}
    if unpriced:
        row["notes"]["lower_bound"] = f"{unpriced} of {len(attempts)} attempts contain an unpriced call: costs are lower bounds"
    if not known:
        row["insufficient"] = "no attempt has a recorded outcome"
    elif len(known) < min_tasks:
        row["insufficient"] = f"{len(known)} attempts with a recorded outcome; need at least {min_tasks}"
    elif successes == 0:
        row["cost_of_pass"] = INF
    else:
        row["cost_of_pass"] = mean_cost / (successes / len(known))
    return row


def cost_of_pass(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Cost of pass per (task kind, agent, configuration), every task (nested ones are attempts of their kind).
    The frontier cost of pass of a (kind, agent) is the minimum over its configurations (Erol et al. 2025):
    that configuration's row has `frontier` set (only rows with a complete cost compete)."""
    groups = group(tasks, lambda t: (t.name, t.agent, t.configuration))
    rows = [_cost_of_pass_row(name, agent, conf, groups[(name, agent, conf)], min_tasks) for name, agent, conf in sorted(groups)]
    for _, candidates in group(rows, lambda r: (r["task"], r["agent"])).items():
        # A lower bound cannot be the minimum: its true cost of pass may be higher.
        finite = [r for r in candidates if isinstance(r["cost_of_pass"], float) and not r["lower_bound"]]
        if finite:
            min(finite, key=lambda r: (r["cost_of_pass"], r["configuration"]))["frontier"] = True
    return rows


def _dominates(a: Json, b: Json) -> bool:
    """a is at most as costly and at least as successful as b, and strictly better on one. A lower-bound cost
    dominates nothing (the true cost may be higher), but can be dominated (it is at least that high)."""
    return (not a["lower_bound"] and a["mean_cost"] <= b["mean_cost"] and a["success_rate"] >= b["success_rate"]
            and (a["mean_cost"] < b["mean_cost"] or a["success_rate"] > b["success_rate"]))


def pareto(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Mean cost per task against success rate across configurations (Kapoor et al. 2024: report both;
    cheap baselines often dominate). Decided top-level tasks only; a configuration needs `min_tasks` of
    them. One with an unpriced call stays on the chart at its lower-bound cost, flagged."""
    groups = group(decided(top_level(tasks)), lambda t: t.configuration)
    eligible: list[Json] = []
    ineligible: list[Json] = []
    for configuration, members in groups.items():
        row: Json = {"configuration": configuration, "tasks": len(members), "mean_cost": None, "success_rate": None,
                     "lower_bound": False, "frontier": None, "dominated_by": None, "insufficient": None, "notes": {}}
        if len(members) < min_tasks:
            row["insufficient"] = f"{len(members)} decided top-level tasks; need at least {min_tasks}"
            ineligible.append(row)
            continue
        row["mean_cost"], unpriced = _mean_known_cost(members)
        row["success_rate"] = success_rate(members)
        if unpriced:
            row["lower_bound"] = True
            row["notes"]["lower_bound"] = f"{unpriced} of {len(members)} tasks contain an unpriced call: the cost is a lower bound"
        eligible.append(row)
    for row in eligible:
        row["frontier"] = not any(_dominates(o, row) for o in eligible)
    for row in eligible:
        # Dominance is transitive, so a dominated configuration is always dominated by a frontier one: name
        # the cheapest (then most successful) of those.
        best = sorted((o for o in eligible if o["frontier"] and _dominates(o, row)),
                      key=lambda o: (o["mean_cost"], -o["success_rate"], o["configuration"]))
        row["dominated_by"] = best[0]["configuration"] if best else None
    eligible.sort(key=lambda r: (r["mean_cost"], -r["success_rate"], r["configuration"]))
    ineligible.sort(key=lambda r: r["configuration"])
    return eligible + ineligible


# -- capability vector -----------------------------------------------------------------------------------------


def _mode_consistency(known: Sequence[TaskRow]) -> tuple[float | None, str | None]:
    """1 - spread of success rates across task names: an agent good at one kind and poor at another is
    inconsistent even when its overall rate looks fine."""
    rates = [success_rate(g) for g in group(known, lambda t: t.name).values() if len(g) >= 2]
    rated = [r for r in rates if r is not None]
    if len(rated) < 2:
        return None, f"{len(rated)} task names with at least 2 decided tasks; need at least 2"
    return 1 - (max(rated) - min(rated)), None


def _capability_row(version: str, members: Sequence[TaskRow], calls_of: dict[str, int], min_tasks: int) -> Json:
    notes: dict[str, str] = {}
    known = decided(members)
    task_success = success_rate(known) if len(known) >= min_tasks else None
    if task_success is None:
        notes["task_success"] = f"{len(known)} decided tasks; need at least {min_tasks}"
    results = [passed for t in members for passed in t.verifications]
    verification_pass = ratio(sum(results), len(results))
    if verification_pass is None:
        notes["verification_pass_rate"] = "no verification results recorded (with agentyield.verification(...) as check: check.passed(ok))"
    uses = [u for t in members for u in t.tools]
    reliability = 1 - sum(u.error for u in uses) / len(uses) if uses else None
    if reliability is None:
        notes["tool_reliability"] = "no tool uses"
    calls = sum(calls_of[t.task_id] for t in members)
    scanned = [t for t in members if t.privacy_findings is not None]
    privacy = ratio(sum(t.privacy_findings or 0 for t in scanned), calls) if scanned else None
    if not scanned:
        notes["privacy_findings_per_call"] = "no call was scanned (instrument(privacy_scan=True))"
    elif privacy is None:
        notes["privacy_findings_per_call"] = "no LLM calls"
    consistency, why = _mode_consistency(known)
    if why:
        notes["mode_consistency"] = why
    return {
        "version": version,
        "tasks": len(members),
        "task_success": task_success,
        "verification_pass_rate": verification_pass,
        "verifications": len(results),
        "tool_reliability": reliability,
        "privacy_findings_per_call": privacy,
        "mode_consistency": consistency,
        "notes": notes,
    }


def capability(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Capability as a vector per agent version, never one score (a single score hides cost, safety and
    robustness). Every task of the version, nested ones included; privacy findings are per own call (a
    task's `llm_calls` includes its sub-tasks')."""
    calls_of = own_calls(tasks)
    groups = group(tasks, lambda t: version_key(t.agent, t.version))
    return [_capability_row(v, groups[v], calls_of, min_tasks) for v in sorted(groups)]


# -- tool credit --------------------------------------------------------------------------------------------------


def tool_credit(tasks: Sequence[TaskRow]) -> list[Json]:
    """Success lift per tool: success rate of decided top-level jobs that used the tool (anywhere in their
    sub-task tree) minus that of those that did not. A correlation, not a causal effect."""
    kids = children(tasks)
    jobs = [(t, {u.name for u in subtree_tools(t, kids)}) for t in decided(top_level(tasks))]
    rows = []
    for tool in sorted({name for _, names in jobs for name in names}):
        with_ = [t for t, names in jobs if tool in names]
        without = [t for t, names in jobs if tool not in names]
        with_rate, without_rate = success_rate(with_), success_rate(without)
        enough = len(with_) >= 2 and len(without) >= 2
        rows.append({
            "tool": tool,
            "with_tasks": len(with_),
            "with_success_rate": with_rate,
            "without_tasks": len(without),
            "without_success_rate": without_rate,
            "lift": with_rate - without_rate if enough and with_rate is not None and without_rate is not None else None,
            "insufficient": None if enough else f"{len(with_)} tasks with and {len(without)} without; need at least 2 on each side",
        })
    return rows


# -- entry point --------------------------------------------------------------------------------------------------


def report_data(
    tasks: list[TaskRow],
    calls: list[CallRow],
    *,
    windows: Sequence[WindowArtifact] = (),
    still_open: Sequence[OpenWindow] = (),
    min_tasks: int = 5,
    budget_axis: str = "output",
) -> dict[str, Any]:
    """Every analysis of the offline report, JSON-serializable (str, int, float, bool, None, list, dict)."""
    if min_tasks < 1:
        raise ValueError("min_tasks must be at least 1")
    if budget_axis not in BUDGET_AXES:
        raise ValueError(f"budget axis must be one of {sorted(BUDGET_AXES)}, not {budget_axis!r}")
    missed = missed_caching(calls)
    return {
        "summary": {**summary(tasks, calls, missed.usd, missed.note), "spend": spend_breakdown(tasks, calls, windows, still_open)},
        "artifact_costs": artifact_costs(tasks, windows),
        "unproductive": unproductive(tasks, windows),
        "open_windows": open_windows(still_open),
        "cache": cache(calls, missed),
        "budget": budget(tasks, min_tasks=min_tasks, axis=budget_axis),
        "cost_of_pass": cost_of_pass(tasks, min_tasks=min_tasks),
        "pareto": pareto(tasks, min_tasks=min_tasks),
        "capability": capability(tasks, min_tasks=min_tasks),
        "tool_credit": tool_credit(tasks),
        "trajectory": trajectory_table(tasks),
    }
