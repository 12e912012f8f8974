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
    (load,) = results["load"]
    assert len(load["rss_mb"]) == 10 and load["threads"] and load["asyncio"]
    assert results["derive"]["processor_spans_per_s"] and results["serve"]["end_to_end"]["spans"] > 0
    report = output.read_text()
    assert "| **agentyield** |" in report and "## Derivation (agentyield only)" in report
    quoted = readme.read_text()
    assert "old figures" not in quoted and "- openai: agentyield adds" in quoted and quoted.endswith("after\n")


def test_exporter_latency_children_run_against_the_sink() -> None:
    done = _run("bench_exporters.py", "--calls", "5", "--rounds", "1", "--modes", "embedded", "otlp-http", "--json")
    results = json.loads(done.stdout.splitlines()[-1])
    assert [r["mode"] for r in results] == ["embedded", "otlp-http"]
    assert all(0 < r["p50_ms"] <= r["p99_ms"] for r in results)
