"""Small-model routability: which LLM calls a small model could plausibly have served, and what that would
have saved (after arXiv:2506.02153, where 40-70% of agent calls could go to models 10-30x cheaper).

The rule is deliberately simple and written down (docs/metrics.md, "Small-model routability"): a chat call
that used no reasoning tokens and produced a short output (at most `MAX_OUTPUT` tokens), or that only called
tools with a modest output (at most `MAX_TOOL_OUTPUT`). It reads the call's usage and tool-call count only,
never its content. No OpenTelemetry imports.
"""

from __future__ import annotations

from ._records import LLMCallRecord

__all__ = ["MAX_OUTPUT", "MAX_TOOL_OUTPUT", "routable"]

MAX_OUTPUT = 256
"""Output tokens of a call a small model could answer as well."""
MAX_TOOL_OUTPUT = 1024
"""Output tokens of a call that only picks tools and fills in their arguments."""
_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})


def routable(call: LLMCallRecord) -> bool:
    """Whether the rule marks this call as one a small model could serve (usage must be known)."""
    output = call.output_tokens
    if output is None or call.reasoning_tokens or call.operation not in _OPERATIONS:
        return False
    return output <= MAX_OUTPUT or (call.tool_calls > 0 and output <= MAX_TOOL_OUTPUT)
