"""The embedded default's files: OTLP JSON lines, rotated by size, the oldest removed past `keep`."""

from __future__ import annotations

import json
from pathlib import Path

from agentyield._otlp_json import JsonLinesWriter, iter_requests


def test_rotation_by_size_keeps_the_newest(tmp_path: Path) -> None:
    writer = JsonLinesWriter(tmp_path, "traces", max_bytes=100, keep=2)
    line = json.dumps({"resourceSpans": [], "pad": "x" * 60}) + "\n"
    for _ in range(5):
        writer.write([line, line])  # each write leaves the file over 100 bytes: the next write rotates first
    rotated = sorted(tmp_path.glob("traces-*.jsonl"))
    assert len(rotated) == 2 and writer.rotated_away == 2
    assert (tmp_path / "traces.jsonl").read_text() == line * 2
    assert all(p.read_text() == line * 2 for p in rotated)
    # Every remaining file is readable as OTLP JSON lines, rotated ones included.
    assert len(list(iter_requests([tmp_path]))) == 6
