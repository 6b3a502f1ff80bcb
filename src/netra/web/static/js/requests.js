// The dashboard's request table: a page of requests at a time (Previous / Next walk the
// server's cursors, kept here so Previous needs no cursor of its own), newest or
// costliest first; a row's time opens every stored field of that request below it.
import { $, h, num, usd } from "./dom.js";
import { request } from "./api.js";
import { formatValue } from "./charts.js";
import { describe } from "./errors.js";

const LIMIT = 50;
// Every field of a request, in the order a person reads them, with its label.
const FIELDS = [
  ["ts", "Time (UTC)"], ["provider", "Provider"], ["model", "Model"], ["status", "Status"],
  ["error_type", "Error type"], ["cost_usd", "Cost"], ["source_cost_usd", "Cost the source reported"],
  ["input_tokens", "Input tokens"], ["cached_input_tokens", "Cached input tokens"],
  ["cache_write_tokens", "Cache write tokens"], ["output_tokens", "Output tokens"],
  ["reasoning_tokens", "Reasoning tokens"], ["max_tokens", "Max tokens"],
  ["latency_ms", "Latency (ms)"], ["ttft_ms", "Time to first token (ms)"],
  ["feature", "Feature"], ["end_user", "End user"], ["conversation_id", "Conversation"],
  ["request_id", "Request id"], ["prompt_hash", "Prompt hash"], ["prefix_hash", "Prefix hash"],
  ["batch", "Batch API"], ["usage_recorded", "Usage recorded"], ["metadata", "Metadata"],
];
const state = { source: null, cursors: [null], at: 0, next: null, loads: 0, total: 0 };

export function initRequests(source) {
  state.source = source;
  $("dash-sort").addEventListener("change", () => loadRequests());
  $("dash-prev").addEventListener("click", () => turn(-1));
  $("dash-next").addEventListener("click", () => turn(1));
}

/** The API's query for the page's: the page's `to` is a day shown inclusive, the API's
 * is exclusive. */
export function apiQuery(query) {
  const out = new URLSearchParams(query);
  if (out.get("to")) {
    const next = new Date(`${out.get("to")}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    out.set("to", next.toISOString().slice(0, 10));
  }
  return out;
}

/** A latency as people read it: 640 ms, 3.59 s. */
export function latency(v) {
  if (typeof v !== "number") return "n/a";
  return v >= 1000 ? formatValue(v / 1000, "s") : formatValue(v, "ms");
}

/** The first page of the slice the dashboard shows. */
export function loadRequests() {
  state.cursors = [null];
  state.at = 0;
  return loadPage();
}

function turn(by) {
  if (by > 0 && !state.next) return;
  if (by > 0 && state.cursors.length === state.at + 1) state.cursors.push(state.next);
  state.at = Math.max(0, state.at + by);
  loadPage().then(() => $(by > 0 && state.next ? "dash-next" : "dash-prev").focus());
}

async function loadPage() {
  const load = ++state.loads;
  const { id, query } = state.source();
  const params = apiQuery(query);
  params.set("sort", $("dash-sort").value);
  params.set("limit", String(LIMIT));
  const cursor = state.cursors[state.at];
  if (cursor) params.set("cursor", cursor);
  const body = $("dash-request-rows");
  body.closest("table").setAttribute("aria-busy", "true");
  try {
    const page = await request("GET", `/api/datasets/${encodeURIComponent(id)}/requests?${params}`);
    if (load !== state.loads) return;
    state.next = page.next_cursor;
    state.total = page.total;
    body.replaceChildren(...page.rows.flatMap((row, i) => rowsOf(row, `${state.at}-${i}`)));
    if (!page.rows.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted" }, "No requests in this slice.")));
    const first = state.at * LIMIT + 1;
    $("dash-page").textContent = page.rows.length
      ? `${num(first)}–${num(first + page.rows.length - 1)} of ${num(page.total)}` : "";
    $("dash-prev").disabled = state.at === 0;
    $("dash-next").disabled = !state.next;
  } catch (error) {
    if (load !== state.loads) return;
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "error" },
      `The requests could not be loaded. ${describe(error)}`)));
  } finally {
    if (load === state.loads) body.closest("table").removeAttribute("aria-busy");
  }
}

const tokens = (n) => (typeof n === "number" ? num(n) : "–");

/** A request's row, and the row under it that holds every field (hidden until opened). */
function rowsOf(row, key) {
  const detailId = `dash-request-${key}`;
  const open = h("button", { type: "button", class: "link", "aria-expanded": "false",
                             "aria-controls": detailId }, row.ts.replace("T", " ").slice(0, 19));
  const detail = h("tr", { id: detailId, class: "request-detail", hidden: true },
    h("td", { colspan: 8 }, h("dl", { class: "fields" }, FIELDS.map(([name, label]) =>
      h("div", {}, h("dt", {}, label), h("dd", {}, shown(name, row[name])))))));
  const toggle = () => {
    const opening = detail.hidden;
    detail.hidden = !opening;
    open.setAttribute("aria-expanded", String(opening));
  };
  open.addEventListener("click", toggle);
  const main = h("tr", { class: "request", dataset: { status: row.status } },
    h("td", { class: "nowrap" }, open),
    h("td", {}, row.model), h("td", {}, row.feature ?? "–"), h("td", {}, row.end_user ?? "–"),
    h("td", { class: "num" }, `${tokens(row.input_tokens)} / ${tokens(row.output_tokens)}`),
    h("td", { class: "num" }, typeof row.latency_ms === "number" ? latency(row.latency_ms) : "–"),
    h("td", {}, row.status === "error" ? `error${row.error_type ? ` (${row.error_type})` : ""}` : "ok"),
    h("td", { class: "num" }, typeof row.cost_usd === "number" ? usd4(row.cost_usd) : "unpriced"));
  // The whole row opens it too (the button is the keyboard's way in).
  main.addEventListener("click", (e) => { if (e.target !== open) toggle(); });
  return [main, detail];
}

const usd4 = (n) => (n < 0.01 && n > 0 ? `$${n.toFixed(6)}` : usd(n));

function shown(name, value) {
  if (value === null || value === undefined || value === "") return "–";
  if (name === "metadata") return h("pre", {}, JSON.stringify(value, null, 2));
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (name === "cost_usd" || name === "source_cost_usd") return usd4(value);
  if (typeof value === "number") return value.toLocaleString("en-US");
  return String(value);
}
