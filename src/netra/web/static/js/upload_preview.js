// The upload's preview: before the user presses Upload, how the server will read the
// chosen file: its format, each column and the field it becomes (or metadata), the
// first rows as they will be stored (priced), and the lines it would reject. The
// browser sends only the file's head (the server reads no more); nothing is stored.
import { $, h, num } from "./dom.js";
import { describe } from "./errors.js";
import { request } from "./api.js";

const FORMATS = {
  "records-csv": "records CSV", "records-jsonl": "records JSONL",
  "otel-genai": "OpenTelemetry GenAI spans", "litellm-spendlogs": "LiteLLM spend logs",
  "langfuse-observations": "Langfuse observations", helicone: "Helicone export",
  "token-trace": "token trace",
};
// The sample's columns, in this order, when some sample row has the field.
const SHOWN = [
  ["ts", "Time"], ["provider", "Provider"], ["model", "Model"], ["input_tokens", "Input"],
  ["output_tokens", "Output"], ["cached_input_tokens", "Cached"], ["latency_ms", "Latency ms"],
  ["status", "Status"], ["feature", "Feature"], ["end_user", "End user"],
  ["cost_usd", "Cost"],
];
const ALWAYS = new Set(["ts", "provider", "model", "input_tokens", "output_tokens", "cost_usd"]);

// A request's cost is a fraction of a cent: three significant digits, not cents.
const cost = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD",
                                              maximumSignificantDigits: 3 });
let asked = 0;  // the newest preview asked for: older answers are dropped
let timer = null;

/** The preview's box, made once under the form. */
function box() {
  let el = $("upload-preview");
  if (!el) {
    el = h("section", { id: "upload-preview", class: "upload-preview", hidden: true,
                        "aria-labelledby": "preview-title" });
    $("upload-form").after(el);
  }
  return el;
}

export function clearPreview() {
  asked += 1;  // a preview still on its way is for a file no longer chosen
  clearTimeout(timer);
  const el = box();
  el.hidden = true;
  el.removeAttribute("aria-busy");
  el.replaceChildren();
}

/** Preview this form (made with the file's head); `wait` ms first, for typing. */
export function previewFile(form, { wait = 0 } = {}) {
  clearTimeout(timer);
  if (!form) { clearPreview(); return; }
  const ticket = ++asked;
  timer = setTimeout(() => ask(form, ticket), wait);
}

async function ask(form, ticket) {
  const el = box();
  el.hidden = false;
  el.setAttribute("aria-busy", "true");
  const name = form.get("file")?.name || "the file";
  try {
    const seen = await request("POST", "/api/datasets/preview", form);
    if (ticket === asked) el.replaceChildren(...render(seen, name));
  } catch (error) {
    if (ticket === asked) {
      el.replaceChildren(title(name), h("p", { class: "error" },
        `This file cannot be imported as it is: ${describe(error)}`));
    }
  } finally {
    if (ticket === asked) el.removeAttribute("aria-busy");
  }
}

const title = (name) => h("h3", { id: "preview-title" }, `Before you upload: how ${name} will be read`);

function render(seen, name) {
  const read = seen.truncated ? "In its first 64 KB" : "In this file";
  const counts = `${read}, ${num(seen.rows)} row${seen.rows === 1 ? "" : "s"} would be kept`
    + (seen.rejected ? ` and ${num(seen.rejected)} rejected.` : ".");
  return [
    title(name),
    h("p", { class: "preview-counts", "aria-live": "polite" },
      `Format: ${FORMATS[seen.format] || seen.format}. ${counts}`),
    seen.columns?.length ? mapping(seen.columns) : null,
    seen.sample.length ? sample(seen.sample) : null,
    seen.notes.length ? h("ul", { class: "report-notes" }, seen.notes.map((n) => h("li", {}, n))) : null,
    seen.rejects.length ? rejects(seen.rejects, seen.rejected) : null,
  ];
}

function mapping(columns) {
  const readAs = (c) => {
    if (!c.field) return h("span", { class: "muted" }, c.note || "kept as metadata");
    return [h("code", {}, c.field), c.scale === 1000 ? " (seconds, read as milliseconds)" : ""];
  };
  return h("table", { class: "table mapping" },
    h("caption", {}, "Columns and the fields they become"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Column in the file"),
                               h("th", { scope: "col" }, "Read as"))),
    h("tbody", {}, columns.map((c) => h("tr", { class: c.field ? "mapped" : "extra" },
      h("td", {}, c.name), h("td", {}, readAs(c))))));
}

function sample(rows) {
  const shown = SHOWN.filter(([key]) => ALWAYS.has(key) || rows.some((r) => r[key] != null && r[key] !== 0));
  const cell = (key, value) => {
    if (value == null) return h("td", { class: "muted" }, "–");
    if (key === "cost_usd") return h("td", { class: "num" }, cost.format(value));
    if (typeof value === "number") return h("td", { class: "num" }, num(value));
    if (key === "ts") return h("td", { class: "nowrap" }, value.replace("T", " ").replace(/\.000Z$/, "Z"));
    return h("td", {}, String(value));
  };
  const caption = `The first ${rows.length} row${rows.length === 1 ? "" : "s"} as they will be imported`;
  // Wider than a phone: it scrolls on its own, and the keyboard can scroll it too.
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: "table sample" }, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, shown.map(([key, label]) =>
      h("th", { scope: "col", class: key === "cost_usd" || key.endsWith("_tokens") || key === "latency_ms" ? "num" : "" }, label)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, shown.map(([key]) => cell(key, r[key])))))));
}

function rejects(list, total) {
  return h("table", { class: "table preview-rejects" },
    h("caption", {}, total > list.length ? `Lines that would be rejected (first ${list.length} of ${num(total)})`
                                         : `Lines that would be rejected (${list.length})`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "num" }, "Line"),
                               h("th", { scope: "col" }, "Reason"))),
    h("tbody", {}, list.map((r) => h("tr", {}, h("td", { class: "num" }, String(r.line)),
                                                 h("td", {}, r.reason)))));
}
