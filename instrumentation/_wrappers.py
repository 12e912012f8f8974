"""Generic wrapper factories that own the span lifecycle for every provider.

Two zones in every wrapper: the user's call runs in a narrow `try` that records a failure and re-raises
the original exception; all telemetry before and after runs in guarded helpers that never raise into
the host and never replace the user's return value with anything but a transparent proxy of it.
Sync and async share `_start` and `_finish`; the shells differ only by `await`.

The SDK is called through a one-line trampoline that carries the caller's file, line and module, so a
warning the SDK raises with `stacklevel` pointing at its caller (the Anthropic SDK's "model is deprecated")
names the caller's line and passes Python's default filters exactly as it does without agentyield, instead
of naming this file (`warnings.warn(skip_file_prefixes=...)` only exists from Python 3.12, and only for
the code that warns).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any, Callable

from agentyield._guard import internal_error
from agentyield._tasks import check_budget

from ._invocation import in_call
from ._raw import traced_raw_response
from ._streams import TracedAsyncStream, TracedStream

if TYPE_CHECKING:
    from ._invocation import LLMInvocation, Telemetry
    from ._provider import Provider

__all__ = ["async_wrapper", "call", "finish", "start", "sync_wrapper"]

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def _call(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: return wrapped(*args, **kwargs)  # noqa: E704


async def _acall(wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: return await wrapped(*args, **kwargs)  # noqa: E704


_AS_CALLER_MAX = 1024
_as_caller_cache: dict[tuple[int, int, bool], tuple[types.CodeType, Callable[..., Any]]] = {}


def as_caller(frame: types.FrameType, is_async: bool) -> Callable[..., Any]:
    """The trampoline (`_call` or `_acall`) compiled as if it were line `frame.f_lineno` of the caller's code,
    with the caller's globals (warnings take their module and registry from them). Cached per call site: by the
    code's identity and the call's instruction offset (hashing a code object, or finding its line, costs more
    than the rest of this)."""
    caller = frame.f_code
    key = (id(caller), frame.f_lasti, is_async)
    cached = _as_caller_cache.get(key)
    if cached is not None and cached[0] is caller:
        return cached[1]
    template = _acall if is_async else _call
    code = template.__code__.replace(co_filename=caller.co_filename, co_firstlineno=frame.f_lineno, co_name=caller.co_name)
    function = types.FunctionType(code, frame.f_globals, template.__name__)
    if len(_as_caller_cache) >= _AS_CALLER_MAX:  # bounded: call sites are few, but code can be generated
        _as_caller_cache.clear()
    _as_caller_cache[key] = (caller, function)  # the reference keeps the id from being reused
    return function


def start(telemetry: Telemetry, provider: Provider, operation: str, instance: Any, kwargs: dict[str, Any]) -> LLMInvocation | None:
    """Open the call's span, or return None (and call the SDK untouched) if our own code fails or the call
    is made inside another instrumented call (counted there)."""
    if in_call():
        return None
    try:
        return telemetry.start(provider.name, provider.request(operation, instance, kwargs))
    except Exception as exc:  # noqa: BLE001 - never break the host
        internal_error(f"{provider.name}.{operation}.start", exc)
        return None


def finish(provider: Provider, invocation: LLMInvocation, result: Any) -> Any:
    """End the span from a returned object, or hand back a proxy that ends it when the stream ends."""
    try:
        if isinstance(result, provider.stream_types):
            return TracedStream(result, invocation, provider.stream_state(invocation.request))
        if isinstance(result, provider.async_stream_types):
            return TracedAsyncStream(result, invocation, provider.stream_state(invocation.request))
        if isinstance(result, provider.raw_types):
            return traced_raw_response(result, invocation, lambda parsed: finish(provider, invocation, parsed))
        invocation.stop(provider.response(invocation.request, result))
    except Exception as exc:  # noqa: BLE001
        # Our reader failed on this response: the span ends marked as having no usage.
        invocation.stop(None)
        internal_error(f"{provider.name}.{invocation.request.operation}.finish", exc)
    return result


def call(invocation: LLMInvocation, wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The user's call, with the span current: a failure is recorded and the original exception re-raised.
    Called from a wrapper that wrapt calls directly, so two frames up is the user's code."""
    invocation.enter()
    trampoline = as_caller(sys._getframe(2), False)
    try:
        return trampoline(wrapped, args, kwargs)
    except BaseException as error:
        invocation.fail(error)
        raise
    finally:
        invocation.exit()


def sync_wrapper(telemetry: Telemetry, provider: Provider, operation: str) -> Wrapper:
    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        check_budget()  # raises BudgetExceeded, before the call is sent, in a task whose enforced budget is spent
        invocation = start(telemetry, provider, operation, instance, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        return finish(provider, invocation, call(invocation, wrapped, args, invocation.request.kwargs))

    return traced


def async_wrapper(telemetry: Telemetry, provider: Provider, operation: str) -> Wrapper:
    async def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        check_budget()
        invocation = start(telemetry, provider, operation, instance, kwargs)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        invocation.enter()
        trampoline = as_caller(sys._getframe(1), True)
        try:
            result = await trampoline(wrapped, args, invocation.request.kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        finally:
            invocation.exit()
        return finish(provider, invocation, result)

    return traced
