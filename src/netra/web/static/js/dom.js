// Small DOM helpers. Every server string goes in as text (textContent), never as HTML:
// the only HTML the page inserts is `content_html`, which the server renders safely.

export const $ = (id) => document.getElementById(id);

/** h("li", {class: "x", dataset: {seq: 3}, onclick: fn}, child, "text", ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) el.append(child);
  }
  return el;
}

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
export const usd = (n) => (typeof n === "number" ? money.format(n) : "n/a");
export const num = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "n/a");
export const day = (iso) => (iso ? iso.slice(0, 10) : "");

/** Screen readers hear short status lines ("Answer ready") without the streaming noise. */
export function announce(text) {
  const el = $("announcer");
  el.textContent = "";
  requestAnimationFrame(() => { el.textContent = text; });
}

/** Errors are shown in words; they stay until dismissed or replaced by newer ones. */
export function showError(error, context = "") {
  const message = error && error.message ? error.message : String(error);
  const text = context ? `${context}: ${message}` : message;
  const box = $("toasts");
  while (box.children.length >= 3) box.firstElementChild.remove();
  const close = h("button", { type: "button", class: "icon", "aria-label": "Dismiss" }, "×");
  const toast = h("div", { class: "toast" }, h("span", {}, text), close);
  close.addEventListener("click", () => toast.remove());
  box.append(toast);
  if (error && !error.shown) console.warn(text);  // for whoever reads the console too
}

/** A modal question: resolves to the input value (or true) on OK, null on cancel. */
export function ask(text, { value = null, ok = "OK" } = {}) {
  const dialog = $("dialog");
  const input = $("dialog-input");
  $("dialog-text").textContent = text;
  $("dialog-ok").textContent = ok;
  $("dialog-input-row").hidden = value === null;
  input.value = value ?? "";
  dialog.returnValue = "";
  dialog.showModal();
  if (value !== null) input.select();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") resolve(null);
      else resolve(value === null ? true : input.value.trim() || null);
    }, { once: true });
  });
}

/** Offer content as a file download, built in the page (no server round trip). */
export function download(filename, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
