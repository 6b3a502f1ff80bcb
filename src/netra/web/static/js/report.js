// The structured report under an answer: totals, findings ranked by savings, charts
// (plotly, loaded only when a report scrolls into view) and downloads built in the page.
// Reports come from several agents and grow new fields: every key is optional here, and a
// malformed part is left out rather than breaking the answer above it.
import { h, usd, download } from "./dom.js";

const PLOTLY_SRC = "/static/vendor/plotly.min.js";
let plotly = null;

const isNum = (value) => typeof value === "number" && Number.isFinite(value);
const list = (value) => (Array.isArray(value) ? value.filter((x) => x && typeof x === "object") : []);
const text = (value, fallback = "") => (typeof value === "string" && value ? value : fallback);

export function loadPlotly() {
  plotly ??= new Promise((resolve, reject) => {
    const script = h("script", { src: PLOTLY_SRC, async: true });
    script.addEventListener("load", () => resolve(window.Plotly));
    script.addEventListener("error", () => {
      plotly = null;
      reject(new Error("the charting library could not be loaded"));
    });
    document.head.append(script);
  });
  return plotly;
}

function figure(label, value, numeric = false) {
  return h("div", {}, h("dt", {}, label), h("dd", { class: numeric ? "num" : null }, value));
}

function evidenceValue(value) {
  if (value !== null && typeof value === "object") return h("pre", {}, JSON.stringify(value, null, 2));
  if (typeof value === "string" && value.includes("\n")) return h("pre", {}, value);
  if (isNum(value) && !Number.isInteger(value)) return value.toLocaleString("en-US", { maximumFractionDigits: 4 });
  return String(value);
}

function evidence(data) {
  const rows = Object.entries(data && typeof data === "object" ? data : {});
  if (!rows.length) return null;
  return h("details", { class: "evidence" }, h("summary", {}, "Evidence"),
    h("table", { class: "table kv" }, h("tbody", {}, rows.map(([key, value]) => h("tr", {},
      h("th", { scope: "row" }, key.replaceAll("_", " ")),
      h("td", { class: isNum(value) ? "num" : null }, evidenceValue(value)))))));
}

function howTo(action) {
  if (!action || !(text(action.code) || text(action.settings))) return null;
  return h("details", { class: "how" }, h("summary", {}, "How to make the change"),
    text(action.settings) ? h("p", {}, action.settings) : null,
    text(action.code) ? h("pre", {}, h("code", {}, action.code)) : null);
}

function effortOf(action) {
  if (!action || !text(action.effort)) return "n/a";
  return action.quick_win ? `${action.effort} · quick win` : action.effort;
}

function findingCard(finding, rank, action) {
  const monthly = isNum(finding.savings_usd_month) ? finding.savings_usd_month : null;
  const yearly = isNum(finding.savings_usd_year) ? finding.savings_usd_year
    : monthly === null ? null : monthly * 12;
  const cut = isNum(finding.savings_pct) ? `${Math.round(finding.savings_pct)}%` : "n/a";
  const change = text(finding.action, text(action?.change));
  const costs = isNum(finding.current_cost_usd_month) && isNum(finding.projected_cost_usd_month)
    ? `${usd(finding.current_cost_usd_month)} → ${usd(finding.projected_cost_usd_month)} a month`
      + (isNum(finding.affected_requests)
        ? ` on ${finding.affected_requests.toLocaleString("en-US")} requests` : "")
    : null;
  return h("article", { class: "finding card", dataset: { findingId: text(finding.id, String(rank)) } },
    h("h3", {}, h("span", { class: "rank" }, `${rank}`), " ",
      text(finding.title, text(finding.category, "Finding"))),
    h("dl", { class: "figures" },
      figure("Monthly saving", monthly === null ? "n/a" : usd(monthly), true),
      figure("Annual saving", yearly === null ? "n/a" : usd(yearly), true),
      figure("Cut", cut, true),
      figure("Confidence", text(finding.confidence, "n/a")),
      figure("Effort", effortOf(action))),
    costs ? h("p", { class: "muted costs" }, costs) : null,
    change ? h("p", { class: "action" }, h("strong", {}, "Do this: "), change) : null,
    howTo(action),
    evidence(finding.evidence));
}

function totalsLine(totals) {
  if (!totals || !isNum(totals.current_monthly_spend_usd)) return null;
  const saving = isNum(totals.savings_usd_month) ? totals.savings_usd_month : null;
  if (saving === null) {
    return h("p", { class: "totals" }, "Spend now: ",
      h("strong", {}, `${usd(totals.current_monthly_spend_usd)}/month`), ".");
  }
  const yearly = isNum(totals.savings_usd_year) ? totals.savings_usd_year : saving * 12;
  const pct = isNum(totals.savings_pct) ? `, ${totals.savings_pct}%` : "";
  return h("p", { class: "totals" },
    "Spend now ", h("strong", {}, `${usd(totals.current_monthly_spend_usd)}/month`),
    ". Savings found: ", h("strong", {}, `${usd(saving)}/month`),
    ` (${usd(yearly)}/year${pct}).`);
}

/** Files the report offers: the answer as Markdown, then the report's own `downloads`
 * (the action plan, a router config…), else its actions as JSON. */
export function reportFiles(report, content) {
  const files = [{ filename: "netra-report.md", media_type: "text/markdown", content }];
  const offered = list(report.downloads)
    .filter((f) => text(f.filename) && typeof f.content === "string");
  for (const file of offered) {
    files.push({ filename: file.filename, media_type: text(file.media_type, "text/plain"),
                 content: file.content });
  }
  if (!offered.length && list(report.actions).length) {
    const plan = { dataset_id: report.dataset_id, totals: report.totals, actions: report.actions };
    files.push({ filename: "netra-action-plan.json", media_type: "application/json",
                 content: JSON.stringify(plan, null, 2) });
  }
  return files;
}

function downloads(report, content) {
  return h("div", { class: "downloads row" }, h("span", { class: "muted" }, "Download:"),
    reportFiles(report, content).map((file) => h("button", {
      type: "button", class: "download", dataset: { filename: file.filename },
      "aria-label": `Download ${file.filename}`,
      onclick: () => download(file.filename, file.content, file.media_type),
    }, file.filename)));
}

/** Charts the page can draw: labels and numbers of the same length. */
export function usableCharts(charts) {
  return list(charts).filter((c) => Array.isArray(c.labels) && Array.isArray(c.values)
    && c.values.length > 0 && c.labels.length === c.values.length && c.values.every(isNum));
}

function chartFigure(chart) {
  const unit = text(chart.unit);
  const title = text(chart.title, "Chart");
  const spoken = chart.labels.slice(0, 12).map((l, i) => `${l} ${chart.values[i]} ${unit}`);
  return h("figure", { class: "chart" }, h("figcaption", {}, title),
    h("div", { class: "plot", role: "img", dataset: { chartId: text(chart.id) },
               "aria-label": `${title}: ${spoken.join(", ")}` }));
}

// Figures the numbers guard could not trace to a tool result: left out of the answer.
function unverifiedNote(unverified) {
  const items = list(unverified);
  if (!items.length) return null;
  return h("details", { class: "notice unverified" },
    h("summary", {}, `${items.length} figure(s) left out: no tool result supports them`),
    h("ul", {}, items.map((item) => h("li", {}, text(item)))));
}

// What the answer itself cost: the platform's own model calls (dogfood).
function usageLine(usage) {
  if (!usage || !isNum(usage.model_calls) || !usage.model_calls) return null;
  const tokens = (usage.input_tokens || 0) + (usage.output_tokens || 0);
  const cost = isNum(usage.cost_usd) ? `$${usage.cost_usd.toFixed(4)}` : "cost unknown";
  return h("p", { class: "usage" },
    `This answer cost ${cost}: ${usage.model_calls} model call(s), ${tokens.toLocaleString()} tokens.`);
}

export function renderReport(slot, report, content) {
  try {
    const findings = list(report.findings)
      .sort((a, b) => (isNum(b.savings_usd_month) ? b.savings_usd_month : 0)
                    - (isNum(a.savings_usd_month) ? a.savings_usd_month : 0));
    const actions = new Map(list(report.actions).map((a) => [a.finding_id, a]));
    const charts = usableCharts(report.charts);
    const chartBox = charts.length ? h("div", { class: "charts" }, charts.map(chartFigure)) : null;
    slot.replaceChildren(h("section", { class: "report", "aria-label": "Report" },
      unverifiedNote(report.unverified),
      totalsLine(report.totals),
      findings.length ? h("h2", {}, "Findings, ranked by savings") : null,
      findings.map((f, i) => findingCard(f, i + 1, actions.get(f.id))),
      chartBox,
      downloads(report, content),
      usageLine(report.usage)));
    if (chartBox) whenVisible(chartBox, () => drawCharts(chartBox, charts));
  } catch (error) {
    // Said once, where the report would be (no toast repeating it).
    slot.replaceChildren(h("p", { class: "error" },
      "The report could not be shown. The answer above is complete; reload to try again."));
    console.warn("report", error);
  }
}

function whenVisible(el, fn) {
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); fn(); }
  }, { rootMargin: "200px" });
  observer.observe(el);
}

function themeColors() {
  const style = getComputedStyle(document.documentElement);
  return { text: style.getPropertyValue("--text").trim(), grid: style.getPropertyValue("--border").trim(),
           accent: style.getPropertyValue("--accent").trim() };
}

function trace(chart, colors) {
  const unit = text(chart.unit);
  if (chart.type === "line") {
    return { type: "scatter", mode: "lines+markers", x: chart.labels, y: chart.values,
             line: { color: colors.accent }, hovertemplate: `%{x}: %{y:,.2f} ${unit}<extra></extra>` };
  }
  // Horizontal bars: long labels (model names, finding titles) stay readable on a phone.
  return { type: "bar", orientation: "h", y: chart.labels, x: chart.values,
           marker: { color: colors.accent }, hovertemplate: `%{y}: %{x:,.2f} ${unit}<extra></extra>` };
}

export function chartLayout(chart, colors) {
  const bars = chart.type !== "line";
  const unit = text(chart.unit);
  return {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: colors.text, size: 12 }, showlegend: false,
    margin: { l: bars ? 8 : 48, r: 8, t: 8, b: 40 },
    height: bars ? Math.max(160, 28 * chart.labels.length + 60) : 240,
    xaxis: { gridcolor: colors.grid, automargin: true, title: { text: bars ? unit : "" } },
    yaxis: { gridcolor: colors.grid, automargin: true, autorange: bars ? "reversed" : true,
             title: { text: bars ? "" : unit } },
  };
}

async function drawCharts(box, charts) {
  try {
    const Plotly = await loadPlotly();
    const colors = themeColors();
    const plots = box.querySelectorAll(".plot");
    await Promise.all(charts.map((chart, i) => Plotly.newPlot(plots[i], [trace(chart, colors)],
      chartLayout(chart, colors), { displayModeBar: false, responsive: true })));
    box.dataset.drawn = "true";
  } catch (error) {
    box.append(h("p", { class: "error" },
      "The charts could not be drawn. Check the connection, then reload to try again."));
    console.warn("charts", error);
  }
}

/** Re-colour drawn charts after a theme switch. */
export function recolourCharts() {
  if (!window.Plotly) return;
  const colors = themeColors();
  for (const plot of document.querySelectorAll(".charts[data-drawn] .plot")) {
    window.Plotly.relayout(plot, { "font.color": colors.text, "xaxis.gridcolor": colors.grid,
                                   "yaxis.gridcolor": colors.grid });
    window.Plotly.restyle(plot, { "marker.color": colors.accent, "line.color": colors.accent });
  }
}
