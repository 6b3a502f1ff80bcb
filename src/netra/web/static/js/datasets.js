// Datasets: upload with progress, its report (what was kept, what the file lacks) and
// rejected lines, demo data, the list, and the picker that chooses the dataset a
// thread's next question uses.
import { $, h, ask, num, usd, day, showError, showInfo } from "./dom.js";
import { describe } from "./errors.js";
import { request, upload } from "./api.js";

const data = { list: [], wanted: null };

export function initDatasets() {
  $("upload-form").addEventListener("submit", (e) => { e.preventDefault(); uploadFile(); });
  $("demo-btn").addEventListener("click", loadDemo);
}

export async function loadDatasets() {
  data.list = await request("GET", "/api/datasets");
  render();
}

export function clearDatasets() {
  data.list = [];
  data.wanted = null;
  render();
}

/** The thread's dataset when it has one, else the newest. */
export function selectDataset(id) {
  data.wanted = id;
  fillSelect();
}

export function selectedDataset() {
  return $("dataset-select").value || null;
}

function fillSelect() {
  const select = $("dataset-select");
  if (!data.list.length) {
    select.replaceChildren(h("option", { value: "" }, "No data yet: load the demo on Datasets"));
    return;
  }
  select.replaceChildren(...data.list.map((d) =>
    h("option", { value: d.id }, `${d.name} · ${num(d.rows)} rows`)));
  const wanted = data.list.some((d) => d.id === data.wanted) ? data.wanted : data.list[0].id;
  select.value = wanted;
}

let rendered = null;  // the list as last drawn

function render() {
  fillSelect();
  // The same list again (each screen visit reloads it): the rows stay, and so does the
  // keyboard focus on them.
  const drawn = JSON.stringify(data.list);
  if (drawn === rendered) return;
  rendered = drawn;
  // data-label names a cell where a narrow screen stacks the columns (app.css).
  // A row opens its dataset's dashboard (the keyboard's way: its Dashboard link).
  const board = (d) => `#/datasets/${encodeURIComponent(d.id)}`;
  $("dataset-list").replaceChildren(...data.list.map((d) => h("tr", { dataset: { datasetId: d.id },
    class: "opens", onclick: (e) => { if (!e.target.closest("a, button")) location.hash = board(d); } },
    h("td", { class: "name" }, d.name),
    h("td", { class: "num", dataset: { label: "Rows" } }, num(d.rows)),
    h("td", { class: "num", dataset: { label: "Rejected" } }, num(d.rejected_rows)),
    h("td", { class: "num", dataset: { label: "Spend" } }, usd(d.total_cost_usd)),
    h("td", { class: "period", dataset: { label: "Period" } }, d.first_ts
      ? [h("span", { class: "nowrap" }, day(d.first_ts)), " → ",
         h("span", { class: "nowrap" }, day(d.last_ts))] : ""),
    h("td", { class: "actions" },
      h("a", { href: board(d), class: "button", "aria-label": `Dashboard of ${d.name}` }, "Dashboard"),
      h("button", { type: "button", class: "admin-only", "aria-label": `Delete dataset ${d.name}`,
                    onclick: () => remove(d) }, "Delete")))));
}

function status(text, failed = false) {
  const el = $("upload-status");
  el.textContent = text;
  el.classList.toggle("error", failed);
  el.classList.toggle("muted", !failed);
}

/** The upload report's box, made once beside the status line. */
function reportBox() {
  let box = $("upload-report");
  if (!box) {
    box = h("div", { id: "upload-report", class: "upload-report", hidden: true });
    $("upload-status").after(box);
  }
  return box;
}

/** The upload report, short: its notes, then the fields the file lacks, folded. */
function showReport(result) {
  const box = reportBox();
  const notes = result ? result.notes || [] : [];
  const lacking = result ? (result.fields || []).filter((f) => f.note) : [];
  box.hidden = !notes.length && !lacking.length;
  const parts = [];
  if (notes.length) parts.push(h("ul", { class: "report-notes" }, notes.map((n) => h("li", {}, n))));
  if (lacking.length) {
    parts.push(h("details", { class: "report-fields" },
      h("summary", {}, `Not in this file: ${lacking.map((f) => f.field).join(", ")}`),
      h("ul", {}, lacking.map((f) => h("li", {}, h("code", {}, f.field), ` ${f.note}`)))));
  }
  box.replaceChildren(...parts);
}

function showRejects(rejects, total) {
  const box = $("rejects");
  box.hidden = !rejects.length;
  $("rejects-title").textContent = total > rejects.length
    ? `Rejected lines (first ${rejects.length} of ${num(total)})` : `Rejected lines (${rejects.length})`;
  $("rejects-body").replaceChildren(...rejects.map((r) =>
    h("tr", {}, h("td", { class: "num" }, String(r.line)), h("td", {}, r.reason))));
}

async function uploadFile() {
  const file = $("upload-file").files[0];
  if (!file) { status("Choose a file first."); return; }
  const form = new FormData();
  form.append("file", file);
  form.append("format", $("upload-format").value);
  for (const [field, id] of [["name", "upload-name"], ["default_provider", "upload-provider"],
                             ["default_model", "upload-model"]]) {
    const value = $(id).value.trim();
    if (value) form.append(field, value);
  }
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  $("upload-btn").disabled = true;
  showRejects([], 0);
  showReport(null);
  status(`Uploading ${file.name}…`);
  try {
    const result = await upload(form, (share) => {
      bar.value = share;
      status(share < 1 ? `Uploading ${file.name}… ${Math.round(share * 100)}%`
                       : `Reading ${file.name}…`);
    });
    bar.value = 1;
    status(`${result.name}: ${num(result.rows)} rows imported, ${num(result.rejected_rows)} rejected.`);
    showReport(result);
    showRejects(result.rejects || [], result.rejected_rows || 0);
    $("upload-form").reset();
    await loadDatasets();
  } catch (error) {
    status(`Upload failed: ${describe(error)}`, true);  // said here, where the upload is: no toast
  } finally {
    $("upload-btn").disabled = false;
    bar.hidden = true;
  }
}

async function loadDemo() {
  const button = $("demo-btn");
  button.disabled = true;
  status("Generating demo data…");
  try {
    const dataset = await request("POST", "/api/datasets/demo", {});
    status(`Demo data loaded: ${dataset.name}, ${num(dataset.rows)} rows, ${usd(dataset.total_cost_usd)}.`);
    await loadDatasets();
    selectDataset(dataset.id);
  } catch (error) {
    status(`Could not load demo data: ${describe(error)}`, true);
  } finally {
    button.disabled = false;
  }
}

async function remove(dataset) {
  if (!await ask(`Delete the dataset “${dataset.name}” and its records?`, { ok: "Delete" })) return;
  try {
    await request("DELETE", `/api/datasets/${dataset.id}`);
    await loadDatasets();
    showInfo(`Deleted the dataset “${dataset.name}”.`);
  } catch (error) {
    showError(error, "Could not delete the dataset");
  }
}
