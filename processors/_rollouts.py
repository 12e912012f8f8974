"""Prefix sharing across rollouts (after Tree-GRPO, arXiv:2509.21240): sibling tasks tagged with the same
`task(..., rollout_group=...)` that start from the same prompt prefix, and how many distinct trajectories
they produce per generated token. No OpenTelemetry imports.

Shared input: the first LLM call of a task repeats a sibling's prefix when a sibling of its group already
sent a first call with the same prompt prefix fingerprint; the repeated part is at most the smaller of the
two inputs, and that is what is counted (exact when siblings start from the same prompt; later turns, which
tree rollouts also share up to their branch point, are not counted: a lower bound there).
A trajectory is the sequence of a task's tool calls (tool and argument fingerprint) and its LLM call count.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["MAX_GROUPS", "Rollouts"]

MAX_GROUPS = 1_000
"""Rollout groups remembered at once (the least recently used is forgotten, and counted)."""
MAX_TRAJECTORIES = 10_000
"""Distinct trajectories remembered per group."""


@dataclass(slots=True)
class _Group:
    first_inputs: dict[str, int] = field(default_factory=dict)
    """Prompt prefix fingerprint -> input tokens of the first sibling's first call that sent it."""
    trajectories: set[int] = field(default_factory=set)


class Rollouts:
    def __init__(self) -> None:
        self._groups: OrderedDict[str, _Group] = OrderedDict()
        self.forgotten = 0

    def _group(self, name: str) -> _Group:
        group = self._groups.get(name)
        if group is None:
            if len(self._groups) >= MAX_GROUPS:
                self._groups.popitem(last=False)
                self.forgotten += 1
            group = self._groups[name] = _Group()
        else:
            self._groups.move_to_end(name)
        return group

    def first_call(self, name: str, prefix: str | None, input_tokens: int) -> int:
        """A task's first LLM call: the input tokens it shares with a sibling's first call."""
        if prefix is None:
            return 0
        group = self._group(name)
        earlier = group.first_inputs.get(prefix)
        if earlier is None:
            group.first_inputs[prefix] = input_tokens
            return 0
        return min(earlier, input_tokens)

    def finish(self, name: str, signature: int) -> bool:
        """A task of the group ended: True when its trajectory is one the group had not produced yet."""
        group = self._group(name)
        if signature in group.trajectories or len(group.trajectories) >= MAX_TRAJECTORIES:
            return False
        group.trajectories.add(signature)
        return True
