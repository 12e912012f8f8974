"""What every offline analysis shares: selecting tasks (decided, top-level), grouping them, and the
cache arithmetic of a set of calls. Pure functions over `TaskRow`/`CallRow`; no OpenTelemetry, no I/O."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from ._population import CallRow, TaskRow, ToolUse

__all__ = [
    "DECIDED", "FAILURE", "INF", "Json", "SUCCESS", "cache_discount", "cache_read_ratio", "children", "decided",
    "dominant", "group", "iso", "own_calls", "priced", "ratio", "subtree_tools", "success_rate", "top_level", "version_key",
]

INF = "inf"
"""Cost of pass of a configuration that never succeeds (JSON has no infinity)."""
SUCCESS, FAILURE = "success", "failure"
DECIDED = (SUCCESS, FAILURE)

Json = dict[str, Any]


def version_key(agent: str, version: str | None) -> str:
    """`agent@version`, the prefix of `TaskRow.configuration`: what capability and budget compare."""
    return f"{agent}@{version or '-'}"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def decided(tasks: Iterable[TaskRow]) -> list[TaskRow]:
    """Tasks with a recorded outcome: unknown outcomes say nothing about success."""
    return [t for t in tasks if t.outcome in DECIDED]


def top_level(tasks: Iterable[TaskRow]) -> list[TaskRow]:
    """Whole jobs: their cost and tokens already include every sub-task's."""
    return [t for t in tasks if t.parent_id is None]


def success_rate(tasks: Sequence[TaskRow]) -> float | None:
    """Share of successes among decided tasks; None when none is decided."""
    known = decided(tasks)
    return sum(t.outcome == SUCCESS for t in known) / len(known) if known else None


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def group(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def children(tasks: Sequence[TaskRow]) -> dict[str, list[TaskRow]]:
    return group((t for t in tasks if t.parent_id is not None), lambda t: t.parent_id)


def subtree_tools(task: TaskRow, kids: dict[str, list[TaskRow]]) -> list[ToolUse]:
    """The tools a whole job used: its own and every descendant's (each task records only its own)."""
    out: list[ToolUse] = []
    stack, seen = [task], set()
    while stack:
        current = stack.pop()
        if current.task_id in seen:  # a malformed population with a cycle must not loop forever
            continue
        seen.add(current.task_id)
        out.extend(current.tools)
        stack.extend(kids.get(current.task_id, ()))
    return out


def own_calls(tasks: Sequence[TaskRow]) -> dict[str, int]:
    """LLM calls a task made itself: `llm_calls` counts its sub-tasks' calls too."""
    kids = children(tasks)
    return {t.task_id: max(0, t.llm_calls - sum(c.llm_calls for c in kids.get(t.task_id, ()))) for t in tasks}


def priced(call: CallRow) -> bool:
    """Both cache rates known: the call's savings and missed caching can be priced."""
    return call.uncached_input_rate is not None and call.cache_read_rate is not None


def cache_discount(call: CallRow) -> float:
    """USD saved per token read from cache instead of sent uncached."""
    assert call.uncached_input_rate is not None and call.cache_read_rate is not None
    return call.uncached_input_rate - call.cache_read_rate


def cache_read_ratio(calls: Iterable[CallRow]) -> float | None:
    """cache_read / (input + cache_read + cache_write) over the calls that reported their cache use: a ratio of
    sums, never a mean of per-call ratios. A call that said nothing of the cache is left out (unknown, not 0)."""
    read = prompt = 0
    for call in calls:
        if call.cache_reported and call.has_usage:
            read += call.cache_read
            prompt += call.input + call.cache_read + call.cache_write
    return ratio(read, prompt)


def dominant(values: Iterable[str | None]) -> str | None:
    """The most frequent non-null value (ties: the smallest, so the answer is deterministic)."""
    counts = Counter(v for v in values if v is not None)
    if not counts:
        return None
    return min(counts, key=lambda v: (-counts[v], v))
