// A dataset's dashboard (#/datasets/<id>?<filters>): KPI tiles, charts over time,
// breakdowns, the filter bar, the request table (requests.js), a way to ask about the
// dataset and the command that sends it records. Every number comes from
// GET /api/datasets/{id}/dashboard; the filters live in the address, so a reload or a
// shared link shows the same slice.
import { $, h, announce, ask, num, usd, showError, showInfo, toast } from "./dom.js";
import { request } from "./api.js";
import { chartFigure, formatValue } from "./charts.js";
import { loadDatasets, selectDataset } from "./datasets.js";
import { apiQuery, initRequests, latency, loadRequests } from "./requests.js";

const FILTERS = ["model", "feature", "end_user", "provider", "status"];
const NAMES = { model: "Model", feature: "Feature", end_user: "End user", provider: "Provider",
                status: "Status" };
const state = { id: null, query: new URLSearchParams(), loads: 0, requests: null };

export function initDashboard() {
  for (const name of FILTERS) $(`dash-${name}`).addEventListener("change", readFilters);
  for (const name of ["from", "to"]) $(`dash-${name}`).addEventListener("change", readFilters);
  $("dash-filters").addEventListener("submit", (e) => { e.preventDefault(); readFilters(); });
  $("dash-clear").addEventListener("click", () => show(new URLSearchParams()));
  $("dash-ask").addEventListener("click", askAbout);
  $("dash-delete").addEventListener("click", deleteSlice);
  $("dash-copy-id").addEventListener("click", () => copy($("dash-id").textContent, "dash-copy-id"));
  $("dash-copy-snippet").addEventListener("click",
    () => copy($("dash-snippet").textContent, "dash-copy-snippet"));
  initRequests(() => ({ id: state.id, query: state.query }));
}

/** Open the dashboard named by the address's `<id>?<query>` part. */
export async function openDashboard(target) {
  const [id, query = ""] = target.split("?");
  const dataset = decodeURIComponent(id);
  if (dataset !== state.id) {
    state.id = dataset;
    $("dashboard-title").textContent = "Dashboard";
    $("dash-id").textContent = dataset;
    $("dash-snippet").textContent = snippet(dataset);
    request("GET", `/api/datasets/${encodeURIComponent(dataset)}`)
      .then((d) => { if (state.id === dataset) named(d); })
      .catch(() => {});  // the dashboard's own request says what went wrong
  }
  await show(new URLSearchParams(query), { address: false });
}

export function closeDashboard() { state.id = null; }

/** The dataset's name, and its whole period as the bounds of the date pickers. */
function named(dataset) {
  $("dashboard-title").textContent = dataset.name;
  for (const name of ["from", "to"]) {
    $(`dash-${name}`).min = dataset.first_ts ? dataset.first_ts.slice(0, 10) : "";
    $(`dash-${name}`).max = dataset.last_ts ? dataset.last_ts.slice(0, 10) : "";
  }
}

function readFilters() {
  const query = new URLSearchParams();
  if ($("dash-from").value) query.set("from", $("dash-from").value);
  if ($("dash-to").value) query.set("to", $("dash-to").value);  // a day, shown inclusive
  for (const name of FILTERS) if ($(`dash-${name}`).value) query.set(name, $(`dash-${name}`).value);
  show(query);
}

/** Show the slice `query` names: the address first (without a hashchange), then both
 * the dashboard and the first page of its requests. */
async function show(query, { address = true } = {}) {
  state.query = query;
  state.requests = null;  // until this slice's board is in
  $("dash-delete").hidden = !query.toString();  // the whole dataset goes from Datasets
  if (address) {
    const tail = query.toString();
    history.replaceState(null, "", `#/datasets/${encodeURIComponent(state.id)}${tail ? `?${tail}` : ""}`);
  }
  await Promise.all([loadBoard(), loadRequests()]);
}

async function loadBoard() {
  const load = ++state.loads;
  const view = $("dashboard-view");
  view.setAttribute("aria-busy", "true");
  try {
    const board = await request("GET",
      `/api/datasets/${encodeURIComponent(state.id)}/dashboard?${apiQuery(state.query)}`);
    if (load !== state.loads) return;  // a newer filter won
    render(board);
    announce(`Dashboard updated: ${num(board.totals.requests)} requests, ${usd(board.totals.spend_usd)}.`);
  } catch (error) {
    if (load !== state.loads) return;
    if (error.status === 404) {
      window.addEventListener("hashchange", () => showError(error, "Could not open the dashboard"),
                              { once: true });
      location.hash = "#/datasets";
      return;
    }
    showError(error, "Could not load the dashboard");
  } finally {
    if (load === state.loads) view.removeAttribute("aria-busy");
  }
}

function render(board) {
  fillFilters(board);
  const { from, to } = board.range;
  $("dash-range").textContent = from
    ? `${from.slice(0, 10)} to ${to.slice(0, 10)} (UTC), by ${board.bucket}.` : "No requests yet.";
  state.requests = board.totals.requests;
  tiles(board.totals);
  charts(board.series, board.bucket);
  breakdowns(board.breakdowns);
  $("dashboard-view").dataset.loaded = "true";
}

function fillFilters(board) {
  for (const name of FILTERS) {
    const select = $(`dash-${name}`);
    const chosen = state.query.get(name) || "";
    const offered = board.options[name] || { values: [] };
    const values = offered.values.includes(chosen) || !chosen ? offered.values : [chosen, ...offered.values];
    select.replaceChildren(h("option", { value: "" }, `Any ${NAMES[name].toLowerCase()}`),
      ...values.map((v) => h("option", { value: v }, v)));
    select.value = chosen;
    select.title = offered.truncated ? `The ${values.length} most used` : "";
  }
  $("dash-from").value = state.query.get("from") || "";
  $("dash-to").value = state.query.get("to") || "";
}

const pct = (v) => (typeof v === "number" ? formatValue(100 * v, "%") : "n/a");

function tiles(t) {
  const tile = (label, value, note, key) => h("div", { class: "kpi", dataset: { kpi: key } },
    h("dt", {}, label), h("dd", { class: "num" }, value), note ? h("dd", { class: "muted note" }, note) : null);
  $("dash-kpis").replaceChildren(
    tile("Spend", usd(t.spend_usd), null, "spend"),
    tile("Requests", num(t.requests), null, "requests"),
    tile("Tokens", formatValue(t.input_tokens + t.output_tokens),
         `${formatValue(t.input_tokens)} in · ${formatValue(t.output_tokens)} out`, "tokens"),
    tile("p50 latency", latency(t.p50_latency_ms), null, "p50"),
    tile("p95 latency", latency(t.p95_latency_ms), null, "p95"),
    tile("Error rate", pct(t.error_rate), `${num(t.errors)} failed`, "errors"));
}

function label(start, bucket) {
  return bucket === "hour" ? `${start.slice(5, 10)} ${start.slice(11, 16)}` : start.slice(0, 10);
}

function charts(series, bucket) {
  const labels = series.map((b) => label(b.start, bucket));
  const per = `per ${bucket}`;
  // seconds once a p95 passes one: "20 s" reads better than "20k ms"
  const slow = series.some((b) => b.p95_latency_ms >= 1000);
  const time = (v) => (typeof v === "number" && slow ? v / 1000 : v);
  const figures = series.length ? [
    { id: "spend", type: "line", title: `Spend ${per}`, unit: "USD", labels, values: series.map((b) => b.spend_usd) },
    { id: "requests", type: "line", title: `Requests ${per}`, unit: "", labels, values: series.map((b) => b.requests) },
    { id: "latency", type: "line", title: "Latency, p50 and p95", unit: slow ? "s" : "ms", labels,
      series: [{ name: "p50", values: series.map((b) => time(b.p50_latency_ms)) },
               { name: "p95", values: series.map((b) => time(b.p95_latency_ms)) }] },
    { id: "errors", type: "line", title: `Error rate ${per}`, unit: "%", labels,
      values: series.map((b) => (b.error_rate === null ? null : 100 * b.error_rate)) },
  ] : [];
  $("dash-charts").replaceChildren(...figures.map(chartFigure));
}

function breakdowns(all) {
  $("dash-breakdowns").replaceChildren(...FILTERS.filter((n) => all[n]).map((name) => {
    const { rows, keys } = all[name];
    const title = `By ${NAMES[name].toLowerCase()}`;
    const id = `dash-by-${name}`;
    // Only the scrolling table is a labelled region: two landmarks of one name confuse.
    return h("section", { class: "card breakdown" },
      h("h3", { id }, title),
      h("div", { class: "dash-scroll", tabindex: "0", role: "region", "aria-labelledby": id },
        h("table", { class: "table" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, NAMES[name]),
            ["Requests", "Spend", "Share", "p95", "Errors"].map((c) => h("th", { scope: "col", class: "num" }, c)))),
          h("tbody", {}, rows.map((r) => h("tr", {},
            h("th", { scope: "row", class: "key" }, h("button", {
              type: "button", class: "link", title: `Show only ${NAMES[name].toLowerCase()} ${r.key}`,
              onclick: () => only(name, r.key) }, r.key)),
            h("td", { class: "num" }, num(r.requests)), h("td", { class: "num" }, usd(r.spend_usd)),
            h("td", { class: "num" }, formatValue(r.share_pct, "%")), h("td", { class: "num" }, latency(r.p95_latency_ms)),
            h("td", { class: "num" }, pct(r.error_rate))))))),
      keys > rows.length ? h("p", { class: "muted note" }, `Top ${rows.length} of ${num(keys)} by spend.`) : null);
  }));
}

function only(name, key) {
  const query = new URLSearchParams(state.query);
  query.set(name, key);
  show(query).then(() => $(`dash-${name}`).focus());
}

/** Delete the requests of the slice shown (a bad import, test traffic): the dataset
 * moves to a new version, analysed anew; the board then shows what is left. */
async function deleteSlice() {
  const count = state.requests === null ? "the" : num(state.requests);
  if (!await ask(`Delete ${count} requests of this slice? The dataset's analysis is computed anew.`,
                 { ok: "Delete" })) return;
  try {
    const done = await request("DELETE",
      `/api/datasets/${encodeURIComponent(state.id)}/requests?${apiQuery(state.query)}`);
    showInfo(`Deleted ${num(done.deleted)} requests; ${num(done.dataset.rows)} left.`);
    await show(new URLSearchParams());
  } catch (error) {
    showError(error, "Could not delete the requests");
  }
}

/** A new chat about this dataset: the chat screen opens, then its picker is set. */
function askAbout() {
  const id = state.id;
  // main.js routes on hashchange first (a new chat resets the picker), then this runs
  window.addEventListener("hashchange", () => {
    selectDataset(id);
    loadDatasets().catch(() => {});  // a dataset made since the list was read: now listed
    $("composer-input").focus();
  }, { once: true });
  location.hash = "#/chat";
}

function snippet(id) {
  const record = { ts: new Date().toISOString().slice(0, 19) + "Z", provider: "openai", model: "gpt-4o",
                   input_tokens: 1200, output_tokens: 150, latency_ms: 840, status: "ok",
                   feature: "support-chat", end_user: "user-42", request_id: "req-0001" };
  return [`curl -X POST '${location.origin}/api/ingest/${id}/records' \\`,
          `  -H "Authorization: Bearer $NETRA_API_KEY" \\`,
          "  -H 'Content-Type: application/json' \\",
          `  -d '${JSON.stringify([record])}'`].join("\n");
}

async function copy(text, buttonId) {
  const button = $(buttonId);
  button.dataset.label ??= button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = button.dataset.label; }, 2000);
  } catch {
    toast("The browser did not let the page copy. Select the text and copy it by hand.");
  }
}
