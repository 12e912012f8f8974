"""The offline report's analyses: a population of tasks and calls in, a JSON-ready dict out.

Pure functions over `TaskRow`/`CallRow` (processors/_population.py): no OpenTelemetry, no I/O, standard
library only. Each analysis follows a finding in /work/shared/reference/papers.md and the cost attribution
of docs/metrics.md. Where the data cannot support a number the value is `None` and a sibling `insufficient`
(or `notes`) string says why: an unknown is never reported as 0 or as a guess.

Which tasks each analysis reads:

- A task's cost, tokens and `llm_calls` include its sub-tasks' (`_replay`), so analyses of *whole jobs*
  (budget, Pareto, tool credit, unproductive spend, the summary's cost) read top-level tasks only;
  reading nested tasks too would count their spend twice.
- Analyses of *a kind of task* or *an agent version* (cost of pass, capability) read every task, nested
  ones included: a sub-task is an attempt of its own kind by its own agent, with its own outcome.
- Accepted artifacts (artifact costs) are booked on the task that produced them, nested or not; the
  attributable costs partition the spend, so every task contributes.
- Tool uses and privacy findings are recorded on the task that made them (not on its ancestors).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from ._population import CallRow, TaskRow, ToolUse, WindowArtifact

__all__ = [
    "BucketGrid",
    "MissedCaching",
    "artifact_costs",
    "budget",
    "cache",
    "capability",
    "cost_of_pass",
    "missed_caching",
    "pareto",
    "report_data",
    "summary",
    "time_buckets",
    "tool_credit",
    "unproductive",
    "version_key",
]

INF = "inf"
"""Cost of pass of a configuration that never succeeds (JSON has no infinity)."""
SUCCESS, FAILURE = "success", "failure"
DECIDED = (SUCCESS, FAILURE)
DRIFT_DROP = 0.2
"""A bucket's cache-read ratio this far below its baseline is a drift."""
DRIFT_BASELINE = 3
"""Buckets averaged into the baseline a drift is measured against."""
CACHE_TTL_S = 300.0
"""A prefix seen from the same agent this recently should have been read from the prompt cache."""
MIN_BUCKETS, TARGET_BUCKETS, MAX_BUCKETS = 10, 30, 60
BUCKET_SIZES_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                  86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)
"""Readable bucket widths; consecutive ones differ by at most 3.5x, so most spans find one giving 10-60 buckets."""
MIN_BINS, MAX_BINS = 4, 8
CURVE_POINTS = 20

Json = dict[str, Any]


# -- small shared helpers --------------------------------------------------------------------------------


def version_key(agent: str, version: str | None) -> str:
    """`agent@version`, the prefix of `TaskRow.configuration`: what capability and budget compare."""
    return f"{agent}@{version or '-'}"


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def _decided(tasks: Iterable[TaskRow]) -> list[TaskRow]:
    """Tasks with a recorded outcome: unknown outcomes say nothing about success."""
    return [t for t in tasks if t.outcome in DECIDED]


def _top_level(tasks: Iterable[TaskRow]) -> list[TaskRow]:
    """Whole jobs: their cost and tokens already include every sub-task's."""
    return [t for t in tasks if t.parent_id is None]


def _success_rate(tasks: Sequence[TaskRow]) -> float | None:
    """Share of successes among decided tasks; None when none is decided."""
    decided = _decided(tasks)
    return sum(t.outcome == SUCCESS for t in decided) / len(decided) if decided else None


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _group(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def _children(tasks: Sequence[TaskRow]) -> dict[str, list[TaskRow]]:
    return _group((t for t in tasks if t.parent_id is not None), lambda t: t.parent_id)


def _subtree_tools(task: TaskRow, children: dict[str, list[TaskRow]]) -> list[ToolUse]:
    """The tools a whole job used: its own and every descendant's (each task records only its own)."""
    out: list[ToolUse] = []
    stack, seen = [task], set()
    while stack:
        current = stack.pop()
        if current.task_id in seen:  # a malformed population with a cycle must not loop forever
            continue
        seen.add(current.task_id)
        out.extend(current.tools)
        stack.extend(children.get(current.task_id, ()))
    return out


def _own_calls(tasks: Sequence[TaskRow]) -> dict[str, int]:
    """LLM calls a task made itself: `llm_calls` counts its sub-tasks' calls too."""
    children = _children(tasks)
    return {t.task_id: max(0, t.llm_calls - sum(c.llm_calls for c in children.get(t.task_id, ()))) for t in tasks}


def _priced(call: CallRow) -> bool:
    """Both cache rates known: the call's savings and missed caching can be priced."""
    return call.uncached_input_rate is not None and call.cache_read_rate is not None


def _cache_discount(call: CallRow) -> float:
    """USD saved per token read from cache instead of sent uncached."""
    assert call.uncached_input_rate is not None and call.cache_read_rate is not None
    return call.uncached_input_rate - call.cache_read_rate


def _cache_read_ratio(calls: Iterable[CallRow]) -> float | None:
    """cache_read / (input + cache_read + cache_write): a ratio of sums, never a mean of per-call ratios."""
    read = prompt = 0
    for call in calls:
        read += call.cache_read
        prompt += call.input + call.cache_read + call.cache_write
    return _ratio(read, prompt)


def _dominant(values: Iterable[str | None]) -> str | None:
    """The most frequent non-null value (ties: the smallest, so the answer is deterministic)."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], v))


# -- summary ------------------------------------------------------------------------------------------------


def summary(tasks: Sequence[TaskRow], calls: Sequence[CallRow], missed: MissedCaching) -> Json:
    """Totals a reader checks first. Cost is summed over top-level tasks (which include their sub-tasks);
    when some are unpriced it is the sum of the known ones and `cost_complete` is false."""
    notes: dict[str, str] = {}
    top = _top_level(tasks)
    known = [t.cost for t in top if t.cost is not None]
    cost = math.fsum(known) if known else None
    if not top:
        notes["cost_usd"] = "no top-level tasks"
    elif not known:
        notes["cost_usd"] = "no top-level task has a known cost (every one contains an unpriced call)"
    elif len(known) < len(top):
        notes["cost_usd"] = f"lower bound: {len(top) - len(known)} of {len(top)} top-level tasks have an unknown cost"
    ratio = _cache_read_ratio(calls)
    if ratio is None:
        notes["cache_read_ratio"] = "no LLM calls with prompt tokens"
    priced = [c for c in calls if _priced(c)]
    savings = math.fsum(c.cache_read * _cache_discount(c) for c in priced) if priced else None
    if savings is None:
        notes["savings_usd"] = "no priced LLM calls"
    if missed.note is not None:
        notes["missed_caching_usd"] = missed.note
    return {
        "tasks": len(tasks),
        "top_level_tasks": len(top),
        "llm_calls": len(calls),
        "cost_usd": cost,
        "cost_complete": bool(top) and len(known) == len(top),
        "unpriced_tasks": sum(t.cost is None for t in tasks),
        "cache_read_ratio": ratio,
        "savings_usd": savings,
        "missed_caching_usd": missed.usd,
        "notes": notes,
    }


# -- cost per accepted artifact, unproductive spend -----------------------------------------------------------


def artifact_costs(tasks: Sequence[TaskRow], windows: Sequence[WindowArtifact] = ()) -> list[Json]:
    """Cost per accepted artifact by (agent, version, kind), as the live `agentyield.artifact.cost.usd`:
    each accepted artifact of a task costs attributable_cost / accepted artifacts of that task, and an
    accepted artifact outside any task costs its agent's spend window.
    `accepted` counts every accepted artifact, `priced` those whose task's attributable cost is known; the
    mean is over the priced ones."""
    shares: dict[tuple[str, str | None, str], list[float | None]] = defaultdict(list)
    for task in tasks:
        if not task.accepted_kinds:
            continue
        share = task.attributable_cost / len(task.accepted_kinds) if task.attributable_cost is not None else None
        for kind in task.accepted_kinds:
            shares[(task.agent, task.version, kind)].append(share)
    for window in windows:
        if window.accepted:
            shares[(window.agent, None, window.kind)].append(window.cost)
    rows = []
    for (agent, version, kind), values in shares.items():
        known = [v for v in values if v is not None]
        rows.append({
            "agent": agent,
            "version": version,
            "kind": kind,
            "accepted": len(values),
            "priced": len(known),
            "cost_per_artifact": math.fsum(known) / len(known) if known else None,
            "insufficient": None if known else "every accepted artifact's task contains an unpriced call",
        })
    return sorted(rows, key=lambda r: (r["agent"], r["version"] or "", r["kind"]))


def unproductive(tasks: Sequence[TaskRow], windows: Sequence[WindowArtifact] = ()) -> list[Json]:
    """Spend of top-level tasks that produced no accepted artifact, by (agent, version, task name), as the
    live `agentyield.unproductive.cost.usd`: their attributable cost (own spend plus unproductive
    sub-tasks'; productive sub-tasks' spend is already on their artifacts). `tasks` counts the tasks with a
    known cost, `unpriced_tasks` the others (not in `cost_usd`)."""
    groups = _group((t for t in _top_level(tasks) if not t.accepted_kinds), lambda t: (t.agent, t.version, t.name))
    rows = []
    for (agent, version, name), group in groups.items():
        known = [t.attributable_cost for t in group if t.attributable_cost is not None]
        rows.append({
            "agent": agent,
            "version": version,
            "task": name,
            "tasks": len(known),
            "unpriced_tasks": len(group) - len(known),
            "cost_usd": math.fsum(known) if known else None,
            "insufficient": None if known else "every such task contains an unpriced call",
        })
    # A persistent agent's artifact that was not accepted leaves its window's spend unproductive.
    for agent, group in _group((w for w in windows if not w.accepted), lambda w: w.agent).items():
        known = [w.cost for w in group if w.cost is not None]
        rows.append({
            "agent": agent,
            "version": None,
            "task": "(window)",
            "tasks": len(known),
            "unpriced_tasks": len(group) - len(known),
            "cost_usd": math.fsum(known) if known else None,
            "insufficient": None if known else "every such window contains an unpriced call",
        })
    return sorted(rows, key=lambda r: (r["agent"], r["version"] or "", r["task"]))


# -- cache-read ratio over time, drifts, missed caching --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BucketGrid:
    origin: float
    size: float
    count: int

    def index(self, t: float) -> int:
        return min(self.count - 1, max(0, int((t - self.origin) // self.size)))


def time_buckets(first: float, last: float) -> BucketGrid:
    """A grid of 10-60 buckets over [first, last]: the readable width (aligned to the epoch, so buckets
    start on whole minutes, hours, ...) giving the count closest to 30; when no readable width fits (spans
    under ~10 s or over years), 30 equal buckets from `first`. All at one instant: a single bucket."""
    if last <= first:
        return BucketGrid(first, 1.0, 1)
    fits = []
    for size in BUCKET_SIZES_S:
        origin = math.floor(first / size) * size
        count = math.floor(last / size) - math.floor(first / size) + 1
        if MIN_BUCKETS <= count <= MAX_BUCKETS:
            fits.append((abs(count - TARGET_BUCKETS), -size, BucketGrid(float(origin), float(size), count)))
    if fits:
        return min(fits, key=lambda f: f[:2])[2]
    return BucketGrid(first, (last - first) / TARGET_BUCKETS, TARGET_BUCKETS)


@dataclass(slots=True)
class _Bucket:
    start: float
    calls: list[CallRow]
    ratio: float | None


def _cache_buckets(calls: Sequence[CallRow]) -> tuple[BucketGrid, list[_Bucket]]:
    """Non-empty buckets in time order, each with its calls and their pooled cache-read ratio."""
    grid = time_buckets(min(c.time_s for c in calls), max(c.time_s for c in calls))
    by_index = _group(calls, lambda c: grid.index(c.time_s))
    buckets = [_Bucket(grid.origin + i * grid.size, by_index[i], _cache_read_ratio(by_index[i])) for i in sorted(by_index)]
    return grid, buckets


def _drift_cause(baseline: Sequence[_Bucket], bucket: _Bucket) -> str:
    """Why the cache stopped hitting: a new dominant prompt prefix (the cache key) first, then a new
    dominant model (caches are per model); else unknown."""
    before_calls = [c for b in baseline for c in b.calls]
    old, new = _dominant(c.prefix_hash for c in before_calls), _dominant(c.prefix_hash for c in bucket.calls)
    if old is not None and new is not None and old != new:
        return f"prompt prefix changed ({old} -> {new})"
    old, new = _dominant(c.model for c in before_calls), _dominant(c.model for c in bucket.calls)
    if old is not None and new is not None and old != new:
        return f"model changed ({old} -> {new})"
    return "unknown"


def _drifts(buckets: Sequence[_Bucket]) -> list[Json]:
    """Buckets whose ratio falls more than DRIFT_DROP below the mean of the previous DRIFT_BASELINE
    buckets (buckets without calls or prompt tokens have no ratio and are skipped). One drop is one drift: a run of consecutive low buckets is reported at its first bucket
    (the following ones are low against a baseline that still holds the pre-drop buckets)."""
    rated = [b for b in buckets if b.ratio is not None]
    out: list[Json] = []
    previous_low = False
    for i in range(DRIFT_BASELINE, len(rated)):
        baseline = rated[i - DRIFT_BASELINE:i]
        before = statistics.fmean(b.ratio for b in baseline if b.ratio is not None)
        after = rated[i].ratio
        assert after is not None
        low = before - after > DRIFT_DROP
        if low and not previous_low:
            out.append({"t": _iso(rated[i].start), "before": before, "after": after, "cause": _drift_cause(baseline, rated[i])})
        previous_low = low
    return out


@dataclass(frozen=True, slots=True)
class MissedCaching:
    usd: float | None
    calls: int
    unpriced_calls: int
    note: str | None


def missed_caching(calls: Sequence[CallRow]) -> MissedCaching:
    """Calls that re-sent a prefix their agent had sent within CACHE_TTL_S yet read nothing from cache:
    their uncached input, priced at what a cache read would have saved."""
    if not calls:
        return MissedCaching(None, 0, 0, "no LLM calls")
    if all(c.prefix_hash is None for c in calls):
        return MissedCaching(None, 0, 0, "no call recorded a prompt prefix hash")
    last_seen: dict[tuple[str, str], float] = {}
    missed: list[CallRow] = []
    for _, call in sorted(enumerate(calls), key=lambda ic: (ic[1].time_s, ic[0])):
        if call.prefix_hash is None:
            continue
        key = (call.agent, call.prefix_hash)
        seen = last_seen.get(key)
        if seen is not None and call.time_s - seen <= CACHE_TTL_S and call.cache_read == 0:
            missed.append(call)
        last_seen[key] = call.time_s
    priced = [c for c in missed if _priced(c)]
    unpriced = len(missed) - len(priced)
    if missed and not priced:
        return MissedCaching(None, len(missed), unpriced, f"none of the {len(missed)} calls that missed the cache is priced")
    note = f"lower bound: {unpriced} of {len(missed)} calls that missed the cache are unpriced" if unpriced else None
    return MissedCaching(math.fsum(c.input * _cache_discount(c) for c in priced), len(missed), unpriced, note)


def cache(calls: Sequence[CallRow], missed: MissedCaching | None = None) -> Json:
    """Cache-read ratio over time, its drifts with their likely cause, and the dollars missed caching cost."""
    missed = missed or missed_caching(calls)
    notes = {"missed_caching_usd": missed.note} if missed.note else {}
    if not calls:
        return {"bucket_s": None, "points": [], "drifts": [], "missed_caching_usd": None, "missed_calls": 0,
                "insufficient": "no LLM calls", "notes": notes}
    grid, buckets = _cache_buckets(calls)
    rated = sum(b.ratio is not None for b in buckets)
    insufficient = None
    if rated <= DRIFT_BASELINE:
        insufficient = f"{rated} time buckets with prompt tokens: drift detection needs {DRIFT_BASELINE} before the one it tests"
    return {
        "bucket_s": grid.size,
        "points": [{"t": _iso(b.start), "ratio": b.ratio, "calls": len(b.calls)} for b in buckets],
        "drifts": _drifts(buckets),
        "missed_caching_usd": missed.usd,
        "missed_calls": missed.calls,
        "insufficient": insufficient,
        "notes": notes,
    }


# -- performance at a fixed token budget -----------------------------------------------------------------------


def _bin_starts(tokens: Sequence[int], count: int) -> list[int]:
    """Quantile edges: the first value of each of `count` equal-count chunks of the sorted tokens
    (tied edges merge, so heavy ties give fewer bins)."""
    ordered = sorted(tokens)
    return sorted({ordered[i * len(ordered) // count] for i in range(count)})


def _bins(tasks: Sequence[TaskRow], min_tasks: int) -> list[tuple[int, int, list[TaskRow]]]:
    """Quantile bins (lo inclusive, hi exclusive; the last bin includes its hi, the largest budget).
    About `min_tasks` tasks per bin, clamped to 4-8 bins."""
    count = min(MAX_BINS, max(MIN_BINS, len(tasks) // min_tasks))
    starts = _bin_starts([t.tokens for t in tasks], count)
    top = max(t.tokens for t in tasks)
    out = []
    for i, lo in enumerate(starts):
        last = i == len(starts) - 1
        hi = top if last else starts[i + 1]
        members = [t for t in tasks if lo <= t.tokens and (t.tokens <= hi if last else t.tokens < hi)]
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


def _version_rows(bins: Sequence[tuple[int, int, list[TaskRow]]]) -> list[Json]:
    """Versions compared within matched budgets: per bin, every version with >= 2 tasks, when at least two
    versions qualify (comparing across budgets would credit a version for spending more)."""
    rows = []
    for lo, hi, members in bins:
        by_version = _group(members, lambda t: version_key(t.agent, t.version))
        qualified = sorted(v for v, group in by_version.items() if len(group) >= 2)
        if len(qualified) < 2:
            continue
        for version in qualified:
            group = by_version[version]
            rows.append({"lo": lo, "hi": hi, "version": version, "tasks": len(group), "success_rate": _success_rate(group)})
    return rows


def budget(tasks: Sequence[TaskRow], *, min_tasks: int) -> Json:
    """Success against total tokens (sub-tasks included) of decided top-level tasks: how much of success
    the token budget explains (R² of success on ln tokens), success by budget bin, and versions compared
    within the same bin."""
    decided = _decided(_top_level(tasks))
    used = [t for t in decided if t.tokens > 0]
    notes: dict[str, str] = {}
    if len(used) < len(decided):
        notes["excluded"] = f"{len(decided) - len(used)} decided tasks used no tokens (ln 0 is undefined)"
    out: Json = {"tasks": len(used), "bins": [], "r2": None, "fit": None, "curve": [], "versions": [], "insufficient": None, "notes": notes}
    if len(used) < min_tasks:
        out["insufficient"] = f"{len(used)} decided top-level tasks with tokens; need at least {min_tasks}"
        return out
    bins = _bins(used, min_tasks)
    out["bins"] = [{"lo": lo, "hi": hi, "tasks": len(m), "success_rate": _success_rate(m)} for lo, hi, m in bins]
    if len(bins) < MIN_BINS:
        notes["bins"] = f"tied budgets: only {len(bins)} distinct quantile edges"
    out["versions"] = _version_rows(bins)
    if not out["versions"]:
        notes["versions"] = "no budget bin holds two versions with at least 2 tasks each"
    x = [math.log(t.tokens) for t in used]
    y = [1.0 if t.outcome == SUCCESS else 0.0 for t in used]
    if len(set(y)) < 2:
        out["insufficient"] = "no variance in success (every task " + ("succeeded)" if y[0] else "failed)")
        return out
    if len(set(x)) < 2:
        out["insufficient"] = "no variance in tokens (every task used the same budget)"
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


def _cost_of_pass_row(task: str, configuration: str, attempts: Sequence[TaskRow], min_tasks: int) -> Json:
    """E[cost per attempt] / success rate (Erol et al. 2025). The mean cost is over every attempt (an
    attempt with an unknown outcome still cost money); the success rate over the decided ones, which must
    number at least `min_tasks`."""
    decided = _decided(attempts)
    successes = sum(t.outcome == SUCCESS for t in decided)
    costs = [t.cost for t in attempts]
    mean_cost = math.fsum(c for c in costs if c is not None) / len(costs) if None not in costs else None
    row: Json = {"task": task, "configuration": configuration, "attempts": len(attempts), "decided": len(decided),
                 "successes": successes, "mean_cost": mean_cost, "cost_of_pass": None, "insufficient": None}
    if mean_cost is None:
        row["insufficient"] = f"{costs.count(None)} of {len(costs)} attempts have an unknown cost (unpriced calls)"
    elif not decided:
        row["insufficient"] = "no attempt has a recorded outcome"
    elif len(decided) < min_tasks:
        row["insufficient"] = f"{len(decided)} attempts with a recorded outcome; need at least {min_tasks}"
    elif successes == 0:
        row["cost_of_pass"] = INF
    else:
        row["cost_of_pass"] = mean_cost / (successes / len(decided))
    return row


def cost_of_pass(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Cost of pass per (task name, configuration), every task (nested ones are attempts of their kind)."""
    groups = _group(tasks, lambda t: (t.name, t.configuration))
    return [_cost_of_pass_row(name, conf, groups[(name, conf)], min_tasks) for name, conf in sorted(groups)]


def _dominates(a: Json, b: Json) -> bool:
    """a is at most as costly and at least as successful as b, and strictly better on one."""
    return (a["mean_cost"] <= b["mean_cost"] and a["success_rate"] >= b["success_rate"]
            and (a["mean_cost"] < b["mean_cost"] or a["success_rate"] > b["success_rate"]))


def pareto(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Mean cost per task against success rate across configurations (Kapoor et al. 2024: report both;
    cheap baselines often dominate). Decided top-level tasks only; a configuration needs `min_tasks` of
    them, all with a known cost. Ineligible ones are listed with nulls and the reason."""
    groups = _group(_decided(_top_level(tasks)), lambda t: t.configuration)
    eligible: list[Json] = []
    ineligible: list[Json] = []
    for configuration, group in groups.items():
        unknown = sum(t.cost is None for t in group)
        row: Json = {"configuration": configuration, "tasks": len(group), "mean_cost": None, "success_rate": None,
                     "frontier": None, "dominated_by": None, "insufficient": None}
        if len(group) < min_tasks:
            row["insufficient"] = f"{len(group)} decided top-level tasks; need at least {min_tasks}"
            ineligible.append(row)
        elif unknown:
            row["insufficient"] = f"{unknown} of {len(group)} tasks have an unknown cost (unpriced calls)"
            ineligible.append(row)
        else:
            row["mean_cost"] = math.fsum(t.cost for t in group if t.cost is not None) / len(group)
            row["success_rate"] = _success_rate(group)
            eligible.append(row)
    for row in eligible:
        dominators = [o for o in eligible if _dominates(o, row)]
        row["frontier"] = not dominators
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


def _long_horizon_retention(decided: Sequence[TaskRow], min_tasks: int) -> tuple[float | None, str | None]:
    """Success of the longest third (by LLM calls, then duration) over that of the shortest third: how
    much capability survives long tasks (1 = none lost)."""
    if len(decided) < max(min_tasks, 3):
        return None, f"{len(decided)} decided tasks; need at least {max(min_tasks, 3)}"
    def length(t: TaskRow) -> tuple[int, float]:
        return t.llm_calls, t.end_s - t.start_s

    ordered = sorted(decided, key=lambda t: (*length(t), t.task_id))
    third = len(ordered) // 3
    shortest, longest = ordered[:third], ordered[-third:]
    if length(shortest[-1]) == length(longest[0]):
        return None, "the shortest and longest thirds do not differ in length (LLM calls and duration tie)"
    short_rate, long_rate = _success_rate(shortest), _success_rate(longest)
    assert short_rate is not None and long_rate is not None
    if short_rate == 0:
        return None, "the shortest third never succeeded: retention is undefined"
    return long_rate / short_rate, None


def _mode_consistency(decided: Sequence[TaskRow]) -> tuple[float | None, str | None]:
    """1 - spread of success rates across task names: an agent good at one kind and poor at another is
    inconsistent even when its overall rate looks fine."""
    rates = [_success_rate(g) for g in _group(decided, lambda t: t.name).values() if len(g) >= 2]
    known = [r for r in rates if r is not None]
    if len(known) < 2:
        return None, f"{len(known)} task names with at least 2 decided tasks; need at least 2"
    return 1 - (max(known) - min(known)), None


def _capability_row(version: str, group: Sequence[TaskRow], own_calls: dict[str, int], min_tasks: int) -> Json:
    notes: dict[str, str] = {}
    decided = _decided(group)
    task_success = _success_rate(decided) if len(decided) >= min_tasks else None
    if task_success is None:
        notes["task_success"] = f"{len(decided)} decided tasks; need at least {min_tasks}"
    uses = [u for t in group for u in t.tools]
    verification = [u for u in uses if u.phase == "verification"]
    verification_pass = _ratio(sum(not u.error for u in verification), len(verification))
    if verification_pass is None:
        notes["verification_pass_rate"] = "no verification-phase tool uses"
    reliability = 1 - sum(u.error for u in uses) / len(uses) if uses else None
    if reliability is None:
        notes["tool_reliability"] = "no tool uses"
    calls = sum(own_calls[t.task_id] for t in group)
    scanned = [t for t in group if t.privacy_findings is not None]
    privacy = _ratio(sum(t.privacy_findings or 0 for t in scanned), calls) if scanned else None
    if not scanned:
        notes["privacy_findings_per_call"] = "no call was scanned (instrument(privacy_scan=True))"
    elif privacy is None:
        notes["privacy_findings_per_call"] = "no LLM calls"
    retention, why = _long_horizon_retention(decided, min_tasks)
    if why:
        notes["long_horizon_retention"] = why
    consistency, why = _mode_consistency(decided)
    if why:
        notes["mode_consistency"] = why
    return {
        "version": version,
        "tasks": len(group),
        "task_success": task_success,
        "verification_pass_rate": verification_pass,
        "long_horizon_retention": retention,
        "tool_reliability": reliability,
        "privacy_findings_per_call": privacy,
        "mode_consistency": consistency,
        "notes": notes,
    }


def capability(tasks: Sequence[TaskRow], *, min_tasks: int) -> list[Json]:
    """Capability as a vector per agent version, never one score (a single score hides cost, safety and
    robustness). Every task of the version, nested ones included; privacy findings are per own call (a
    task's `llm_calls` includes its sub-tasks')."""
    own_calls = _own_calls(tasks)
    groups = _group(tasks, lambda t: version_key(t.agent, t.version))
    return [_capability_row(v, groups[v], own_calls, min_tasks) for v in sorted(groups)]


# -- tool credit --------------------------------------------------------------------------------------------------


def tool_credit(tasks: Sequence[TaskRow]) -> list[Json]:
    """Success lift per tool: success rate of decided top-level jobs that used the tool (anywhere in their
    sub-task tree) minus that of those that did not. A correlation, not a causal effect."""
    children = _children(tasks)
    jobs = [(t, {u.name for u in _subtree_tools(t, children)}) for t in _decided(_top_level(tasks))]
    rows = []
    for tool in sorted({name for _, names in jobs for name in names}):
        with_ = [t for t, names in jobs if tool in names]
        without = [t for t, names in jobs if tool not in names]
        with_rate, without_rate = _success_rate(with_), _success_rate(without)
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


def report_data(tasks: list[TaskRow], calls: list[CallRow], *, windows: Sequence[WindowArtifact] = (), min_tasks: int = 5) -> dict:
    """Every analysis of the offline report, JSON-serializable (str, int, float, bool, None, list, dict)."""
    if min_tasks < 1:
        raise ValueError("min_tasks must be at least 1")
    missed = missed_caching(calls)
    return {
        "summary": summary(tasks, calls, missed),
        "artifact_costs": artifact_costs(tasks, windows),
        "unproductive": unproductive(tasks, windows),
        "cache": cache(calls, missed),
        "budget": budget(tasks, min_tasks=min_tasks),
        "cost_of_pass": cost_of_pass(tasks, min_tasks=min_tasks),
        "pareto": pareto(tasks, min_tasks=min_tasks),
        "capability": capability(tasks, min_tasks=min_tasks),
        "tool_credit": tool_credit(tasks),
    }
