// Small DOM helpers. Every server string goes in as text (textContent), never as HTML:
// the only HTML the page inserts is `content_html`, which the server renders safely.

import { describe } from "./errors.js";

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

// Toasts: errors (and a few confirmations) that have no place of their own on screen.
// Below the header, centred, so the composer's Send and Stop and the tables' buttons stay
// clickable; they leave by themselves (errors after 8 s, the rest after 4 s) unless the
// pointer or the keyboard focus is on them; one per distinct message; the page clears
// them when the reader moves to another screen.
const TOAST_MS = { error: 8000, info: 4000 };
const MAX_TOASTS = 3;
const timers = new WeakMap();  // toast -> {left, since, timer}

function placeToasts() {
  const header = document.querySelector(".topbar");
  const top = header && header.offsetParent !== null ? header.getBoundingClientRect().bottom : 0;
  $("toasts").style.setProperty("--toast-top", `${Math.max(0, Math.round(top))}px`);
}

function runTimer(toast) {
  const t = timers.get(toast);
  if (!t || t.paused) return;
  clearTimeout(t.timer);
  t.since = Date.now();
  t.timer = setTimeout(() => dismiss(toast), t.left);
}

function pauseTimer(toast) {
  const t = timers.get(toast);
  if (!t || t.paused) return;
  clearTimeout(t.timer);
  t.left = Math.max(1500, t.left - (Date.now() - t.since));
  t.paused = true;
  toast.dataset.paused = "true";
}

function resumeTimer(toast) {
  const t = timers.get(toast);
  if (!t || !t.paused) return;
  if (toast.matches(":hover") || toast.contains(document.activeElement)) return;
  t.paused = false;
  delete toast.dataset.paused;
  runTimer(toast);
}

function dismiss(toast) {
  const t = timers.get(toast);
  if (t) clearTimeout(t.timer);
  timers.delete(toast);
  // Focus inside a toast that goes must not fall to the top of the page.
  const hadFocus = toast.contains(document.activeElement);
  toast.remove();
  const composer = $("composer-input");
  if (hadFocus && composer && composer.offsetParent !== null) composer.focus();
}

/** Show `text` as a toast ("error" or "info"); the same text again renews the one shown. */
export function toast(text, kind = "error") {
  const box = $("toasts");
  const same = [...box.children].find((el) => el.dataset.text === text);
  if (same) {
    const t = timers.get(same);
    if (t) { t.left = TOAST_MS[kind] || TOAST_MS.error; if (!t.paused) runTimer(same); }
    return same;
  }
  while (box.children.length >= MAX_TOASTS) dismiss(box.firstElementChild);
  placeToasts();
  const close = h("button", { type: "button", class: "icon", "aria-label": "Dismiss" }, "×");
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status",
                        dataset: { text, kind } }, h("span", {}, text), close);
  close.addEventListener("click", () => dismiss(el));
  el.addEventListener("mouseenter", () => pauseTimer(el));
  el.addEventListener("mouseleave", () => resumeTimer(el));
  el.addEventListener("focusin", () => pauseTimer(el));
  el.addEventListener("focusout", () => setTimeout(() => resumeTimer(el)));
  el.addEventListener("keydown", (e) => { if (e.key === "Escape") dismiss(el); });
  timers.set(el, { left: TOAST_MS[kind] || TOAST_MS.error, since: 0, timer: 0, paused: false });
  box.append(el);
  runTimer(el);
  return el;
}

/** An error in words (what happened, what to do), as a toast. Errors that have a place
 * of their own on the page (under a message, in a form) are shown there instead. */
export function showError(error, context = "") {
  const said = describe(error);
  const text = context ? `${context}. ${said}` : said;
  toast(text, "error");
  if (error && error.stack) console.warn(text, error);  // for whoever reads the console
}

/** A short confirmation ("Dataset deleted."), gone after a few seconds. */
export function showInfo(text) { toast(text, "info"); }

/** The reader moved to another screen: what was said about the last one goes. */
export function clearToasts() {
  for (const el of [...$("toasts").children]) dismiss(el);
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
