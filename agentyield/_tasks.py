"""Units of work: `task()`, `artifact()`, `verification()`.

These only write spans and span events with `agentyield.*` attributes; the span processor derives
every number from them, exactly as it would from spans that arrived over OTLP.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
import time
import uuid
from typing import Any, Callable, TypeVar

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import _semconv as sc
from ._guard import internal_error
from ._version import __version__

__all__ = [
    "BudgetExceeded", "Task", "Verification", "artifact", "check_budget", "configure", "current_task", "signal", "task", "tracer", "verification",
]

MAX_TASK_ARTIFACTS = 10_000
"""Artifacts one task keeps for its end-of-task arrays; more are counted in `agentyield.task.artifacts.dropped`."""

F = TypeVar("F", bound=Callable[..., Any])

_current: contextvars.ContextVar[Task | None] = contextvars.ContextVar("agentyield_task", default=None)
_tracer: trace.Tracer = trace.get_tracer("agentyield", __version__)
_before_end: Callable[[Any, int], None] | None = None
_default_agent: str | None = None
_budget_check: Callable[[int], str | None] | None = None

ON_EXCEED = ("record", "raise")


class BudgetExceeded(Exception):
    """Raised by an LLM call, before it is sent, inside a task (or a sub-task of one) whose
    `task(..., on_exceed="raise")` budget is spent: the task's loop stops there."""


def configure(
    tracer: trace.Tracer | None,
    before_end: Callable[[Any, int], None] | None,
    default_agent: str | None = None,
    budget_check: Callable[[int], str | None] | None = None,
) -> None:
    """Called by `instrument()`: task spans come from agentyield's tracer, are enriched before they end, an
    artifact outside any task names the process's agent when it names none, and budgets are checked."""
    global _tracer, _before_end, _default_agent, _budget_check
    _tracer = tracer or trace.get_tracer("agentyield", __version__)
    _before_end = before_end
    _default_agent = default_agent
    _budget_check = budget_check


def check_budget() -> None:
    """Called by every LLM-call wrapper before the call is sent: raise `BudgetExceeded` when the current task's
    enforced budget (or an ancestor's) is spent. A fast no-op outside such tasks."""
    current = _current.get()
    if current is None or not current.enforce_budget or _budget_check is None:
        return
    try:
        reason = _budget_check(current.span.get_span_context().span_id)
    except Exception as exc:  # noqa: BLE001 - our failure never stops the agent
        internal_error("tasks.check_budget", exc)
        return
    if reason is not None:
        raise BudgetExceeded(reason)


def tracer() -> trace.Tracer:
    """The tracer `instrument()` configured (tool calls use it too)."""
    return _tracer


def _artifact_attributes(kind: str, id: str | None, accepted: bool | None, attributes: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = dict(attributes or {})
    out[sc.ARTIFACT_KIND] = kind
    if id is not None:
        out[sc.ARTIFACT_ID] = id
    if accepted is not None:
        out[sc.ARTIFACT_ACCEPTED] = bool(accepted)
    return out


class Task:
    """One unit of work in flight, as yielded by `task()`."""

    def __init__(self, span: trace.Span, name: str, task_id: str, agent: str | None, enforce_budget: bool = False) -> None:
        self.span = span
        self.name = name
        self.id = task_id
        self.agent = agent
        self.enforce_budget = enforce_budget
        """It or an ancestor has a budget with `on_exceed="raise"`: LLM calls inside check it first."""
        self._outcome_set = False
        self._artifact_kinds: list[str] = []
        self._artifact_accepted: list[str] = []
        self._artifacts_dropped = 0

    def artifact(
        self, kind: str, *, id: str | None = None, accepted: bool | None = None, attributes: dict[str, Any] | None = None
    ) -> None:
        """Record a completed artifact of this task (`accepted=None`: not yet judged).

        It is an event on the task span (for trace viewers, within the SDK's event limit) and, at the task's
        end, an entry of the task's artifact arrays, which the numbers are booked from: none is lost."""
        self.span.add_event(sc.ARTIFACT_EVENT, _artifact_attributes(kind, id, accepted, attributes))
        if len(self._artifact_kinds) >= MAX_TASK_ARTIFACTS:
            self._artifacts_dropped += 1
            return
        self._artifact_kinds.append(str(kind))
        self._artifact_accepted.append("unknown" if accepted is None else ("true" if accepted else "false"))

    def _end_attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._artifact_kinds:
            out[sc.TASK_ARTIFACT_KINDS] = tuple(self._artifact_kinds)
            out[sc.TASK_ARTIFACT_ACCEPTED] = tuple(self._artifact_accepted)
        if self._artifacts_dropped:
            out[sc.TASK_ARTIFACTS_DROPPED] = self._artifacts_dropped
        return out

    def user_message(self) -> None:
        """Record that the user replied (a learning signal: the next state of the task's last LLM call).
        Only the fact is recorded, never the message."""
        signal(sc.SIGNAL_USER_REPLY, _task=self)

    def outcome(self, success: bool, *, score: float | None = None) -> None:
        """Record whether the task met its goal (the last call wins)."""
        self._outcome_set = True
        self.span.set_attribute(sc.TASK_OUTCOME, "success" if success else "failure")
        if score is not None:
            self.span.set_attribute(sc.TASK_SCORE, float(score))


class task:  # noqa: N801 - used like a function: `with agentyield.task("fix-bug") as t:`
    """A unit of work: a context manager (sync and async) and a decorator (sync and async functions).

    Opens an `invoke_agent {agent}` span (or `invoke_workflow {name}` without an agent). Tasks nest: a
    sub-agent's task rolls its cost up into its parent's. An exception leaving the task marks it failed.
    """

    def __init__(
        self,
        name: str,
        *,
        task_id: str | None = None,
        agent: str | None = None,
        attributes: dict[str, Any] | None = None,
        budget_usd: float | None = None,
        budget_tokens: int | None = None,
        on_exceed: str = "record",
        rollout_group: str | None = None,
    ) -> None:
        """`rollout_group`: sibling tasks sampled from the same start; prefix sharing is measured among them.
        `budget_usd` / `budget_tokens`: what the task may spend, its sub-tasks included. Span events mark 80%
        and 100%; with `on_exceed="raise"` the next LLM call inside it raises `BudgetExceeded` before it is sent."""
        if on_exceed not in ON_EXCEED:
            raise ValueError(f"task({name!r}): on_exceed={on_exceed!r} must be one of {ON_EXCEED}")
        for label, value in (("budget_usd", budget_usd), ("budget_tokens", budget_tokens)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"task({name!r}): {label}={value!r} must be a positive number")
        if budget_tokens is not None and not isinstance(budget_tokens, int):
            raise ValueError(f"task({name!r}): budget_tokens={budget_tokens!r} must be a whole number of tokens")
        self.name = name
        self.task_id = task_id
        self.agent = agent
        self.attributes = attributes
        self._start_attributes: dict[str, Any] = {}
        if budget_usd is not None:
            self._start_attributes[sc.BUDGET_USD] = float(budget_usd)
        if budget_tokens is not None:
            self._start_attributes[sc.BUDGET_TOKENS] = budget_tokens
        if self._start_attributes:
            self._start_attributes[sc.BUDGET_ON_EXCEED] = on_exceed
        if rollout_group is not None:
            self._start_attributes[sc.ROLLOUT_GROUP] = str(rollout_group)
        self._entered: list[tuple[Task, object, object]] = []

    def _open(self) -> Task:
        parent = _current.get()
        agent = self.agent if self.agent is not None else (parent.agent if parent is not None else None)
        task_id = self.task_id or uuid.uuid4().hex
        operation = sc.OPERATION_INVOKE_AGENT if agent else sc.OPERATION_INVOKE_WORKFLOW
        attributes: dict[str, Any] = dict(self.attributes or {})
        attributes.update({sc.GEN_AI_OPERATION_NAME: operation, sc.TASK_NAME: self.name, sc.TASK_ID: task_id})
        if agent:
            attributes[sc.GEN_AI_AGENT_NAME] = agent
        attributes.update(self._start_attributes)
        span = _tracer.start_span(f"{operation} {agent or self.name}", kind=SpanKind.INTERNAL, attributes=attributes)
        enforce = self._start_attributes.get(sc.BUDGET_ON_EXCEED) == "raise" or (parent is not None and parent.enforce_budget)
        current = Task(span, self.name, task_id, agent, enforce)
        token = context_api.attach(trace.set_span_in_context(span))
        self._entered.append((current, token, _current.set(current)))
        return current

    def _close(self, error: BaseException | None) -> None:
        current, token, task_token = self._entered.pop()
        _current.reset(task_token)  # type: ignore[arg-type]
        context_api.detach(token)
        span = current.span
        if error is not None:
            if not current._outcome_set:
                span.set_attribute(sc.TASK_OUTCOME, "failure")
            span.set_attribute(sc.ERROR_TYPE, type(error).__qualname__)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.set_attributes(current._end_attributes())
        end_time = time.time_ns()  # the processor books the task at the instant the span ends
        if _before_end is not None:
            _before_end(span, end_time)
        span.end(end_time)

    def __enter__(self) -> Task:
        return self._open()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._close(exc)

    async def __aenter__(self) -> Task:
        return self._open()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._close(exc)

    def _again(self) -> task:
        """The same task specification, entered afresh (each call of a decorated function is its own task)."""
        again = copy.copy(self)
        again._entered = []
        return again

    def __call__(self, func: F) -> F:
        """As a decorator: one task per call of `func`."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._again():
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._again():
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def current_task() -> Task | None:
    return _current.get()


def artifact(
    kind: str,
    *,
    agent: str | None = None,
    id: str | None = None,
    accepted: bool | None = None,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Record a completed artifact.

    Inside a task it belongs to that task. Outside any task (a persistent agent with no natural task
    boundary) it closes the agent's running window: the agent's spend since its previous artifact.
    """
    current = _current.get()
    if current is not None and agent in (None, current.agent):
        current.artifact(kind, id=id, accepted=accepted, attributes=attributes)
        return
    values = _artifact_attributes(kind, id, accepted, attributes)
    if agent or _default_agent:
        values[sc.ARTIFACT_AGENT] = agent or _default_agent
    span = _tracer.start_span(sc.ARTIFACT_EVENT, kind=SpanKind.INTERNAL, attributes=values)
    span.end()


def signal(kind: str, *, _task: Task | None = None) -> None:
    """Record a learning signal of `kind` (e.g. `user_reply`, `thumbs_down`, `test_failure`): the next state of
    the current task's last LLM call (`agentyield.signals`, docs/metrics.md "Learning signal")."""
    owner = _task or _current.get()
    context = trace.set_span_in_context(owner.span) if owner is not None else None
    span = _tracer.start_span(sc.SIGNAL_EVENT, context, SpanKind.INTERNAL, {sc.SIGNAL_KIND: str(kind)})
    span.end()


class Verification:
    """A verification block in flight, as yielded by `verification()`: record whether the check passed."""

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        self.recorded = False

    def passed(self, ok: bool = True) -> None:
        """Record the check's result (the last call wins): the report's verification pass rate counts these."""
        self.recorded = True
        self.span.set_attribute(sc.VERIFICATION_PASSED, bool(ok))

    def failed(self) -> None:
        self.passed(False)


class verification:  # noqa: N801
    """Marks the work inside as verification (tests, review, self-critique): `agentyield.phase = "verification"`.

    `with agentyield.verification("tests") as check: ...; check.passed(ok)` records the result; an exception
    leaving the block with no recorded result records a failure."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._entered: list[tuple[Verification, object]] = []

    def __enter__(self) -> Verification:
        attributes = {sc.PHASE: sc.PHASE_VERIFICATION}
        span = _tracer.start_span(f"verification {self.name}" if self.name else "verification", attributes=attributes)
        handle = Verification(span)
        self._entered.append((handle, context_api.attach(trace.set_span_in_context(span))))
        return handle

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        handle, token = self._entered.pop()
        context_api.detach(token)
        if exc is not None and not handle.recorded:
            handle.span.set_attribute(sc.VERIFICATION_PASSED, False)
        handle.span.end()

    async def __aenter__(self) -> Verification:
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)
