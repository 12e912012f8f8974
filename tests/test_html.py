"""The HTML report, opened in a real headless Chromium: every section draws, user text stays text, no console errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
import math
from pathlib import Path

import pytest

from agentyield._html import render_html

HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = '<img src=x onerror="alert(2)">'


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if path:
        return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium not installed on CI: .ci/run must apt-get install chromium")
    pytest.skip("chromium not installed: apt-get install chromium")


def _run_chromium(page: Path, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={workdir / 'profile'}", "--enable-logging=stderr", "--v=0", *extra, page.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=workdir, stdin=subprocess.DEVNULL)


# Chromium logs every console message and uncaught exception of the page to stderr as
# `...:INFO:CONSOLE:12] "Uncaught TypeError: ...", source: file:///... (12)` (older builds: `CONSOLE(12)`).
# The renderer never writes to the console, so any such line is an error.
_CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\]\s*(.*)")


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in map(_CONSOLE.search, stderr.splitlines()) if m]


def dump_dom(page: Path, workdir: Path) -> tuple[str, list[str]]:
    out = _run_chromium(page, workdir, "--dump-dom", "--virtual-time-budget=5000")
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout, console_messages(out.stderr)


class _Elements(HTMLParser):
    """Every start tag as (tag, attrs), in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(dom: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(dom)
    return parser.elements


def report_data() -> dict:
    v1, v2 = "v1.3", HOSTILE
    return {
        "summary": {"tasks": 412, "llm_calls": 5230, "cost_usd": 187.42, "cost_complete": False, "unpriced_tasks": 3,
                    "cache_read_ratio": 0.61, "savings_usd": 52.1, "missed_caching_usd": 9.8},
        "artifact_costs": [
            {"agent": "coder", "version": v1, "kind": "pull_request", "accepted": 58, "cost_per_artifact": 1.92},
            {"agent": "coder", "version": v2, "kind": "pull_request", "accepted": 41, "cost_per_artifact": 2.74},
            {"agent": HOSTILE_IMG, "version": v1, "kind": "ticket_reply", "accepted": 120, "cost_per_artifact": 0.08},
            {"agent": "triage", "version": v1, "kind": "label", "accepted": 0, "cost_per_artifact": None},
        ],
        "unproductive": [
            {"agent": "coder", "version": v1, "task": "fix_flaky_test", "tasks": 17, "cost_usd": 12.5},
            {"agent": "coder", "version": v2, "task": HOSTILE, "tasks": 4, "cost_usd": 3.1},
        ],
        "cache": {
            "points": [{"t": f"2025-11-{d:02d}T{h:02d}:00:00Z", "ratio": r, "calls": 40 + d}
                       for d, h, r in [(20, 0, .62), (20, 12, .64), (21, 0, .66), (21, 12, .63), (22, 0, .31),
                                       (22, 12, .29), (23, 0, .33), (23, 12, .58), (24, 0, .61)]],
            "drifts": [{"t": "2025-11-21T18:00:00Z", "before": 0.64, "after": 0.31, "cause": "system prompt changed"},
                       {"t": "2025-11-23T06:00:00Z", "before": 0.31, "after": 0.6, "cause": HOSTILE}],
            "missed_caching_usd": 9.8, "insufficient": None,
        },
        "budget": {"bins": [], "r2": None, "fit": None, "curve": [], "versions": [],
                   "insufficient": "only 7 tasks with a known outcome; need at least 30"},
        "cost_of_pass": [
            {"task": "fix_bug", "configuration": f"coder {v1}", "attempts": 40, "successes": 29, "mean_cost": 0.84,
             "cost_of_pass": 1.16, "insufficient": None},
            {"task": "fix_bug", "configuration": f"coder {v2}", "attempts": 12, "successes": 0, "mean_cost": 1.2,
             "cost_of_pass": "inf", "insufficient": None},
            {"task": HOSTILE, "configuration": "triage v1.3", "attempts": 2, "successes": 1, "mean_cost": 0.02,
             "cost_of_pass": None, "insufficient": "2 attempts; need at least 5"},
        ],
        "pareto": [
            {"configuration": "coder v1.3 / gpt-x", "tasks": 120, "mean_cost": 0.84, "success_rate": 0.72, "frontier": True, "dominated_by": []},
            {"configuration": "coder v1.3 / mini", "tasks": 95, "mean_cost": 0.21, "success_rate": 0.55, "frontier": True, "dominated_by": []},
            {"configuration": HOSTILE, "tasks": 60, "mean_cost": 1.2, "success_rate": 0.6, "frontier": False,
             "dominated_by": ["coder v1.3 / gpt-x"]},
            {"configuration": "coder v2 / opus", "tasks": 30, "mean_cost": 2.4, "success_rate": 0.86, "frontier": True, "dominated_by": []},
        ],
        "capability": [
            {"version": v1, "tasks": 240, "task_success": 0.71, "verification_pass_rate": 0.83,
             "tool_reliability": 0.97, "privacy_findings_per_call": 0.004, "mode_consistency": 0.9, "notes": {}},
            {"version": v2, "tasks": 172, "task_success": 0.66, "verification_pass_rate": None,
             "tool_reliability": 0.92, "privacy_findings_per_call": 0.011, "mode_consistency": None,
             "notes": {"verification_pass_rate": "no verification results recorded", "mode_consistency": HOSTILE}},
        ],
        "tool_credit": [
            {"tool": "run_tests", "with_tasks": 210, "with_success_rate": 0.78, "without_tasks": 202, "without_success_rate": 0.58, "lift": 0.2},
            {"tool": HOSTILE_IMG, "with_tasks": 33, "with_success_rate": 0.5, "without_tasks": 379, "without_success_rate": 0.69, "lift": -0.19},
        ],
        "trajectory": [
            {"agent": "coder", "task": "fix_bug", "tasks": 52, "llm_calls": 11.5, "tool_calls": 23.25, "tool_calls.redundant": 2.5,
             "loops": 0.25, "rework": 1, "context.growth": 1840.0, "input.resent_uncached": 0.125, "context_to_output": 262.0,
             "verification.share": 0.3125, "token_multiplier": None, "signal_yield": 0.75},
            {"agent": HOSTILE, "task": "triage", "tasks": 3, "llm_calls": 1, "tool_calls": 0, "tool_calls.redundant": 0, "loops": 0,
             "rework": 0, "context.growth": None, "input.resent_uncached": None, "context_to_output": 40.0,
             "verification.share": None, "token_multiplier": 15.0, "signal_yield": 0.0},
        ],
    }


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_html(report_data(), title=f"report for {HOSTILE}"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rendered(page: Path) -> tuple[str, list[str]]:
    return dump_dom(page, page.parent / "dom")


def test_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "page references the network"
    assert "@import" not in text and "url(" not in text
    assert '<script type="application/json" id="agentyield-data">' in text
    assert text.count(HOSTILE) == 0, "raw hostile text must not reach the page source"


def test_every_section_renders(rendered: tuple[str, list[str]]) -> None:
    dom, _ = rendered
    boxes = {a.get("data-chart") or a.get("data-table"): a.get("data-rendered")
             for _, a in elements(dom) if "data-chart" in a or "data-table" in a}
    assert set(boxes) == {"summary", "cache", "budget", "pareto", "artifact_costs", "capability",
                          "cost_of_pass", "unproductive", "tool_credit", "trajectory"}
    assert boxes.pop("budget") == "insufficient"
    assert set(boxes.values()) == {"true"}, boxes
    assert "only 7 tasks with a known outcome; need at least 30" in dom
    assert dom.count("<svg") == 4  # cache, pareto, artifact costs, capability (budget is insufficient)
    tags = [t for t, _ in elements(dom)]
    assert tags.count("table") == 4
    # The trajectory table: percentages as percentages, a measure no task had as n/a.
    assert all(text in dom for text in ("12.5%", "31.3%", "75.0%", "1,840"))
    assert "system prompt changed" in dom and "\u221e" in dom  # a drift marker, an infinite cost of pass


def test_hostile_names_stay_text(rendered: tuple[str, list[str]]) -> None:
    dom, _ = rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"alert(2)\"&gt;" in dom
    els = elements(dom)
    scripts = [a for t, a in els if t == "script"]
    assert len(scripts) == 2 and scripts[0].get("type") == "application/json"
    assert not [t for t, _ in els if t == "img"]
    assert not [a for _, a in els if any(k.startswith("on") for k in a)]


def test_no_console_errors(rendered: tuple[str, list[str]]) -> None:
    _, console = rendered
    assert console == []


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The detector itself: a page with a deliberate JS error is caught, and so is a renderer that throws."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>undefinedFunction();</script>", encoding="utf-8")
    _, console = dump_dom(bad, tmp_path / "bad")
    assert any("Uncaught ReferenceError" in m and "undefinedFunction" in m for m in console), console

    broken = tmp_path / "broken.html"
    data = report_data()
    data["pareto"] = 42  # not a list: the pareto renderer throws
    broken.write_text(render_html(data), encoding="utf-8")
    dom, console = dump_dom(broken, tmp_path / "broken")
    assert any("TypeError" in m for m in console), console
    assert ('data-chart="pareto" data-rendered="error"' in dom)
    assert dom.count('data-rendered="true"') == 8  # the other sections still draw


def budget_data() -> dict:
    """The other way round: the budget chart has data (log-spaced bins, a fit, two versions), the cache has none."""
    data = report_data()
    edges = [1_000, 4_000, 16_000, 64_000, 256_000]
    rates = [0.12, 0.35, 0.61, 0.74]
    data["budget"] = {
        "bins": [{"lo": lo, "hi": hi, "tasks": 20 + 7 * i, "success_rate": r} for i, (lo, hi, r) in enumerate(zip(edges, edges[1:], rates))],
        "r2": 0.93, "fit": {"a": -4.1, "b": 0.45},
        "curve": [{"tokens": t, "p": 1 / (1 + math.exp(4.1 - 0.45 * math.log(t)))} for t in range(1_000, 256_001, 5_000)],
        "versions": [{"lo": lo, "hi": hi, "version": v, "tasks": 10, "success_rate": r + d}
                     for lo, hi, r in zip(edges, edges[1:], rates) for v, d in (("v1.3", 0.05), (HOSTILE, -0.05))],
        "insufficient": None,
    }
    data["cache"] = {"points": [], "drifts": [], "missed_caching_usd": None, "insufficient": "no calls reported cache tokens"}
    data["unproductive"] = None  # a section left out entirely
    return data


def test_budget_chart_renders(tmp_path: Path) -> None:
    path = tmp_path / "budget.html"
    path.write_text(render_html(budget_data()), encoding="utf-8")
    dom, console = dump_dom(path, tmp_path / "dom")
    assert console == []
    assert 'data-chart="budget" data-rendered="true"' in dom
    assert 'data-chart="cache" data-rendered="insufficient"' in dom and "no calls reported cache tokens" in dom
    assert 'data-table="unproductive" data-rendered="insufficient"' in dom
    budget = dom[dom.index('data-chart="budget"'):dom.index('data-chart="pareto"')]
    assert budget.count("<rect") == 4 and budget.count("<circle") == 8 and "R\u00b2=0.93" in budget
    if os.environ.get("AGENTYIELD_KEEP_SCREENSHOT"):
        out = _run_chromium(path, tmp_path / "shot", f"--screenshot={tmp_path / 'b.png'}", "--window-size=1280,2400", "--virtual-time-budget=5000")
        assert out.returncode == 0
        shutil.copy(tmp_path / "b.png", os.environ["AGENTYIELD_KEEP_SCREENSHOT"] + ".budget.png")


def test_screenshot(page: Path) -> None:
    shot = page.parent / "page.png"
    out = _run_chromium(page, page.parent / "shot", f"--screenshot={shot}", "--window-size=1280,2400",
                        "--hide-scrollbars", "--virtual-time-budget=5000")
    assert out.returncode == 0, out.stderr[-3000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1280, 2400)
    assert len(png) > 40_000, f"screenshot is only {len(png)} bytes: the page looks blank"
    if os.environ.get("AGENTYIELD_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["AGENTYIELD_KEEP_SCREENSHOT"])
