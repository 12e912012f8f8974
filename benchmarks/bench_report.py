"""BENCHMARKS.md from one run's results: medians with their ranges, every comparison a ratio within the run."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from typing import Any

from bench_contenders import LABELS
from bench_sdk import SHORT_CHUNKS, STREAM_CHUNKS

SDKS = ("openai", "anthropic")
PEERS = ("openllmetry", "openinference", "otel-openai-v2", "otel-genai", "openlit")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float], digits: int = 1, unit: str = "") -> str:
    """`median (min–max)`, or just the value when there is one."""
    if not values:
        return "n/a"
    median = f"{_median(values):.{digits}f}{unit}"
    if len(values) == 1:
        return median
    return f"{median} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _ratio(a: float, b: float) -> float:
    return a / b if b and b == b and b > 0 else float("nan")


def _label(contender: str, results: dict[str, Any] | None = None) -> str:
    if contender == "agentyield":
        return "**agentyield**"
    if contender == "agentyield-baseline" and results and results.get("baseline"):
        return f"agentyield before (commit {results['baseline']})"
    return LABELS.get(contender, contender)


# --------------------------------------------------------------------------------------------------------------
# Per call and per chunk
# --------------------------------------------------------------------------------------------------------------


def _process_rounds(run: dict[str, Any], sdk: str) -> dict[str, list[float]]:
    """One process's figures for an SDK, one value per round: added µs, x floor (the floor of the same round), x floor
    in situ, the uninstrumented call, the floor back to back and in situ; and the µs per call deferred to the metric
    reader's collection, alone, added to the call's, and that sum x floor."""
    samples = run[sdk]
    figures: dict[str, list[float]] = defaultdict(list)
    for on, base, floor, situ in zip(samples["on"], samples["base"], run["floor"], samples["floor_situ"]):
        figures["added"].append(on - base)
        figures["x_floor"].append(_ratio(on - base, floor))
        figures["x_situ"].append(_ratio(on - base, situ))
        figures["base"].append(base)
        figures["floor"].append(floor)
        figures["situ"].append(situ)
    # Runs from before the deferred work was measured have none.
    for on, base, floor, deferred in zip(samples["on"], samples["base"], run["floor"], samples.get("deferred", [])):
        figures["deferred"].append(deferred)
        figures["with_deferred"].append(on - base + deferred)
        figures["x_floor_with_deferred"].append(_ratio(on - base + deferred, floor))
    return figures


def per_round(percall: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """contender -> SDK -> figure -> one value per round (over every process of that contender): `_process_rounds`'
    figures, and per chunk (pre-parsed: the whole stream / 500 and the marginal cost of a chunk; real SDK parse: the
    whole stream / 500)."""
    out: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for run in percall:
        for sdk in run["covered"]:
            samples, figures = run[sdk], out[run["contender"]][sdk]
            for figure, values in _process_rounds(run, sdk).items():
                figures[figure] += values
            figures["parsed_chunk"] += [d / STREAM_CHUNKS for d in samples["parsed"]]
            figures["marginal_chunk"] += samples.get("marginal", [])  # absent from runs before it was measured
            figures["stream_chunk"] += [d / STREAM_CHUNKS for d in samples["stream"]]
    return out


def _x(rounds: dict[str, dict[str, dict[str, list[float]]]], contender: str, sdk: str, figure: str = "x_floor") -> float:
    return _median(rounds.get(contender, {}).get(sdk, {}).get(figure, []))


def _all_work(figures: dict[str, list[float]]) -> str:
    """The figure that compares contenders by all the work a call costs them: x floor with the work deferred to
    collection, when it was measured (not in results from before it was), else x floor."""
    return "x_floor_with_deferred" if figures.get("x_floor_with_deferred") else "x_floor"


def _percall_section(results: dict[str, Any]) -> list[str]:
    rounds = per_round(results.get("percall", []))
    lines = []
    for sdk in SDKS:
        title = "OpenAI chat completion" if sdk == "openai" else "Anthropic message"
        lines += [f"### {title}", "",
                  "| contender | added per call, µs | deferred to collection, µs per call | x floor | x floor in situ | x agentyield | "
                  "marginal per chunk, µs (pre-parsed) | marginal x agentyield | whole stream ÷ 500, µs (pre-parsed) | "
                  "whole ÷ 500 x agentyield | whole stream ÷ 500, µs (real SDK parse) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        mine = rounds.get("agentyield", {}).get(sdk, {})
        total = _all_work(mine)
        ours = {figure: _x(rounds, "agentyield", sdk, figure)
                for figure in (total, "marginal_chunk", "parsed_chunk")}
        for contender, by_sdk in rounds.items():
            f = by_sdk.get(sdk)
            if not f:
                lines.append(f"| {_label(contender, results)} | not instrumented | | | | | | | | | |")
                continue

            def vs_ours(figure: str, f: dict[str, list[float]] = f, mine: bool = contender == "agentyield") -> str:
                if not f[figure]:
                    return "n/a"  # not measured (the calls-only rows time no streams)
                return "1" if mine else f"{_ratio(_median(f[figure]), ours[figure]):.2f}"

            lines.append(
                f"| {_label(contender, results)} | {_spread(f['added'], 0)} | {_spread(f['deferred'], 1)} | {_spread(f['x_floor'], 2)} | "
                f"{_spread(f['x_situ'], 2)} | {vs_ours(total)} | {_spread(f['marginal_chunk'], 2)} | "
                f"{vs_ours('marginal_chunk')} | {_spread(f['parsed_chunk'], 2)} | {vs_ours('parsed_chunk')} | "
                f"{_spread(f['stream_chunk'], 1)} |")
        every = [f for by_sdk in rounds.values() for s2, f in by_sdk.items() if s2 == sdk]
        if mine.get("deferred"):
            lines += ["", f"With the work it defers to the metric reader's collection, agentyield adds "
                      f"{_spread(mine['with_deferred'], 0)} µs per call, {_spread(mine['x_floor_with_deferred'], 2)} x floor "
                      "(the peers record their histograms during the call: their added µs include that work)."]
        lines += ["", f"The uninstrumented call took {_spread([b for f in every for b in f['base']], 0)} µs; the floor "
                  f"{_spread([b for f in every for b in f['floor']], 1)} µs back to back and "
                  f"{_spread([b for f in every for b in f['situ']], 1)} µs in situ (median and range over every round of "
                  "every process).", ""]
    reference = next((run.get("versions", {}) for run in results.get("percall", []) if run["contender"] == "agentyield"), {})
    for run in results.get("percall", []):
        versions = run.get("versions", {})
        other = [f"{sdk} {versions[sdk]}" for sdk in SDKS if sdk in versions and versions[sdk] != reference.get(sdk)]
        if other and run["pass"] == 0:
            lines += [f"{_label(run['contender'], results)} pins older SDKs: its rows were measured with {', '.join(other)} "
                      "(against its own uninstrumented call and floor, in the same process).", ""]
    return lines


def _instructions(results: dict[str, Any]) -> list[str]:
    """The before/after in instructions per call (bench_instructions.py), when both were counted."""
    runs = {run["contender"]: run for run in results.get("instructions", [])}
    now, before = runs.get("agentyield"), runs.get("agentyield-baseline")
    if now is None or before is None:
        return []
    skipped = now.get("skipped") or before.get("skipped")
    if skipped:
        return ["", f"Instructions per call: not counted ({skipped})."]
    lines = ["", f"Instructions per call, counted by callgrind ({now['calls']} calls per block; deterministic: the same "
             "code counts the same on a busy machine as on a quiet one, but an instruction is not a unit of time). "
             "*x floor* = added instructions / the floor span's, in the same process. *In a task*: the same calls "
             "inside one `task()`, as an agent makes them (the uninstrumented ones too).", "",
             "| call | now, added instructions | before, added instructions | now ÷ before | now, x floor | before, x floor "
             "| in a task: now, added | before, added | now, x floor | before, x floor |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for sdk in SDKS:
        a, b = now[sdk]["added"], before[sdk]["added"]
        row = f"| {sdk} | {a / 1000:.0f}k | {b / 1000:.0f}k | {_ratio(a, b):.2f} | {_ratio(a, now['floor']):.2f} | {_ratio(b, before['floor']):.2f} |"
        tasks = [(run[sdk].get("added_in_task"), run["floor"]) for run in (now, before)]  # counted since the task blocks
        row += "".join(f" {task / 1000:.0f}k |" if task is not None else " n/a |" for task, _ in tasks)
        row += "".join(f" {_ratio(task, floor):.2f} |" if task is not None else " n/a |" for task, floor in tasks)
        lines.append(row)
    return lines


def per_process(percall: list[dict[str, Any]], contender: str, sdk: str) -> dict[str, list[float]]:
    """figure -> one value per process of `contender` (the median over that process's rounds): x floor and x floor in
    situ. A process is the unit that varies most (its memory layout alone moves a per-call figure by several
    percent), so the before/after interval resamples processes, not rounds."""
    out: dict[str, list[float]] = defaultdict(list)
    for run in percall:
        if run["contender"] == contender and sdk in run["covered"]:
            rounds = _process_rounds(run, sdk)
            for figure in ("x_floor", "x_situ"):
                out[figure].append(_median(rounds[figure]))
    return out


RESAMPLES = 4000


def ratio_interval(now: list[float], before: list[float], seed: int = 0) -> tuple[float, float, float]:
    """median(now) / median(before), with its 95% percentile-bootstrap interval: each side's processes resampled
    with replacement, `RESAMPLES` times (seeded: the same samples give the same interval)."""
    rng = random.Random(seed)
    ratios = sorted(
        _ratio(_median(rng.choices(now, k=len(now))), _median(rng.choices(before, k=len(before)))) for _ in range(RESAMPLES)
    )
    return _ratio(_median(now), _median(before)), ratios[int(0.025 * RESAMPLES)], ratios[int(0.975 * RESAMPLES) - 1]


def verdict(low: float, high: float) -> str:
    """What a now ÷ before interval says: slower or leaner only when it lies wholly on one side of 1."""
    if low > 1:
        return "slower"
    if high < 1:
        return "leaner"
    return "no measurable difference"


def _interval(now: list[float], before: list[float]) -> str:
    if len(now) < 2 or len(before) < 2:
        return f"{_ratio(_median(now), _median(before)):.2f} (one process each: no interval)"
    ratio, low, high = ratio_interval(now, before)
    return f"{ratio:.2f} ({low:.2f}–{high:.2f}): {verdict(low, high)}"


def _before_after(results: dict[str, Any]) -> list[str]:
    percall = results.get("percall", [])
    rounds = per_round(percall)
    if "agentyield-baseline" not in rounds or "agentyield" not in rounds:
        return ["Not measured in this run (no baseline environment)."]
    lines = ["| call | processes now / before | now, x floor in situ | before, x floor in situ | now ÷ before, in situ | "
             "now ÷ before, x floor | marginal per chunk now ÷ before | whole stream now ÷ before |",
             "|---|---|---|---|---|---|---|---|"]
    for sdk in SDKS:
        now, before = per_process(percall, "agentyield", sdk), per_process(percall, "agentyield-baseline", sdk)
        now_rounds, before_rounds = rounds["agentyield"][sdk], rounds["agentyield-baseline"][sdk]
        lines.append(f"| {sdk} | {len(now['x_situ'])} / {len(before['x_situ'])} | {_spread(now['x_situ'], 2)} | "
                     f"{_spread(before['x_situ'], 2)} | {_interval(now['x_situ'], before['x_situ'])} | "
                     f"{_interval(now['x_floor'], before['x_floor'])} | "
                     f"{_ratio(_median(now_rounds['marginal_chunk']), _median(before_rounds['marginal_chunk'])):.2f} | "
                     f"{_ratio(_median(now_rounds['parsed_chunk']), _median(before_rounds['parsed_chunk'])):.2f} |")
    return lines


# --------------------------------------------------------------------------------------------------------------
# Start-up, load, derivation, exporters
# --------------------------------------------------------------------------------------------------------------


def _by_rep(results: dict[str, Any]) -> dict[int, dict[str, dict[str, Any]]]:
    by_rep: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for run in results.get("startup", []):
        by_rep[run["rep"]][run["contender"]] = run
    return by_rep


def _startup_section(results: dict[str, Any]) -> list[str]:
    by_rep = _by_rep(results)
    contenders = [c for c in ["agentyield-default", "agentyield", "agentyield-baseline", *PEERS]
                  if any(c in rep for rep in by_rep.values())]
    lines = ["| contender | import + instrument, ms (CPU ms) | x agentyield | SDK modules it imported | "
             "`import openai` after it, x plain | `import anthropic` after it, x plain | first OpenAI call, ms added | "
             "start to both first responses, ms added |",
             "|---|---|---|---|---|---|---|---|"]
    ours = _median([rep["agentyield"]["instrument_cpu_ms"] for rep in by_rep.values() if "agentyield" in rep])
    for contender in contenders:
        pairs = [(rep[contender], rep["plain"]) for rep in by_rep.values() if contender in rep and "plain" in rep]
        if not pairs:
            continue
        modules = max(run["sdk_modules_after_instrument"] for run, _ in pairs)
        imported = [sdk for sdk in SDKS if any(sdk in run["sdks_after_instrument"] for run, _ in pairs)]

        def ratio(key: str, sdk: str) -> str:
            if sdk in imported:
                return "imported by instrument"
            return _spread([run[key] / plain[key] for run, plain in pairs], 2)

        label = ("agentyield, one line (`instrument()`, embedded default)" if contender == "agentyield-default"
                 else _label(contender, results))
        cpu = [r["instrument_cpu_ms"] for r, _ in pairs]
        lines.append(
            f"| {label} | {_spread([r['instrument_ms'] for r, _ in pairs], 0)} ({_spread(cpu, 0)}) | "
            f"{'1' if contender == 'agentyield' else f'{_ratio(_median(cpu), ours):.1f}'} | "
            f"{modules}{' (' + ', '.join(imported) + ')' if imported else ''} | "
            f"{ratio('import_openai_ms', 'openai')} | {ratio('import_anthropic_ms', 'anthropic')} | "
            f"{_spread([r['first_openai_ms'] - p['first_openai_ms'] for r, p in pairs], 0)} | "
            f"{_spread([r['total_ms'] - p['total_ms'] for r, p in pairs], 0)} |")
    plain = [rep["plain"] for rep in by_rep.values() if "plain" in rep]
    if plain:
        lines += ["", f"Plain (no instrumentation): `import openai` {_spread([p['import_openai_ms'] for p in plain], 0)} ms, "
                  f"`import anthropic` {_spread([p['import_anthropic_ms'] for p in plain], 0)} ms, first OpenAI call "
                  f"{_spread([p['first_openai_ms'] for p in plain], 0)} ms, start to both first responses "
                  f"{_spread([p['total_ms'] for p in plain], 0)} ms."]
    return lines


def _load_section(results: dict[str, Any]) -> list[str]:
    lines = ["| contender | 16 threads: throughput on/off | x agentyield | 500 concurrent asyncio calls: throughput on/off | "
             "x agentyield | RSS over 10 rounds, MiB (first → last) |", "|---|---|---|---|---|---|"]
    runs = results.get("load", [])
    ratios = {run["contender"]: {key: [pair["on"] / pair["off"] for pair in run[key]] for key in ("threads", "asyncio")}
              for run in runs}
    ours = ratios.get("agentyield", {})
    for run in runs:
        mine, rss = ratios[run["contender"]], run["rss_mb"]
        vs = {key: "1" if run["contender"] == "agentyield" else f"{_ratio(_median(mine[key]), _median(ours.get(key, []))):.2f}"
              for key in ("threads", "asyncio")}
        lines.append(f"| {_label(run['contender'], results)} | {_spread(mine['threads'], 2)} | {vs['threads']} | "
                     f"{_spread(mine['asyncio'], 2)} | {vs['asyncio']} | {rss[0]:.1f} → {rss[-1]:.1f} ({rss[-1] - rss[0]:+.1f}) |")
    return lines


def _derive_section(results: dict[str, Any]) -> list[str]:
    lines = []
    derive = results.get("derive")
    if derive:
        per_span = [1e6 / s for s in derive["processor_spans_per_s"]]
        lines += [
            f"- Span processor (`on_start` + `on_end`), another instrumentation's LLM spans: "
            f"{_spread(derive['processor_spans_per_s'], 0)} spans/s on one core ({_spread(per_span, 1)} µs per span), "
            f"{derive['spans']} spans per repetition.",
            f"- `agentyield report` over the same spans, written by the embedded exporter: "
            f"{derive['report_spans_per_s']:.0f} spans/s, whole command included.",
            f"- Memory per open `task()`: {derive['bytes_per_open_task'] / 1024:.1f} KiB (traced allocations)."]
    serve = results.get("serve")
    if serve:
        e2e, stages = serve["end_to_end"], serve["stages_us"]
        total = sum(stages.values())
        lines += [
            f"- `agentyield serve`, OTLP/HTTP protobuf in, every trace booked: {e2e['spans_per_cpu_s']:.0f} spans per "
            f"CPU-second of the server ({e2e['spans_per_wall_s']:.0f} spans/s wall clock, {e2e['spans']} spans).",
            "- Its stages in process, CPU µs per span: " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
            + f" (total {total:.1f} µs, {1e6 / total:.0f} spans/s per core before HTTP).",
            f"- Memory per open trace in `serve` ({serve['spans_per_trace'] - 1} spans held, root not arrived): "
            f"{serve['bytes_per_open_trace'] / 1024:.1f} KiB."]
    return lines or ["Not measured in this run."]


def exporter_medians(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    runs = results.get("exporters") or []
    for mode in dict.fromkeys(r["mode"] for r in runs):
        mine = [r for r in runs if r["mode"] == mode]
        out[mode] = {q: _median([r[q] for r in mine]) for q in ("p50_ms", "p99_ms")}
        out[mode]["rounds"] = len(mine)
    return out


_MODE_LABELS = {
    "off": "uninstrumented",
    "embedded": "agentyield, embedded default (OTLP JSON lines)",
    "otlp-http": "agentyield, OTLP HTTP/protobuf exporter",
    "otlp-grpc": "agentyield, OTLP gRPC exporter",
    "none": "agentyield, no exporter (the application's providers)",
}


def _exporters_section(results: dict[str, Any]) -> list[str]:
    table = exporter_medians(results)
    if "off" not in table:
        return ["Not measured in this run."]
    off = table["off"]
    runs = results.get("exporters") or []
    lines = ["| exporter | p50, ms | p99, ms | p99 added, ms | p99 x uninstrumented |", "|---|---|---|---|---|"]
    for mode, q in table.items():
        p99 = [r["p99_ms"] for r in runs if r["mode"] == mode]
        lines.append(f"| {_MODE_LABELS.get(mode, mode)} | {q['p50_ms']:.2f} | {_spread(p99, 2)} | "
                     f"{q['p99_ms'] - off['p99_ms']:+.2f} | {_ratio(q['p99_ms'], off['p99_ms']):.2f} |")
    if all(m in table for m in ("embedded", "otlp-http", "otlp-grpc")):
        added = {m: table[m]["p99_ms"] - off["p99_ms"] for m in ("embedded", "otlp-http", "otlp-grpc")}
        spread = {m: [r["p99_ms"] for r in runs if r["mode"] == m] for m in added}
        faster = min(("otlp-http", "otlp-grpc"), key=added.__getitem__)
        if added["embedded"] <= added[faster]:
            verdict = "no more than either OTLP exporter"
        elif min(spread["embedded"]) <= max(spread[faster]):
            verdict = (f"{added['embedded'] - added[faster]:.2f} ms more than the faster OTLP exporter, within the "
                       "spread of the rounds (their p99 ranges overlap)")
        else:
            verdict = f"{added['embedded'] - added[faster]:.2f} ms more than the faster OTLP exporter (ranges apart)"
        lines += ["", f"At p99 the embedded default adds {added['embedded']:+.2f} ms, the OTLP HTTP exporter "
                  f"{added['otlp-http']:+.2f} ms and the gRPC one {added['otlp-grpc']:+.2f} ms: {verdict}."]
    return lines


# --------------------------------------------------------------------------------------------------------------
# The document and the README's lines
# --------------------------------------------------------------------------------------------------------------


def _versions(results: dict[str, Any]) -> list[str]:
    seen: dict[str, dict[str, str]] = {}
    for run in results.get("percall", []):
        seen.setdefault(run["contender"], run.get("versions", {}))
    return [f"- {_label(c, results)}: " + ", ".join(f"{k} {v}" for k, v in versions.items()) for c, versions in seen.items()]


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    load = machine["load_before"][0], machine.get("load_after", [float("nan")])[0]
    loaded = max(load) > (machine["cores"] or 1) * 0.75
    plan = results["plan"]
    lines = [
        "# Benchmarks", "",
        "Generated by `make bench` (benchmarks/run.py, described in benchmarks/README.md); do not edit by hand. Every "
        "comparison is a ratio measured within this one run, each per-call ratio inside one process (on/off calls "
        "alternating, and the floor); each figure is the median with its range (min–max) in parentheses.", "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine.get('system', '')}, Python {machine.get('python', '')}; load average "
        f"{load[0]:.1f} at the start and {load[1]:.1f} at the end"
        + (" — **a loaded machine** (other builds and tests ran at the same time): absolute times are inflated and "
           "noisy; compare the ratios." if loaded else "."),
        f"Run: {plan['passes']} per-call processes per contender ({max(plan['passes'], plan.get('own_passes', 0))} for agentyield and "
        f"its baseline) x {plan['rounds']} rounds of {plan['calls']} calls "
        f"each way, {plan['startup_reps']} start-up repetitions, {results['elapsed_s'] / 60:.1f} minutes"
        + (" (a `--quick` smoke run: not for quoting)." if results.get("quick") else "."), "",
        "## Per call and per chunk", "",
        "Every contender records into the same providers: `SimpleSpanProcessor` to a no-op exporter, an in-memory "
        "metric reader, content capture off; agentyield with every default feature on (its span processor deriving "
        "every metric, stream usage requested). The calls are the real `openai` and `anthropic` SDKs against an "
        "in-process `MockTransport` (a chat completion with cached-token usage; a message; 500-chunk streams). "
        "**The floor** is shared/PERFORMANCE.md's: one span made current with 12 attributes set after start, around "
        "nothing, on the same provider setup. *A span only* is not an instrumentation but that same work around the "
        "real call (the span made current around it, the 12 attributes set after it returns): what the least a "
        "span-based instrumentation adds measures here (calls only). *Every call inside a `task()`* is agentyield "
        "with one task open around all its calls, as an agent's calls are (calls only; the uninstrumented calls run "
        "inside it too): what a task adds per call, the request fingerprint that finds loops and the task's accounts. "
        "*x floor* = added per call / the floor measured in the same process (median over that process's rounds). "
        "*Deferred to collection* = what a contender's calls leave for the metric reader's next collection (a "
        "periodic exporter's thread does it before each export): (a collection right after the round's calls − "
        "another right after it) / the calls. agentyield buffers its histogram observations and records them into "
        "the SDK there; the peers record theirs during the call. *x agentyield* = a contender's (added + deferred) "
        "per call x floor / agentyield's (above 1: agentyield is leaner). The pre-parsed streams hand out chunk "
        "objects the SDK parsed once, through its real "
        "`Stream`, so what an instrumentation adds per chunk stands out of the noise of parsing; each chunk is read "
        "through (every attribute the SDK set on it, nested ones too) before it is handed out, on and off alike, so "
        "it is in the CPU's caches as a chunk the SDK has just built is. *Marginal per chunk* = (added µs reading a "
        f"{STREAM_CHUNKS}-chunk stream − added µs reading a {SHORT_CHUNKS}-chunk stream of the same shape: the same "
        f"first and last chunks) / {STREAM_CHUNKS - SHORT_CHUNKS}: what one more chunk costs, without the stream's "
        "fixed cost (span start and end, booking; the per-call columns measure that kind of cost). Both streams are "
        "timed from the moment `create` returns the stream to its end, on and off and long and short alternating in "
        "random order in one process, medians of single streams. *Whole stream ÷ 500* = the added µs of the whole "
        "500-chunk call (set-up and reading, medians of single streams) / 500: a chunk's cost plus the stream's fixed "
        "cost spread over 500 chunks. The real-parse column is the same ÷ 500 through the SDK's own parser (one "
        "pair of streams per round), dominated by that parser's noise.", "",
        *_percall_section(results),
        "### Before and after (agentyield's hot path)", "",
        "The same per-call measurement, agentyield at the baseline commit against the working tree, in the same run, "
        "each in its own processes, alternating (the first of each also measures streams; the others calls only). "
        "Here each figure is one value per process (the median over its rounds), since a process's memory layout "
        "alone moves a per-call figure by several percent: *now ÷ before* = the median of the processes' values now "
        "/ before (below 1: the hot path got leaner), with its 95% bootstrap interval (each side's processes "
        "resampled). *Slower* or *leaner* only when the interval lies wholly above or below 1; else the two are not "
        "measurably different in this run.", "",
        *_before_after(results), *_instructions(results), "",
        "## Start-up", "",
        "A fresh interpreter per contender per repetition, and a plain one in each repetition. *import + instrument* "
        "is timed after the OpenTelemetry SDK providers are set up (every process pays those alike), before the "
        "application imports any SDK; CPU ms is the main thread's CPU time (less moved by a busy machine; a "
        "background thread's work is not in it, but is in the later columns); *x agentyield* compares that CPU "
        "time. *x plain* compares `import openai` with the same import in the plain process of the same "
        "repetition. The last two columns are differences from the plain process.", "",
        *_startup_section(results), "",
        "## Under load", "",
        "At the end of each contender's per-call process, OpenAI chat completions; throughput (calls per CPU-second of "
        "the process, every thread's: wall time on a shared machine moves more than an instrumentation costs) in "
        "pairs (off, on) back to back in random order "
        "(1.00 = no loss); *x agentyield* = a contender's on/off / agentyield's (below 1: it loses more throughput "
        "than agentyield). Memory: resident set size after a full collection at the end of each of 10 rounds of "
        "instrumented calls (flat = no leak).", "",
        *_load_section(results), "",
        "## Call latency per exporter (agentyield)", "",
        "A fresh agent process per exporter choice per round (modes rotated), each call in an `agentyield.task()`, "
        "agentyield set up by `instrument()` alone as a user would; the OTLP exporters send to a sink in another "
        "process that answers success. Medians over rounds.", "",
        *_exporters_section(results), "",
        "## Derivation (agentyield only)", "",
        *_derive_section(results), "",
        "## Versions", "",
        *_versions(results), "",
    ]
    return "\n".join(lines)


def summary(results: dict[str, Any]) -> str:
    """The README's Performance lines: this run's headline figures, quoted from the same results."""
    rounds = per_round(results.get("percall", []))
    lines = []
    for sdk in SDKS:
        xs = {c: _x(rounds, c, sdk) for c in rounds if sdk in rounds[c]}
        if "agentyield" not in xs:
            continue
        mine = rounds["agentyield"][sdk]
        peers = {c: _x(rounds, c, sdk, _all_work(rounds[c][sdk])) for c in xs if c in PEERS}
        best = min(peers, key=peers.__getitem__) if peers else None
        line = (f"- {sdk}: agentyield adds {xs['agentyield']:.1f}x the floor per call ("
                + (f"{_median(mine['x_floor_with_deferred']):.1f}x with the histogram work it defers to metric collection; "
                   if mine.get("x_floor_with_deferred") else "")
                + f"{_x(rounds, 'agentyield', sdk, 'x_situ'):.1f}x the floor measured in situ"
                + (f"; a span only around the call, {_x(rounds, 'span-only', sdk, 'x_situ'):.1f}x" if "span-only" in xs else "")
                + ")")
        if "in-task" in xs:
            line += (f"; every call inside a `task()`, {xs['in-task']:.1f}x "
                     f"({_x(rounds, 'in-task', sdk, 'x_situ'):.1f}x in situ)")
        if best is not None:
            line += f"; the leanest peer, {LABELS[best]}, {peers[best]:.1f}x"
        lines.append(line + f"; {_x(rounds, 'agentyield', sdk, 'marginal_chunk'):.2f} µs per stream chunk "
                     f"(marginal, pre-parsed stream; {_x(rounds, 'agentyield', sdk, 'parsed_chunk'):.2f} µs as the "
                     "whole stream ÷ 500).")
    percall = results.get("percall", [])
    if "agentyield" in rounds and "agentyield-baseline" in rounds:
        situ = {sdk: [per_process(percall, c, sdk)["x_situ"] for c in ("agentyield", "agentyield-baseline")] for sdk in SDKS}
        lines.append(f"- Per call in situ against agentyield at {results.get('baseline')}, now ÷ before (95% interval over "
                     "processes): " + "; ".join(f"{sdk} {_interval(*situ[sdk])}" for sdk in SDKS) + ".")
    runs = {run["contender"]: run for run in results.get("instructions", []) if "skipped" not in run}
    if "agentyield" in runs and "agentyield-baseline" in runs:
        now, before = runs["agentyield"], runs["agentyield-baseline"]
        lines.append("- Instructions per call (callgrind) against agentyield at " + str(results.get("baseline")) + ": "
                     + "; ".join(f"{sdk} {now[sdk]['added'] / 1000:.0f}k now, {before[sdk]['added'] / 1000:.0f}k before "
                                 f"({_ratio(now[sdk]['added'], before[sdk]['added']):.2f}x); now "
                                 f"{_ratio(now[sdk]['added'], now['floor']):.2f}x the floor's"
                                 + (f", {_ratio(now[sdk]['added_in_task'], now['floor']):.2f}x inside a `task()`"
                                    if "added_in_task" in now[sdk] else "") for sdk in SDKS) + ".")
    by_rep = _by_rep(results)
    ours = [rep["agentyield-default"] for rep in by_rep.values() if "agentyield-default" in rep]
    if ours:
        lines.append(f"- Start-up: `import agentyield; agentyield.instrument()` took "
                     f"{_median([r['instrument_ms'] for r in ours]):.0f} ms "
                     f"({_median([r['instrument_cpu_ms'] for r in ours]):.0f} ms of CPU) and imported "
                     f"{max(r['sdk_modules_after_instrument'] for r in ours)} client SDK modules.")
    table = exporter_medians(results)
    if {"off", "embedded"} <= table.keys():
        off = table["off"]["p99_ms"]
        others = ", ".join(f"{m} {table[m]['p99_ms'] - off:+.2f} ms" for m in ("otlp-http", "otlp-grpc") if m in table)
        lines.append(f"- p99 call latency added by the embedded default: {table['embedded']['p99_ms'] - off:+.2f} ms"
                     + (f" (OTLP exporters: {others})" if others else "") + ".")
    machine = results["machine"]
    lines.append(f"- Measured on {machine['cores']} cores, load average {machine['load_before'][0]:.1f}"
                 + (" (a `--quick` smoke run)" if results.get("quick") else "") + "; ratios within the run.")
    return "\n".join(lines)
