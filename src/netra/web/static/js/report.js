// The structured report under an answer: the findings ranked by savings as cards, with
// the charts up front, the evidence and queries collapsed and labelled in words, and
// downloads built in the page. Reports come from several agents and grow new fields:
// every key is optional here, and a malformed part is left out rather than breaking the
// answer above it.
import { download, h, usd } from "./dom.js";
import { chartFigure, formatValue, usableCharts } from "./charts.js";

const isNum = (value) => typeof value === "number" && Number.isFinite(value);
const list = (value) => (Array.isArray(value) ? value.filter((x) => x && typeof x === "object") : []);
const text = (value, fallback = "") => (typeof value === "string" && value ? value : fallback);

function figure(label, value, numeric = false) {
  return h("div", {}, h("dt", {}, label), h("dd", { class: numeric ? "num" : null }, value));
}

// Evidence keys in words. Others are read out of their name (snake_case → words).
const LABELS = {
  affected_requests: "Requests affected", requests: "Requests", priced_requests: "Requests with a price",
  repriced_requests: "Requests repriced", window_days: "Days of data", current_cost_usd: "Cost in the data",
  current_cost_usd_month: "Cost now, a month", projected_cost_usd_month: "Cost after, a month",
  projected_cost_usd: "Cost after, in the data", savings_usd_month: "Saving, a month",
  savings_pct: "Saving", suggested_model: "Suggested model", suggested_provider: "Suggested provider",
  p50_input_tokens: "Median prompt tokens", p90_input_tokens: "90th percentile prompt tokens",
  p50_output_tokens: "Median output tokens", p90_output_tokens: "90th percentile output tokens",
  p99_output_tokens: "99th percentile output tokens", cache_hit_rate: "Cache hit rate",
  repeat_share: "Repeated prompts", runaway_share: "Runaway outputs", share_in_window: "Share in the window",
  current_rates_per_mtok: "Price now, per million tokens", suggested_rates_per_mtok: "Price after, per million tokens",
  catalog_source: "Prices from", top_prompts: "Most repeated prompts", requests_by_hour_utc: "Requests by hour (UTC)",
  p50_seconds_between_requests: "Median seconds between requests", cache_lifetime_s: "Cache lifetime, seconds",
};
// Kept out of the table: the query gets its own fold; the others are internal.
const HIDDEN = new Set(["query", "sql", "rule", "method", "slices", "window_days_exact"]);

export function labelOf(key) {
  if (LABELS[key]) return LABELS[key];
  const words = key.replace(/_usd_month$/, " ($ a month)").replace(/_usd$/, " ($)")
    .replace(/_pct$/, " (%)").replace(/^p(\d\d)_/, "p$1 ").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function unitOf(key) {
  if (/_usd(_month)?$|^usd_|cost_usd/.test(key)) return "USD";
  if (/_pct$/.test(key)) return "%";
  return "";
}

function evidenceValue(key, value) {
  if (isNum(value)) {
    if (/(_share|_rate)$/.test(key) && value <= 1) return formatValue(100 * value, "%");
    return formatValue(value, unitOf(key));
  }
  if (value === null || value === undefined) return "none";
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return value.join(", ");
    return smallTable(value.slice(0, 5));
  }
  if (typeof value === "object") {
    return h("ul", { class: "plain" }, Object.entries(value).slice(0, 12).map(([k, v]) =>
      h("li", {}, `${labelOf(k)}: `, typeof v === "object" && v !== null ? JSON.stringify(v) : evidenceValue(k, v))));
  }
  return String(value);
}

// A box that may scroll sideways on a phone: a keyboard must reach it to scroll it.
const scrollable = (label) => ({ class: "scroll", tabindex: "0", role: "region", "aria-label": label });

function smallTable(rows) {
  const keys = [...new Set(rows.flatMap((r) => (r && typeof r === "object" ? Object.keys(r) : [])))].slice(0, 6);
  return h("div", scrollable("Table"), h("table", { class: "table" },
    h("thead", {}, h("tr", {}, keys.map((k) => h("th", { scope: "col" }, labelOf(k))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, keys.map((k) => h("td", {},
      typeof r[k] === "object" && r[k] !== null ? JSON.stringify(r[k]) : evidenceValue(k, r[k]))))))));
}

function evidence(data) {
  const all = data && typeof data === "object" ? data : {};
  const rows = Object.entries(all).filter(([key]) => !HIDDEN.has(key));
  const query = text(all.query, text(all.sql));
  if (!rows.length && !query) return null;
  return h("details", { class: "evidence" }, h("summary", {}, "Evidence"),
    rows.length ? h("div", scrollable("Evidence"), h("table", { class: "table kv" }, h("tbody", {},
      rows.map(([key, value]) => h("tr", {},
        h("th", { scope: "row" }, labelOf(key)),
        h("td", { class: isNum(value) ? "num" : null }, evidenceValue(key, value))))))) : null,
    query ? h("details", { class: "query" }, h("summary", {}, "The query behind these figures"),
      h("pre", {}, h("code", {}, query))) : null);
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

/** The report under an answer whose summary is already on screen above it: charts up
 * front, the findings as cards, then `rest` (the written report, folded) and downloads. */
export function renderReport(slot, report, content, rest = null) {
  try {
    const findings = list(report.findings)
      .sort((a, b) => (isNum(b.savings_usd_month) ? b.savings_usd_month : 0)
                    - (isNum(a.savings_usd_month) ? a.savings_usd_month : 0));
    const actions = new Map(list(report.actions).map((a) => [a.finding_id, a]));
    // The savings chart first: it is the answer in one picture.
    const charts = usableCharts(report.charts)
      .sort((a, b) => (b.id === "savings_by_finding") - (a.id === "savings_by_finding"));
    slot.replaceChildren(h("section", { class: "report", "aria-label": "Report" },
      unverifiedNote(report.unverified),
      rest ? null : totalsLine(report.totals),
      charts.length ? h("div", { class: "charts" }, charts.map(chartFigure)) : null,
      findings.length ? h("h2", {}, "Findings, ranked by savings") : null,
      findings.map((f, i) => findingCard(f, i + 1, actions.get(f.id))),
      rest,
      downloads(report, content),
      usageLine(report.usage)));
  } catch (error) {
    // Said once, where the report would be (no toast repeating it).
    slot.replaceChildren(h("p", { class: "error" },
      "The report could not be shown. The answer above is complete; reload to try again."));
    console.warn("report", error);
  }
}
