"""The HTML report as seen in Chromium at 700 and 1400 px, on the demo's real report.

Measured in the page after it draws (a test copy with a measuring script appended and the CSP removed, so
it may run): no SVG text under 9 px, none clipped by its chart, no two labels overlapping, nothing wider
than the window; every time tick a different label; one colour per configuration in every chart and
legend; and the header names the files and the time window. Screenshots are written for a person to look
at (`AGENTYIELD_KEEP_SCREENSHOT=prefix` keeps them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentyield._html import render_html
from test_html import _run_chromium

MEASURE = r"""
<script>
(function () {
  var out = {width: window.innerWidth, overflow: document.documentElement.scrollWidth - window.innerWidth, small: [], clipped: [],
             overlaps: [], ticks: [], legends: [], marks: [], source: (document.getElementById("agentyield-source") || {}).textContent};
  Array.prototype.forEach.call(document.querySelectorAll("svg"), function (svg) {
    var box = svg.closest("[data-chart]").getAttribute("data-chart"), sr = svg.getBoundingClientRect(), k = sr.width / svg.viewBox.baseVal.width;
    var texts = Array.prototype.slice.call(svg.querySelectorAll("text")), rects = texts.map(function (t) { return t.getBoundingClientRect(); });
    texts.forEach(function (t, i) {
      var r = rects[i], size = parseFloat(getComputedStyle(t).fontSize) * k;
      if (size < 9) out.small.push([box, t.textContent, size]);
      if (r.left < sr.left - 1 || r.right > sr.right + 1 || r.top < sr.top - 1 || r.bottom > sr.bottom + 1) out.clipped.push([box, t.textContent]);
      for (var j = 0; j < i; j++) {
        var q = rects[j], w = Math.min(r.right, q.right) - Math.max(r.left, q.left), h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
        if (w > 1 && h > 1) out.overlaps.push([box, texts[j].textContent, t.textContent]);
      }
      if (box === "cache" && t.getAttribute("y") === "228") out.ticks.push(t.textContent);
    });
    Array.prototype.forEach.call(svg.querySelectorAll("rect,circle"), function (m) {
      var title = m.querySelector("title");
      if (title) out.marks.push([box, title.textContent, getComputedStyle(m).fill]);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".legend span"), function (e) {
    out.legends.push([e.closest("[data-chart]").getAttribute("data-chart"), e.textContent, getComputedStyle(e.querySelector("i")).backgroundColor]);
  });
  var pre = document.createElement("pre"); pre.id = "measure"; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """The demo's real report data, and its page."""
    directory = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "agentyield", "demo", "--dir", str(directory / "traces"), "--json", str(directory / "demo.json")],
                            capture_output=True, text=True, timeout=600, cwd=directory)
    assert result.returncode == 0, result.stderr
    data = json.loads((directory / "demo.json").read_text())
    page = directory / "report.html"
    page.write_text(render_html(data), encoding="utf-8")
    return data, page


def measure(page: Path, width: int) -> dict[str, Any]:
    probe = page.parent / f"probe-{width}.html"
    text = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text(encoding="utf-8"))
    probe.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    out = _run_chromium(probe, page.parent / f"measure-{width}", "--dump-dom", f"--window-size={width},3000", "--virtual-time-budget=5000")
    assert out.returncode == 0, out.stderr[-3000:]
    found = re.search(r'<pre id="measure">(.*?)</pre>', out.stdout, re.S)
    assert found, "the measuring script did not run"
    import html

    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [700, 1101, 1400])  # 1101: the narrowest two-column layout
def test_readable_unclipped_and_not_overlapping(demo: tuple[dict[str, Any], Path], width: int) -> None:
    _, page = demo
    seen = measure(page, width)
    assert seen["width"] == width
    assert seen["overflow"] <= 0, "the page is wider than the window"
    assert seen["small"] == [], "SVG text under 9 px"
    assert seen["clipped"] == [], "text cut off at the edge of its chart"
    assert seen["overlaps"] == [], "labels drawn over each other"


def test_time_ticks_are_distinct(demo: tuple[dict[str, Any], Path]) -> None:
    data, page = demo
    ticks = measure(page, 1400)["ticks"]
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks
    # The demo runs for about a minute: the labels are seconds apart, with the date in the axis title.
    assert all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", t) for t in ticks), ticks


def test_one_colour_per_configuration_everywhere(demo: tuple[dict[str, Any], Path]) -> None:
    data, page = demo
    seen = measure(page, 1400)
    legend: dict[str, set[str]] = {}
    for _, text, colour in seen["legends"]:
        legend.setdefault(text.split(" (")[0].strip(), set()).add(colour)
    assert all(len(c) == 1 for c in legend.values()), legend
    colours = {k: next(iter(c)) for k, c in legend.items()}
    assert len(set(colours.values())) == len(colours), "two configurations share a colour"
    configurations = {v["version"] for v in data["capability"]}
    assert configurations <= colours.keys()
    # Every coloured mark of a configuration (capability bars, budget dots, Pareto points) has the legend's colour.
    checked = 0
    for section, title, fill in seen["marks"]:
        key = re.split(r"[:/]", title)[0]
        if key in colours:
            assert fill == colours[key], (section, title, fill, colours[key])
            checked += 1
    sections = {section for section, title, _ in seen["marks"] if re.split(r"[:/]", title)[0] in colours}
    assert {"capability", "budget", "pareto"} <= sections and checked >= 10
    # Every chart that colours by configuration has a legend.
    assert {section for section, _, _ in seen["legends"]} >= {"capability", "budget", "pareto", "artifact_costs"}


def test_the_page_names_its_files_and_time_window(demo: tuple[dict[str, Any], Path]) -> None:
    data, page = demo
    source = measure(page, 700)["source"]
    first, last = data["source"]["first"], data["source"]["last"]
    assert source.startswith(f"{data['source']['spans']:,} spans from {data['source']['paths'][0]}")
    assert f"LLM calls from {first.replace('T', ' ')[:19]} to {last.replace('T', ' ')[:19]} UTC" in source


@pytest.mark.parametrize("width", [700, 1400])
def test_screenshots(demo: tuple[dict[str, Any], Path], width: int) -> None:
    _, page = demo
    shot = page.parent / f"report-{width}.png"
    out = _run_chromium(page, page.parent / f"shot-{width}", f"--screenshot={shot}", f"--window-size={width},3200", "--hide-scrollbars",
                        "--virtual-time-budget=5000")
    assert out.returncode == 0, out.stderr[-3000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == width
    assert len(png) > 60_000, "the page looks blank"
    if os.environ.get("AGENTYIELD_KEEP_SCREENSHOT"):
        shutil.copy(shot, f"{os.environ['AGENTYIELD_KEEP_SCREENSHOT']}-{width}.png")
