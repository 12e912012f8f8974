"""OTLP JSON lines: the file format of the embedded default, the same as the Collector's file exporter.

One export request per line (`{"resourceSpans": [...]}` or `{"resourceMetrics": [...]}`), with the
OTLP/JSON conventions: lowerCamelCase field names, trace and span ids in hex, enums as integers.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ._forksafe import fork_safe_lock

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = ["JsonLinesWriter", "OTLPJsonError", "iter_requests", "to_json_line", "trace_files"]

_ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants ids in hex."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in _ID_FIELDS and isinstance(v, str) else _hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def to_json_line(request: Message) -> str:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(_hex_ids(data), separators=(",", ":")) + "\n"


class JsonLinesWriter:
    """Appends lines to `<directory>/<stem>.jsonl`; past `max_bytes` the file is renamed with a timestamp
    and a new one started; at most `keep` rotated files stay (the oldest are removed)."""

    def __init__(self, directory: str | Path, stem: str, *, max_bytes: int = 16 * 1024 * 1024, keep: int = 20) -> None:
        self.directory = Path(directory)
        self.stem = stem
        self.max_bytes = max_bytes
        self.keep = keep
        self.rotated_away = 0
        """Rotated files removed to honour `keep`."""
        self.failed_writes = 0
        """Writes that failed in a row (a full disk, a read-only directory); 0 once a write succeeds."""
        self._lock = fork_safe_lock(self)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.stem}.jsonl"

    def write(self, lines: Sequence[str]) -> None:
        """Append whole lines or nothing: a write that fails (a full disk) is cut back off the file, and a line
        left unfinished by a crash is ended before the next one, so every line after it starts fresh."""
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.path
            if path.exists() and path.stat().st_size >= self.max_bytes:
                self._rotate(path)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)

    def _rotate(self, path: Path) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target = self.directory / f"{self.stem}-{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl"
        path.rename(target)
        rotated = sorted(self.directory.glob(f"{self.stem}-*.jsonl"))
        for old in rotated[: max(0, len(rotated) - self.keep)]:
            old.unlink(missing_ok=True)
            self.rotated_away += 1


class OTLPJsonError(ValueError):
    """A trace file that is not OTLP JSON lines; the message is one line naming the file and line."""


_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".gz")


def trace_files(paths: Sequence[str | Path]) -> list[Path]:
    """The trace files named: files as given, directories searched for *.jsonl, *.json and *.gz."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES))
            if not inside:
                raise OTLPJsonError(f"{path}: no trace files (*.jsonl, *.json, *.gz) in this directory")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise OTLPJsonError(f"{path}: no such file or directory")
    return found


def iter_requests(paths: Sequence[str | Path]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """Each export request (a decoded line) with its file and line number; raises OTLPJsonError on bad input."""
    for path in trace_files(paths):
        opener = gzip.open if path.name.endswith(".gz") else open
        try:
            with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
                for number, line in enumerate(handle, 1):
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                    except json.JSONDecodeError as exc:
                        cut = " (truncated?)" if not line.endswith("\n") else ""
                        raise OTLPJsonError(f"{path}:{number}: not JSON{cut}: {exc.msg} (column {exc.colno})") from None
                    if not isinstance(data, dict) or not ({"resourceSpans", "resourceMetrics", "resourceLogs"} & data.keys()):
                        raise OTLPJsonError(f"{path}:{number}: not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)")
                    yield path, number, data
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise OTLPJsonError(f"{path}: cannot read: {exc}") from None
