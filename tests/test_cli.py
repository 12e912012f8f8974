"""The `agentyield report` command on real trace files: tables, JSON, HTML, and clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from agentyield._files import JsonLinesSpanExporter
from test_processor import C, record_scenario


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentyield", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("traces")
    record_scenario(extra_exporter=JsonLinesSpanExporter(directory))
    return directory


def test_report_tables(traces: Path) -> None:
    result = cli("report", str(traces))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "agentyield report: 4 tasks, 10 LLM calls, 21 spans"
    for title in ("Cost per accepted artifact", "Unproductive spend (no accepted artifact)", "Cache-read ratio over time",
                  "Performance at a fixed budget (output tokens (reasoning included))",
                  "Cost of pass (expected cost / success rate; frontier: the cheapest configuration per task and agent)",
                  "Cost vs success: Pareto frontier",
                  "Capability vector (no single score)", "Tool credit (success with vs without the tool)"):
        assert title in lines
    patch = next(line for line in lines if line.startswith("coder") and " patch " in line)
    assert patch.split() == ["coder", "-", "patch", "2", f"${float(2 * C):,.4f}"]  # task A's 4 calls over 2 patches


def test_report_json_matches_the_numbers(traces: Path, tmp_path: Path) -> None:
    result = cli("report", str(traces), "--json", "-")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["tasks"] == 4 and data["summary"]["llm_calls"] == 10
    assert data["source"]["spans"] == 21
    shares = {(r["agent"], r["kind"]): r["cost_per_artifact"] for r in data["artifact_costs"]}
    assert shares[("coder", "patch")] == pytest.approx(float(2 * C), abs=1e-12)
    assert shares[("coder", "summary")] is None  # its task had an unpriced call: no number, not a wrong one
    # The watcher's artifacts outside any task: the accepted alert pays for its window of 2 calls, the
    # rejected one leaves its window of 1 call unproductive, exactly as the live metrics book them.
    assert shares[("watcher", "alert")] == pytest.approx(float(2 * C), abs=1e-12)
    windows = [r for r in data["unproductive"] if r["task"] == "(window)"]
    assert [(r["agent"], r["tasks"]) for r in windows] == [("watcher", 1)]
    assert windows[0]["cost_usd"] == pytest.approx(float(C), abs=1e-12)
    html = tmp_path / "report.html"
    assert cli("report", str(traces), "--html", str(html)).returncode == 0
    assert html.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"resourceSpans": []}\n{"resourceSpans": [', "{path}:2: not JSON (truncated?)"),
        ('{"name": "not otlp"}\n', "{path}:1: not OTLP JSON"),
    ],
)
def test_bad_input_one_line_error(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = cli("report", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("agentyield report: " + expected.format(path=path))


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    result = cli("report", str(tmp_path))
    assert (result.returncode, result.stderr) == (2, f"agentyield report: {tmp_path}: no trace files (*.jsonl, *.json, *.gz) in this directory\n")


def test_progress_bar_on_large_inputs(traces: Path) -> None:
    import io

    from agentyield._report import build_report

    shown = io.StringIO()
    data = build_report([traces], progress=shown, progress_min_bytes=1)
    assert data["summary"]["tasks"] == 4
    assert shown.getvalue().endswith("] 100%  21 spans\n")
    quiet = io.StringIO()
    build_report([traces], progress=quiet)  # a few kilobytes: no bar
    assert quiet.getvalue() == ""
