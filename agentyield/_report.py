"""`agentyield report`: trace files in, the offline analyses out (terminal, JSON, HTML).

Reading, replay and analysis all go through the derivation core (`processors`); this module only loads
files and lays the numbers out. Where the data cannot support a number, the report prints the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

from ._tracefiles import iter_spans, trace_files

__all__ = ["build_report", "render_text"]

_PROGRESS_BYTES = 8 * 1024 * 1024


def build_report(
    paths: Sequence[str | Path],
    *,
    prices: str | Path | None = None,
    reprice: bool = False,
    budget_axis: str = "output",
    progress: TextIO | None = None,
    progress_min_bytes: int = _PROGRESS_BYTES,
    limits: Any = None,
) -> dict[str, Any]:
    """Read trace files (OTLP JSON lines or documents, .pb protobuf, gzipped or not; directories of them),
    replay them, and run every analysis; unreadable lines are skipped and listed in `source.skipped_lines`. Inputs of at least
    `progress_min_bytes` show a progress bar on `progress`. The input streams through the trace assembly
    (`limits`, an `AssemblyLimits`: the bounds on what it holds; each drop is counted and shown).

    A call's cost is the one agentyield recorded on its span when it ran (so the report shows the live
    numbers whatever price data it has); spans without one are priced from `prices` (default: genai-prices)
    at their own time. `reprice` prices every call from `prices`, on purpose."""
    from agentyield.processors import PriceBook
    from agentyield.processors._analyses import report_data
    from agentyield.processors._replay import replay

    total = sum(p.stat().st_size for p in trace_files(paths))
    show = progress is not None and total >= progress_min_bytes
    done = [0]

    def on_file(path: Path) -> None:
        if show:
            _bar(progress, done[0], total)  # type: ignore[arg-type]
            done[0] += path.stat().st_size

    skipped: list[str] = []
    book = PriceBook(prices)
    population = replay(iter_spans(paths, skipped, on_file), book, reprice=reprice, limits=limits)
    if show:
        _bar(progress, total, total)  # type: ignore[arg-type]
        progress.write(f"  {population.spans_read} spans\n")  # type: ignore[union-attr]
    data = report_data(population.tasks, population.calls, windows=population.windows, still_open=population.open_windows,
                       budget_axis=budget_axis)
    data["source"] = {
        "paths": [str(p) for p in paths],
        "spans": population.spans_read - population.duplicate_spans,
        "duplicate_spans": population.duplicate_spans,
        "limits_hit": {what: n for what, n in sorted(population.ledger.limits_hit.items()) if n},
        "skipped_lines": skipped,
        "priced_live_with": list(population.price_sources),
        "prices": f"re-priced with {book.version}" if reprice else f"as recorded live; spans without a recorded cost priced with {book.version}",
        "first": _iso([c.time_s for c in population.calls], min),
        "last": _iso([c.time_s for c in population.calls], max),
    }
    return data


def _iso(times: list[float], pick: Any) -> str | None:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(pick(times), timezone.utc).isoformat() if times else None


def _bar(stream: TextIO, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    stream.write(f"\rreading [{'#' * filled}{'.' * (width - filled)}] {done * 100 // max(total, 1):3d}%")
    stream.flush()


def _fmt(value: Any, kind: str = "") -> str:
    if value is None:
        return "n/a"
    if value == "inf":
        return "inf"
    if kind == "usd":
        return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return out


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, "=" * len(title), *lines]


def _why(section: Any) -> str | None:
    if isinstance(section, dict):
        return section.get("insufficient")
    return None


def _lower(value: Any, lower_bound: bool, kind: str = "usd") -> str:
    return _fmt(value, kind) + (" (lower bound)" if lower_bound and value is not None else "")


def render_text(data: dict[str, Any]) -> str:
    s = data["summary"]
    source = data.get("source", {})
    spend = s.get("spend", {})
    out = [
        f"agentyield report: {s['tasks']} tasks, {s['llm_calls']} LLM calls"
        + (f", {source['spans']} spans" if "spans" in source else "")
        + (f" ({source['duplicate_spans']} duplicate spans read twice, counted once)" if source.get("duplicate_spans") else ""),
    ]
    if source.get("first"):
        out.append(f"calls from {source['first']} to {source['last']}; costs {source['prices']}")
    if source.get("limits_hit"):
        out.append("bounds hit (agentyield.limits.hit, docs/metrics.md): " + ", ".join(f"{what} {n}" for what, n in source["limits_hit"].items()))
    out += [
        f"spend {_fmt(s['cost_usd'], 'usd')}" + ("" if s.get("cost_complete", True) or s["cost_usd"] is None else " (lower bound)")
        + f"  in tasks {_fmt(s['in_tasks_usd'], 'usd')}, outside tasks {_fmt(s['outside_tasks_usd'], 'usd')}",
        f"  {s['notes']['cost_usd']}" if "cost_usd" in s["notes"] else None,
        f"  went to: accepted artifacts {_fmt(spend.get('accepted_artifacts_usd'), 'usd')}, unproductive {_fmt(spend.get('unproductive_usd'), 'usd')}, "
        f"open windows {_fmt(spend.get('open_windows_usd'), 'usd')}, unfinished tasks {_fmt(spend.get('open_tasks_usd'), 'usd')}" if spend else None,
        f"cache-read ratio {_fmt(s['cache_read_ratio'], 'pct')}"
        + (f" ({s['cache_not_reported_calls']} calls did not report cache use: left out)" if s.get("cache_not_reported_calls") else "")
        + f"  cache savings {_fmt(s['savings_usd'], 'usd')} gross, {_fmt(s['write_premium_usd'], 'usd')} write premium,"
        + f" {_fmt(s['savings_net_usd'], 'usd')} net  missed caching {_fmt(s['missed_caching_usd'], 'usd')}",
    ]
    out = [line for line in out if line is not None]
    rows = [(r["agent"], r["version"] or "-", r["kind"], str(r["accepted"]), _fmt(r["cost_per_artifact"], "usd") if r["cost_per_artifact"] is not None
             else (r["insufficient"] or "n/a").split(": ")[-1]) for r in data["artifact_costs"]]
    out += _section("Cost per accepted artifact", _table(("agent", "version", "kind", "accepted", "cost/artifact"), rows) if rows else ["no accepted artifacts recorded"])
    rows = [(r["agent"], r["version"] or "-", r["task"], str(r["tasks"]), _lower(r["cost_usd"], r["lower_bound"])) for r in data["unproductive"]]
    out += _section("Unproductive spend (no accepted artifact)", _table(("agent", "version", "task", "tasks", "spend"), rows) if rows else ["none"])
    if data.get("open_windows"):
        rows = [(r["agent"], str(r["llm_calls"]), _lower(r["cost_usd"], r["lower_bound"])) for r in data["open_windows"]]
        out += _section("Open windows (spend outside tasks no artifact has closed yet)", _table(("agent", "LLM calls", "spend"), rows))
    cache = data["cache"]
    lines = [cache["insufficient"]] if _why(cache) else [
        f"ratio per {cache['bucket_calls']} consecutive calls: "
        + " ".join(f"{p['ratio'] * 100:.0f}%" if p["ratio"] is not None else "-" for p in cache["points"])
    ]
    lines += [f"drift at {d['t']}: {_fmt(d['before'], 'pct')} -> {_fmt(d['after'], 'pct')}; cause: {d['cause']}" for d in cache.get("drifts", [])]
    out += _section("Cache-read ratio over time", lines)
    budget = data["budget"]
    title = f"Performance at a fixed budget ({budget.get('axis_label', 'tokens')})"
    if _why(budget):
        lines = [budget["insufficient"]]
    else:
        lines = _table(("budget", "tasks", "success"), [(f"{b['lo']:,.4g}-{b['hi']:,.4g}" if budget.get("axis") == "usd" else f"{b['lo']:,.0f}-{b['hi']:,.0f}",
                                                          str(b["tasks"]), _fmt(b["success_rate"], "pct")) for b in budget["bins"]])
        if budget.get("r2") is not None:
            lines.append(f"share of success variance explained by the log budget: R^2 = {budget['r2']:.2f} ({budget['fitted_on']})")
        for v in budget.get("versions", []):
            lines.append(f"  matched budget {v['lo']:,.4g}-{v['hi']:,.4g}: {v['version']} {_fmt(v['success_rate'], 'pct')} of {v['tasks']}")
    out += _section(title, lines)
    rows = [
        (r["task"], r["agent"], r["configuration"], str(r["attempts"]), str(r["successes"]), _lower(r["mean_cost"], r["lower_bound"]),
         r["insufficient"] or _lower(r["cost_of_pass"], r["lower_bound"]) + ("  frontier" if r["frontier"] else ""))
        for r in data["cost_of_pass"]
    ]
    out += _section("Cost of pass (expected cost / success rate; frontier: the cheapest configuration per task and agent)",
                    _table(("task", "agent", "configuration", "attempts", "passes", "cost/attempt", "cost of pass"), rows) if rows else ["no tasks"])
    rows = [
        (r["configuration"], str(r["tasks"]), _lower(r["mean_cost"], r["lower_bound"]), _fmt(r["success_rate"], "pct"),
         "frontier" if r["frontier"] else f"dominated by {r['dominated_by']}" if r["frontier"] is False else r.get("insufficient") or "n/a")
        for r in data["pareto"]
    ]
    out += _section("Cost vs success: Pareto frontier", _table(("configuration", "tasks", "cost/task", "success", ""), rows) if rows else ["not enough tasks per configuration"])
    axes = ("task_success", "verification_pass_rate", "tool_reliability", "privacy_findings_per_call", "mode_consistency")
    rows = [[r["version"], str(r["tasks"])] + [_fmt(r.get(a), "" if a == "privacy_findings_per_call" else "pct") for a in axes] for r in data["capability"]]
    lines = _table(("version", "tasks", "success", "verification pass", "tools ok", "privacy/call", "consistency"), rows) if rows else ["no versions"]
    for r in data["capability"]:
        lines += [f"  {r['version']}: {axis}: {why}" for axis, why in sorted((r.get("notes") or {}).items())]
    out += _section("Capability vector (no single score)", lines)
    rows = [
        (r["tool"], f"{r['with_tasks']} / {_fmt(r['with_success_rate'], 'pct')}", f"{r['without_tasks']} / {_fmt(r['without_success_rate'], 'pct')}",
         "n/a" if r["lift"] is None else f"{r['lift'] * 100:+.1f} pts")
        for r in data["tool_credit"]
    ]
    out += _section("Tool credit (success with vs without the tool)", _table(("tool", "with: tasks / success", "without", "lift"), rows) if rows else ["no tool calls"])
    out += _section("Trajectory and context (mean per task; docs/metrics.md)", _trajectory_lines(data.get("trajectory") or []))
    return "\n".join(out) + "\n"


# (column, key in the report's trajectory rows, format)
_TRAJECTORY_COLUMNS = (
    ("LLM calls", "llm_calls", ""), ("tool calls", "tool_calls", ""), ("repeats", "tool_calls.redundant", ""), ("loops", "loops", ""),
    ("rework", "rework", ""), ("growth/turn", "context.growth", ""), ("re-sent uncached", "input.resent_uncached", "pct"),
    ("context:output", "context_to_output", ""), ("verification", "verification.share", "pct"), ("multiplier", "token_multiplier", ""),
    ("signal yield", "signal_yield", "pct"),
)


def _trajectory_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["no tasks"]
    headers = ("agent", "task", "tasks", *(c for c, _, _ in _TRAJECTORY_COLUMNS))
    return _table(headers, [(r["agent"], r["task"], str(r["tasks"]), *(_fmt(r.get(k), f) for _, k, f in _TRAJECTORY_COLUMNS)) for r in rows])


def write_outputs(data: dict[str, Any], *, json_path: str | None, html_path: str | None, stdout: TextIO = sys.stdout) -> None:
    if json_path:
        text = json.dumps(data, indent=2, sort_keys=True)
        if json_path == "-":
            stdout.write(text + "\n")
        else:
            Path(json_path).write_text(text + "\n", encoding="utf-8")
    if html_path:
        from ._html import render_html

        Path(html_path).write_text(render_html(data), encoding="utf-8")
