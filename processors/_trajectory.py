"""Per-task trajectory and context measures: accumulated in plain fields as calls end, turned into
numbers once, when the task ends (docs/metrics.md, "Trajectory and context").

A task's `Trajectory` costs a few integer updates per LLM or tool call; `measures()` is a pure function of
it and of the task's totals. No OpenTelemetry imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ._accounts import Totals
    from ._population import TaskRow
    from ._records import ArtifactRecord

__all__ = ["LOOP_LENGTH", "MAX_DISTINCT_CALLS", "SHRINK_HISTOGRAMS", "SHRINK_HISTOGRAM_DEFS", "TASK_HISTOGRAMS", "Trajectory", "measures", "table"]

LOOP_LENGTH = 3
"""The same request this many times in a row is a loop: the same tool with the same arguments, or the same LLM
request (`agentyield.request.hash`)."""
MAX_DISTINCT_CALLS = 1_024
"""Distinct (tool, argument fingerprint) pairs a task remembers to find repeats; past it repeats go unseen."""

_COUNT_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 1000)
_SHARE_BUCKETS = (0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1)
_RATIO_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_TOKEN_BUCKETS = (0, 64, 256, 1024, 4096, 16384, 65536)

# name -> (unit, description, buckets); every one is recorded once per finished task, by agent and task name.
TASK_HISTOGRAMS: dict[str, tuple[str, str, tuple[float, ...]]] = {
    "agentyield.task.llm_calls": ("{call}", "LLM calls of a task, sub-tasks included", _COUNT_BUCKETS),
    "agentyield.task.tool_calls": ("{call}", "Tool calls of a task, sub-tasks included", _COUNT_BUCKETS),
    "agentyield.task.tool_calls.redundant": ("{call}", "Tool calls repeating an earlier call of the task (same tool, same arguments)", _COUNT_BUCKETS),
    "agentyield.task.loops": ("{loop}", f"Runs of {LOOP_LENGTH} or more identical tool calls, or LLM requests, in a row", _COUNT_BUCKETS),
    "agentyield.task.rework": ("{artifact}", "Artifacts rejected before the first accepted one (all rejected if none was)", _COUNT_BUCKETS),
    "agentyield.task.context.growth": ("{token}", "Mean growth of the input from one LLM call to the next", _TOKEN_BUCKETS),
    "agentyield.task.input.resent_uncached": ("1", "Share of input that repeats the previous call's context yet was not read from cache", _SHARE_BUCKETS),
    "agentyield.task.context_to_output": ("1", "Input tokens (cached or not) per output token", _RATIO_BUCKETS),
    "agentyield.task.verification.share": ("1", "Share of the task's own cost spent in verification", _SHARE_BUCKETS),
    "agentyield.task.token_multiplier": ("1", "All tokens of a task with sub-tasks divided by its own", _RATIO_BUCKETS),
    "agentyield.task.signal_yield": ("1", "Share of a task's LLM calls followed by a learning signal", _SHARE_BUCKETS),
}


SHRINK_HISTOGRAMS: dict[str, str] = {"agentyield.task.context.growth": "agentyield.task.context.shrink"}
"""OpenTelemetry histograms take no negative value (the SDK drops it with a warning): a task whose context
shrank on average (compaction, a new conversation) is recorded, as the size of its mean shrink, in the second
histogram. Net mean growth = (growth sum - shrink sum) / (growth count + shrink count)."""
SHRINK_HISTOGRAM_DEFS = {
    shrink: ("{token}", "Mean shrink of the input from one LLM call to the next, for tasks whose input shrank", _TOKEN_BUCKETS)
    for shrink in SHRINK_HISTOGRAMS.values()
}


class _Run:
    """The length of the current run of equal keys; a key of None breaks any run."""

    __slots__ = ("last", "length")

    def __init__(self) -> None:
        self.last: object = None
        self.length = 0

    def step(self, key: object) -> bool:
        """True when this key makes the run a loop (once per run, at its LOOP_LENGTH-th key)."""
        if key is not None and key == self.last:
            self.length += 1
            return self.length == LOOP_LENGTH
        self.last, self.length = key, 1
        return False


@dataclass(slots=True)
class Trajectory:
    """What a task's own calls did, in order: enough to find repeats, loops and context growth."""

    tool_calls: int = 0
    redundant: int = 0
    loops: int = 0
    """Runs of identical tool calls plus runs of identical LLM requests."""
    llm_calls: int = 0
    """Own LLM calls that reported their input."""
    input: int = 0
    """Input tokens of those calls, cache reads and writes included."""
    resent_uncached: int = 0
    growth: int = 0
    """Sum of each call's input minus the previous call's (= last input - first input)."""
    distinct_dropped: int = 0
    interactions: int = 0
    """Own LLM calls, each an interaction whose next state is a learning signal (or none)."""
    signaled: int = 0
    """Interactions followed by a non-neutral next state."""
    signature: int = 0
    """A running hash of its tool calls (tool, argument fingerprint) in order: equal trajectories, equal signatures."""
    _pending: bool = False
    _previous_input: int | None = None
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _tool_run: _Run = field(default_factory=_Run)
    _request_run: _Run = field(default_factory=_Run)

    def llm(self, input_tokens: int, cache_read: int) -> None:
        """An own LLM call that reported its input: the part of it that repeats the previous call's
        context (at most the previous input) and was not read from cache was re-sent at full price."""
        previous = self._previous_input
        if previous is not None:
            self.growth += input_tokens - previous
            self.resent_uncached += max(0, min(previous, input_tokens) - cache_read)
        self._previous_input = input_tokens
        self.llm_calls += 1
        self.input += input_tokens

    def request(self, request_hash: str | None) -> bool:
        """An own LLM call, in order: True when it makes a run of identical requests a loop. A call without a
        fingerprint breaks the run."""
        if self._request_run.step(request_hash):
            self.loops += 1
            return True
        return False

    def interaction(self) -> bool:
        """An own LLM call ended; returns True when the previous one got no next state (a `none` signal)."""
        neutral = self._pending
        self._pending = True
        self.interactions += 1
        return neutral

    def next_state(self) -> bool:
        """A tool result, verification result or user reply: it is the awaited call's signal, if one awaits."""
        if not self._pending:
            return False
        self._pending = False
        self.signaled += 1
        return True

    def close(self) -> bool:
        """The task ended; True when its last call got no next state."""
        neutral, self._pending = self._pending, False
        return neutral

    def tool(self, name: str, args_hash: str | None) -> tuple[bool, bool]:
        """An own tool call: (does it repeat an earlier one (same tool, same argument fingerprint), does it make a
        run of identical calls a loop). Calls without a fingerprint are counted but never repeats."""
        self.tool_calls += 1
        self.signature = hash((self.signature, name, args_hash))
        key = (name, args_hash) if args_hash is not None else None
        loop = self._tool_run.step(key)
        if loop:
            self.loops += 1
        if key is None:
            return False, loop
        if key in self._seen:
            self.redundant += 1
            return True, loop
        if len(self._seen) < MAX_DISTINCT_CALLS:
            self._seen.add(key)
        else:
            self.distinct_dropped += 1
        return False, loop


def rework(artifacts: Sequence[ArtifactRecord]) -> int:
    """Artifacts rejected before the first accepted one; every rejected one when none was accepted."""
    count = 0
    for artifact in artifacts:
        if artifact.accepted:
            return count
        if artifact.accepted is False:
            count += 1
    return count


def measures(
    trajectory: Trajectory,
    total: Totals,
    own: Totals,
    verification_cost: Decimal,
    artifacts: Sequence[ArtifactRecord],
    has_subtasks: bool,
) -> list[tuple[str, float]]:
    """The task's values of TASK_HISTOGRAMS. A value whose denominator is zero or unknown is left out, not 0."""
    out: list[tuple[str, float]] = [
        ("agentyield.task.llm_calls", total.llm_calls),
        ("agentyield.task.tool_calls", total.tool_calls),
        ("agentyield.task.tool_calls.redundant", trajectory.redundant),
        ("agentyield.task.loops", trajectory.loops),
        ("agentyield.task.rework", rework(artifacts)),
    ]
    if trajectory.llm_calls >= 2:
        out.append(("agentyield.task.context.growth", trajectory.growth / (trajectory.llm_calls - 1)))
        if trajectory.input:
            out.append(("agentyield.task.input.resent_uncached", trajectory.resent_uncached / trajectory.input))
    if own.output:
        out.append(("agentyield.task.context_to_output", (own.input + own.cache_read + own.cache_write) / own.output))
    if own.cost > 0 and own.unpriced_calls == 0:
        out.append(("agentyield.task.verification.share", float(verification_cost / own.cost)))
    if trajectory.interactions:
        out.append(("agentyield.task.signal_yield", trajectory.signaled / trajectory.interactions))
    own_tokens = own.input + own.cache_read + own.cache_write + own.output
    if has_subtasks and own_tokens:
        all_tokens = total.input + total.cache_read + total.cache_write + total.output
        out.append(("agentyield.task.token_multiplier", all_tokens / own_tokens))
    return out


def table(tasks: Sequence[TaskRow]) -> list[dict[str, object]]:
    """The report's "Trajectory and context" rows: per agent and task name, the mean of each measure over the
    tasks that have it (None when none has: a measure whose denominator was zero is absent, not 0)."""
    groups: dict[tuple[str, str], list[TaskRow]] = {}
    for task in tasks:
        groups.setdefault((task.agent, task.name), []).append(task)
    rows: list[dict[str, object]] = []
    for (agent, name), members in sorted(groups.items()):
        row: dict[str, object] = {"agent": agent, "task": name, "tasks": len(members)}
        for measure in TASK_HISTOGRAMS:
            values = [t.measures[measure] for t in members if measure in t.measures]
            row[measure.removeprefix("agentyield.task.")] = sum(values) / len(values) if values else None
        rows.append(row)
    return rows
