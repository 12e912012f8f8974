"""Transparent proxies for streamed responses and raw responses.

A stream proxy keeps `isinstance`, `close()`, `response` and the context manager of the SDK's stream,
while iteration runs through a plain generator that only looks at each chunk (the cheapest per-chunk
path measured: a generator, not a Python `__next__`). The span ends exactly once: when the stream is
exhausted, closed, leaves its `with` block, raises, or is garbage collected unread.
A raw response (`with_raw_response`, `with_streaming_response`) is known only once the caller parses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

import wrapt

from agentyield._guard import internal_error

if TYPE_CHECKING:
    from ._invocation import LLMInvocation
    from ._provider import StreamState

__all__ = ["TracedAsyncStream", "TracedStream"]


class _StreamEnd:
    """The ending shared by the sync and async stream proxies."""

    _self_invocation: LLMInvocation
    _self_state: StreamState

    def _self_end(self, how: str, error: BaseException | None = None) -> None:
        invocation = self._self_invocation
        if invocation.ended:
            return
        try:
            response = self._self_state.response()
        except Exception as exc:  # noqa: BLE001 - never break the host; the span still ends, usage unknown
            response = None
            internal_error("stream.end", exc)
        if error is None:
            invocation.stop(response, how)
        else:
            invocation.fail(error, response)

    def _self_feed_failed(self, exc: Exception) -> None:
        """Our chunk reader broke on one chunk: the stream goes on untouched, and the other chunks are still
        read (a malformed chunk is not this: the readers skip and name it, see `FieldReader`)."""
        internal_error("stream.feed", exc)


class TracedStream(wrapt.ObjectProxy, _StreamEnd):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: LLMInvocation, state: StreamState) -> None:
        super().__init__(stream)
        self._self_invocation = invocation
        self._self_state = state
        self._self_iterator: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = self._self_iterate()
        return iterator

    def __next__(self) -> Any:
        return next(self.__iter__())

    def _self_iterate(self) -> Iterator[Any]:
        try:
            feed = self._self_state.feed  # looked up once, not per chunk
            for chunk in self.__wrapped__:
                try:
                    if feed(chunk):
                        continue
                except Exception as exc:  # noqa: BLE001
                    self._self_feed_failed(exc)
                yield chunk
        except GeneratorExit:
            self._self_end("abandoned")
            raise
        except BaseException as error:
            self._self_end("error", error)
            raise
        self._self_end("completed")

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end("closed")

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end("closed")

    def __del__(self) -> None:
        self._self_end("abandoned")


class TracedAsyncStream(wrapt.ObjectProxy, _StreamEnd):  # type: ignore[misc]
    def __init__(self, stream: Any, invocation: LLMInvocation, state: StreamState) -> None:
        super().__init__(stream)
        self._self_invocation = invocation
        self._self_state = state
        self._self_iterator: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        iterator = self._self_iterator
        if iterator is None:
            iterator = self._self_iterator = self._self_iterate()
        return iterator

    async def __anext__(self) -> Any:
        return await self.__aiter__().__anext__()

    async def _self_iterate(self) -> AsyncIterator[Any]:
        try:
            feed = self._self_state.feed  # looked up once, not per chunk
            async for chunk in self.__wrapped__:
                try:
                    if feed(chunk):
                        continue
                except Exception as exc:  # noqa: BLE001
                    self._self_feed_failed(exc)
                yield chunk
        except GeneratorExit:
            self._self_end("abandoned")
            raise
        except BaseException as error:
            self._self_end("error", error)
            raise
        self._self_end("completed")

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end("closed")

    async def __aenter__(self) -> TracedAsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end("closed")

    def __del__(self) -> None:
        self._self_end("abandoned")
