"""An OTLP protobuf trace export request (a `.pb` file: an OTLP/HTTP body), read a batch of spans at a time.

The request is one protobuf message, so decoding it whole holds every span at once, several times the file's
size. Its wire format is walked instead, down to the spans (request -> ResourceSpans -> ScopeSpans -> Span):
each batch of spans is re-wrapped with its resource and scope into a small request of its own and decoded
alone, so memory follows the batch, not the file. Fields are expected in field-number order, as every
protobuf serializer writes them (a resource written after its spans would not be attached to them).
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

__all__ = ["span_batches"]

_LENGTH_DELIMITED = 2
_RESOURCE_SPANS, _SCOPE_SPANS, _SPANS = 1, 2, 2
"""Field numbers: ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans, ScopeSpans.spans."""


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


class _Reader:
    """Protobuf wire format from a file, tracking the offset; malformed input raises ValueError saying where."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.offset = 0

    def varint(self, *, at_end_ok: bool = False) -> int | None:
        result = shift = 0
        while True:
            byte = self.handle.read(1)
            if not byte:
                if at_end_ok and shift == 0:
                    return None
                raise ValueError(f"truncated at byte {self.offset}")
            self.offset += 1
            result |= (byte[0] & 0x7F) << shift
            if byte[0] < 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError(f"a varint longer than 10 bytes at byte {self.offset}")

    def read(self, size: int) -> bytes:
        data = self.handle.read(size)
        self.offset += len(data)
        if len(data) != size:
            raise ValueError(f"truncated at byte {self.offset}: a field of {size} bytes")
        return data

    def length(self) -> int:
        """A length-delimited field's length."""
        return self.varint()  # type: ignore[return-value]  # never None: at_end_ok is False

    def skip(self, wire_type: int) -> None:
        if wire_type == 0:
            self.varint()
        elif wire_type == 1:
            self.read(8)
        elif wire_type == _LENGTH_DELIMITED:
            self.read(self.length())
        elif wire_type == 5:
            self.read(4)
        else:
            raise ValueError(f"wire type {wire_type} at byte {self.offset}")

    def fields(self, end: int | None) -> Iterator[tuple[int, int]]:
        """(field number, wire type) of each field until byte `end` (the end of the file when None)."""
        while end is None or self.offset < end:
            tag = self.varint(at_end_ok=end is None)
            if tag is None:
                return
            yield tag >> 3, tag & 7
        if self.offset != end:
            raise ValueError(f"a field runs past the end of its message at byte {end}")


def span_batches(handle: BinaryIO, batch: int = 512) -> Iterator[bytes]:
    """Serialized ExportTraceServiceRequests of at most `batch` spans each, with their resource and scope,
    read from `handle` as it goes; raises ValueError where the wire format is broken (after yielding what
    came before)."""
    reader = _Reader(handle)
    for number, wire_type in reader.fields(None):
        if number != _RESOURCE_SPANS or wire_type != _LENGTH_DELIMITED:
            reader.skip(wire_type)
            continue
        resource_end = reader.length() + reader.offset
        resource = b""  # ResourceSpans' other fields (resource, schema_url), encoded
        for number, wire_type in reader.fields(resource_end):
            if wire_type != _LENGTH_DELIMITED:
                reader.skip(wire_type)
                continue
            if number != _SCOPE_SPANS:
                resource += _field(number, reader.read(reader.length()))
                continue
            scope_end = reader.length() + reader.offset
            scope, spans = b"", []  # ScopeSpans' other fields (scope, schema_url), encoded
            for number, wire_type in reader.fields(scope_end):
                if wire_type != _LENGTH_DELIMITED:
                    reader.skip(wire_type)
                elif number == _SPANS:
                    spans.append(_field(_SPANS, reader.read(reader.length())))
                    if len(spans) >= batch:
                        yield _field(_RESOURCE_SPANS, resource + _field(_SCOPE_SPANS, scope + b"".join(spans)))
                        spans = []
                else:
                    scope += _field(number, reader.read(reader.length()))
            if spans:
                yield _field(_RESOURCE_SPANS, resource + _field(_SCOPE_SPANS, scope + b"".join(spans)))
