// The dashboard's charts of the last hour, drawn as SVG from
// GET /api/stats/activity. Two charts of one shape need no library: these
// few functions are all the drawing there is, with no build step.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

/** The drawing area inside each chart's viewBox (0 0 600 160). */
const PLOT = { left: 44, right: 592, top: 8, bottom: 136 };

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A round top for an axis: the smallest 1, 2 or 5 × 10ⁿ at least `max`. */
function niceMax(max) {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((f) => f * power).find((top) => top >= max);
}

/** `minute` as the x axis labels it: "14:05". */
function clock(minute) {
  return new Date(minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The axes, the y axis' top label, and the first, middle and last minutes. */
function axes(minutes, top, label) {
  const nodes = [
    svg("line", { class: "axis", x1: PLOT.left, y1: PLOT.bottom, x2: PLOT.right, y2: PLOT.bottom }),
    svg("line", { class: "axis", x1: PLOT.left, y1: PLOT.top, x2: PLOT.left, y2: PLOT.bottom }),
    svg("text", { class: "label", x: PLOT.left - 4, y: PLOT.top + 8, "text-anchor": "end" }, label(top)),
    svg("text", { class: "label", x: PLOT.left - 4, y: PLOT.bottom, "text-anchor": "end" }, label(0)),
  ];
  const slot = (PLOT.right - PLOT.left) / minutes.length;
  for (const i of [0, Math.floor(minutes.length / 2), minutes.length - 1]) {
    if (!minutes[i]) continue;
    const anchor = i === 0 ? "start" : i === minutes.length - 1 ? "end" : "middle";
    const x = i === 0 ? PLOT.left : i === minutes.length - 1 ? PLOT.right : PLOT.left + slot * (i + 0.5);
    nodes.push(svg("text", { class: "label", x, y: PLOT.bottom + 16, "text-anchor": anchor }, clock(minutes[i].minute)));
  }
  return nodes;
}

const OUTCOMES = ["completed", "missed", "failed"];

/**
 * Calls ended per minute, a bar per minute stacked by outcome. Each bar
 * segment carries data-minute, data-outcome and data-count.
 */
function drawOutcomes(chart, minutes) {
  const top = niceMax(Math.max(0, ...minutes.map((m) => m.completed + m.missed + m.failed)));
  const slot = (PLOT.right - PLOT.left) / minutes.length;
  const height = PLOT.bottom - PLOT.top;
  const bars = [];
  minutes.forEach((m, i) => {
    let y = PLOT.bottom;
    for (const outcome of OUTCOMES) {
      if (!m[outcome]) continue;
      const h = (m[outcome] / top) * height;
      y -= h;
      bars.push(svg("rect", {
        class: outcome, x: (PLOT.left + i * slot + slot * 0.15).toFixed(2), y: y.toFixed(2),
        width: (slot * 0.7).toFixed(2), height: h.toFixed(2),
        "data-minute": m.minute, "data-outcome": outcome, "data-count": m[outcome],
      }, undefined));
      bars[bars.length - 1].append(svg("title", {}, `${clock(m.minute)}: ${m[outcome]} ${outcome}`));
    }
  });
  chart.replaceChildren(...axes(minutes, top, String), ...bars);
}

/** Seconds as the lateness axis shows them: "250 ms", "1.5 s". */
function lateness(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return seconds < 1 ? `${Math.round(seconds * 1000)} ms` : `${Math.round(seconds * 10) / 10} s`;
}

/**
 * Placement lateness per minute: the average as dots on a line (broken
 * where no call was placed), the greatest as a lighter dot above. Each
 * minute's average dot carries data-minute, data-average and data-max.
 */
function drawLateness(chart, minutes) {
  const top = niceMax(Math.max(0, ...minutes.map((m) => m.max_lateness_seconds || 0)));
  const slot = (PLOT.right - PLOT.left) / minutes.length;
  const y = (seconds) => (PLOT.bottom - (seconds / top) * (PLOT.bottom - PLOT.top)).toFixed(2);
  const x = (i) => (PLOT.left + slot * (i + 0.5)).toFixed(2);
  let path = "";
  let drawing = false;
  const dots = [];
  minutes.forEach((m, i) => {
    if (m.average_lateness_seconds === null) { drawing = false; return; }
    path += `${drawing ? "L" : "M"}${x(i)},${y(m.average_lateness_seconds)} `;
    drawing = true;
    const average = svg("circle", {
      class: "average-dot", cx: x(i), cy: y(m.average_lateness_seconds), r: 2.5,
      "data-minute": m.minute, "data-average": m.average_lateness_seconds, "data-max": m.max_lateness_seconds,
    });
    average.append(svg("title", {}, `${clock(m.minute)}: ${m.placed} placed, average ${lateness(m.average_lateness_seconds)}, at most ${lateness(m.max_lateness_seconds)}`));
    dots.push(svg("circle", { class: "max", cx: x(i), cy: y(m.max_lateness_seconds), r: 2 }), average);
  });
  const line = svg("path", { class: "average", d: path.trim() });
  chart.replaceChildren(...axes(minutes, top, lateness), line, ...dots);
}

/** The legend's sums: "● completed 12 ● missed 3 ● failed 1". */
function outcomeLegend(minutes) {
  return OUTCOMES.flatMap((outcome) => [
    el("span", { class: `swatch ${outcome}` }),
    `${outcome} `, el("span", { "data-total": outcome }, minutes.reduce((n, m) => n + m[outcome], 0)),
  ]);
}

/** "● average 12 ms ● max 40 ms over 17 calls placed", for the hour. */
function latenessLegend(minutes) {
  const placed = minutes.reduce((n, m) => n + m.placed, 0);
  if (!placed) return ["no call placed"];
  const sum = minutes.reduce((n, m) => n + (m.average_lateness_seconds || 0) * m.placed, 0);
  const max = Math.max(...minutes.map((m) => m.max_lateness_seconds || 0));
  return [
    el("span", { class: "swatch average" }), `average ${lateness(sum / placed)}`,
    el("span", { class: "swatch max" }), `max ${lateness(max)}`,
    ` over ${placed} placed`,
  ];
}
