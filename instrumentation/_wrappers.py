"""Generic wrapper factories that own the span lifecycle for every provider.

Two zones in every wrapper: the user's call runs in a narrow `try` that records a failure and re-raises
the original exception; all telemetry before and after runs in guarded helpers that never raise into
the host and never replace the user's return value with anything but a transparent proxy of it.
Sync and async share `_start` and `_finish`; the shells differ only by `await`.
"""

from __future__ import annotations

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
    """The user's call, with the span current: a failure is recorded and the original exception re-raised."""
    invocation.enter()
    try:
        return wrapped(*args, **kwargs)
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
        try:
            result = await wrapped(*args, **invocation.request.kwargs)
        except BaseException as error:
            invocation.fail(error)
            raise
        finally:
            invocation.exit()
        return finish(provider, invocation, result)

    return traced
