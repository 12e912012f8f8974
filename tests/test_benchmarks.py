"""The benchmark scripts run, with tiny counts. `make bench` itself is not a test: speed is measured as ratios
within one run and written to BENCHMARKS.md, never asserted by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=BENCHMARKS, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_suite_measures_agentyield_and_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- make bench: start -->\nold figures\n<!-- make bench: end -->\nafter\n")
    _run("run.py", "--quick", "--contenders", "agentyield", "--only", "percall", "derive",
         "--output", str(output), "--readme", str(readme))
    results = json.loads(output.with_suffix(".json").read_text())
    (run,) = results["percall"]
    assert run["contender"] == "agentyield" and run["covered"] == ["openai", "anthropic"]
    for sdk in ("openai", "anthropic"):
        assert len(run[sdk]["on"]) == len(run[sdk]["base"]) == len(run[sdk]["floor_situ"]) == 1
        assert len(run[sdk]["marginal"]) == len(run[sdk]["parsed"]) == 1
    (load,) = results["load"]
    assert len(load["rss_mb"]) == 10 and load["threads"] and load["asyncio"]
    assert results["derive"]["processor_spans_per_s"] and results["serve"]["end_to_end"]["spans"] > 0
    report = output.read_text()
    assert "| **agentyield** |" in report and "## Derivation (agentyield only)" in report
    for sdk in ("openai", "anthropic"):
        marginal = _cells(report, "marginal per chunk, µs (pre-parsed)", "**agentyield**", sdk)
        assert marginal == f"{run[sdk]['marginal'][0]:.2f}"  # one round: the median is that round's figure
        whole = _cells(report, "whole stream ÷ 500, µs (pre-parsed)", "**agentyield**", sdk)
        assert whole == f"{run[sdk]['parsed'][0] / 500:.2f}"
    quoted = readme.read_text()
    assert "old figures" not in quoted and "- openai: agentyield adds" in quoted and quoted.endswith("after\n")


def _cells(report: str, column: str, row: str, sdk: str) -> str:
    """The cell of a per-call table (the SDK's section) in the given column and row."""
    title = "### OpenAI chat completion" if sdk == "openai" else "### Anthropic message"
    lines = report[report.index(title):].splitlines()
    header = next(line for line in lines if line.startswith("| contender |"))
    index = [cell.strip() for cell in header.split("|")].index(column)
    found = next(line for line in lines if line.startswith(f"| {row} |"))
    return [cell.strip() for cell in found.split("|")][index]


def test_exporter_latency_children_run_against_the_sink() -> None:
    done = _run("bench_exporters.py", "--calls", "5", "--rounds", "1", "--modes", "embedded", "otlp-http", "--json")
    results = json.loads(done.stdout.splitlines()[-1])
    assert [r["mode"] for r in results] == ["embedded", "otlp-http"]
    assert all(0 < r["p50_ms"] <= r["p99_ms"] for r in results)
