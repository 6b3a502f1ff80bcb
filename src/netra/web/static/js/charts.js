// Charts drawn by the page itself: horizontal bars (labels stay readable on a phone, and
// wrap instead of being clipped) and lines over time, in HTML and SVG coloured by the
// theme's CSS variables, so a theme switch recolours them with no redraw.
//
// Why not a charting library: the answers and the dashboard need two kinds of chart.
// plotly, the library used before, is 4.7 MB (1.4 MB gzipped): on a 1.6 Mbps link the
// first chart came 8 s after the answer, and it needed inline styles under the page's
// Content-Security-Policy. These charts cost a few KB and draw at once.
//
// A chart: {id?, type: "bar" | "line", title, unit, labels: [...], values: [...]}
// or, for several lines over the same labels, series: [{name, values}] instead of values.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const isNum = (value) => typeof value === "number" && Number.isFinite(value);

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) el.append(child);
  return el;
}

/** A number as people read it on an axis or a bar: $1,234.56, 12.5k, 0.042. */
export function formatValue(value, unit = "") {
  if (!isNum(value)) return "n/a";
  const dollars = /^USD/.test(unit);
  const abs = Math.abs(value);
  let text;
  if (abs >= 1e6) text = `${(value / 1e6).toLocaleString("en-US", { maximumFractionDigits: 1 })}M`;
  else if (abs >= 1e4) text = `${(value / 1e3).toLocaleString("en-US", { maximumFractionDigits: 1 })}k`;
  else if (dollars) text = value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: abs < 1 ? 4 : 2 });
  else text = value.toLocaleString("en-US", { maximumFractionDigits: abs < 10 ? 3 : 1 });
  if (dollars) return `$${text}${unit.slice(3)}`;
  if (unit === "%") return `${text}%`;
  return unit ? `${text} ${unit}` : text;
}

/** Charts with labels and numbers of the same length (the rest are left out). */
export function usableCharts(charts) {
  if (!Array.isArray(charts)) return [];
  return charts.filter((c) => c && typeof c === "object" && Array.isArray(c.labels)
    && seriesOf(c).length > 0
    && seriesOf(c).every((s) => s.values.length === c.labels.length && s.values.length > 0
      && s.values.every((v) => v === null || isNum(v))));
}

function seriesOf(chart) {
  if (Array.isArray(chart.series)) {
    return chart.series.filter((s) => s && Array.isArray(s.values))
      .map((s) => ({ name: String(s.name ?? ""), values: s.values }));
  }
  return Array.isArray(chart.values) ? [{ name: "", values: chart.values }] : [];
}

/** What a screen reader hears for the chart (its first dozen points). */
export function spoken(chart) {
  const unit = chart.unit || "";
  const parts = seriesOf(chart).map((s) => (s.name ? `${s.name}: ` : "")
    + chart.labels.slice(0, 12).map((l, i) => `${l} ${formatValue(s.values[i], unit)}`).join(", "));
  return `${chart.title || "Chart"}. ${parts.join("; ")}`;
}

function bars(chart) {
  const [series] = seriesOf(chart);
  const top = Math.max(0, ...series.values.filter(isNum));
  // Long labels (a finding's title) get a line of their own above their bar.
  const long = chart.labels.some((label) => String(label).length > 28);
  return h("ol", { class: long ? "hbars stacked" : "hbars" }, chart.labels.map((label, i) => {
    const value = series.values[i];
    const fill = h("span", { class: "hbar-fill" });
    // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy.
    fill.style.width = `${top > 0 && isNum(value) ? Math.max(0.5, (100 * value) / top) : 0}%`;
    return h("li", { class: "hbar" },
      h("span", { class: "hbar-label" }, String(label)),
      h("span", { class: "hbar-track" }, fill),
      h("span", { class: "hbar-value num" }, formatValue(value, chart.unit || "")));
  }));
}

// Round steps for an axis: 1, 2, 2.5 or 5 times a power of ten.
function niceTicks(max, count = 4) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let t = 0; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

const H = 220;
const PAD = { l: 64, r: 12, t: 10, b: 28 };

function lines(chart) {
  // Drawn about as wide as it is shown (a half-width card on a desktop, a phone's width),
  // so its text keeps a readable size.
  const W = 420;
  const all = seriesOf(chart);
  const top = Math.max(0, ...all.flatMap((s) => s.values.filter(isNum)));
  const ticks = niceTicks(top);
  const yMax = ticks[ticks.length - 1];
  const n = chart.labels.length;
  const x = (i) => PAD.l + (n === 1 ? (W - PAD.l - PAD.r) / 2 : (i * (W - PAD.l - PAD.r)) / (n - 1));
  const y = (v) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / yMax);
  const unit = chart.unit || "";
  const grid = ticks.map((t) => svg("g", {},
    svg("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: y(t), y2: y(t) }),
    svg("text", { class: "tick", x: PAD.l - 6, y: y(t) + 4, "text-anchor": "end" },
      formatValue(t, unit))));
  const shown = n <= 3 ? [...Array(n).keys()] : [0, Math.floor((n - 1) / 2), n - 1];
  const xLabels = shown.map((i) => svg("text", {
    class: "tick", x: x(i), y: H - 8,
    "text-anchor": n === 1 ? "middle" : i === 0 ? "start" : i === n - 1 ? "end" : "middle",
  }, String(chart.labels[i])));
  const paths = all.map((s, k) => {
    const points = s.values.map((v, i) => (isNum(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null));
    // A gap (no value) breaks the line instead of drawing it to zero.
    const runs = points.join(" ").split(/\s*null\s*/).filter((r) => r.trim());
    const dots = s.values.map((v, i) => (isNum(v) ? svg("circle", { class: `dot s${k}`, cx: x(i), cy: y(v), r: 2.5 },
      svg("title", {}, `${s.name ? `${s.name}, ` : ""}${chart.labels[i]}: ${formatValue(v, unit)}`)) : null));
    return svg("g", { class: `series s${k}` },
      runs.map((r) => svg("polyline", { points: r.trim(), fill: "none" })), dots);
  });
  const legend = all.length > 1 ? h("p", { class: "legend" }, all.map((s, k) =>
    h("span", { class: `key s${k}` }, s.name))) : null;
  return [svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "line-chart", "aria-hidden": "true" },
    grid, xLabels, paths), legend];
}

/** A <figure> with the chart drawn in it. */
export function chartFigure(chart) {
  const body = chart.type === "line" ? lines(chart) : bars(chart);
  return h("figure", { class: "chart", dataset: { chartId: chart.id || "" } },
    h("figcaption", {}, chart.title || "Chart"),
    h("div", { class: "plot", role: "img", "aria-label": spoken(chart) }, body));
}
