"""The narrow contract every provider module fulfils, and nothing else.

A provider reads request kwargs into an `LLMRequest`, maps a response (or, through a `StreamState`, the
events of a stream) to an `LLMResponse`, and names the SDK types that need a proxy. Provider modules
never touch spans; the generic wrappers in `_wrappers` do.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._records import LLMRequest, LLMResponse

__all__ = ["Provider", "StreamState"]


class StreamState(Protocol):
    """Watches one stream's chunks for what the final response will say (usage, ids, finish reasons)."""

    def feed(self, chunk: Any) -> bool:
        """Look at one chunk; return True to hide it from the caller (only the usage chunk we asked for)."""
        ...

    def response(self) -> LLMResponse | None:
        """What the stream said, or None if it said nothing usable."""
        ...


class Provider(Protocol):
    name: str
    """`gen_ai.provider.name`."""
    stream_types: tuple[type, ...]
    async_stream_types: tuple[type, ...]
    raw_types: tuple[type, ...]
    """Raw response wrappers (`with_raw_response`, `with_streaming_response`), parsed by the caller later."""

    def request(self, operation: str, instance: Any, kwargs: dict[str, Any]) -> LLMRequest: ...

    def response(self, request: LLMRequest, result: Any) -> LLMResponse: ...

    def stream_state(self, request: LLMRequest) -> StreamState: ...
