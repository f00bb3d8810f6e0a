// sandlot viewer: plots as inline SVG, drawn here (no library). Labels are SVG text
// nodes set through textContent, like everything else from a trace.
"use strict";

const PLOT = { w: 360, h: 150, left: 48, bottom: 28, top: 8, right: 8 };
const ZERO_BAR = 3;  // px: how tall a bar of value 0 is drawn where zero is a result

function plotBox(title, svg, note) {
  return el("figure", { class: "plot" }, el("figcaption", {}, title), svg || el("p", { class: "muted" }, "no data"),
    note ? el("p", { class: "muted small" }, note) : null);
}

// Bars for values[i] labelled labels[i]; y from 0 to max.
function barChart(title, labels, values, opts = {}) {
  if (!values.length) return plotBox(title, null);
  const { w, h, left, bottom, top, right } = PLOT;
  const max = opts.max || Math.max(...values) || 1;
  const innerW = w - left - right, innerH = h - top - bottom;
  const bw = innerW / values.length;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": title, class: "chart" });
  const y = (v) => top + innerH - (innerH * Math.min(v, max)) / max;
  svg.append(svgEl("line", { x1: left, y1: top + innerH, x2: w - right, y2: top + innerH, class: "axis" }),
    svgEl("line", { x1: left, y1: top, x2: left, y2: top + innerH, class: "axis" }),
    svgEl("text", { x: left - 4, y: top + 8, "text-anchor": "end", class: "tick" }, (opts.yfmt || fmt)(max)),
    svgEl("text", { x: left - 4, y: top + innerH, "text-anchor": "end", class: "tick" }, "0"));
  values.forEach((v, i) => {
    // opts.showZero: a zero is a result (0% success), not a missing bar: draw a thin
    // bar at the axis and write its value above it.
    const zero = opts.showZero && isNum(v) && v <= 0;
    const height = zero ? ZERO_BAR : Math.max(0, top + innerH - y(v));
    const bar = svgEl("rect", { class: "bar" + (opts.classOf ? " " + opts.classOf(i) : "") + (zero ? " zero" : ""), x: left + i * bw + 0.5,
      y: top + innerH - height, width: Math.max(1, bw - 1), height });
    bar.append(svgEl("title", {}, `${labels[i]}: ${(opts.yfmt || fmt)(v)}`));
    svg.append(bar);
    if (zero && bw >= 18) svg.append(svgEl("text", { x: left + (i + 0.5) * bw, y: top + innerH - ZERO_BAR - 2, "text-anchor": "middle", class: "tick zero-label" }, (opts.yfmt || fmt)(v)));
  });
  const xl = opts.xlabels || [labels[0], labels[labels.length - 1]];
  svg.append(svgEl("text", { x: left, y: h - 8, class: "tick" }, xl[0]),
    svgEl("text", { x: w - right, y: h - 8, "text-anchor": "end", class: "tick" }, xl[1]));
  return plotBox(title, svg, opts.note);
}

function histogram(title, xs, opts = {}) {
  if (!xs.length) return plotBox(title, null);
  const bins = opts.bins || 20;
  let lo = opts.range ? opts.range[0] : Infinity, hi = opts.range ? opts.range[1] : -Infinity;
  if (!opts.range) for (const x of xs) { if (x < lo) lo = x; if (x > hi) hi = x; }  // no spread: arrays can be long
  const width = (hi - lo) / bins || 1;
  const counts = new Array(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / width)))] += 1;
  const f = opts.xfmt || fmt;
  const labels = counts.map((_, i) => `${f(lo + i * width)} – ${f(lo + (i + 1) * width)}`);
  return barChart(title, labels, counts, { xlabels: [f(lo), f(hi)], note: `${fmt(xs.length)} values`, ...opts });
}

function runPlots(stats) {
  const tasks = stats.per_task;
  return [
    histogram("Score distribution", stats.scores, { bins: 10, range: [0, 1], xfmt: (x) => x.toFixed(1) }),
    barChart("Success per task", tasks.map((t) => `${t.task_id} (${t.n} episodes)`), tasks.map((t) => t.success_rate),
      { max: 1, yfmt: pct, xlabels: tasks.length ? [tasks[0].task_id, tasks[tasks.length - 1].task_id] : ["", ""],
        classOf: (i) => (tasks[i].success_rate >= 1 ? "good" : tasks[i].success_rate <= 0 ? "poor" : ""),
        showZero: true,
        note: `${tasks.length} tasks; hover a bar for its name` }),
    histogram("Model call latency", stats.model_latency, { xfmt: secs }),
    histogram("Tool call latency", stats.tool_latency, { xfmt: secs }),
  ];
}
