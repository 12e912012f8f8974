"""The benchmark scripts run, with tiny counts. `make bench` itself is not a test: speed is measured as ratios
within one run and written to BENCHMARKS.md, never asserted by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_instructions_per_call_are_counted_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench_instructions.py under callgrind (`.ci/run` installs valgrind): blocks of real calls counted; the
    report's before/after table computed from those counts."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_report

    done = _run("bench_instructions.py", "--contender", "agentyield", "--calls", "2")
    now = json.loads(done.stdout.splitlines()[-1])
    assert now["contender"] == "agentyield" and now["calls"] == 2 and "skipped" not in now, now
    # A bare span is a few hundred thousand instructions; a real SDK call several times that, and instrumenting it adds some.
    assert 50_000 < now["floor"] < 5_000_000
    for sdk in ("openai", "anthropic"):
        assert now[sdk]["off"] > 5 * now["floor"] and now[sdk]["added"] == now[sdk]["on"] - now[sdk]["off"] > 0
    before = {**now, "contender": "agentyield-baseline", "openai": {**now["openai"], "added": now["openai"]["added"] * 2}}
    lines = bench_report._instructions({"instructions": [now, before]})
    row = next(line for line in lines if line.startswith("| openai |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells == ["openai", f"{now['openai']['added'] / 1000:.0f}k", f"{before['openai']['added'] / 1000:.0f}k", "0.50",
                     f"{now['openai']['added'] / now['floor']:.2f}", f"{before['openai']['added'] / now['floor']:.2f}"]
