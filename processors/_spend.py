"""Where the money went: the headline spend, cost per accepted artifact, unproductive spend and windows
still open. Every figure reads the priced calls and the ledger's attribution (docs/metrics.md, "Cost
attribution"), so the report's numbers are the live metrics' numbers, and they add up: every priced
dollar is on an accepted artifact, in unproductive spend, in a window still open, or in a task still open.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from ._analysis_common import Json, cache_read_ratio, group, top_level
from ._population import CallRow, OpenWindow, TaskRow, WindowArtifact

__all__ = ["artifact_costs", "open_windows", "spend_breakdown", "summary", "unproductive"]

NO_CALLS = "no LLM calls seen"
"""Why a task or window has no cost: agentyield saw no LLM call in it (a client it cannot see?), so $0 would be a guess."""
UNPRICED = "contains an unpriced call"


def summary(tasks: Sequence[TaskRow], calls: Sequence[CallRow], missed_usd: float | None, missed_note: str | None) -> Json:
    """Totals a reader checks first, all over the same calls: every LLM call in the input, inside tasks or not."""
    notes: dict[str, str] = {}
    known = [c for c in calls if c.cost is not None]
    unpriced = len(calls) - len(known)
    spend = math.fsum(c.cost for c in known if c.cost is not None) if known else None
    if not calls:
        notes["cost_usd"] = "no LLM calls"
    elif not known:
        notes["cost_usd"] = f"none of the {len(calls)} LLM calls is priced"
    elif unpriced:
        notes["cost_usd"] = f"lower bound: {unpriced} of {len(calls)} LLM calls are unpriced"
    in_tasks = math.fsum(c.cost for c in known if c.task_id is not None and c.cost is not None)
    unreported = sum(1 for c in calls if c.has_usage and not c.cache_reported)
    ratio = cache_read_ratio(calls)
    if ratio is None:
        notes["cache_read_ratio"] = "no LLM calls that reported prompt and cache tokens"
    if unreported:
        notes["cache_not_reported"] = (
            f"{unreported} calls did not report cache use: left out of the cache-read ratio; their cost assumes no cache reads"
        )
    rated = [c for c in known if c.savings is not None and c.write_premium is not None]
    gross = math.fsum(c.savings for c in rated if c.savings is not None) if rated else None
    premium = math.fsum(c.write_premium for c in rated if c.write_premium is not None) if rated else None
    if gross is None:
        notes["savings_usd"] = "no priced LLM calls"
    elif len(rated) < len(known):
        notes["savings_usd"] = f"lower bound: {len(known) - len(rated)} priced calls have no rates to compare with"
    if missed_note is not None:
        notes["missed_caching_usd"] = missed_note
    return {
        "tasks": len(tasks),
        "top_level_tasks": len(top_level(tasks)),
        "llm_calls": len(calls),
        "unpriced_calls": unpriced,
        "cost_usd": spend,
        "cost_complete": bool(calls) and unpriced == 0,
        "in_tasks_usd": in_tasks if known else None,
        "outside_tasks_usd": spend - in_tasks if spend is not None else None,
        "unpriced_tasks": sum(t.cost is None for t in tasks),
        "cache_read_ratio": ratio,
        "cache_not_reported_calls": unreported,
        "savings_usd": gross,
        "write_premium_usd": premium,
        "savings_net_usd": gross - premium if gross is not None and premium is not None else None,
        "missed_caching_usd": missed_usd,
        "notes": notes,
    }


def artifact_costs(tasks: Sequence[TaskRow], windows: Sequence[WindowArtifact] = ()) -> list[Json]:
    """Cost per accepted artifact by (agent, version, kind), as the live `agentyield.artifact.cost.usd`:
    each accepted artifact of a task costs attributable_cost / accepted artifacts of that task, and an
    accepted artifact outside any task costs its agent's spend window. An artifact whose task or window
    saw no LLM call, or an unpriced one, has no cost (`accepted` counts it, `priced` does not)."""
    shares: dict[tuple[str, str | None, str], list[float | str]] = {}
    for task in tasks:
        if not task.accepted_kinds:
            continue
        if task.llm_calls == 0:
            share: float | str = NO_CALLS
        elif task.attributable_cost is None:
            share = UNPRICED
        else:
            share = task.attributable_cost / len(task.accepted_kinds)
        for kind in task.accepted_kinds:
            shares.setdefault((task.agent, task.version, kind), []).append(share)
    for window in windows:
        if window.accepted:
            value = NO_CALLS if window.llm_calls == 0 else (UNPRICED if window.cost is None else window.cost)
            shares.setdefault((window.agent, None, window.kind), []).append(value)
    rows = []
    for (agent, version, kind), values in shares.items():
        known = [v for v in values if isinstance(v, float)]
        reasons = Counter(v for v in values if isinstance(v, str))
        rows.append({
            "agent": agent,
            "version": version,
            "kind": kind,
            "accepted": len(values),
            "priced": len(known),
            "cost_per_artifact": math.fsum(known) / len(known) if known else None,
            "insufficient": None if known else f"every accepted artifact's work: {reasons.most_common(1)[0][0]}",
            "notes": {r: n for r, n in sorted(reasons.items())},
        })
    return sorted(rows, key=lambda r: (r["agent"], r["version"] or "", r["kind"]))


def unproductive(tasks: Sequence[TaskRow], windows: Sequence[WindowArtifact] = ()) -> list[Json]:
    """Spend of top-level tasks (and closed windows) that produced no accepted artifact, by (agent, version,
    task name), exactly as the live `agentyield.unproductive.cost.usd` books it: the priced part of their
    attributable cost (own spend plus unproductive sub-tasks'; productive sub-tasks' spend is already on their
    artifacts). A group with an unpriced call is a lower bound and says so."""
    rows = []
    for (agent, version, name), members in group(
        (t for t in top_level(tasks) if not t.accepted_kinds), lambda t: (t.agent, t.version, t.name)
    ).items():
        rows.append(_unproductive_row(agent, version, name, [t.attributable_known for t in members],
                                      sum(t.attributable_cost is None for t in members)))
    for agent, members in group((w for w in windows if not w.accepted), lambda w: w.agent).items():
        rows.append(_unproductive_row(agent, None, "(window)", [w.cost_known for w in members], sum(w.cost is None for w in members)))
    return sorted(rows, key=lambda r: (r["agent"], r["version"] or "", r["task"]))


def _unproductive_row(agent: str, version: str | None, name: str, costs: list[float], unpriced: int) -> Json:
    return {
        "agent": agent,
        "version": version,
        "task": name,
        "tasks": len(costs),
        "unpriced_tasks": unpriced,
        "cost_usd": math.fsum(costs),
        "lower_bound": unpriced > 0,
    }


def open_windows(windows: Sequence[OpenWindow]) -> list[Json]:
    """Spend outside tasks that no artifact closed before the input ended: shown, not dropped."""
    return [
        {"agent": w.agent, "llm_calls": w.llm_calls, "cost_usd": w.cost_known, "unpriced_calls": w.unpriced_calls,
         "lower_bound": w.unpriced_calls > 0}
        for w in sorted(windows, key=lambda w: w.agent)
    ]


def spend_breakdown(
    tasks: Sequence[TaskRow], calls: Sequence[CallRow], windows: Sequence[WindowArtifact], still_open: Sequence[OpenWindow]
) -> Json:
    """Every priced dollar, once: on accepted artifacts, unproductive, in open windows, or in tasks that had not
    ended when the input did (the remainder of the spend inside tasks)."""
    on_artifacts = math.fsum([t.attributable_known for t in tasks if t.accepted_kinds]
                             + [w.cost_known for w in windows if w.accepted])
    wasted = math.fsum([t.attributable_known for t in top_level(tasks) if not t.accepted_kinds]
                       + [w.cost_known for w in windows if not w.accepted])
    open_usd = math.fsum(w.cost_known for w in still_open)
    spend = math.fsum(c.cost for c in calls if c.cost is not None)
    return {
        "accepted_artifacts_usd": on_artifacts,
        "unproductive_usd": wasted,
        "open_windows_usd": open_usd,
        "open_tasks_usd": spend - on_artifacts - wasted - open_usd,
    }
