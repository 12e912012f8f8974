"""Proxies for raw responses (`with_raw_response`, `with_streaming_response`).

The SDK returns these before the body is parsed, so the call's outcome is known only when the caller
calls `parse()`; parsing again hands back the same object (or the same stream proxy). A raw response
dropped unparsed ends its span marked as having no usage.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable

import wrapt

if TYPE_CHECKING:
    from ._invocation import LLMInvocation

__all__ = ["traced_raw_response"]


class _TracedRaw(wrapt.ObjectProxy):  # type: ignore[misc]
    """A raw response: the call's outcome is known only when the caller parses it."""

    def __init__(self, raw: Any, invocation: LLMInvocation, finish: Callable[[Any], Any]) -> None:
        super().__init__(raw)
        self._self_finish = finish
        self._self_invocation = invocation
        self._self_parsed: dict[Any, Any] = {}

    def _self_traced(self, key: Any, parsed: Any) -> Any:
        """The object to hand out for `parsed`: the same proxy every time the caller parses again."""
        cached = self._self_parsed.get(key)
        if cached is None or cached[0] is not parsed:
            cached = self._self_parsed[key] = (parsed, self._self_finish(parsed))
        return cached[1]

    def __del__(self) -> None:
        invocation = self._self_invocation
        if not invocation.ended:
            invocation.stop(None, "abandoned" if invocation.request.stream else None)


class _TracedRawSync(_TracedRaw):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        return self._self_traced(kwargs.get("to"), parsed)


class _TracedRawAsync(_TracedRaw):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_invocation.fail(error)
            raise
        return self._self_traced(kwargs.get("to"), parsed)


def traced_raw_response(raw: Any, invocation: LLMInvocation, finish: Callable[[Any], Any]) -> Any:
    """`finish` turns the parsed object into what the caller gets (the object itself, or a stream proxy)."""
    if inspect.iscoroutinefunction(type(raw).parse):
        return _TracedRawAsync(raw, invocation, finish)
    return _TracedRawSync(raw, invocation, finish)
