"""The self-contained HTML page of `agentyield report --html FILE`.

One file, no network: the report data rides along as JSON in a `<script type="application/json">` tag and a
small inline renderer draws every chart as inline SVG. All user-supplied text (agent, tool, task names) is set
with `textContent`, never parsed as HTML, and a Content-Security-Policy lets only the renderer itself run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from typing import Any

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2430;background:#f6f7f9;margin:0}
header{background:#1f2430;color:#fff;padding:16px 28px}header h1{margin:0;font-size:20px}
main{padding:18px 28px;display:grid;grid-template-columns:1fr 1fr;gap:16px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 16px;min-width:0}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 2px}p.sub{margin:0 0 8px;color:#5b6472;font-size:12px}
.note{color:#8a5a00;background:#fff7e6;border:1px solid #f0d9a8;border-radius:6px;padding:8px 10px}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{flex:1 1 130px;border:1px solid #e4e7ec;border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:19px}.card span{color:#5b6472;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{padding:4px 8px;border-bottom:1px solid #eceef2;text-align:left}
th{color:#5b6472;font-weight:600}td.n{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#3a4150}
.legend{font-size:12px;color:#3a4150;margin-top:4px}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.legend span{white-space:nowrap}.scroll{overflow-x:auto}.panels{display:flex;flex-wrap:wrap;gap:4px 12px}.panels svg{flex:0 0 auto}
header p{margin:4px 0 0;color:#c9cfda;font-size:12.5px;overflow-wrap:anywhere}
@media (max-width:1100px){main{grid-template-columns:1fr;padding:12px}header{padding:12px}}
"""

_JS = r"""
(function () {
"use strict";
var D = JSON.parse(document.getElementById("agentyield-data").textContent);
var NS = "http://www.w3.org/2000/svg", W = 560, H = 250, M = {l: 56, r: 16, t: 14, b: 38};
var COLORS = ["#2f6fdb", "#e8833a", "#2a9d6f", "#b5468b", "#7a5cc7", "#c9a227", "#4d8fa8"];
function h(tag, text, cls) { var e = document.createElement(tag); if (text != null) e.textContent = text; if (cls) e.className = cls; return e; }
function s(tag, attrs, parent, text) {
  var e = document.createElementNS(NS, tag);
  for (var k in attrs) e.setAttribute(k, attrs[k]);
  if (text != null) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function num(v) { return typeof v === "number" && isFinite(v); }
function usd(v) { return v === "inf" ? "\u221e" : !num(v) ? "n/a" : "$" + (v !== 0 && Math.abs(v) < 0.1 ? v.toPrecision(2) : v.toFixed(2)); }
function pct0(v) { return Math.round(v * 100) + "%"; }
function pct(v) { return num(v) ? (v * 100).toFixed(1) + "%" : "n/a"; }
function nf(v) { return num(v) ? (Math.abs(v) >= 1000 ? v.toLocaleString("en-US", {maximumFractionDigits: 0}) : String(+v.toPrecision(3))) : "n/a"; }
var CHAR = 6.3;  // width of one 11px character, generously
function fit(text, px) { var n = Math.max(4, Math.floor(px / CHAR)); return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
function label(g, x, y, text, fill, w) {
  w = w || W;
  var room = {right: w - M.r - x - 6, left: x - 6 - M.l}, right = room.right < text.length * CHAR && room.left > room.right;
  var e = s("text", {x: right ? x - 6 : x + 6, y: y, "text-anchor": right ? "end" : "start", fill: fill || "#3a4150"}, g, fit(text, right ? room.left : room.right));
  if (e.textContent !== text) tip(e, text);
  return e;
}
function tip(e, text) { s("title", {}, e, text); return e; }
function svg(w, hh) { return s("svg", {viewBox: "0 0 " + (w || W) + " " + (hh || H), width: w || W, height: hh || H, role: "img"}); }
function scale(d0, d1, r0, r1, log) {
  if (log) { d0 = Math.log10(d0); d1 = Math.log10(d1); }
  if (d1 === d0) { d0 -= 1; d1 += 1; }
  var f = function (v) { return r0 + ((log ? Math.log10(v) : v) - d0) / (d1 - d0) * (r1 - r0); };
  f.ticks = function () {
    var out = [], i;
    if (log) { for (i = Math.ceil(d0); i <= Math.floor(d1); i++) out.push(Math.pow(10, i)); if (out.length > 1) return out; }
    var a = log ? Math.pow(10, d0) : d0, b = log ? Math.pow(10, d1) : d1;
    for (i = 0; i <= 4; i++) out.push(a + (b - a) * i / 4);
    return out;
  };
  return f;
}
function axes(g, x, y, xfmt, yfmt, xlab, ylab) {
  var xt = x.ticks(), last = -1e9;
  xt.forEach(function (v) {
    var t = xfmt(v), half = t.length * CHAR / 2, at = Math.min(Math.max(x(v), M.l + half), W - M.r - half);
    if (at - half < last + 8) return;
    last = at + half;
    s("line", {x1: x(v), x2: x(v), y1: H - M.b, y2: H - M.b + 4, stroke: "#9aa3b0"}, g);
    s("text", {x: at, y: H - M.b + 16, "text-anchor": "middle"}, g, t);
  });
  y.ticks().forEach(function (v) {
    s("line", {x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), stroke: "#eceef2"}, g);
    s("text", {x: M.l - 6, y: y(v) + 4, "text-anchor": "end"}, g, yfmt(v));
  });
  s("line", {x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, stroke: "#9aa3b0"}, g);
  s("text", {x: (M.l + W - M.r) / 2, y: H - 4, "text-anchor": "middle"}, g, xlab);
  s("text", {x: 12, y: (M.t + H - M.b) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (M.t + H - M.b) / 2 + ")"}, g, ylab);
}
// One colour per configuration (agent@version) in every chart: assigned once, in sorted order, from all the data.
var KEYS = [];
function cfg(agent, version) { return str(agent) + "@" + (version == null || version === "" ? "-" : str(version)); }
function colorOf(key) { var i = KEYS.indexOf(key); return i < 0 ? "#8a93a2" : COLORS[i % COLORS.length]; }
function legend(body, keys, texts) {
  var d = h("div", null, "legend");
  keys.forEach(function (k, i) { var e = h("span"), sw = h("i"); sw.style.background = colorOf(k); e.appendChild(sw); e.appendChild(document.createTextNode(texts ? texts[i] : k)); d.appendChild(e); d.appendChild(document.createTextNode(" ")); });
  body.appendChild(d);
}
function timeTicks(t0, t1) {
  var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800, 2592000, 7776000, 31536000];
  // The smallest step giving at most 8 ticks: steps grow by at most 2.5x below a day, so at least 3 ticks fall inside.
  var span = Math.max(t1 - t0, 1000), step = steps[steps.length - 1] * 1000, out = [], i;
  for (i = 0; i < steps.length; i++) if (span / (steps[i] * 1000) <= 8) { step = steps[i] * 1000; break; }
  for (var v = Math.ceil(t0 / step) * step; v <= t1; v += step) out.push(v);
  var iso = function (v) { return new Date(v).toISOString(); }, day0 = iso(t0).slice(0, 10), day1 = iso(t1).slice(0, 10);
  var fmt = step < 60000 ? function (v) { return iso(v).slice(11, 19); }
    : day0 === day1 ? function (v) { return iso(v).slice(11, 16); }
    : step < 86400000 ? function (v) { return iso(v).slice(5, 16).replace("T", " "); }
    : day0.slice(0, 4) === day1.slice(0, 4) ? function (v) { return iso(v).slice(5, 10); } : function (v) { return iso(v).slice(0, 10); };
  return {ticks: out, fmt: fmt, label: "time (UTC" + (day0 === day1 ? ", " + day0 : "") + ")"};
}
function str(v) { return v == null ? "" : String(v); }
function remarks(body, d, extra) {
  var lines = extra ? [extra] : [];
  if (d && d.notes && typeof d.notes === "object") for (var k in d.notes) if (d.notes[k]) lines.push(k.replace(/_/g, " ") + ": " + d.notes[k]);
  lines.forEach(function (t) { body.appendChild(h("p", t, "sub")); });
}
function unique(xs) { return xs.filter(function (v, i) { return xs.indexOf(v) === i; }); }
function table(body, rows, cols) {
  if (!rows || !rows.length) return "no rows";
  var t = h("table"), tr = h("tr");
  cols.forEach(function (c) { tr.appendChild(h("th", c[0])); });
  t.appendChild(tr);
  rows.forEach(function (r) {
    var row = h("tr");
    cols.forEach(function (c) { var v = c[1](r); row.appendChild(h("td", v == null ? "" : String(v), c[2] ? "n" : null)); });
    t.appendChild(row);
  });
  var wrap = h("div", null, "scroll");
  wrap.appendChild(t);
  body.appendChild(wrap);
}

var R = {};
R.summary = function (body, d) {
  if (!d) return "no summary";
  var cost = usd(d.cost_usd) + (d.cost_complete === false && num(d.cost_usd) ? " +" : "");
  var cards = [["Tasks", nf(d.tasks)], ["LLM calls", nf(d.llm_calls)],
    ["Spend" + (d.cost_complete === false && num(d.cost_usd) ? " (lower bound: " + nf(d.unpriced_calls) + " unpriced calls)" : ""), cost],
    ["In tasks / outside", usd(d.in_tasks_usd) + " / " + usd(d.outside_tasks_usd)],
    ["Cache-read ratio", pct(d.cache_read_ratio)], ["Cache savings, gross", usd(d.savings_usd)],
    ["Cache savings, net of write premium", usd(d.savings_net_usd)], ["Missed caching", usd(d.missed_caching_usd)]];
  var box = h("div", null, "cards");
  cards.forEach(function (c) { var e = h("div", null, "card"); e.appendChild(h("b", c[1])); e.appendChild(h("span", c[0])); box.appendChild(e); });
  body.appendChild(box);
  remarks(body, d);
};
R.cache = function (body, d) {
  if (!d) return "no cache data";
  var pts = (d.points || []).filter(function (p) { return num(p.ratio); }).map(function (p) { return {t: Date.parse(p.t), p: p}; }).filter(function (p) { return num(p.t); });
  if (!pts.length) return d.insufficient || "no cache-read points";
  pts.sort(function (a, b) { return a.t - b.t; });
  var drifts = (d.drifts || []).map(function (q) { return {t: Date.parse(q.t), q: q}; }).filter(function (q) { return num(q.t); });
  var ts = pts.map(function (p) { return p.t; }).concat(drifts.map(function (q) { return q.t; }));
  var t0 = Math.min.apply(null, ts), t1 = Math.max.apply(null, ts), time = timeTicks(t0, t1);
  var g = svg(), x = scale(t0, t1, M.l + 8, W - M.r - 8), y = scale(0, 1, H - M.b, M.t);
  x.ticks = function () { return time.ticks; };
  axes(g, x, y, time.fmt, pct0, time.label, "cache-read ratio");
  drifts.forEach(function (q, i) {
    var l = s("line", {x1: x(q.t), x2: x(q.t), y1: M.t, y2: H - M.b, stroke: "#d0453a", "stroke-dasharray": "4 3", "stroke-width": 1.5}, g);
    var text = "drift " + q.q.t + ": " + pct(q.q.before) + " \u2192 " + pct(q.q.after) + (q.q.cause ? " (" + q.q.cause + ")" : "");
    tip(l, text);
    label(g, x(q.t), M.t + 10 + 13 * (i % 3), "\u25bc " + (i + 1) + ": " + str(q.q.cause || "drift").split(" (")[0], "#d0453a");
    body.appendChild(h("p", "\u25bc " + (i + 1) + ": " + text, "sub"));
  });
  s("polyline", {points: pts.map(function (p) { return x(p.t) + "," + y(p.p.ratio); }).join(" "), fill: "none", stroke: "#3a4150", "stroke-width": 2}, g);
  pts.forEach(function (p) { tip(s("circle", {cx: x(p.t), cy: y(p.p.ratio), r: 3, fill: "#3a4150"}, g), p.p.t + ": " + pct(p.p.ratio) + " of " + nf(p.p.calls) + " calls"); });
  body.insertBefore(g, body.firstChild);
  body.appendChild(h("p", drifts.length + " drift(s) marked; missed caching " + usd(d.missed_caching_usd), "sub"));
  remarks(body, d, d.insufficient);
};
R.budget = function (body, d) {
  if (!d) return "no budget data";
  var bins = (d.bins || []).filter(function (b) { return num(b.lo) && num(b.hi); });
  if (!bins.length) return d.insufficient || "no budget bins";
  var lo = Math.min.apply(null, bins.map(function (b) { return b.lo; })), hi = Math.max.apply(null, bins.map(function (b) { return b.hi; }));
  var log = lo > 0 && hi / lo > 20, g = svg(), x = scale(lo, hi, M.l, W - M.r, log), y = scale(0, 1, H - M.b, M.t);
  axes(g, x, y, nf, pct0, "tokens per task" + (log ? " (log)" : ""), "success rate");
  bins.forEach(function (b) {
    if (!num(b.success_rate)) return;
    var r = s("rect", {x: x(b.lo) + 1, width: Math.max(1, x(b.hi) - x(b.lo) - 2), y: y(b.success_rate), height: H - M.b - y(b.success_rate), fill: "#c9d8f3"}, g);
    tip(r, nf(b.lo) + "\u2013" + nf(b.hi) + " tokens: " + pct(b.success_rate) + " of " + nf(b.tasks) + " tasks");
    if (x(b.hi) - x(b.lo) >= ("n=" + nf(b.tasks)).length * CHAR + 4) s("text", {x: (x(b.lo) + x(b.hi)) / 2, y: H - M.b - 5, "text-anchor": "middle"}, g, "n=" + nf(b.tasks));
  });
  var curve = (d.curve || []).filter(function (c) { return num(c.tokens) && num(c.p) && c.tokens >= lo && c.tokens <= hi; });
  if (curve.length) s("polyline", {points: curve.map(function (c) { return x(c.tokens) + "," + y(c.p); }).join(" "), fill: "none", stroke: "#d0453a", "stroke-width": 2}, g);
  var versions = unique((d.versions || []).map(function (v) { return String(v.version); }));
  (d.versions || []).forEach(function (v) {
    if (!num(v.success_rate)) return;
    var c = s("circle", {cx: (x(v.lo) + x(v.hi)) / 2, cy: y(v.success_rate), r: 4.5, fill: colorOf(String(v.version)), stroke: "#fff"}, g);
    tip(c, v.version + ": " + pct(v.success_rate) + " of " + nf(v.tasks) + " tasks");
  });
  body.appendChild(g);
  if (d.fit) body.appendChild(h("p", "red line: fit p = a + b\u00b7ln(tokens), a=" + nf(d.fit.a) + ", b=" + nf(d.fit.b) + ", R\u00b2=" + nf(d.r2) + "; bars: all tasks in the bin (n tasks); dots: each version within the bin", "sub"));
  if (versions.length) legend(body, versions);
  remarks(body, d, d.insufficient);
};
R.pareto = function (body, d) {
  var pts = (d || []).filter(function (p) { return num(p.mean_cost) && num(p.success_rate); });
  var left = (d || []).filter(function (p) { return pts.indexOf(p) < 0; }).map(function (p) { return p.configuration + " (" + (p.insufficient || "no cost or success rate") + ")"; });
  if (!pts.length) return "no configuration has both a cost and a success rate" + (left.length ? ": " + left.join("; ") : "");
  var g = svg(), x = scale(0, Math.max.apply(null, pts.map(function (p) { return p.mean_cost; })) * 1.1, M.l, W - M.r), y = scale(0, 1, H - M.b, M.t);
  axes(g, x, y, usd, pct0, "mean cost per task", "success rate");
  var front = pts.filter(function (p) { return p.frontier; }).sort(function (a, b) { return a.mean_cost - b.mean_cost; });
  if (front.length > 1) s("polyline", {points: front.map(function (p) { return x(p.mean_cost) + "," + y(p.success_rate); }).join(" "), fill: "none", stroke: "#2a9d6f", "stroke-width": 2}, g);
  pts.forEach(function (p) {
    var c = s("circle", {cx: x(p.mean_cost), cy: y(p.success_rate), r: p.frontier ? 7 : 5, fill: colorOf(str(p.configuration).split("/")[0]), stroke: p.frontier ? "#1d7453" : "#fff", "stroke-width": p.frontier ? 3 : 1.5}, g);
    tip(c, p.configuration + ": " + usd(p.mean_cost) + ", " + pct(p.success_rate) + " over " + nf(p.tasks) + " tasks" + (p.dominated_by && p.dominated_by.length ? "; dominated by " + [].concat(p.dominated_by).join(", ") : ""));
    label(g, x(p.mean_cost) + (x(p.mean_cost) > W * 0.6 ? -3 : 3), y(p.success_rate) + 4, p.configuration);
  });
  body.appendChild(g);
  body.appendChild(h("p", "green ring and line: the Pareto frontier (no other configuration is both cheaper and more successful)", "sub"));
  legend(body, unique(pts.map(function (p) { return str(p.configuration).split("/")[0]; })).sort());
  if (left.length) body.appendChild(h("p", "not plotted: " + left.join("; "), "sub"));
};
var AXES = [["task_success", "task success"], ["verification_pass_rate", "verification pass"],
  ["tool_reliability", "tool reliability"], ["privacy_findings_per_call", "privacy findings/call \u2193"], ["mode_consistency", "mode consistency"]];
R.capability = function (body, d) {
  if (!d || !d.length) return "no versions";
  var pw = 190, ph = 150, bw = Math.min(44, 150 / d.length), box = h("div", null, "panels");
  AXES.forEach(function (ax) {
    var g = svg(pw, ph), base = ph - 22, top = 36;
    var share = ax[0] !== "privacy_findings_per_call";  // a rate per call, not a share: may exceed 1
    var vals = d.map(function (v) { return v[ax[0]]; }), max = share ? 1 : Math.max.apply(null, vals.filter(num).concat([1e-9]));
    s("text", {x: pw / 2, y: 14, "text-anchor": "middle", "font-weight": 600}, g, ax[1]);
    s("line", {x1: 8, x2: pw - 8, y1: base, y2: base, stroke: "#9aa3b0"}, g);
    d.forEach(function (v, j) {
      var bx = pw / 2 - d.length * bw / 2 + j * bw, val = v[ax[0]], note = v.notes && v.notes[ax[0]];
      if (!num(val)) { tip(s("text", {x: bx + bw / 2, y: base - 4, "text-anchor": "middle", fill: "#8a93a2"}, g, "n/a"), v.version + ": " + (note || "not measured")); return; }
      var bh = (base - top) * val / max;
      tip(s("rect", {x: bx + 3, y: base - bh, width: bw - 6, height: bh, fill: colorOf(String(v.version))}, g), v.version + ": " + nf(val) + (note ? " (" + note + ")" : ""));
      s("text", {x: bx + bw / 2, y: base - bh - 4, "text-anchor": "middle", "font-size": 10}, g, share ? pct0(val) : String(+val.toPrecision(2)));
    });
    box.appendChild(g);
  });
  body.appendChild(box);
  legend(body, d.map(function (v) { return String(v.version); }), d.map(function (v) { return v.version + " (" + nf(v.tasks) + " tasks)"; }));
};
R.artifact_costs = function (body, d) {
  if (!d || !d.length) return "no artifacts";
  var rowH = 24, lw = 200, g = svg(W, d.length * rowH + 10), vals = d.map(function (a) { return num(a.cost_per_artifact) ? a.cost_per_artifact : 0; });
  var widest = Math.max.apply(null, d.map(function (a) { return (usd(a.cost_per_artifact) + " (" + nf(a.accepted) + " accepted)").length; }));
  var x = scale(0, Math.max.apply(null, vals.concat([1e-9])), lw, Math.max(lw + 80, W - 10 - widest * CHAR));
  d.forEach(function (a, i) {
    var yy = 6 + i * rowH, label = str(a.agent) + " " + str(a.version) + " \u00b7 " + str(a.kind);
    tip(s("text", {x: lw - 8, y: yy + 15, "text-anchor": "end"}, g, fit(label, lw - 12)), label);
    if (num(a.cost_per_artifact)) s("rect", {x: lw, y: yy + 3, width: Math.max(1, x(a.cost_per_artifact) - lw), height: rowH - 8, fill: colorOf(cfg(a.agent, a.version))}, g);
    var at = (num(a.cost_per_artifact) ? x(a.cost_per_artifact) : lw) + 6, value = usd(a.cost_per_artifact) + " (" + nf(a.accepted) + " accepted)" + (a.insufficient ? ": " + a.insufficient : "");
    var e = s("text", {x: at, y: yy + 15}, g, fit(value, W - 4 - at));
    if (e.textContent !== value) tip(e, value);
  });
  body.appendChild(g);
  legend(body, unique(d.map(function (a) { return cfg(a.agent, a.version); })).sort());
};
R.cost_of_pass = function (body, d) {
  return table(body, d, [["task", function (r) { return r.task; }], ["configuration", function (r) { return r.configuration; }],
    ["attempts", function (r) { return nf(r.attempts); }, 1], ["successes", function (r) { return nf(r.successes); }, 1],
    ["mean cost", function (r) { return usd(r.mean_cost); }, 1], ["cost of pass", function (r) { return usd(r.cost_of_pass); }, 1],
    ["note", function (r) { return r.insufficient || ""; }]]);
};
R.unproductive = function (body, d) {
  return table(body, d, [["agent", function (r) { return r.agent; }], ["version", function (r) { return r.version; }],
    ["task", function (r) { return r.task; }], ["tasks", function (r) { return nf(r.tasks); }, 1], ["spend", function (r) { return usd(r.cost_usd); }, 1],
    ["note", function (r) { return (r.unpriced_tasks ? r.unpriced_tasks + " unpriced tasks not in spend. " : "") + str(r.insufficient); }]]);
};
R.tool_credit = function (body, d) {
  return table(body, d, [["tool", function (r) { return r.tool; }], ["tasks with", function (r) { return nf(r.with_tasks); }, 1],
    ["success with", function (r) { return pct(r.with_success_rate); }, 1], ["tasks without", function (r) { return nf(r.without_tasks); }, 1],
    ["success without", function (r) { return pct(r.without_success_rate); }, 1],
    ["lift", function (r) { return num(r.lift) ? (r.lift > 0 ? "+" : "") + (r.lift * 100).toFixed(1) + " pt" : "n/a"; }, 1],
    ["note", function (r) { return str(r.insufficient); }]]);
};

R.trajectory = function (body, d) {
  function col(title, key, fmt) { return [title, function (r) { return fmt(r[key]); }, 1]; }
  return table(body, d, [["agent", function (r) { return r.agent; }], ["task", function (r) { return r.task; }], col("tasks", "tasks", nf),
    col("LLM calls", "llm_calls", nf), col("tool calls", "tool_calls", nf), col("repeats", "tool_calls.redundant", nf), col("loops", "loops", nf),
    col("rework", "rework", nf), col("growth/turn", "context.growth", nf), col("re-sent uncached", "input.resent_uncached", pct),
    col("context:output", "context_to_output", nf), col("verification", "verification.share", pct), col("multiplier", "token_multiplier", nf),
    col("signal yield", "signal_yield", pct)]);
};

function configurations() {
  var keys = [];
  (D.capability || []).forEach(function (v) { keys.push(String(v.version)); });
  ((D.budget || {}).versions || []).forEach(function (v) { keys.push(String(v.version)); });
  (D.pareto || []).forEach(function (p) { keys.push(str(p && p.configuration).split("/")[0]); });
  (D.artifact_costs || []).forEach(function (a) { keys.push(cfg(a.agent, a.version)); });
  return unique(keys).sort();
}
try { KEYS = configurations(); } catch (e) { KEYS = []; }
var src = D.source, where = document.getElementById("agentyield-source");
if (src && where) {
  var files = [].concat(src.paths || []), parts = [nf(src.spans) + " spans from " + files.join(", ")];
  if (src.first || src.last) parts.push("LLM calls from " + str(src.first).replace("T", " ").slice(0, 19) + " to " + str(src.last).replace("T", " ").slice(0, 19) + " UTC");
  if (src.skipped_lines && src.skipped_lines.length) parts.push(src.skipped_lines.length + " unreadable lines skipped");
  where.textContent = parts.join(" \u00b7 ");
}
Array.prototype.forEach.call(document.querySelectorAll("[data-chart],[data-table]"), function (box) {
  var name = box.getAttribute("data-chart") || box.getAttribute("data-table"), body = box.querySelector(".body"), why;
  var v = D[name], notes = D.insufficient || D.notes || {};
  try { why = v == null ? D[name + "_insufficient"] || notes[name] || "no data" : R[name](body, v); }
  catch (e) { body.textContent = ""; body.appendChild(h("div", "could not draw this section: " + e.message, "note")); box.setAttribute("data-rendered", "error"); console.error(e); return; }
  if (why) { body.textContent = ""; body.appendChild(h("div", "Not enough data: " + why, "note")); }
  box.setAttribute("data-rendered", why ? "insufficient" : "true");
});
})();
"""

# (attribute, key, heading, subtitle, wide)
_SECTIONS = [
    ("data-chart", "summary", "Summary", "Totals over the report window.", True),
    ("data-chart", "cache", "Cache-read ratio over time", "Share of input tokens read from the prompt cache; red dashes mark drifts.", False),
    ("data-chart", "budget", "Success rate by token budget", "Tasks binned by tokens spent, with the fitted success curve.", False),
    ("data-chart", "pareto", "Cost vs success", "Each configuration's mean cost per task against its success rate.", False),
    ("data-chart", "artifact_costs", "Cost per accepted artifact", "By agent, version and artifact kind.", False),
    ("data-chart", "capability", "Capability by version",
     "Each axis stands on its own: there is deliberately no single combined score.", True),
    ("data-table", "cost_of_pass", "Cost of pass", "Expected spend to get one passing attempt (mean cost / success rate).", True),
    ("data-table", "unproductive", "Unproductive spend", "Spend on tasks that finished nothing.", False),
    ("data-table", "tool_credit", "Tool credit", "Success rate of tasks that used a tool vs those that did not.", False),
    ("data-table", "trajectory", "Trajectory and context",
     "Mean per task, by agent and task: calls, repeated tool calls, loops, rework, context growth and efficiency, "
     "verification share, multi-agent multiplier, learning-signal yield (docs/metrics.md).", True),
]


def _finite(value: Any) -> Any:
    """Replace NaN/inf (which JSON.parse rejects) with null/"inf", recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render_html(data: dict, *, title: str = "agentyield report") -> str:
    """The report as one self-contained HTML page (no network access needed to view it)."""
    payload = json.dumps(_finite(data), allow_nan=False, ensure_ascii=False, default=str)
    # Inside <script> only "</" can end the element; escape the characters that matter to HTML parsers.
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        payload = payload.replace(raw, esc)
    script_hash = base64.b64encode(hashlib.sha256(_JS.encode()).digest()).decode()
    csp = f"default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'unsafe-inline'; img-src data:"
    sections = "\n".join(
        f'<section class="{"wide" if wide else ""}" {attr}="{key}"><h2>{html.escape(head)}</h2>'
        f'<p class="sub">{html.escape(sub)}</p><div class="body"></div></section>'
        for attr, key, head, sub, wide in _SECTIONS
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{html.escape(title)}</h1><p id="agentyield-source"></p></header>
<noscript><p class="note">This report draws its charts with JavaScript; the raw data is in the page source.</p></noscript>
<main>
{sections}
</main>
<script type="application/json" id="agentyield-data">{payload}</script>
<script>{_JS}</script>
</body>
</html>
"""
