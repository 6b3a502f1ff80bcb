// The thread list: newest first; open, rename, delete.
import { $, h, ask, showError } from "./dom.js";
import { request } from "./api.js";

export const threads = { list: [], current: null };
// Drawn as SVG paths: emoji glyphs are missing from many systems' fonts.
const PENCIL = "M3 17.2V21h3.8l11-11-3.8-3.8zM20.7 7a1 1 0 0 0 0-1.4l-2.3-2.3a1 1 0 0 0-1.4 0l-1.8 1.8 3.8 3.8z";
const BIN = "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6zM19 4h-3.5l-1-1h-5l-1 1H5v2h14z";
const SVG = "http://www.w3.org/2000/svg";

function icon(path) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "glyph");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}
const hooks = { renamed: () => {}, deleted: () => {} };

export function initThreads({ renamed, deleted }) {
  Object.assign(hooks, { renamed, deleted });
  $("new-thread").addEventListener("click", () => {
    if (location.hash === "#/chat") location.hash = "#/chat/";  // still a fresh chat
    else location.hash = "#/chat";
  });
}

export async function loadThreads() {
  threads.list = await request("GET", "/api/threads");
  render();
}

export function setCurrentThread(id) {
  threads.current = id;
  render();
}

export function upsertThread(thread) {
  const at = threads.list.findIndex((t) => t.id === thread.id);
  if (at >= 0) threads.list[at] = thread;
  else threads.list.unshift(thread);
  render();
}

/** A thread just used moves to the top, as the server will order it on the next load. */
export function touchThread(id) {
  const at = threads.list.findIndex((t) => t.id === id);
  if (at <= 0) return;
  const [thread] = threads.list.splice(at, 1);
  threads.list.unshift({ ...thread, updated_at: new Date().toISOString() });
  render();
}

export function clearThreads() {
  threads.list = [];
  threads.current = null;
  render();
}

function render() {
  $("thread-list").replaceChildren(...threads.list.map((t) => {
    const title = t.title || "Untitled";
    return h("li", { dataset: { threadId: t.id } },
      h("a", { href: `#/chat/${t.id}`, class: "thread-link",
               "aria-current": t.id === threads.current ? "page" : null }, title),
      h("button", { type: "button", class: "icon", "aria-label": `Rename thread ${title}`,
                    title: "Rename", onclick: () => rename(t) }, icon(PENCIL)),
      h("button", { type: "button", class: "icon", "aria-label": `Delete thread ${title}`,
                    title: "Delete", onclick: () => remove(t) }, icon(BIN)));
  }));
}

async function rename(thread) {
  const title = await ask("Rename the thread", { value: thread.title, ok: "Rename" });
  if (!title || title === thread.title) return;
  try {
    const updated = await request("PATCH", `/api/threads/${thread.id}`, { title });
    upsertThread(updated);
    hooks.renamed(updated);
  } catch (error) {
    showError(error, "Could not rename the thread");
  }
}

async function remove(thread) {
  if (!await ask(`Delete “${thread.title}” and all its messages?`, { ok: "Delete" })) return;
  try {
    await request("DELETE", `/api/threads/${thread.id}`);
    threads.list = threads.list.filter((t) => t.id !== thread.id);
    render();
    hooks.deleted(thread.id);
  } catch (error) {
    showError(error, "Could not delete the thread");
  }
}
