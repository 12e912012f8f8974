"""One OTLP/JSON trace document (pretty-printed, as protobuf's `MessageToJson` writes it), read a batch of
spans at a time.

`json.load` would hold the whole document, and every span in it, at once. The document is walked instead,
down to the spans (resourceSpans -> scopeSpans -> spans), each span decoded on its own; a batch of spans is
handed on as a small export request with its resource and scope, so memory follows the batch, not the file.
Members are expected in the order protobuf writes them (a resource after its scopeSpans would not be
attached to their spans).
"""

from __future__ import annotations

import json
from typing import Any, Iterator, TextIO

__all__ = ["span_batches"]

_CHUNK = 1 << 16
_WHITESPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


class _Text:
    """A JSON text read from a file in chunks; malformed input raises ValueError saying where."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.buffer = ""
        self.at = 0
        self.consumed = 0
        """Characters dropped from the buffer's front, for positions in messages."""

    def _fill(self) -> bool:
        """Read more: as much again as is buffered, so a value spanning many chunks is parsed O(log n) times."""
        chunk = self.handle.read(max(_CHUNK, len(self.buffer) - self.at))
        if not chunk:
            return False
        self.consumed += self.at
        self.buffer = self.buffer[self.at :] + chunk
        self.at = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            while self.at < len(self.buffer) and self.buffer[self.at] in _WHITESPACE:
                self.at += 1
            if self.at < len(self.buffer) or not self._fill():
                return self.buffer[self.at : self.at + 1]

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            where = self.consumed + self.at
            raise ValueError(f"expected {char!r} at character {where}, got {found!r}" if found else f"truncated at character {where}")
        self.at += 1

    def value(self) -> Any:
        """The next JSON value, whole."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.at)
            except json.JSONDecodeError as exc:
                if self._fill():
                    continue
                raise ValueError(f"{exc.msg} at character {self.consumed + exc.pos} (truncated?)") from None
            if end == len(self.buffer) and self._fill():  # a number may go on in the next chunk
                continue
            self.at = end
            return value

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads each key's value before the next."""
        for _ in self._items("{", "}"):
            key = self.value()
            if not isinstance(key, str):
                raise ValueError(f"expected a key at character {self.consumed + self.at}")
            self.expect(":")
            yield key

    def elements(self) -> Iterator[None]:
        """Once per element of the array that starts here; the caller reads each element."""
        return self._items("[", "]")

    def _items(self, opening: str, closing: str) -> Iterator[None]:
        """Once per item between `opening` and `closing`, past the comma before it."""
        self.expect(opening)
        first = True
        while True:
            if self.peek() == closing:
                self.at += 1
                return
            if not first:
                self.expect(",")
            first = False
            yield None


def span_batches(handle: TextIO, batch: int = 512) -> Iterator[dict[str, Any]]:
    """Export requests of at most `batch` spans each, with their resource and scope; raises ValueError where
    the document is not OTLP/JSON (after yielding what came before)."""
    text = _Text(handle)
    signals = False
    for key in text.members():
        if key != "resourceSpans":
            signals = signals or key in ("resourceMetrics", "resourceLogs")
            text.value()
            continue
        signals = True
        for _ in text.elements():
            resource: dict[str, Any] = {}
            for key in text.members():
                if key != "scopeSpans":
                    resource[key] = text.value()
                    continue
                for _ in text.elements():
                    scope: dict[str, Any] = {}
                    spans: list[Any] = []
                    for key in text.members():
                        if key != "spans":
                            scope[key] = text.value()
                            continue
                        for _ in text.elements():
                            spans.append(text.value())
                            if len(spans) >= batch:
                                yield {"resourceSpans": [{**resource, "scopeSpans": [{**scope, "spans": spans}]}]}
                                spans = []
                    if spans:
                        yield {"resourceSpans": [{**resource, "scopeSpans": [{**scope, "spans": spans}]}]}
    if not signals:
        raise ValueError("not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)")
    if text.peek():
        raise ValueError(f"more after the document at character {text.consumed + text.at}")
