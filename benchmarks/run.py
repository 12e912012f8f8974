#!/usr/bin/env python
"""`make bench`: agentyield side by side with its peers, every figure a ratio measured within this one run.

    .venv/bin/python benchmarks/run.py --venvs ~/.cache/agentyield/bench-venvs --output BENCHMARKS.md
    .venv/bin/python benchmarks/run.py --quick ...   # tiny counts: a smoke run, not for quoting
    .venv/bin/python benchmarks/run.py --render BENCHMARKS.json   # the report again, from a run's results

Each contender runs in its own virtual environment (`<venvs>/<peer>`; agentyield in this interpreter's), in
fresh processes. Every per-call ratio is taken inside one process (a contender's calls on and off alternating,
and the floor), so a busy minute on a shared machine moves both sides of it; passes and repetitions beyond the
first rotate the contenders' order. The sections (each a script of its own, printing JSON):

  per call, per chunk   bench_percall.py: alternating on/off calls and the floor, in each process
  instructions          bench_instructions.py: instructions per call under callgrind, agentyield and its baseline
  under load            bench_load.py's measurement (16 threads, 500 concurrent asyncio calls, memory over 10
                        rounds), at the end of each contender's first per-call process (`--load`)
  start-up              bench_startup.py: a fresh interpreter per contender per repetition, and a plain one
  derivation            bench_derive.py: agentyield's span processor, `agentyield report`, memory per task;
                        serve_throughput.py: `agentyield serve`
  exporters             bench_exporters.py: call latency p50/p99 per exporter choice (agentyield only)

The baseline (`--baseline REF`, an earlier agentyield installed by `make bench` in `<venvs>/agentyield-REF`) is
one more contender, for before/after ratios within the run.

The results go to `--output` (BENCHMARKS.md) through bench_report.py, and as JSON beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_report
from bench_contenders import CALLS_ONLY, CONTENDERS

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Plan:
    passes: int
    """Per-call processes per contender (interleaved with the others'); the first also measures under load."""
    own_passes: int
    """Per-call processes of agentyield and its baseline (at least `passes`; those beyond `passes` time calls only,
    no streams): before and after are two sets of processes, and a process's memory layout alone moves a per-call
    figure by several percent, so the report's before/after interval resamples processes, and needs many."""
    rounds: int
    calls: int
    """Calls each way (off, on) per round and SDK."""
    stream_pairs: int
    """Real-parse stream pairs per round and SDK."""
    streams: int
    """Pre-parsed streams of each kind (off/on x 500/20 chunks) per round and SDK."""
    startup_reps: int
    load_pairs: int
    load_per_thread: int
    memory_calls: int
    """Calls per memory round (10 rounds)."""
    exporter_calls: int
    exporter_rounds: int
    derive_spans: int
    serve_traces: int
    instruction_calls: int
    """Calls per block under callgrind (agentyield and its baseline): the counts are deterministic, so few do."""


# Sized for under ten minutes on a 2-core machine: about 5 minutes on a quiet one. One under-load pair per
# contender moved its ratio by +-0.3 between runs, so three (median with range).
FULL = Plan(passes=1, own_passes=7, rounds=3, calls=50, stream_pairs=1, streams=40, startup_reps=1, load_pairs=3, load_per_thread=10,
            memory_calls=30, exporter_calls=600, exporter_rounds=3, derive_spans=10_000, serve_traces=1000,
            instruction_calls=10)
QUICK = Plan(passes=1, own_passes=2, rounds=1, calls=3, stream_pairs=1, streams=2, startup_reps=1, load_pairs=1, load_per_thread=1,
             memory_calls=2, exporter_calls=20, exporter_rounds=1, derive_spans=200, serve_traces=40,
             instruction_calls=3)


def python_of(contender: str, venvs: Path, baseline: str) -> str:
    if contender in ("agentyield", "agentyield-default", "plain", *CALLS_ONLY):
        return sys.executable
    if contender == "agentyield-baseline":
        return str(venvs / f"agentyield-{baseline}" / "bin" / "python")
    return str(venvs / contender / "bin" / "python")


def _json_of(command: list[str], what: str, timeout: float = 600) -> dict[str, Any] | None:
    """Run one measuring process; its JSON (the last line of its output), or None (and why, on stderr)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    except subprocess.TimeoutExpired:
        print(f"  {what}: timed out after {timeout:.0f} s", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"  {what} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def worker(script: str, contender: str, python: str, *args: str, timeout: float = 600) -> dict[str, Any] | None:
    """One contender's measuring process, in its own environment."""
    return _json_of([python, str(HERE / script), "--contender", contender, *args], f"{script} {contender}", timeout)


def rotated(items: list[str], k: int) -> list[str]:
    k %= len(items)
    return items[k:] + items[:k]


def available(venvs: Path, baseline: str | None, wanted: list[str] | None) -> list[str]:
    """Contenders whose virtual environment exists (`make bench` builds them all)."""
    found = []
    for contender in wanted or CONTENDERS:
        if contender == "agentyield-baseline" and not baseline:
            continue
        python = Path(python_of(contender, venvs, baseline or ""))
        if python.exists():
            found.append(contender)
        else:
            print(f"  {contender}: no virtual environment at {python.parent.parent}, skipped", file=sys.stderr)
    return found


def machine() -> dict[str, Any]:
    def cpuinfo(key: str) -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown"

    try:
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kb = 0
    return {"cpu": cpuinfo("model name"), "cores": os.cpu_count(), "memory_gib": round(memory_kb / 2**20),
            "python": platform.python_version(), "system": f"{platform.system()} {platform.release()}",
            "load_before": os.getloadavg()}


README_START, README_END = "<!-- make bench: start -->", "<!-- make bench: end -->"


def _quote_in_readme(readme: Path, text: str) -> None:
    """Replace the README's quoted figures (between the markers) with this run's."""
    if not readme.exists():
        return
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(README_START), content.find(README_END)
    if 0 <= start < end:
        readme.write_text(content[: start + len(README_START)] + "\n" + text + "\n" + content[end:], encoding="utf-8")


SECTIONS = ("percall", "instructions", "startup", "derive", "exporters")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="agentyield against its peers (see the module docstring)")
    parser.add_argument("--venvs", type=Path, default=Path.home() / ".cache/agentyield/bench-venvs")
    parser.add_argument("--baseline", help="the git ref of the earlier agentyield in <venvs>/agentyield-<ref>")
    parser.add_argument("--output", type=Path, default=HERE.parent / "BENCHMARKS.md")
    parser.add_argument("--readme", type=Path, default=HERE.parent / "README.md",
                        help="whose Performance figures (between the markers) to rewrite; 'none' for none")
    parser.add_argument("--quick", action="store_true", help="one tiny pass of everything: a smoke run, not for quoting")
    parser.add_argument("--only", nargs="*", choices=SECTIONS)
    parser.add_argument("--contenders", nargs="*", choices=CONTENDERS, help="default: every one whose venv exists")
    parser.add_argument("--render", type=Path, help="only write --output again from this run's JSON")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
        args.output.write_text(bench_report.render(results))
        if str(args.readme) != "none":
            _quote_in_readme(args.readme, bench_report.summary(results))
        return 0
    plan = QUICK if args.quick else FULL
    sections = set(args.only or SECTIONS)
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine(), "plan": vars(plan), "quick": args.quick, "baseline": args.baseline}
    contenders = available(args.venvs, args.baseline, args.contenders)

    def log(what: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {what}", file=sys.stderr, flush=True)

    def python(contender: str) -> str:
        return python_of(contender, args.venvs, args.baseline or "")

    if "percall" in sections:
        results["percall"], results["load"] = [], []
        passes = max(plan.passes, plan.own_passes)
        for p in range(passes):
            full = p < plan.passes  # every contender, streams too; beyond: agentyield and its baseline, calls only
            for contender in rotated(contenders if full else [c for c in contenders if c.startswith("agentyield")], p):
                calls_only = not full or contender in CALLS_ONLY
                log(f"per call{' (calls only)' if calls_only else ' and under load' if p == 0 else ''}, pass {p + 1}/{passes}: {contender}")
                load = ["--load", str(plan.load_pairs), str(plan.load_per_thread), str(plan.memory_calls)] if p == 0 and not calls_only else []
                streams = 0 if calls_only else plan.streams
                out = worker("bench_percall.py", contender, python(contender), "--rounds", str(plan.rounds),
                             "--calls", str(plan.calls), "--stream-pairs", str(plan.stream_pairs),
                             "--streams", str(streams), "--seed", str(p), *load)
                if out is not None:
                    out["pass"] = p
                    if "load" in out:
                        results["load"].append({"contender": contender, **out.pop("load")})
                    results["percall"].append(out)
    if "instructions" in sections:
        # Side by side, one core each: an instruction count does not depend on what else the machine runs.
        counted = [c for c in contenders if c.startswith("agentyield")]
        log(f"instructions per call (callgrind), at once: {', '.join(counted)}")
        with ThreadPoolExecutor(max_workers=len(counted) or 1) as pool:
            outs = list(pool.map(lambda c: worker("bench_instructions.py", c, python(c), "--calls", str(plan.instruction_calls)), counted))
        results["instructions"] = [out for out in outs if out is not None]
    if "startup" in sections:
        results["startup"] = []
        everyone = ["plain", "agentyield-default", *(c for c in contenders if c not in CALLS_ONLY)]
        for r in range(plan.startup_reps):
            for contender in rotated(everyone, r):
                log(f"start-up, repetition {r + 1}/{plan.startup_reps}: {contender}")
                out = worker("bench_startup.py", contender, python(contender))
                if out is not None:
                    out["rep"] = r
                    results["startup"].append(out)
    if "derive" in sections:
        log("derivation: span processor, report, memory per task")
        results["derive"] = _json_of([sys.executable, str(HERE / "bench_derive.py"), "--spans", str(plan.derive_spans)],
                                     "bench_derive.py")
        log("derivation: agentyield serve")
        results["serve"] = _json_of([sys.executable, str(HERE / "serve_throughput.py"), "--json",
                                     "--traces", str(plan.serve_traces)], "serve_throughput.py")
    if "exporters" in sections:
        import bench_exporters

        try:
            results["exporters"] = bench_exporters.measure(plan.exporter_calls, plan.exporter_rounds, log)
        except RuntimeError as exc:
            print(f"  {exc}", file=sys.stderr)

    results["machine"]["load_after"] = os.getloadavg()
    results["elapsed_s"] = time.monotonic() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(results))
    args.output.write_text(bench_report.render(results))
    if str(args.readme) != "none":
        _quote_in_readme(args.readme, bench_report.summary(results))
    log(f"wrote {args.output} and {args.output.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
