// Draws the JSON reports embedded in the page (one run, or several side by side). Everything a
// server sent (error texts, method names, tags) is put in the page as text, never as HTML.
"use strict";
const reports = JSON.parse(document.getElementById("reports").textContent);
const colors = ["#1f6fb2", "#d9622b", "#2a9d55", "#8e44ad", "#c0392b", "#7f8c8d", "#b7950b", "#16a085"];
const several = reports.length > 1;
const main = document.querySelector("main");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}
const fixed = (v, d) => (typeof v === "number" && isFinite(v) ? v.toFixed(d) : "-");
const name = (r, k) => r.name || (several ? `#${k + 1} ${r.method}` : r.method);
const errorsOf = (statuses) => Object.entries(statuses || {}).filter(([s]) => s !== "OK").reduce((n, [, c]) => n + c, 0);

function section(title, ...children) {
  const id = "s-" + title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return main.appendChild(el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...children));
}

function table(caption, head, rows, hidden) {
  const t = el("table", {}, el("caption", hidden ? { class: "hidden" } : {}, caption));
  t.append(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))));
  const body = el("tbody");
  for (const row of rows) body.append(el("tr", {}, ...row.map((c, k) => (k === 0 ? el("th", { scope: "row" }, c) : el("td", {}, c)))));
  t.append(body);
  return t;
}

// A figure with its caption as its accessible name, the chart drawn into it once it is laid out.
function chart(title, build, wide) {
  const fig = el("figure", { class: wide ? "chart wide" : "chart" });
  const caption = el("figcaption", {}, title);
  fig.append(caption);
  return [fig, () => build(fig, Math.max(280, fig.clientWidth - 8))];
}

function plot(fig, width, opts, data) {
  // The run's seconds from 0, one at least (uPlot would widen a single point's range to 100).
  if (opts.axes && opts.axes[0] === secondsAxis) {
    opts.scales = { x: { time: false, auto: false, range: [0, Math.max(data[0].length - 1, 1)] } };
  }
  opts.width = width;
  opts.height = opts.height || 240;
  opts.scales = Object.assign({ x: { time: false } }, opts.scales || {});
  opts.legend = { show: true };
  return new uPlot(opts, data, fig);
}

// x: every second any report has; y per report: `pick(second)`, or `missing` for a second
// in which none of its calls ended.
function overTime(pick, missing) {
  let last = -1;
  for (const r of reports) for (const s of r.seconds || []) last = Math.max(last, s.second);
  const xs = Array.from({ length: last + 1 }, (_, k) => k);
  const ys = reports.map((r) => {
    const by = new Map((r.seconds || []).map((s) => [s.second, s]));
    // After its run ended a report has no value, not a zero.
    return xs.map((x) => (by.has(x) ? pick(by.get(x)) : x < r.total_s ? missing : null));
  });
  return [xs, ys];
}

const secondsAxis = { label: "second of the run", incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600] };

function summary() {
  const rows = [
    ["Method", (r) => r.method],
    ["Name", (r) => r.name || ""],
    ["Tags", (r) => Object.entries(r.tags || {}).map(([k, v]) => `${k}=${v}`).join(", ")],
    ["Date", (r) => r.date || ""],
    ["Count", (r) => String(r.count)],
    ["Total (s)", (r) => fixed(r.total_s, 2)],
    ["Requests/sec", (r) => fixed(r.rps, 1)],
    ["Average (ms)", (r) => fixed(r.average_ms, 2)],
    ["Fastest (ms)", (r) => fixed(r.fastest_ms, 2)],
    ["Slowest (ms)", (r) => fixed(r.slowest_ms, 2)],
    ["p50 (ms)", (r) => fixed((r.percentiles_ms || {}).p50, 2)],
    ["p90 (ms)", (r) => fixed((r.percentiles_ms || {}).p90, 2)],
    ["p99 (ms)", (r) => fixed((r.percentiles_ms || {}).p99, 2)],
    ["Errors", (r) => String(errorsOf(r.statuses))],
    ["Responses", (r) => String(r.responses)],
  ];
  const head = ["", ...reports.map(name)];
  section("Summary", table("Summary", head, rows.map(([label, f]) => [label, ...reports.map(f)]), true));
}

function timeCharts() {
  const draws = [];
  const series = (label) => [{ label }, ...reports.map((r, k) => ({ label: name(r, k), stroke: colors[k % colors.length], width: 2 }))];
  const [xs, rps] = overTime((s) => s.rps, 0);
  const [rpsFig, rpsDraw] = chart("Requests per second over time", (fig, w) =>
    plot(fig, w, { series: series("second"), axes: [secondsAxis, { label: "requests/s", size: 70 }] }, [xs, ...rps]), true);
  draws.push(rpsDraw);
  const latencyFigs = [];
  reports.forEach((r, k) => {
    const [, ys] = overTime((s) => s.p50_ms, null);
    const [, p90] = overTime((s) => s.p90_ms, null);
    const [, p99] = overTime((s) => s.p99_ms, null);
    const title = several ? `Latency over time: ${name(r, k)}` : "Latency over time";
    const [fig, draw] = chart(title, (fig, w) =>
      plot(fig, w, {
        series: [{ label: "second" }, { label: "p50 (ms)", stroke: "#1f6fb2", width: 2 }, { label: "p90 (ms)", stroke: "#b7950b", width: 2 }, { label: "p99 (ms)", stroke: "#c0392b", width: 2 }],
        axes: [secondsAxis, { label: "ms", size: 60 }],
      }, [xs, ys[k], p90[k], p99[k]]), !several);
    latencyFigs.push(fig);
    draws.push(draw);
  });
  const [, errs] = overTime((s) => s.errors, 0);
  const [errFig, errDraw] = chart("Errors over time", (fig, w) =>
    plot(fig, w, { series: series("second"), axes: [secondsAxis, { label: "errors", size: 60 }] }, [xs, ...errs]), true);
  draws.push(errDraw);
  section("Over time", rpsFig, el("div", { class: "row" }, ...latencyFigs), errFig);
  return draws;
}

function distribution() {
  const draws = [];
  const histos = reports.map((r, k) => {
    const b = r.buckets || [];
    const [fig, draw] = chart(several ? `Latency histogram: ${name(r, k)}` : "Latency histogram", (fig, w) =>
      plot(fig, w, {
        series: [{ label: "up to (ms)" }, { label: "calls", fill: colors[k % colors.length] + "99", stroke: colors[k % colors.length], paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }],
        axes: [{ label: "latency up to (ms)" }, { label: "calls", size: 70 }],
      }, [b.map((x) => x.to_ms), b.map((x) => x.count)]), !several);
    draws.push(draw);
    return fig;
  });
  const names = ["p10", "p25", "p50", "p75", "p90", "p95", "p99", "p99.9"];
  const [pFig, pDraw] = chart("Latency percentiles", (fig, w) =>
    plot(fig, w, {
      series: [{ label: "percentile", value: (u, v) => (v == null ? "-" : names[v]) }, ...reports.map((r, k) => ({ label: name(r, k), stroke: colors[k % colors.length], width: 2 }))],
      axes: [{ label: "percentile", values: (u, vs) => vs.map((v) => names[v] || "") , splits: () => names.map((_, k) => k) }, { label: "ms", size: 60 }],
    }, [names.map((_, k) => k), ...reports.map((r) => names.map((n) => (r.percentiles_ms || {})[n] ?? null))]), true);
  draws.push(pDraw);
  const rows = names.map((n) => [n, ...reports.map((r) => fixed((r.percentiles_ms || {})[n], 2))]);
  section("Latency distribution", el("div", { class: "row" }, ...histos), pFig, table("Latency percentiles (ms)", ["", ...reports.map(name)], rows));
  return draws;
}

function outcomes() {
  const statuses = [...new Set(reports.flatMap((r) => Object.keys(r.statuses || {})))];
  const rows = statuses.map((s) => [s, ...reports.map((r) => String((r.statuses || {})[s] || 0))]);
  const parts = [table("Status codes", ["", ...reports.map(name)], rows)];
  reports.forEach((r, k) => {
    if (!(r.errors || []).length) return;
    parts.push(el("h3", {}, several ? `First distinct errors: ${name(r, k)}` : "First distinct errors"));
    parts.push(el("ul", { class: "errors" }, ...r.errors.map((e) => el("li", {}, e))));
  });
  section("Status codes", ...parts);
}

function stagesAndSteps() {
  reports.forEach((r, k) => {
    const suffix = several ? `: ${name(r, k)}` : "";
    if ((r.stages || []).length) {
      const rows = r.stages.map((s) => [`${fixed(s.from_s, 1)}-${fixed(s.to_s, 1)} s ${s.stage}`, String(s.count), fixed(s.rps, 1), fixed(s.ok_per_s, 1), fixed(s.percentiles_ms.p50, 2), fixed(s.percentiles_ms.p99, 2), String(s.errors)]);
      section("Stages" + suffix, table("Stages" + suffix, ["stage", "calls", "req/s", "ok/s", "p50 (ms)", "p99 (ms)", "errors"], rows));
    }
    if ((r.steps || []).length) {
      const rows = r.steps.map((s) => [s.step, String(s.count), fixed(s.mean_ms, 2), fixed(s.percentiles_ms.p50, 2), fixed(s.percentiles_ms.p90, 2), fixed(s.percentiles_ms.p99, 2), String(s.errors)]);
      section("Steps" + suffix, table("Steps" + suffix, ["step", "calls", "mean (ms)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "errors"], rows));
    }
    if (r.streams) {
      const labels = { first_message: "first message", gap: "gap between messages", message_latency: "answer from its send" };
      const rows = Object.entries(labels).filter(([key]) => r.streams[key]).map(([key, label]) => {
        const m = r.streams[key];
        return [label, fixed(m.mean_ms, 3), fixed(m.percentiles_ms.p50, 3), fixed(m.percentiles_ms.p90, 3), fixed(m.percentiles_ms.p99, 3), fixed(m.max_ms, 3)];
      });
      section("Stream metrics" + suffix,
        el("p", {}, `${r.streams.messages} messages (${fixed(r.streams.messages_per_s, 1)}/s)`),
        table("Stream metrics (ms)" + suffix, ["metric", "mean", "p50", "p90", "p99", "max"], rows));
    }
  });
}

const title = several ? `rpcsh bench: ${reports.length} runs compared` : `rpcsh bench: ${name(reports[0], 0)}`;
document.title = title;
document.querySelector("h1").textContent = title;
summary();
const draws = [...timeCharts(), ...distribution()];
outcomes();
stagesAndSteps();
for (const draw of draws) draw();
document.body.dataset.drawn = String(draws.length);
