"""A scripted, deterministic agent workload, run through the real `openai` and `anthropic` SDKs.

`run_workload()` drives both SDKs against an in-process mock endpoint (their own `MockTransport`: no
network, no API key) that answers the way the providers do, with usage computed from each request:

- token counts are estimated from the request's text (about four characters a token);
- prompt caching is simulated from the request: the endpoint remembers the prefixes it has cached (a hash
  chain over tools, system prompt and messages, per provider and model). OpenAI reports the longest cached
  prefix as `prompt_tokens_details.cached_tokens` (128-token steps, 1024 minimum); Anthropic honours the
  request's `cache_control` breakpoints: it reads the longest cached prefix, writes the rest up to the last
  breakpoint, and splits the write into `ephemeral_1h_input_tokens` (up to the system prompt's 1-hour
  breakpoint) and `ephemeral_5m_input_tokens` (the conversation, up to the last message's breakpoint);

The workload (`TASKS_PER_SCALE` top-level tasks per unit of `scale`):

- agent `coder` works on tasks `fix-bug`, `write-tests`, `research` and `summarize` (a quarter each), in
  two versions (half each, per kind): `v1` on OpenAI `gpt-4o`, `v2` on Anthropic `claude-sonnet-4-5`. Each
  task is a tool loop (the model is asked for a tool, the agent runs it as an `execute_tool` span, some
  tools fail), then a final answer (streamed for `summarize`), then, except for `summarize`, a
  `verification()` block (a `run_tests` tool for code tasks, and a review call);
- whether a task succeeds is drawn with a probability that grows with the output tokens the task generated, higher
  for `v2`; a success gives an accepted artifact, a failure a rejected one or none at all;
- `SUBAGENT_TASKS_PER_SCALE` of the tasks delegate to a sub-agent: a nested `task("research",
  agent="researcher")` on `claude-haiku-4-5`;
- a persistent agent, the watcher, polls CI outside any task (`gpt-4o-mini`, `WATCHER_CALLS` calls) every
  `TASKS_PER_SCALE // ALERTS_PER_SCALE` tasks and closes its window with `agentyield.artifact("alert",
  accepted=...)` (accepted in the pattern `ALERT_ACCEPTED`). Spend outside any task belongs to the process's
  agent, so instrument with `agentyield.instrument(agent="watcher")` to see it under that name;
- halfway through (top-level task `prompt_change_task(scale)`), the shared system-prompt header is revised,
  and the new template renders the current time on its first line: every request then has a new prefix,
  cache reads drop to zero and cache writes spike, until the fix (task `prompt_fix_task(scale)`) moves the
  time into the user message; caching then recovers.

Everything is drawn from `random.Random(seed)` and hashes of request content, never from the clock, so two
runs with the same seed make the same requests, get the same usage and finish with the same outcomes.
Tool spans come from `opentelemetry.trace.get_tracer("agentyield.demo.tools")`, that is from the global
tracer provider, as another instrumentation's would. `run_workload()` expects `agentyield.instrument()` to
have been called already.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

import agentyield

__all__ = [
    "ALERTS_PER_SCALE",
    "ALERT_ACCEPTED",
    "KINDS",
    "MODELS",
    "SUBAGENT_TASKS_PER_SCALE",
    "TASKS_PER_SCALE",
    "WATCHER_CALLS",
    "TaskPlan",
    "plan_workload",
    "prompt_change_task",
    "prompt_fix_task",
    "run_workload",
]

TASKS_PER_SCALE = 80
KINDS = ("fix-bug", "write-tests", "research", "summarize")
VERSIONS = ("v1", "v2")
MODELS: dict[str, tuple[str, str]] = {
    "v1": ("openai", "gpt-4o"),
    "v2": ("anthropic", "claude-sonnet-4-5"),
    "researcher": ("anthropic", "claude-haiku-4-5"),
    "watcher": ("openai", "gpt-4o-mini"),
}
SUBAGENT_TASKS_PER_SCALE = 16
ALERTS_PER_SCALE = 5
ALERT_ACCEPTED = (True, False, True, True, False)
WATCHER_CALLS = 3
CODER, RESEARCHER = "coder", "researcher"
VERSION_ATTRIBUTE = "gen_ai.agent.version"

_OPENAI_URL = "https://api.openai.com/v1"  # answered by the mock transport: priced as OpenAI
_ANTHROPIC_URL = "http://mock.anthropic.local"
_RESPONSE_MODELS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
_MIN_CACHEABLE = {"claude-sonnet-4-5": 1024, "claude-haiku-4-5": 4096}


def prompt_change_task(scale: int = 1) -> int:
    """Index of the first top-level task sent with the revised (cache-breaking) system prompt."""
    return TASKS_PER_SCALE * scale // 2


def prompt_fix_task(scale: int = 1) -> int:
    """Index of the first top-level task after the fix: the prompt is stable again."""
    return prompt_change_task(scale) + TASKS_PER_SCALE * scale // 8


# --------------------------------------------------------------------------------------------------------------
# The plan: every random decision, drawn up front from the seed
# --------------------------------------------------------------------------------------------------------------

_TOOL_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], int]] = {
    # kind: (fixed steps, steps to draw extra ones from, most extra steps)
    "fix-bug": (("search", "read_file"), ("read_file", "search", "edit_file", "run_tests"), 6),
    "write-tests": (("read_file", "edit_file"), ("read_file", "edit_file", "run_tests"), 5),
    "research": (("search", "search", "read_file"), ("search", "read_file"), 6),
    "summarize": (("read_file",), ("read_file",), 4),
}
_TOOL_ERROR_RATE = 0.1
_ARTIFACT_KIND = {"fix-bug": "patch", "write-tests": "test-suite", "research": "report", "summarize": "summary"}
_ARTIFACT_ID = {"fix-bug": "PR-{n}", "write-tests": "PR-{n}", "research": "DOC-{n}", "summarize": "SUM-{n}"}
# Success model: logit = base[kind] + bonus[version] + slope * ln(output tokens / reference): output tokens are
# the thinking budget the report compares at by default. The reference is about the median output of a task, so
# a task of median output succeeds about half the time (a little more for the easier kinds), and v2 does better
# than v1 at any budget.
_BASE = {"fix-bug": 0.0, "write-tests": 0.2, "research": 0.2, "summarize": 0.5}
_BONUS = {"v1": -0.7, "v2": 0.7}
_SLOPE = 3.0
_REFERENCE = 1_000


@dataclass(frozen=True)
class TaskPlan:
    index: int
    kind: str
    version: str
    steps: tuple[str, ...]
    """The tools the agent asks the model for, in order (`delegate_research` runs the sub-agent)."""
    tool_errors: tuple[bool, ...]
    """Whether each step's tool fails."""
    test_run_errors: int
    """How many `run_tests` runs time out in verification before one completes (code tasks)."""
    roll: float
    """Uniform draw compared with the success probability."""
    give_up: bool
    """On failure: True leaves no artifact at all, False a rejected one."""
    score_noise: float
    research_steps: tuple[str, ...] = ()
    research_errors: tuple[bool, ...] = ()


def plan_workload(seed: int = 7, scale: int = 1) -> list[TaskPlan]:
    """The top-level tasks, in order. Counts are fixed by design; their order and details come from `seed`."""
    rng = random.Random(seed)
    per_kind = TASKS_PER_SCALE * scale // len(KINDS)
    slots = [(kind, VERSIONS[i % 2]) for kind in KINDS for i in range(per_kind)]
    rng.shuffle(slots)
    eligible = [i for i, (kind, _) in enumerate(slots) if kind != "summarize"]
    delegating = set(rng.sample(eligible, SUBAGENT_TASKS_PER_SCALE * scale))
    # Outcome rolls, stratified within each (kind, version): one per equal slice of [0, 1) in random order,
    # so that sampling noise does not hide the designed difference between versions.
    rolls: dict[tuple[str, str], list[float]] = {}
    for group in sorted(set(slots)):
        size = slots.count(group)
        rolls[group] = [(i + rng.random()) / size for i in range(size)]
        rng.shuffle(rolls[group])
    plans = []
    for index, (kind, version) in enumerate(slots):
        fixed, extra, most = _TOOL_STEPS[kind]
        steps = list(fixed) + [rng.choice(extra) for _ in range(rng.randint(0, most))]
        if kind in ("fix-bug", "write-tests") and steps[-1] != "edit_file":
            steps.append("edit_file")
        research_steps: tuple[str, ...] = ()
        research_errors: tuple[bool, ...] = ()
        if index in delegating:
            steps.insert(1, "delegate_research")
            research_steps = ("search",) + tuple(rng.choice(("search", "read_file")) for _ in range(rng.randint(1, 3)))
            research_errors = tuple(rng.random() < _TOOL_ERROR_RATE for _ in research_steps)
        errors = tuple(step != "delegate_research" and rng.random() < _TOOL_ERROR_RATE for step in steps)
        test_run_errors = 1 if kind in ("fix-bug", "write-tests") and rng.random() < 0.15 else 0
        plans.append(
            TaskPlan(
                index=index,
                kind=kind,
                version=version,
                steps=tuple(steps),
                tool_errors=errors,
                test_run_errors=test_run_errors,
                roll=rolls[(kind, version)].pop(),
                give_up=rng.random() < 0.5,
                score_noise=rng.random(),
                research_steps=research_steps,
                research_errors=research_errors,
            )
        )
    return plans


def success_probability(plan: TaskPlan, tokens: int) -> float:
    """P(success) of a task that generated `tokens` output tokens (sub-tasks included): grows with that budget."""
    logit = _BASE[plan.kind] + _BONUS[plan.version] + _SLOPE * math.log(max(tokens, 1) / _REFERENCE)
    return 1.0 / (1.0 + math.exp(-logit))


# --------------------------------------------------------------------------------------------------------------
# Deterministic text
# --------------------------------------------------------------------------------------------------------------

_WORDS = (
    "the agent must verify every change before it opens a pull request and keep the diff small so that "
    "reviewers can follow it when a test fails read the failure carefully reproduce it locally and fix the "
    "cause rather than the symptom prefer standard library modules document public functions never log "
    "secrets or customer data use structured logging include the ticket id in commit messages cache results "
    "that are expensive to compute invalidate them on write retry idempotent requests with backoff treat "
    "timeouts as failures measure before optimising ask for clarification when the request is ambiguous"
).split()
_FILES = (
    "src/billing/invoice.py", "src/billing/tax.py", "src/api/routes.py", "src/api/auth.py", "src/core/cache.py",
    "src/core/retry.py", "src/workers/queue.py", "tests/test_invoice.py", "tests/test_routes.py", "docs/architecture.md",
)


def _digest(*parts: Any) -> int:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _prose(rng: random.Random, tokens: int) -> str:
    words: list[str] = []
    length = 0
    while length < 4 * tokens:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(8, 18)))
        words.append(sentence.capitalize() + ".")
        length += len(sentence) + 2
    return " ".join(words)


def _tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


@functools.lru_cache(maxsize=None)
def _rules(name: str, revision: str, tokens: int) -> str:
    rng = random.Random(f"{name}/{revision}")
    lines, length, n = [], 0, 1
    while length < 4 * tokens:
        line = f"{n}. {_prose(rng, rng.randint(18, 45))}"
        lines.append(line)
        length += len(line) + 1
        n += 1
    return "\n".join(lines)


_HEADER_REVISIONS = {"r1": "2025-05-12", "r2": "2025-06-02"}
_ROLE_PROMPTS = {
    CODER: ("You are coder, a software engineering agent working in the acme/platform repository.", 1800),
    RESEARCHER: ("You are researcher, a sub-agent that answers one technical question with cited notes.", 2000),
    "watcher": ("You are watcher, an operations agent that reads CI and deploy dashboards and raises alerts.", 300),
}


def _system_prompt(role: str, revision: str, now: str | None) -> str:
    """The shared platform header (revised halfway) followed by the role's own instructions."""
    header = f"Acme agent platform: operating rules, revision {_HEADER_REVISIONS[revision]}.\n" + _rules("header", revision, 2400)
    if now is not None:  # the revised template's bug: a per-request line at the very top of the prefix
        header = f"Current time: {now}\n" + header
    intro, size = _ROLE_PROMPTS[role]
    return f"{header}\n\n{intro}\n{_rules(role, 'r1', size)}"


# --------------------------------------------------------------------------------------------------------------
# Tools: definitions for both providers, and their (deterministic) implementations
# --------------------------------------------------------------------------------------------------------------

_TOOL_SCHEMAS: dict[str, tuple[str, dict[str, Any]]] = {
    "read_file": ("Read a file of the repository and return its content with line numbers.",
                  {"type": "object", "properties": {"path": {"type": "string", "description": "Path from the repository root"}}, "required": ["path"]}),
    "search": ("Search the code base and the internal wiki; returns the best matches with a snippet each.",
               {"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1, "maximum": 20}}, "required": ["query"]}),
    "edit_file": ("Apply a unified diff to one file of the working tree.",
                  {"type": "object", "properties": {"path": {"type": "string"}, "patch": {"type": "string", "description": "A unified diff"}}, "required": ["path", "patch"]}),
    "run_tests": ("Run the test suite (or a subset selected with -k) and return the summary and failures.",
                  {"type": "object", "properties": {"target": {"type": "string"}, "k": {"type": "string"}}, "required": ["target"]}),
    "delegate_research": ("Ask the research sub-agent a question; returns its notes with sources.",
                          {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}),
}
_TOOLSETS = {
    "fix-bug": ("read_file", "search", "edit_file", "run_tests", "delegate_research"),
    "write-tests": ("read_file", "edit_file", "run_tests", "delegate_research"),
    "research": ("search", "read_file", "delegate_research"),
    "summarize": ("read_file",),
    RESEARCHER: ("search", "read_file"),
    "watcher": (),
}


@functools.lru_cache(maxsize=None)
def _openai_tools(toolset: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": n, "description": _TOOL_SCHEMAS[n][0], "parameters": _TOOL_SCHEMAS[n][1]}}
            for n in _TOOLSETS[toolset]]


@functools.lru_cache(maxsize=None)
def _anthropic_tools(toolset: str) -> list[dict[str, Any]]:
    return [{"name": n, "description": _TOOL_SCHEMAS[n][0], "input_schema": _TOOL_SCHEMAS[n][1]} for n in _TOOLSETS[toolset]]


def _tool_arguments(name: str, key: int) -> dict[str, Any]:
    """What the mock model asks a tool for: derived from the request, so the same request asks the same."""
    rng = random.Random(key)
    if name == "read_file":
        return {"path": rng.choice(_FILES)}
    if name == "search":
        return {"query": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 5))), "limit": 5}
    if name == "edit_file":
        path = rng.choice(_FILES[:7])
        lines = [f"{'-' if i % 3 == 0 else '+'}    {_prose(rng, 8)}" for i in range(rng.randint(4, 16))]
        return {"path": path, "patch": f"--- a/{path}\n+++ b/{path}\n@@ -{rng.randint(10, 400)},7 @@\n" + "\n".join(lines)}
    if name == "run_tests":
        return {"target": "tests/", "k": rng.choice(("invoice", "routes", "auth", "cache", "retry"))}
    return {"question": "What changed in " + rng.choice(_FILES) + " and which callers depend on it?"}


class ToolFailure(Exception):
    pass


def _run_tool(name: str, args: dict[str, Any], *, fails: bool, passing: bool = True) -> str:
    """A tool's result (deterministic in its arguments), or `ToolFailure` when the plan says it fails."""
    rng = random.Random(_digest(name, args))
    if fails:
        raise ToolFailure({"read_file": "FileNotFoundError", "search": "TimeoutError", "edit_file": "PatchConflictError",
                           "run_tests": "TimeoutError"}.get(name, "ToolError"))
    if name == "read_file":
        lines = [f"{i:4d}  " + _prose(rng, rng.randint(6, 14)) for i in range(1, rng.randint(60, 220))]
        return f"{args['path']}\n" + "\n".join(lines)
    if name == "search":
        hits = [f"{i}. {rng.choice(_FILES)}:{rng.randint(1, 400)}  {_prose(rng, rng.randint(30, 80))}" for i in range(1, 6)]
        if rng.random() < 0.25:  # a support ticket in the results: personal data the privacy scan should count
            name = rng.choice(("ana.silva", "li.wei", "sam.okafor", "eva.novak"))
            hits.append(f"6. tickets/{rng.randint(1000, 9999)}.txt  reported by {name}@customer-mail.example, +1 415 555 {rng.randint(1000, 9999)}")
        return f"{len(hits)} results for {args['query']!r}:\n" + "\n".join(hits)
    if name == "edit_file":
        return f"Applied patch to {args['path']} (+{rng.randint(2, 40)} -{rng.randint(0, 20)})."
    if name == "run_tests":
        total = rng.randint(120, 480)
        if passing:
            return f"collected {total} items\n{total} passed in {rng.uniform(4, 60):.1f}s"
        failed = rng.randint(1, 6)
        traces = "\n".join(f"FAILED tests/test_{rng.choice(('invoice', 'routes', 'auth'))}.py::test_{i} - {_prose(rng, 20)}" for i in range(failed))
        return f"collected {total} items\n{traces}\n{failed} failed, {total - failed} passed"
    return "(no result)"


# --------------------------------------------------------------------------------------------------------------
# The mock endpoint: both providers, usage and prompt caching computed from the request
# --------------------------------------------------------------------------------------------------------------


def _sdk_httpx(sdk_module: Any) -> Any:
    """The httpx module the SDK is built on (`httpx2` for current SDKs, `httpx` for older majors)."""
    base = sdk_module._base_client
    return getattr(base, "httpx2", None) or base.httpx


def _strip_cache_control(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


def _content_tokens(content: Any) -> int:
    """Tokens of a message's content, text counted as text and structured parts as their JSON."""
    if isinstance(content, str):
        return _tokens(content)
    total = 0
    for part in content or ():
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            total += _tokens(part["text"])
        elif isinstance(part, dict) and part.get("type") == "tool_result":
            total += 6 + _content_tokens(part.get("content"))
        else:
            total += _tokens(json.dumps(_strip_cache_control(part), separators=(",", ":")))
    return total


@dataclass
class _Segment:
    tokens: int
    key: str
    breakpoint: str | None = None
    """None, "5m" or "1h"."""


class _Endpoint:
    """Serves both SDKs. Remembers cached prefixes per (provider, model), and bills every answered request."""

    def __init__(self) -> None:
        self.cached: dict[tuple[str, str], set[str]] = {}
        self.output_tokens = 0
        self.requests = {"openai": 0, "anthropic": 0}

    @staticmethod
    def _chain(model: str, parts: list[tuple[int, Any, str | None]]) -> list[_Segment]:
        """Cumulative (tokens, prefix hash) at each part boundary: the hash covers everything up to it."""
        out, total, running = [], 0, hashlib.sha256(model.encode())
        for tokens, value, breakpoint in parts:
            running.update(json.dumps(_strip_cache_control(value), sort_keys=True, separators=(",", ":")).encode())
            total += tokens
            out.append(_Segment(total, running.hexdigest(), breakpoint))
        return out

    def _bill(self, output: int) -> None:
        self.output_tokens += output

    # -- OpenAI chat completions ---------------------------------------------------------------------------

    def openai(self, request: Any) -> Any:
        import openai

        hx = _sdk_httpx(openai)
        body = json.loads(request.content)
        self.requests["openai"] += 1
        model = body["model"]
        tools = body.get("tools") or []
        parts: list[tuple[int, Any, str | None]] = []
        if tools:
            parts.append((8 + _tokens(json.dumps(tools, separators=(",", ":"))), tools, None))
        for message in body["messages"]:
            tokens = 4 + _content_tokens(message.get("content"))
            if message.get("tool_calls"):
                tokens += _tokens(json.dumps(message["tool_calls"], separators=(",", ":")))
            parts.append((tokens, message, None))
        chain = self._chain(model, parts)
        prompt_tokens = chain[-1].tokens + 3
        seen = self.cached.setdefault(("openai", model), set())
        hit = max((s.tokens for s in chain if s.key in seen), default=0)
        cached = hit // 128 * 128 if hit >= 1024 else 0
        if prompt_tokens >= 1024:
            seen.update(s.key for s in chain)
        key = _digest("openai", body)
        forced = body.get("tool_choice")
        if isinstance(forced, dict):
            name = forced["function"]["name"]
            arguments = json.dumps(_tool_arguments(name, key))
            call_id = f"call_{key:016x}"[:29]
            message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}]}
            completion = 12 + _tokens(arguments)
            finish = "tool_calls"
        else:
            completion = min(int(body.get("max_completion_tokens") or 4096), 180 + key % 1000)
            message = {"role": "assistant", "content": _prose(random.Random(key), completion), "refusal": None}
            finish = "stop"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        self._bill(completion)
        base = {"id": f"chatcmpl-{key:016x}", "created": 1764000000 + self.requests["openai"],
                "model": _RESPONSE_MODELS.get(model, model), "system_fingerprint": "fp_07871e2ad8", "service_tier": "default"}
        headers = {"x-request-id": f"req_{key:032x}"[:36]}
        if not body.get("stream"):
            payload = {**base, "object": "chat.completion", "usage": usage,
                       "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]}
            return hx.Response(200, json=payload, headers=headers)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        extra = {"usage": None} if include_usage else {}
        chunk = {**base, "object": "chat.completion.chunk", **extra}
        text = message["content"] or ""
        pieces = [text[i:i + 400] for i in range(0, len(text), 400)]
        events = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
        events += [{**chunk, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if include_usage:
            events.append({**chunk, "choices": [], "usage": usage})
        data = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return hx.Response(200, content=data.encode(), headers={**headers, "content-type": "text/event-stream"})

    # -- Anthropic messages --------------------------------------------------------------------------------

    def anthropic(self, request: Any) -> Any:
        import anthropic

        hx = _sdk_httpx(anthropic)
        body = json.loads(request.content)
        self.requests["anthropic"] += 1
        key = _digest("anthropic", body)
        headers = {"request-id": f"req_011C{key:016x}"}
        model = body["model"]
        parts: list[tuple[int, Any, str | None]] = []
        tools = body.get("tools") or []
        for tool in tools:
            parts.append((_tokens(json.dumps(tool, separators=(",", ":"))), tool, _ttl(tool)))
        if tools:
            parts.append((290, "tool-use system prompt", None))  # what the API adds when tools are present
        system = body.get("system") or []
        for block in [{"type": "text", "text": system}] if isinstance(system, str) else system:
            parts.append((_content_tokens([block]), block, _ttl(block)))
        for message in body["messages"]:
            content = message["content"]
            ttl = None if isinstance(content, str) else next((_ttl(b) for b in reversed(content) if _ttl(b)), None)
            parts.append((4 + _content_tokens(content), message, ttl))
        chain = self._chain(model, parts)
        total = chain[-1].tokens + 3
        seen = self.cached.setdefault(("anthropic", model), set())
        read = max((s.tokens for s in chain if s.key in seen), default=0)
        breakpoints = [s for s in chain if s.breakpoint]
        last = breakpoints[-1].tokens if breakpoints else 0
        write = write_1h = 0
        if last > read and last >= _MIN_CACHEABLE.get(model, 1024):
            write = last - read
            last_1h = max((s.tokens for s in breakpoints if s.breakpoint == "1h"), default=0)
            write_1h = max(0, last_1h - read)
            seen.update(s.key for s in breakpoints)
        uncached = total - read - write
        forced = body.get("tool_choice") or {}
        if forced.get("type") == "tool":
            name = forced["name"]
            arguments = _tool_arguments(name, key)
            content = [{"type": "tool_use", "id": f"toolu_01{key:016x}", "name": name, "input": arguments}]
            output = 14 + _tokens(json.dumps(arguments))
            stop = "tool_use"
        else:
            output = min(int(body.get("max_tokens") or 4096), 180 + key % 1000)
            content = [{"type": "text", "text": _prose(random.Random(key), output)}]
            stop = "end_turn"
        usage = {
            "input_tokens": uncached,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write - write_1h, "ephemeral_1h_input_tokens": write_1h},
            "output_tokens": output,
            "service_tier": "standard",
        }
        self._bill(output)
        message = {"id": f"msg_01{key:022x}"[:28], "type": "message", "role": "assistant",
                   "model": _RESPONSE_MODELS.get(model, model), "content": content, "stop_reason": stop,
                   "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return hx.Response(200, json=message, headers=headers)
        start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
        for index, block in enumerate(content):
            if block["type"] == "text":
                events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}))
                if index == 0:
                    events.append(("ping", {"type": "ping"}))
                text = block["text"]
                for i in range(0, len(text), 400):
                    events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                           "delta": {"type": "text_delta", "text": text[i:i + 400]}}))
            else:
                events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}))
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                       "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}))
            events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                         "usage": {"output_tokens": output}}))
        events.append(("message_stop", {"type": "message_stop"}))
        data = "".join(f"event: {name}\ndata: {json.dumps(e)}\n\n" for name, e in events)
        return hx.Response(200, content=data.encode(), headers={**headers, "content-type": "text/event-stream"})


def _ttl(block: Any) -> str | None:
    control = block.get("cache_control") if isinstance(block, dict) else None
    if not isinstance(control, dict):
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


# --------------------------------------------------------------------------------------------------------------
# The agents
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _World:
    """What the agents share: the SDK clients, the endpoint, the tool tracer, and the prompt template state."""

    openai: Any
    anthropic: Any
    endpoint: _Endpoint
    tools: trace.Tracer
    revision: str = "r1"
    time_in_prefix: bool = False
    calls: int = 0
    clock: datetime = field(default_factory=lambda: datetime(2025, 6, 2, 9, 0, 0, tzinfo=timezone.utc))

    def now(self) -> str:
        return self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def tick(self) -> None:
        self.calls += 1
        self.clock += timedelta(seconds=7 + self.calls * 7919 % 31)

    def system(self, role: str) -> str:
        return _system_prompt(role, self.revision, self.now() if self.time_in_prefix else None)


class _Conversation:
    """One agent conversation on one provider: messages, tool results, and the calls that extend it."""

    def __init__(self, world: _World, role: str, provider: str, model: str, toolset: str, max_tokens: int) -> None:
        self.world, self.role, self.provider, self.model = world, role, provider, model
        self.toolset, self.max_tokens = toolset, max_tokens
        self.messages: list[dict[str, Any]] = []

    def user(self, text: str) -> None:
        if not self.world.time_in_prefix and self.world.revision == "r2":
            text = f"Current time: {self.world.now()}\n\n{text}"  # the fix: the time moved out of the prefix
        self.messages.append({"role": "user", "content": text})

    def ask_tool(self, name: str) -> tuple[str, dict[str, Any]]:
        """One turn in which the model calls `name`; returns (call id, arguments)."""
        if self.provider == "openai":
            response = self._openai(tool_choice={"type": "function", "function": {"name": name}})
            call = response.choices[0].message.tool_calls[0]
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]})
            return call.id, json.loads(call.function.arguments)
        response = self._anthropic(tool_choice={"type": "tool", "name": name})
        block = next(b for b in response.content if b.type == "tool_use")
        self.messages.append({"role": "assistant", "content": [{"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}]})
        return block.id, dict(block.input)

    def tool_result(self, call_id: str, content: str, is_error: bool = False) -> None:
        if self.provider == "openai":
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
        else:
            result = {"type": "tool_result", "tool_use_id": call_id, "content": content}
            if is_error:
                result["is_error"] = True
            self.messages.append({"role": "user", "content": [result]})

    def answer(self, *, stream: bool = False, max_tokens: int | None = None) -> str:
        """A text turn (no tool), optionally streamed; the answer joins the conversation."""
        limit = max_tokens or self.max_tokens
        if self.provider == "openai":
            if stream:  # no stream_options: agentyield asks for the usage and hides that chunk
                chunks = self._openai(tool_choice="none", stream=True, limit=limit)
                text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            else:
                response = self._openai(tool_choice="none", limit=limit)
                text = response.choices[0].message.content or ""
            self.messages.append({"role": "assistant", "content": text})
            return text
        if stream:
            self.world.tick()
            with self.world.anthropic.messages.stream(**self._anthropic_request({"type": "none"}, limit)) as events:
                text = "".join(events.text_stream)
                events.get_final_message()
        else:
            response = self._anthropic(tool_choice={"type": "none"}, limit=limit)
            text = "".join(b.text for b in response.content if b.type == "text")
        self.messages.append({"role": "assistant", "content": [{"type": "text", "text": text}]})
        return text

    def _openai(self, *, tool_choice: Any, stream: bool = False, limit: int | None = None) -> Any:
        self.world.tick()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": self.world.system(self.role)}, *self.messages],
            "temperature": 0.2,
            "max_completion_tokens": limit or self.max_tokens,
            "prompt_cache_key": f"{self.role}/{self.toolset}",
        }
        if _TOOLSETS[self.toolset]:
            kwargs["tools"] = _openai_tools(self.toolset)
            kwargs["tool_choice"] = tool_choice
        return self.world.openai.chat.completions.create(**kwargs, stream=True) if stream else self.world.openai.chat.completions.create(**kwargs)

    def _anthropic_request(self, tool_choice: Any, limit: int) -> dict[str, Any]:
        messages = list(self.messages)
        last = dict(messages[-1])
        content = last["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
        blocks[-1]["cache_control"] = {"type": "ephemeral"}  # 5-minute breakpoint: the conversation so far
        last["content"] = blocks
        messages[-1] = last
        system = [{"type": "text", "text": self.world.system(self.role), "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
        request: dict[str, Any] = {"model": self.model, "max_tokens": limit, "system": system, "messages": messages}
        if _TOOLSETS[self.toolset]:
            request["tools"] = _anthropic_tools(self.toolset)
            request["tool_choice"] = tool_choice
        return request

    def _anthropic(self, *, tool_choice: Any, limit: int | None = None) -> Any:
        self.world.tick()
        request = self._anthropic_request(tool_choice, limit or self.max_tokens)
        return self.world.anthropic.messages.create(**request)


def _tool(world: _World, name: str, call_id: str, args: dict[str, Any], *, fails: bool, passing: bool = True) -> tuple[str, bool]:
    """Run a tool inside an `execute_tool` span; a failure is the span's error and the model's tool result."""
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": call_id,
                  "gen_ai.tool.type": "function"}
    with world.tools.start_as_current_span(f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attributes,
                                           record_exception=False, set_status_on_exception=False) as span:
        try:
            return _run_tool(name, args, fails=fails, passing=passing), False
        except ToolFailure as failure:
            kind = str(failure)
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR, kind))
            return f"{kind}: the tool did not complete", True


def _research(world: _World, plan: TaskPlan, question: str) -> str:
    """The sub-agent: a nested task on its own model, whose spend rolls up into the delegating task."""
    provider, model = MODELS[RESEARCHER]
    with agentyield.task("research", agent=RESEARCHER) as sub:
        convo = _Conversation(world, RESEARCHER, provider, model, RESEARCHER, 1024)
        convo.user(f"Question from the coder agent: {question}\nAnswer with short notes and cite files or pages.")
        errors = 0
        for step, fails in zip(plan.research_steps, plan.research_errors):
            call_id, args = convo.ask_tool(step)
            result, failed = _tool(world, step, call_id, args, fails=fails)
            errors += failed
            convo.tool_result(call_id, result, failed)
        notes = convo.answer()
        sub.artifact("notes", id=f"NOTES-{plan.index}")  # not judged: the delegating task's artifact pays for it
        sub.outcome(errors < len(plan.research_steps))
    return notes


_BRIEFS = {
    "fix-bug": "Fix issue #{n}: {text}\nReproduce the failure, find the cause, patch it and keep the tests green.",
    "write-tests": "Ticket #{n}: raise coverage of the module named below. {text}\nWrite focused tests; no production changes.",
    "research": "Question #{n}: {text}\nWrite a short report with the options, trade-offs and a recommendation.",
    "summarize": "Summarize for the weekly update (#{n}): {text}\nKeep it under 200 words, for engineering managers.",
}


def _coder_task(world: _World, plan: TaskPlan) -> None:
    provider, model = MODELS[plan.version]
    attributes = {VERSION_ATTRIBUTE: plan.version}
    with agentyield.task(plan.kind, agent=CODER, attributes=attributes) as current:
        output_at_start = world.endpoint.output_tokens
        convo = _Conversation(world, CODER, provider, model, plan.kind, 4096)
        brief = _prose(random.Random(f"brief/{plan.index}"), 60 + plan.index * 37 % 240)
        convo.user(_BRIEFS[plan.kind].format(n=1200 + plan.index, text=brief))
        for step, fails in zip(plan.steps, plan.tool_errors):
            call_id, args = convo.ask_tool(step)
            if step == "delegate_research":
                convo.tool_result(call_id, _research(world, plan, args["question"]))
                continue
            result, failed = _tool(world, step, call_id, args, fails=fails)
            convo.tool_result(call_id, result, failed)
        convo.answer(stream=plan.kind == "summarize", max_tokens=1200 if plan.kind == "summarize" else 2048)
        spent = world.endpoint.output_tokens - output_at_start
        success = plan.roll < success_probability(plan, spent)
        if plan.kind != "summarize":
            with agentyield.verification("tests" if plan.kind != "research" else "review") as check:
                if plan.kind in ("fix-bug", "write-tests"):
                    for attempt in range(plan.test_run_errors + 1):
                        call_id = f"verify-{plan.index}-{attempt}"
                        _, failed = _tool(world, "run_tests", call_id, {"target": "tests/"},
                                          fails=attempt < plan.test_run_errors, passing=success)
                convo.user("Review the work above against the request. Answer APPROVE or REQUEST_CHANGES, then list the issues.")
                convo.answer(max_tokens=512)
                check.passed(success)  # the tests (or the review) pass exactly when the work is good
        artifact_id = _ARTIFACT_ID[plan.kind].format(n=4100 + plan.index)
        if success:
            current.artifact(_ARTIFACT_KIND[plan.kind], id=artifact_id, accepted=True)
        elif not plan.give_up:
            current.artifact(_ARTIFACT_KIND[plan.kind], id=artifact_id, accepted=False)
        score = 0.7 + 0.3 * plan.score_noise if success else 0.45 * plan.score_noise
        current.outcome(success, score=round(score, 3))


def _watcher_cycle(world: _World, cycle: int) -> None:
    """The persistent agent: a few calls outside any task, then an alert that closes its window."""
    provider, model = MODELS["watcher"]
    rng = random.Random(f"watcher/{cycle}")
    convo = _Conversation(world, "watcher", provider, model, "watcher", 300)
    for poll in range(WATCHER_CALLS):
        failing = rng.randint(0, 4)
        convo.user(f"CI snapshot {cycle}.{poll}: {rng.randint(180, 260)} pipelines, {failing} failing, "
                   f"p95 deploy time {rng.randint(6, 19)} min. {_prose(rng, 120)}\nIs an alert warranted?")
        convo.answer()
    accepted = ALERT_ACCEPTED[cycle % len(ALERT_ACCEPTED)]
    agentyield.artifact("alert", id=f"ALERT-{cycle + 1}", accepted=accepted,
                        attributes={"alert.severity": "warning" if accepted else "info"})


def run_workload(*, seed: int = 7, scale: int = 1) -> None:
    """Run the scripted workload (see the module docstring). Assumes `agentyield.instrument()` was called."""
    import anthropic
    import openai

    endpoint = _Endpoint()
    ohx, ahx = _sdk_httpx(openai), _sdk_httpx(anthropic)
    world = _World(
        openai=openai.OpenAI(api_key="sk-demo-not-a-key", base_url=_OPENAI_URL, max_retries=0,
                             http_client=ohx.Client(transport=ohx.MockTransport(endpoint.openai))),
        anthropic=anthropic.Anthropic(api_key="sk-ant-demo-not-a-key", base_url=_ANTHROPIC_URL, max_retries=0,
                                      http_client=ahx.Client(transport=ahx.MockTransport(endpoint.anthropic))),
        endpoint=endpoint,
        tools=trace.get_tracer("agentyield.demo.tools"),
    )
    plans = plan_workload(seed, scale)
    change, fix = prompt_change_task(scale), prompt_fix_task(scale)
    every = max(1, len(plans) // (ALERTS_PER_SCALE * scale))
    try:
        for plan in plans:
            if plan.index == change:  # the revised template, with the time on its first line: the cache breaks
                world.revision, world.time_in_prefix = "r2", True
            elif plan.index == fix:  # the fix: the time moves into the user message
                world.time_in_prefix = False
            _coder_task(world, plan)
            if (plan.index + 1) % every == 0:
                _watcher_cycle(world, plan.index // every)
    finally:
        world.openai.close()
        world.anthropic.close()
