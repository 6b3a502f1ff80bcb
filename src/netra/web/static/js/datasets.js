// Datasets: a preview of how a chosen file will be read, upload with progress, its
// report (what was kept, which fields unlock which analyses) and rejected lines, demo
// data, the list, and the picker that chooses the dataset a thread's next question uses.
import { $, h, ask, num, usd, day, showError, showInfo } from "./dom.js";
import { describe } from "./errors.js";
import { request, upload } from "./api.js";
import { previewFile, clearPreview } from "./upload_preview.js";

const data = { list: [], wanted: null };

export function initDatasets() {
  $("upload-form").addEventListener("submit", (e) => { e.preventDefault(); uploadFile(); });
  $("demo-btn").addEventListener("click", loadDemo);
  // The preview follows the file and every choice that changes how it is read.
  $("upload-file").addEventListener("change", () => previewFile(uploadForm(true)));
  for (const id of ["upload-format", "upload-provider", "upload-model"]) {
    $(id).addEventListener(id === "upload-format" ? "change" : "input",
                           () => previewFile(uploadForm(true), { wait: 400 }));
  }
}

/** The form as the server takes it; with `head`, the file's first bytes only (the
 *  preview reads no more, and a big file need not travel twice). */
function uploadForm(head = false) {
  const file = $("upload-file").files[0];
  if (!file) return null;
  const form = new FormData();
  form.append("file", head ? file.slice(0, PREVIEW_BYTES) : file, file.name);
  form.append("format", $("upload-format").value);
  for (const [field, id] of [["name", "upload-name"], ["default_provider", "upload-provider"],
                             ["default_model", "upload-model"]]) {
    const value = $(id).value.trim();
    if (value && !(head && field === "name")) form.append(field, value);
  }
  return form;
}

const PREVIEW_BYTES = 64 * 1024;  // what the server's preview reads of a file

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

/** The upload report: its notes, then what the data unlocks (the table below). */
function showReport(result) {
  const box = reportBox();
  const notes = result ? result.notes || [] : [];
  const fields = result ? result.fields || [] : [];
  box.hidden = !notes.length && !fields.length;
  const parts = [];
  if (notes.length) parts.push(h("ul", { class: "report-notes" }, notes.map((n) => h("li", {}, n))));
  if (fields.length) parts.push(unlockTable(fields));
  box.replaceChildren(...parts);
}

/** Each optional field: the share of rows carrying it, and the analysis it unlocks (for
 *  a missing one, what adding it to the export would bring). Open: it is the answer to
 *  "what should I add to my export?". */
function unlockTable(fields) {
  const missing = fields.filter((f) => !f.present_pct);
  const summary = missing.length
    ? `What your data unlocks: ${fields.length - missing.length} of ${fields.length} optional `
      + `fields present; missing: ${missing.map((f) => f.field).join(", ")}`
    : `What your data unlocks: all ${fields.length} optional fields present`;
  // data-label: a narrow screen stacks each field's cells as a small card (app.css).
  const row = (f) => h("tr", { class: f.present_pct ? "present" : "missing" },
    h("td", { class: "name" }, h("code", {}, f.field)),
    h("td", { class: "num", dataset: { label: "Rows carrying it" } }, `${f.present_pct}%`),
    h("td", {}, f.present_pct ? `Used for ${f.unlocks || "the analysis"}.`
                              : `Missing: add it to unlock ${f.unlocks || "more analysis"}.`,
      f.note ? h("span", { class: "muted field-note" }, ` ${f.note}`) : null));
  return h("details", { class: "report-fields", open: true },
    h("summary", {}, summary),
    h("table", { class: "table stacked unlocks" },
      h("caption", { class: "sr-only" }, "Optional fields and the analyses they unlock"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"),
        h("th", { scope: "col", class: "num" }, "Rows carrying it"),
        h("th", { scope: "col" }, "What it unlocks"))),
      h("tbody", {}, [...fields].sort((a, b) => !a.present_pct - !b.present_pct).map(row))));
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
  const form = uploadForm();
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
    clearPreview();  // the report below says what was read
    showReport(result);
    showRejects(result.rejects || [], result.rejected_rows || 0);
    $("upload-form").reset();
    await loadDatasets();
  } catch (error) {
    status(`Upload failed: ${describe(error)}`, true);  // said here, where the upload is: no toast
    // No row was usable: the server names each rejected line and why.
    const rejects = error.details?.rejects;
    if (Array.isArray(rejects)) showRejects(rejects, error.details.rejected_rows || rejects.length);
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
