"""The benchmark scripts run, with tiny counts. `make bench` itself is not a test: speed is measured as ratios
within one run and written to BENCHMARKS.md, never asserted by a timed test."""

from __future__ import annotations

import json
import statistics
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
    _run("run.py", "--quick", "--contenders", "agentyield", "span-only", "in-task", "--only", "percall", "derive",
         "--output", str(output), "--readme", str(readme))
    results = json.loads(output.with_suffix(".json").read_text())
    # The calibration, the calls in a task and agentyield's second process time calls only.
    run, span_only, in_task, calls_only = results["percall"]
    assert run["contender"] == calls_only["contender"] == "agentyield" and run["covered"] == ["openai", "anthropic"]
    # The calibration (the floor's work around the real call) times calls only, and takes no part in the load.
    assert span_only["contender"] == "span-only" and span_only["covered"] == ["openai", "anthropic"]
    assert in_task["contender"] == "in-task" and in_task["covered"] == ["openai", "anthropic"]
    assert [load["contender"] for load in results["load"]] == ["agentyield"]
    for sdk in ("openai", "anthropic"):
        assert len(run[sdk]["on"]) == len(run[sdk]["base"]) == len(run[sdk]["floor_situ"]) == len(run[sdk]["deferred"]) == 1
        assert len(run[sdk]["marginal"]) == len(run[sdk]["parsed"]) == 1
        assert len(calls_only[sdk]["on"]) == 1 and calls_only[sdk]["marginal"] == calls_only[sdk]["parsed"] == []
        assert len(span_only[sdk]["on"]) == 1 and span_only[sdk]["marginal"] == span_only[sdk]["parsed"] == []
        assert len(in_task[sdk]["on"]) == 1 and in_task[sdk]["marginal"] == in_task[sdk]["parsed"] == []
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
        # Its row: added µs and x floor in situ from its one round, and no per-chunk figures.
        label = "a span only (the floor's work around the call)"
        added = span_only[sdk]["on"][0] - span_only[sdk]["base"][0]
        assert _cells(report, "added per call, µs", label, sdk) == f"{added:.0f}"
        assert _cells(report, "x floor in situ", label, sdk) == f"{added / span_only[sdk]['floor_situ'][0]:.2f}"
        assert _cells(report, "marginal per chunk, µs (pre-parsed)", label, sdk) == "n/a"
        assert _cells(report, "marginal x agentyield", label, sdk) == "n/a"
        # What calls leave to the metric reader's collection: its own column, and in agentyield's total per call.
        assert _cells(report, "deferred to collection, µs per call", label, sdk) == f"{span_only[sdk]['deferred'][0]:.1f}"
        totals = [p[sdk]["on"][0] - p[sdk]["base"][0] + p[sdk]["deferred"][0] for p in (run, calls_only)]
        sentence = f"agentyield adds {statistics.median(totals):.0f} ({min(totals):.0f}–{max(totals):.0f}) µs per call"
        assert sentence in report.split(_TITLES[sdk], 1)[1].split("\n### ", 1)[0]
        in_task_added = in_task[sdk]["on"][0] - in_task[sdk]["base"][0]
        assert _cells(report, "added per call, µs", "agentyield, every call inside a `task()`", sdk) == f"{in_task_added:.0f}"
    quoted = readme.read_text()
    assert "old figures" not in quoted and "- openai: agentyield adds" in quoted and quoted.endswith("after\n")
    situ = (span_only["openai"]["on"][0] - span_only["openai"]["base"][0]) / span_only["openai"]["floor_situ"][0]
    openai_line = next(line for line in quoted.splitlines() if line.startswith("- openai:"))
    assert f"a span only around the call, {situ:.1f}x)" in openai_line
    task_situ = (in_task["openai"]["on"][0] - in_task["openai"]["base"][0]) / in_task["openai"]["floor_situ"][0]
    assert f"({task_situ:.1f}x in situ)" in openai_line


_TITLES = {"openai": "### OpenAI chat completion", "anthropic": "### Anthropic message"}


def _cells(report: str, column: str, row: str, sdk: str) -> str:
    """The cell of a per-call table (the SDK's section) in the given column and row."""
    lines = report[report.index(_TITLES[sdk]):].splitlines()
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
        # Inside a task a call also gets its request fingerprint (a keyed hash of the request, and its attribute).
        assert now[sdk]["added_in_task"] > now[sdk]["added"] + 20_000
    before = {**now, "contender": "agentyield-baseline", "openai": {**now["openai"], "added": now["openai"]["added"] * 2}}
    del before["openai"]["added_in_task"]  # a baseline counted before the task blocks existed
    lines = bench_report._instructions({"instructions": [now, before]})
    row = next(line for line in lines if line.startswith("| openai |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    task = now["openai"]["added_in_task"]
    assert cells == ["openai", f"{now['openai']['added'] / 1000:.0f}k", f"{before['openai']['added'] / 1000:.0f}k", "0.50",
                     f"{now['openai']['added'] / now['floor']:.2f}", f"{before['openai']['added'] / now['floor']:.2f}",
                     f"{task / 1000:.0f}k", "n/a", f"{task / now['floor']:.2f}", "n/a"]


def _process(contender: str, x_situ: float) -> dict[str, object]:
    """One per-call process's results whose every round adds `x_situ` floors in situ (and 2x that back to back)."""
    samples = {"base": [1000.0] * 3, "on": [1000.0 + 100 * x_situ] * 3, "floor_situ": [100.0] * 3, "parsed": [], "marginal": [],
               "stream": []}
    return {"contender": contender, "covered": ["openai", "anthropic"], "floor": [50.0] * 3, "pass": 1,
            "openai": samples, "anthropic": samples}


def _before_after_cell(now: list[float], before: list[float], column: str) -> str:
    import bench_report

    percall = [_process("agentyield", x) for x in now] + [_process("agentyield-baseline", x) for x in before]
    lines = bench_report._before_after({"percall": percall})
    header = [cell.strip() for cell in lines[0].split("|")]
    row = next(line for line in lines if line.startswith("| openai |"))
    return [cell.strip() for cell in row.split("|")][header.index(column)]


def test_before_and_after_are_compared_over_processes_with_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """now ÷ before is the ratio of the medians of the processes' figures, with a bootstrap interval over processes:
    "slower" or "leaner" only when the interval excludes 1."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_report

    spread = [2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7]

    def compared(now: list[float], before: list[float]) -> tuple[float, float, float, str]:
        cell = _before_after_cell(now, before, "now ÷ before, in situ")
        ratio, interval, verdict = cell.replace(" (", "|").replace("): ", "|").split("|")
        low, high = (float(x) for x in interval.split("–"))
        # Every resample's ratio lies between the most extreme ones the processes allow.
        assert min(now) / max(before) - 0.005 <= low <= float(ratio) <= high <= max(now) / min(before) + 0.005, cell
        assert f"{statistics.median(now) / statistics.median(before):.2f}" == ratio
        return float(ratio), low, high, verdict

    ratio, low, high, verdict = compared(spread, list(reversed(spread)))
    assert ratio == 1 and low < 1 < high and verdict == "no measurable difference"
    ratio, low, high, verdict = compared([x * 1.5 for x in spread], spread)
    assert ratio == 1.5 and low > 1 and verdict == "slower"
    ratio, low, high, verdict = compared([x / 2 for x in spread], spread)
    assert ratio == 0.5 and high < 1 and verdict == "leaner"
    ratio, low, high, verdict = compared([x * 1.03 for x in spread], spread)  # 3% within a 35% spread: not measurable
    assert low < 1 < high and verdict == "no measurable difference"
    # Back to back the floor is half the in-situ one in every process (`_process`): the same ratio, the same verdict.
    assert (_before_after_cell([x * 1.5 for x in spread], spread, "now ÷ before, x floor")
            == _before_after_cell([x * 1.5 for x in spread], spread, "now ÷ before, in situ"))
    assert _before_after_cell([2.0], [2.2], "now ÷ before, in situ") == "0.91 (one process each: no interval)"
    assert _before_after_cell(spread, spread, "processes now / before") == "8 / 8"
    assert bench_report.ratio_interval(spread, spread) == bench_report.ratio_interval(spread, spread)  # seeded
